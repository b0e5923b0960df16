"""Authentication, users and roles, and the access policy."""
from flask import Blueprint

bp = Blueprint("auth", __name__, url_prefix="/auth", template_folder="templates")


def init_app(app) -> None:
    from app.auth import cli, jobs, user_views, views  # noqa: F401  (routes)

    jobs.register(app)
    app.register_blueprint(bp)
    app.cli.add_command(cli.users_cli)
