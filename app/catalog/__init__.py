"""The product catalogue: categories and products of protective equipment and sampling material."""

from flask import Blueprint

bp = Blueprint("catalog", __name__, url_prefix="/catalog", template_folder="templates")


def init_app(app) -> None:
    from flask_babel import lazy_gettext as _l

    from app.auth.roles import Permission
    from app.catalog import cli, views
    from app.main import register_nav

    app.register_blueprint(bp)
    app.cli.add_command(cli.catalog_cli)
    # Other packages show products and categories too: `{{ product|localized_name }}` in any template.
    app.add_template_filter(views.display_name, "localized_name")
    register_nav("catalog.index", _l("Product catalogue"), Permission.VIEW_CATALOG, order=20)
