"""Product catalogue pages: the list and detail everyone reads, and the administrator's add and edit forms."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import contains_eager
from wtforms.fields.choices import SelectChoice

from app.auth.access import require
from app.auth.roles import Permission
from app.catalog import bp, services
from app.catalog.forms import ProductForm
from app.catalog.models import REGIME_LABELS, Product, ProductCategory
from app.extensions import db
from app.forms import apply_domain_error, form_status
from app.listing import Column, Filter, Listing


def current_language() -> str:
    return "en" if str(get_locale() or "sv").startswith("en") else "sv"


def display_name(item) -> str:
    """A product's or category's name in the language the page is shown in."""
    return item.name_in(current_language())


def _yes_no(value: bool) -> str:
    return _("Yes") if value else _("No")


def _detail_url(product: Product) -> str:
    return url_for("catalog.detail", product_id=product.id)


def product_listing(categories: list[ProductCategory]) -> Listing:
    name = Product.name_en if current_language() == "en" else Product.name_sv
    return Listing(
        select(Product).join(Product.category).options(contains_eager(Product.category)),
        columns=[
            Column("sku", _l("Article number"), lambda p: p.sku, sort=Product.sku),
            Column("name", _l("Name"), display_name, sort=name, link=_detail_url),
            Column(
                "category",
                _l("Category"),
                lambda p: display_name(p.category),
                sort=ProductCategory.sort_order,
            ),
            Column("standard", _l("Standard"), lambda p: p.standard, sort=Product.standard),
            Column(
                "regime", _l("Regulatory regime"), lambda p: p.regulatory_regime.label, sort=Product.regime
            ),
            Column("unit", _l("Unit of issue"), lambda p: p.unit.label, sort=Product.unit_of_issue),
            Column("pack_size", _l("Units per carton"), lambda p: p.pack_size, sort=Product.pack_size),
            Column("active", _l("Active"), lambda p: _yes_no(p.active), sort=Product.active),
        ],
        search=[Product.sku, Product.name_sv, Product.name_en, Product.standard],
        filters=[
            Filter(
                "category",
                _l("Category"),
                [(c.code, display_name(c)) for c in categories],
                lambda stmt, value: stmt.where(ProductCategory.code == value),
            ),
            Filter(
                "regime",
                _l("Regulatory regime"),
                [(regime.value, label) for regime, label in REGIME_LABELS.items()],
                lambda stmt, value: stmt.where(Product.regime == value),
            ),
            Filter(
                "active",
                _l("Status"),
                [("yes", _l("Active")), ("no", _l("Inactive"))],
                lambda stmt, value: stmt.where(Product.active.is_(value == "yes")),
            ),
        ],
        default_sort="sku",
        csv_name="product-catalogue",
    )


def _product_or_404(product_id: int) -> Product:
    product = db.session.get(Product, product_id)
    if product is None:
        abort(404)
    return product


def _product_form(product: Product | None = None) -> ProductForm:
    form = ProductForm(obj=product)
    form.category_id.choices = [
        SelectChoice(c.id, display_name(c)) for c in services.ordered_categories(db.session)
    ]
    return form


def _product_data(form: ProductForm) -> services.ProductData:
    return services.ProductData(
        sku=form.sku.data,
        category_id=form.category_id.data,
        name_sv=form.name_sv.data,
        name_en=form.name_en.data,
        standard=form.standard.data,
        regime=form.regime.data,
        unit_of_issue=form.unit_of_issue.data,
        pack_size=form.pack_size.data,
        inner_pack_size=form.inner_pack_size.data,
        variant=form.variant.data,
        active=form.active.data,
    )


def _show_rejection(form: ProductForm, rejection: services.ProductRejected) -> None:
    for error in rejection.errors:
        apply_domain_error(form, error)


@bp.route("/")
@require(Permission.VIEW_CATALOG)
def index():
    categories = services.ordered_categories(db.session)
    return product_listing(categories).respond(
        lambda page: render_template(
            "catalog/index.html",
            page=page,
            categories=categories,
            counts=services.active_product_counts(db.session),
        )
    )


@bp.route("/products/<int:product_id>")
@require(Permission.VIEW_CATALOG)
def detail(product_id: int):
    return render_template("catalog/detail.html", product=_product_or_404(product_id))


@bp.route("/products/new", methods=["GET", "POST"])
@require(Permission.MANAGE_CATALOG)
def new():
    form = _product_form()
    if form.validate_on_submit():
        try:
            product = services.create_product(db.session, current_user, _product_data(form))
        except services.ProductRejected as rejection:
            db.session.rollback()
            _show_rejection(form, rejection)
        else:
            db.session.commit()
            flash(_("The product %(sku)s is added to the catalogue.", sku=product.sku), "success")
            return redirect(_detail_url(product))
    return render_template("catalog/form.html", form=form, product=None), form_status(form)


@bp.route("/products/<int:product_id>/edit", methods=["GET", "POST"])
@require(Permission.MANAGE_CATALOG)
def edit(product_id: int):
    product = _product_or_404(product_id)
    form = _product_form(product)
    if form.validate_on_submit():
        try:
            services.update_product(db.session, current_user, product, _product_data(form))
        except services.ProductRejected as rejection:
            db.session.rollback()
            _show_rejection(form, rejection)
        else:
            db.session.commit()
            flash(_("The product %(sku)s is saved.", sku=product.sku), "success")
            return redirect(_detail_url(product))
    return render_template("catalog/form.html", form=form, product=product), form_status(form)
