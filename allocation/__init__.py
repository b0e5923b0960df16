"""Registered need and allocation: situation reports, the allocation engine, decisions, shipments and redistribution."""
from flask import Blueprint

bp = Blueprint("allocation", __name__, url_prefix="/need", template_folder="templates")


def init_app(app) -> None:
    from allocation import (  # report form, history, settings, periods; reminders
        jobs,
        models,  # noqa: F401  (tables known to Alembic and the ORM)
        models_distribution,  # noqa: F401
        views_imports,  # noqa: F401  (report upload routes)
        views_overviews,  # noqa: F401  (overviews, trend charts, exports)
        views_reports,
    )

    jobs.register()
    views_reports.register_navigation()

    # Allocation rounds and decisions (fördelningsbeslut).
    from allocation import views_rounds

    views_rounds.register_navigation()

    # Shipments and proof of delivery (leveranser, kvittens).
    from allocation import views_shipments

    views_shipments.register_navigation()

    # Requests for national allocation (begäran om nationell fördelning).
    from allocation import views_requests

    views_requests.register_navigation()

    # Redistribution (omfördelning) and the compensation ledger (ersättning).
    from allocation import views_redistribution

    views_redistribution.register_navigation()

    # The JSON API (its own blueprint, bearer tokens instead of cookies, so no CSRF) and its token pages.
    from allocation import views_tokens
    from allocation.api import api
    from app.extensions import csrf

    views_tokens.register_navigation()
    csrf.exempt(api)
    app.register_blueprint(api)

    app.register_blueprint(bp)
