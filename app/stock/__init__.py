"""The stock ledger: national warehouses and every organisation as stock locations, append-only movements,
balances derived from them, and the national stock pages."""
from flask import Blueprint

bp = Blueprint("stock", __name__, url_prefix="/stock", template_folder="templates")


def init_app(app) -> None:
    from flask_babel import lazy_gettext as _l

    from app.auth.roles import Permission
    from app.main import register_nav
    from app.stock import cli, models, views  # noqa: F401  (models, routes)

    app.register_blueprint(bp)
    app.cli.add_command(cli.stock_cli)
    register_nav("stock.index", _l("Stock"), Permission.VIEW_STOCK, order=27)
