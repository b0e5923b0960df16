"""Procurement: coordinated purchases, purchase orders, EU joint procurement and deliveries into national stock."""
from flask import Blueprint

bp = Blueprint("orders", __name__, url_prefix="/orders", template_folder="templates")


def init_app(app) -> None:
    app.register_blueprint(bp)
