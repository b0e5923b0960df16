"""Procurement: coordinated purchases, purchase orders, EU joint procurement and deliveries into national stock."""
from flask import Blueprint

bp = Blueprint("orders", __name__, url_prefix="/orders", template_folder="templates")


def init_app(app) -> None:
    from orders import (  # noqa: F401  (each module adds its routes to bp)
        jobs,
        models,
        views_eu,
        views_joint,
        views_orders,
        views_receiving,
    )

    jobs.register()
    for module in (views_orders, views_joint, views_eu, views_receiving):
        module.register_navigation()
    app.register_blueprint(bp)
