"""Registered need and allocation: situation reports, the allocation engine, decisions, shipments and redistribution."""
from flask import Blueprint

bp = Blueprint("allocation", __name__, url_prefix="/allocation", template_folder="templates")


def init_app(app) -> None:
    app.register_blueprint(bp)
