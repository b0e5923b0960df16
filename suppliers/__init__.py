"""Suppliers and domestic production: the vetted supplier registry, certificates, offers, dialogue and production projects."""
from flask import Blueprint

bp = Blueprint("suppliers", __name__, url_prefix="/suppliers", template_folder="templates")


def init_app(app) -> None:
    app.register_blueprint(bp)
