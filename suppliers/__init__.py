"""Suppliers and domestic production: the vetted supplier registry, certificates, offers, dialogue and production projects."""
from flask import Blueprint

bp = Blueprint("suppliers", __name__, url_prefix="/suppliers", template_folder="templates")


def init_app(app) -> None:
    from suppliers import (  # noqa: F401  (each module adds its routes to bp)
        jobs,
        models,
        views,
        views_certificates,
        views_dialogue,
        views_offers,
        views_production,
    )

    jobs.register()
    views.register_navigation()
    views_dialogue.register_navigation()
    views_production.register_navigation()
    app.register_blueprint(bp)
