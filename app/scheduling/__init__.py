"""Scheduled jobs: the registry, the `flask jobs run` worker, the record of runs and the jobs page."""
from flask import Blueprint

bp = Blueprint("scheduling", __name__, url_prefix="/jobs", template_folder="templates")


def init_app(app) -> None:
    from flask_babel import lazy_gettext as _l

    from app.auth.roles import Permission
    from app.main import register_nav
    from app.scheduling import cli, jobs, models, views  # noqa: F401  (models for the schema, routes)

    app.register_blueprint(bp)
    app.cli.add_command(cli.jobs_cli)
    jobs.register(app)
    register_nav("scheduling.index", _l("Jobs"), Permission.VIEW_JOBS, order=95)
