"""Offer pages: a supplier's offers, all offers, one offer, recording and withdrawing, and comparisons."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from flask import current_app, render_template, request, url_for
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import contains_eager

from app.auth.access import require
from app.auth.roles import Permission
from app.catalog.models import Product, ProductCategory
from app.catalog.views import display_name
from app.extensions import db
from app.forms import form_status
from app.listing import Column, Filter, Listing
from app.timeutil import local_today
from suppliers import bp
from suppliers import services_offers as services
from suppliers.forms_certificates import select_choices
from suppliers.forms_offers import OfferForm, WithdrawOfferForm
from suppliers.models import CURRENCIES, Offer, Supplier, SupplierProduct, VettingStatus
from suppliers.services_certificates import model_state
from suppliers.views_certificates import product_choices, product_label, saved

INCOTERM_NAMES = {
    "EXW": _l("Ex Works"),
    "FCA": _l("Free Carrier"),
    "CPT": _l("Carriage Paid To"),
    "CIP": _l("Carriage and Insurance Paid To"),
    "DAP": _l("Delivered at Place"),
    "DPU": _l("Delivered at Place Unloaded"),
    "DDP": _l("Delivered Duty Paid"),
    "FAS": _l("Free Alongside Ship"),
    "FOB": _l("Free on Board"),
    "CFR": _l("Cost and Freight"),
    "CIF": _l("Cost, Insurance and Freight"),
}


def format_price(value: Decimal | None, currency: str | None = None) -> str:
    """A price with two to four decimals as the locale writes it, and its currency code: "4,25 SEK"."""
    if value is None:
        return "—"
    text = format_decimal(value, format="#,##0.00##")
    return f"{text} {currency}" if currency else text


def incoterm_text(offer: Offer) -> str:
    if not offer.incoterm:
        return ""
    return f"{offer.incoterm} {offer.incoterm_place or ''}".strip()


def reference_rates() -> tuple[dict[str, Decimal], str]:
    """The configured SEK reference rates (SEK always 1) and the day they are from, as configured."""
    rates = services.parse_reference_rates(current_app.config.get("SAMORDNA_REFERENCE_RATES"))
    return rates, str(current_app.config.get("SAMORDNA_REFERENCE_RATES_DATE") or "")


# --- lists --------------------------------------------------------------------------------------------------


def offer_listing(today: date, supplier: Supplier | None = None) -> Listing:
    """All offers, or one supplier's; the supplier's own list leaves out the supplier column and filter."""
    stmt = (
        select(Offer)
        .join(Offer.supplier)
        .join(Offer.product)
        .join(Product.category)
        .outerjoin(Offer.supplier_product)
        .options(
            contains_eager(Offer.supplier),
            contains_eager(Offer.product).contains_eager(Product.category),
            contains_eager(Offer.supplier_product),
        )
    )
    if supplier is not None:
        stmt = stmt.where(Offer.supplier_id == supplier.id)
    products = db.session.scalars(
        select(Product).join(Product.category).order_by(ProductCategory.sort_order, Product.sku)
    ).all()
    categories = db.session.scalars(select(ProductCategory).order_by(ProductCategory.sort_order)).all()
    columns = []
    if supplier is None:
        columns += [
            Column(
                "supplier",
                _l("Supplier"),
                lambda o: o.supplier.legal_name,
                sort=Supplier.legal_name,
                link=lambda o: url_for("suppliers.supplier_offers", supplier_id=o.supplier_id),
            ),
            Column("vetting", _l("Vetting"), lambda o: o.supplier.status.label, sort=Supplier.vetting_status),
        ]
    columns += [
        Column(
            "product",
            _l("Product"),
            lambda o: o.product.sku,
            sort=Product.sku,
            link=lambda o: url_for("suppliers.product_offers", product_id=o.product_id),
        ),
        Column(
            "model",
            _l("Model"),
            lambda o: o.supplier_product.model_name if o.supplier_product else None,
            sort=SupplierProduct.model_name,
        ),
        Column(
            "price",
            _l("Price per unit"),
            lambda o: format_price(o.unit_price),
            sort=Offer.unit_price,
            link=lambda o: url_for("suppliers.offer", offer_id=o.id),
        ),
        Column("currency", _l("Currency"), lambda o: o.currency, sort=Offer.currency),
        Column(
            "moq", _l("Minimum order"), lambda o: o.minimum_order_quantity, sort=Offer.minimum_order_quantity
        ),
        Column("lead_time", _l("Lead time (days)"), lambda o: o.lead_time_days, sort=Offer.lead_time_days),
        Column(
            "capacity", _l("Capacity per week"), lambda o: o.capacity_per_week, sort=Offer.capacity_per_week
        ),
        Column("incoterm", _l("Incoterms"), incoterm_text, sort=Offer.incoterm),
        Column("valid_from", _l("Valid from"), lambda o: o.valid_from, sort=Offer.valid_from),
        Column("valid_until", _l("Valid until"), lambda o: o.valid_until, sort=Offer.valid_until),
        Column("state", _l("Status"), lambda o: services.offer_state(o, today).label),
    ]
    filters = [
        Filter(
            "product",
            _l("Product"),
            [(str(p.id), product_label(p)) for p in products],
            lambda stmt, value: stmt.where(Offer.product_id == int(value)),
        ),
        Filter(
            "category",
            _l("Category"),
            [(c.code, display_name(c)) for c in categories],
            lambda stmt, value: stmt.where(ProductCategory.code == value),
        ),
        Filter(
            "currency",
            _l("Currency"),
            [(code, code) for code in CURRENCIES],
            lambda stmt, value: stmt.where(Offer.currency == value),
        ),
    ]
    if supplier is None:
        filters.append(
            Filter(
                "supplier_status",
                _l("Supplier's vetting"),
                VettingStatus.choices(),
                lambda stmt, value: stmt.where(Supplier.vetting_status == value),
            )
        )
    filters.append(
        Filter(
            "validity",
            _l("Validity"),
            services.OfferState.choices(),
            lambda stmt, value: stmt.where(services.offer_state_clause(value, today)),
        )
    )
    return Listing(
        stmt,
        columns=columns,
        search=[
            Supplier.legal_name,
            Product.sku,
            Product.name_sv,
            Product.name_en,
            SupplierProduct.model_name,
        ],
        filters=filters,
        default_sort="valid_until",
        default_dir="desc",
        csv_name="offers" if supplier is None else f"offers-supplier-{supplier.id}",
    )


@bp.route("/offers/")
@require(Permission.VIEW_SUPPLIERS)
def offers():
    return offer_listing(local_today()).respond(
        lambda page: render_template("suppliers/offers.html", page=page)
    )


@bp.route("/<int:supplier_id>/offers")
@require(Permission.VIEW_SUPPLIERS)
def supplier_offers(supplier_id: int):
    supplier = db.get_or_404(Supplier, supplier_id)
    return offer_listing(local_today(), supplier).respond(
        lambda page: render_template("suppliers/offers_supplier.html", page=page, supplier=supplier)
    )


# --- one offer ----------------------------------------------------------------------------------------------


@bp.route("/offers/<int:offer_id>")
@require(Permission.VIEW_SUPPLIERS)
def offer(offer_id: int):
    offer = db.get_or_404(Offer, offer_id)
    today = local_today()
    return render_template(
        "suppliers/offers_detail.html",
        offer=offer,
        supplier=offer.supplier,
        state=services.offer_state(offer, today),
        certificate=model_state(offer.supplier_product, today),
        format_price=format_price,
        incoterm_name=INCOTERM_NAMES.get(offer.incoterm or ""),
    )


def _offer_form(supplier: Supplier, offer: Offer | None = None) -> OfferForm:
    form = OfferForm(obj=offer)
    form.product_id.choices = product_choices(offer.product if offer else None)
    models = db.session.scalars(
        select(SupplierProduct)
        .where(SupplierProduct.supplier_id == supplier.id)
        .order_by(SupplierProduct.model_name, SupplierProduct.id)
    ).all()
    form.supplier_product_id.choices = select_choices(
        [
            ("", _("No particular model")),
            *((model.id, f"{model.model_name} ({model.product.sku})") for model in models),
        ]
    )
    form.incoterm.choices = select_choices(
        [("", "—"), *((code, f"{code} – {name}") for code, name in INCOTERM_NAMES.items())]
    )
    return form


def _offer_url(offer: Offer) -> str:
    return url_for("suppliers.offer", offer_id=offer.id)


def _offer_data(form: OfferForm) -> services.OfferData:
    return services.OfferData(
        product_id=form.product_id.data,
        supplier_product_id=form.supplier_product_id.data,
        unit_price=form.unit_price.data,
        currency=form.currency.data,
        minimum_order_quantity=form.minimum_order_quantity.data,
        lead_time_days=form.lead_time_days.data,
        capacity_per_week=form.capacity_per_week.data,
        valid_from=form.valid_from.data,
        valid_until=form.valid_until.data,
        incoterm=form.incoterm.data,
        incoterm_place=form.incoterm_place.data,
        notes=form.notes.data,
    )


@bp.route("/<int:supplier_id>/offers/new", methods=["GET", "POST"])
@require(Permission.MANAGE_OFFERS)
def new_offer(supplier_id: int):
    supplier = db.get_or_404(Supplier, supplier_id)
    form = _offer_form(supplier)
    if not form.is_submitted():
        form.valid_from.data = local_today()
        form.product_id.data = request.args.get("product_id", type=int)
    done = saved(
        form,
        lambda: services.create_offer(db.session, current_user, supplier, _offer_data(form)),
        _("The offer is recorded."),
        _offer_url,
    )
    if done:
        return done
    return render_template(
        "suppliers/offers_form.html", form=form, supplier=supplier, offer=None
    ), form_status(form)


@bp.route("/offers/<int:offer_id>/edit", methods=["GET", "POST"])
@require(Permission.MANAGE_OFFERS)
def edit_offer(offer_id: int):
    offer = db.get_or_404(Offer, offer_id)
    form = _offer_form(offer.supplier, offer)
    done = saved(
        form,
        lambda: services.update_offer(db.session, current_user, offer, _offer_data(form)),
        _("The offer is saved."),
        _offer_url,
    )
    if done:
        return done
    return render_template(
        "suppliers/offers_form.html", form=form, supplier=offer.supplier, offer=offer
    ), form_status(form)


@bp.route("/offers/<int:offer_id>/withdraw", methods=["GET", "POST"])
@require(Permission.MANAGE_OFFERS)
def withdraw_offer(offer_id: int):
    offer = db.get_or_404(Offer, offer_id)
    form = WithdrawOfferForm()
    done = saved(
        form,
        lambda: services.withdraw_offer(db.session, current_user, offer, form.reason.data),
        _("The offer is withdrawn."),
        _offer_url,
    )
    if done:
        return done
    return render_template(
        "suppliers/offers_withdraw.html",
        form=form,
        offer=offer,
        supplier=offer.supplier,
        format_price=format_price,
    ), form_status(form)


# --- comparing one product's offers -------------------------------------------------------------------------

COMPARISON_COLUMNS = (
    ("supplier", _l("Supplier")),
    ("status", _l("Vetting")),
    ("certificate", _l("Certificate of the model")),
    ("price", _l("Per unit")),
    ("pack", _l("Per carton")),
    ("price_sek", _l("Per unit in SEK (reference rate)")),
    ("moq", _l("Minimum order")),
    ("lead_time", _l("Lead time (days)")),
    ("capacity", _l("Capacity per week")),
    ("valid_until", _l("Valid until")),
)


@bp.route("/products/<int:product_id>/offers")
@require(Permission.VIEW_SUPPLIERS)
def product_offers(product_id: int):
    product = db.get_or_404(Product, product_id)
    today = local_today()
    rates, rates_date = reference_rates()
    rows = services.compare_offers(db.session, product, today, rates)
    currencies = sorted({row.offer.currency for row in rows})
    converts = len(rates) > 1 and any(
        row.unit_price_sek is not None and row.offer.currency != "SEK" for row in rows
    )
    sort = request.args.get("sort")
    direction = "desc" if request.args.get("dir") == "desc" else "asc"
    key = "price" if sort == "pack" else sort  # a carton's price is the unit price times the same pack size
    if key in services.SORT_KEYS and (key != "price_sek" or converts):
        rows = services.sort_compared(rows, key, descending=direction == "desc")
    else:
        sort = None
    columns = [(key, label) for key, label in COMPARISON_COLUMNS if key != "price_sek" or converts]
    return render_template(
        "suppliers/product_offers.html",
        product=product,
        rows=rows,
        columns=columns,
        sort=sort,
        direction=direction,
        currencies=currencies,
        converts=converts,
        rates={code: rate for code, rate in rates.items() if code != "SEK" and code in currencies},
        rates_date=rates_date,
        format_price=format_price,
    )
