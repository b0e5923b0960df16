"""The organisation registry: Sweden's agency, county boards, regions and municipalities."""
from flask import Blueprint

bp = Blueprint("organisations", __name__, url_prefix="/organisations", template_folder="templates")


def init_app(app) -> None:
    from flask_babel import lazy_gettext as _l

    from app.auth.roles import Permission
    from app.main import register_nav
    from app.organisations import cli, views  # noqa: F401  (routes)
    from app.organisations import factsheet  # noqa: F401  (fact sheet PDF route)

    app.register_blueprint(bp)
    app.cli.add_command(cli.organisations_cli)
    register_nav("organisations.index", _l("Organisations"), Permission.VIEW_ORGANISATIONS, order=10)
