"""Registered need and allocation: situation reports, the allocation engine, decisions, shipments and redistribution."""
from flask import Blueprint

bp = Blueprint("allocation", __name__, url_prefix="/need", template_folder="templates")


def init_app(app) -> None:
    from allocation import models  # noqa: F401  (tables known to Alembic and the ORM)

    app.register_blueprint(bp)
