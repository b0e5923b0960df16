"""Authentication, users and roles, and the access policy."""
from flask import Blueprint

bp = Blueprint("auth", __name__, url_prefix="/auth", template_folder="templates")


def init_app(app) -> None:
    from app.auth import cli, views  # noqa: F401  (routes)

    try:
        from app.auth import user_views  # noqa: F401  (admin user management)
    except ImportError:  # pragma: no cover - during bootstrap only
        pass
    app.register_blueprint(bp)
    app.cli.add_command(cli.users_cli)
