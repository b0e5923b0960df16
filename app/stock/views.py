"""The stock pages: national stock per product and state, a product's lots, a location's stock, the ledger of
movements (all with CSV export) and the national coordinator's adjustment form."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import exists, func, select
from sqlalchemy.orm import selectinload
from wtforms.fields.choices import SelectChoice

from app.auth.access import Scope, require, scope_of
from app.auth.roles import Permission
from app.catalog.models import Product, ProductCategory
from app.catalog.views import current_language, display_name
from app.extensions import db
from app.forms import apply_domain_error, form_status
from app.listing import Column, Filter, Listing
from app.stock import bp, ledger, services
from app.stock.forms import AdjustmentForm
from app.stock.models import (
    MOVEMENT_KIND_LABELS,
    STATE_LABELS,
    Lot,
    StockBalance,
    StockLocation,
    StockMovement,
    StockState,
)

NATIONAL = "national"  # the "where" choice for the warehouses and transit together (national users' default)
EVERYWHERE = "everywhere"  # every location the user may see


# --- national stock per product ---------------------------------------------------------------------------


def _where_choices(locations: list[StockLocation]) -> list[tuple[str, str]]:
    choices = (
        [(NATIONAL, _("National stock (warehouses and in transit)")), (EVERYWHERE, _("Every location"))]
        if _is_national()
        else []
    )
    return choices + [(str(location.id), location.name) for location in locations]


def _is_national() -> bool:
    return scope_of(current_user) is Scope.NATIONAL


def _chosen_locations(locations: list[StockLocation]) -> tuple[str, list[int]]:
    """The ``where`` argument and the location ids it stands for: national stock by default for national
    users, every visible location by default for the others."""
    where = request.args.get("where", "")
    visible = {str(location.id): location.id for location in locations}
    if where in visible:
        return where, [visible[where]]
    if _is_national() and where != EVERYWHERE:
        return NATIONAL, services.national_location_ids(db.session)
    return (EVERYWHERE if _is_national() else ""), list(visible.values())


def _state_total(state: StockState, location_ids: list[int]):
    """A correlated subquery summing the product's balance in one state: the sort key of a state column."""
    return (
        select(func.coalesce(func.sum(StockBalance.quantity), 0))
        .where(
            StockBalance.product_id == Product.id,
            StockBalance.state == state.value,
            StockBalance.location_id.in_(location_ids),
        )
        .scalar_subquery()
    )


def _state_column(state: StockState, totals: dict, location_ids: list[int]) -> Column:
    return Column(
        state.value,
        STATE_LABELS[state],
        lambda product: totals.get((product.id, state.value), 0),
        sort=_state_total(state, location_ids),
    )


def overview_listing(locations: list[StockLocation], location_ids: list[int], where: str) -> Listing:
    totals = ledger.totals_by_product_and_state(db.session, location_ids=location_ids)
    states = [s for s in services.SHOWN_STATES if s != StockState.IN_TRANSIT or where == NATIONAL]
    held = exists().where(
        StockBalance.product_id == Product.id,
        StockBalance.location_id.in_(location_ids),
        StockBalance.quantity > 0,
    )
    categories = db.session.scalars(select(ProductCategory).order_by(ProductCategory.sort_order)).all()
    name = Product.name_en if current_language() == "en" else Product.name_sv
    return Listing(
        select(Product).join(Product.category).where(held),
        columns=[
            Column("sku", _l("Article number"), lambda p: p.sku, sort=Product.sku),
            Column(
                "name",
                _l("Product"),
                display_name,
                sort=name,
                link=lambda p: url_for("stock.product", product_id=p.id),
            ),
            Column("category", _l("Category"), lambda p: display_name(p.category), sort=ProductCategory.sort_order),
            *(_state_column(state, totals, location_ids) for state in states),
            Column("total", _l("Total"), lambda p: sum(totals.get((p.id, s.value), 0) for s in states)),
        ],
        search=[Product.sku, Product.name_sv, Product.name_en],
        filters=[
            # The location set is read from the arguments before the listing is built (it decides the
            # columns' sums); the filter only offers the choice.
            Filter("where", _l("Where"), _where_choices(locations), lambda stmt, value: stmt),
            Filter(
                "category",
                _l("Category"),
                [(c.code, display_name(c)) for c in categories],
                lambda stmt, value: stmt.where(ProductCategory.code == value),
            ),
        ],
        default_sort="sku",
        csv_name="stock",
    )


@bp.route("/")
@require(Permission.VIEW_STOCK)
def index():
    locations = services.visible_locations(db.session, current_user)
    where, location_ids = _chosen_locations(locations)

    def render(page):
        page.args["where"] = where  # the select shows what the figures are for, the default included
        return render_template("stock/index.html", page=page, locations=locations)

    return overview_listing(locations, location_ids, where).respond(render)


# --- a product's lots, a location's stock -----------------------------------------------------------------


@bp.route("/products/<int:product_id>")
@require(Permission.VIEW_STOCK)
def product(product_id: int):
    item = db.session.get(Product, product_id)
    if item is None:
        abort(404)
    return render_template(
        "stock/product.html",
        product=item,
        rows=services.visible_rows(db.session, current_user, product=item),
        states=services.SHOWN_STATES,
    )


@bp.route("/locations/<int:location_id>")
@require(Permission.VIEW_STOCK)
def location(location_id: int):
    place = db.session.get(StockLocation, location_id)
    if place is None or not services.can_see_location(current_user, place):
        abort(404)
    return render_template(
        "stock/location.html",
        location=place,
        rows=services.visible_rows(db.session, current_user, location=place),
        states=services.SHOWN_STATES,
    )


# --- the ledger -------------------------------------------------------------------------------------------


def _side(location: StockLocation | None, state: str | None) -> str:
    if location is None:
        return ""
    return f"{location.name} ({STATE_LABELS[StockState(state)]})"


def movement_listing(locations: list[StockLocation]) -> Listing:
    products = db.session.scalars(select(Product).order_by(Product.sku)).all()
    statement = (
        select(StockMovement)
        .outerjoin(Lot, StockMovement.lot_id == Lot.id)
        .where(services.movement_scope_filter(current_user))
        .options(
            selectinload(StockMovement.product),
            selectinload(StockMovement.lot),
            selectinload(StockMovement.from_location),
            selectinload(StockMovement.to_location),
            selectinload(StockMovement.user),
        )
    )
    return Listing(
        statement,
        columns=[
            # Ids grow with time, so they order movements made in the same instant too.
            Column("time", _l("Time"), lambda m: format_datetime(m.created_at, "yyyy-MM-dd HH:mm"),
                   sort=StockMovement.id),
            Column("kind", _l("Movement"), lambda m: MOVEMENT_KIND_LABELS[m.movement_kind], sort=StockMovement.kind),
            Column("product", _l("Product"), lambda m: m.product.sku, sort=StockMovement.product_id,
                   link=lambda m: url_for("stock.product", product_id=m.product_id)),
            Column("lot", _l("Lot"), lambda m: m.lot.lot_number if m.lot else "", sort=Lot.lot_number),
            Column("expiry", _l("Expiry"), lambda m: m.lot.expiry_on.isoformat() if m.lot and m.lot.expiry_on else ""),
            Column("quantity", _l("Quantity"), lambda m: m.quantity, sort=StockMovement.quantity),
            Column("from", _l("From"), lambda m: _side(m.from_location, m.from_state)),
            Column("to", _l("To"), lambda m: _side(m.to_location, m.to_state)),
            Column("reference", _l("Document"), lambda m: m.reference or "", sort=StockMovement.reference),
            Column("who", _l("Who"), lambda m: m.user.name if m.user else ""),
            Column("reason", _l("Reason"), lambda m: m.reason or ""),
        ],
        search=[StockMovement.reference, StockMovement.reason, Lot.lot_number],
        filters=[
            Filter(
                "product",
                _l("Product"),
                [(str(p.id), f"{p.sku} {display_name(p)}") for p in products],
                lambda stmt, value: stmt.where(StockMovement.product_id == int(value)),
            ),
            Filter(
                "location",
                _l("Location"),
                [(str(place.id), place.name) for place in locations],
                lambda stmt, value: stmt.where(
                    (StockMovement.from_location_id == int(value)) | (StockMovement.to_location_id == int(value))
                ),
            ),
            Filter(
                "kind",
                _l("Movement"),
                [(kind.value, label) for kind, label in MOVEMENT_KIND_LABELS.items()],
                lambda stmt, value: stmt.where(StockMovement.kind == value),
            ),
        ],
        default_sort="time",
        default_dir="desc",
        csv_name="stock-movements",
    )


@bp.route("/movements")
@require(Permission.VIEW_STOCK)
def movements():
    locations = services.visible_locations(db.session, current_user)
    return movement_listing(locations).respond(lambda page: render_template("stock/movements.html", page=page))


# --- adjustments ------------------------------------------------------------------------------------------


def _adjustment_form() -> AdjustmentForm:
    form = AdjustmentForm()
    form.location_id.choices = [
        SelectChoice(place.id, place.name)
        for place in services.visible_locations(db.session, current_user)
        if not place.is_transit and place.active
    ]
    form.product_id.choices = [
        SelectChoice(p.id, f"{p.sku} {display_name(p)}")
        for p in db.session.scalars(select(Product).where(Product.active.is_(True)).order_by(Product.sku))
    ]
    if request.method == "GET":
        # Links from the product and location pages name what to adjust.
        for name in ("location_id", "product_id"):
            value = request.args.get(name, type=int)
            if value is not None:
                getattr(form, name).data = value
        form.lot_number.data = request.args.get("lot", "")
        if request.args.get("state") in {choice.value for choice in form.state.choices}:
            form.state.data = request.args["state"]
    return form


@bp.route("/adjust", methods=["GET", "POST"])
@require(Permission.ADJUST_STOCK)
def adjust():
    form = _adjustment_form()
    if form.validate_on_submit():
        data = services.AdjustmentData(
            location_id=form.location_id.data,
            product_id=form.product_id.data,
            lot_number=form.lot_number.data,
            state=form.state.data,
            direction=form.direction.data,
            quantity=form.quantity.data,
            reason=form.reason.data,
        )
        try:
            movement = services.adjust_stock(db.session, current_user, data)
        except ledger.StockError as error:
            db.session.rollback()
            apply_domain_error(form, error)
        else:
            location_id = movement.to_location_id or movement.from_location_id
            db.session.commit()
            flash(_("The adjustment is booked in the ledger."), "success")
            return redirect(url_for("stock.location", location_id=location_id))
    return render_template("stock/adjust.html", form=form), form_status(form)
