"""Incoming supplies without an order (rescEU allocations, donations): the list with filters and CSV/XLSX, one
supply with what was received against it, and registering, changing and cancelling. Reading needs
VIEW_ORDERS within scope (orders.services_incoming.visible_supplies); changing needs MANAGE_EU_PROCUREMENT at
the agency. Goods are received against a supply on the receiving pages."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import contains_eager, selectinload

from app.auth.access import require
from app.auth.roles import Permission
from app.catalog.models import Product, ProductCategory
from app.catalog.views import display_name
from app.errors import DomainError, NotFoundError
from app.extensions import db
from app.listing import Column, Filter, Listing
from app.stock.models import StockLocation
from app.timeutil import local_today
from orders import bp, services_eu
from orders import services_incoming as services
from orders.forms_eu import CancelSupplyForm, IncomingSupplyForm
from orders.models import DeliveryStatus, GoodsReceipt, IncomingSupply, IncomingSupplyKind, InspectionOutcome
from orders.views_eu import destination_select_choices, form_page, optional_product_choices, submit


def _supply_or_404(supply_id: int) -> IncomingSupply:
    try:
        return services.get_supply(db.session, current_user, supply_id)
    except NotFoundError:
        abort(404)


def supply_listing() -> Listing:
    received = (
        select(func.coalesce(func.sum(GoodsReceipt.quantity), 0))
        .where(GoodsReceipt.incoming_supply_id == IncomingSupply.id)
        .scalar_subquery()
    )
    stmt = (
        select(IncomingSupply)
        .join(IncomingSupply.product)
        .join(Product.category)
        .join(IncomingSupply.destination)
        .where(services.visible_supplies(current_user))
        .options(
            contains_eager(IncomingSupply.product),
            contains_eager(IncomingSupply.destination),
            selectinload(IncomingSupply.receipts),
        )
    )
    categories = db.session.scalars(select(ProductCategory).order_by(ProductCategory.sort_order)).all()
    locations = db.session.scalars(
        select(StockLocation)
        .where(StockLocation.id.in_(
            select(IncomingSupply.destination_id).where(services.visible_supplies(current_user))
        ))
        .order_by(StockLocation.name)
    ).all()
    return Listing(
        stmt,
        columns=[
            Column("expected_on", _l("Expected"), lambda s: s.expected_on, sort=IncomingSupply.expected_on,
                   link=lambda s: url_for("orders.incoming_supply", supply_id=s.id)),
            Column("kind", _l("Kind"), lambda s: IncomingSupplyKind(s.kind).label, sort=IncomingSupply.kind),
            Column("source", _l("Source"), lambda s: s.source, sort=IncomingSupply.source),
            Column("reference", _l("Reference"), lambda s: s.reference, sort=IncomingSupply.reference),
            Column("product", _l("Product"), lambda s: s.product.sku, sort=Product.sku),
            Column("quantity", _l("Quantity"), lambda s: s.quantity, sort=IncomingSupply.quantity),
            Column("received", _l("Received"), lambda s: sum(r.quantity for r in s.receipts), sort=received),
            Column("destination", _l("Destination"), lambda s: s.destination.name, sort=StockLocation.name),
            Column("status", _l("Status"), lambda s: DeliveryStatus(s.status).label, sort=IncomingSupply.status),
        ],
        search=[IncomingSupply.source, IncomingSupply.reference, Product.sku, Product.name_sv, Product.name_en],
        filters=[
            Filter("kind", _l("Kind"), IncomingSupplyKind.choices(),
                   lambda stmt, value: stmt.where(IncomingSupply.kind == value)),
            Filter("status", _l("Status"), DeliveryStatus.choices(),
                   lambda stmt, value: stmt.where(IncomingSupply.status == value)),
            Filter("category", _l("Category"), [(c.code, display_name(c)) for c in categories],
                   lambda stmt, value: stmt.where(ProductCategory.code == value)),
            Filter("destination", _l("Destination"), [(str(loc.id), loc.name) for loc in locations],
                   lambda stmt, value: stmt.where(IncomingSupply.destination_id == int(value))),
        ],
        default_sort="expected_on",
        default_dir="desc",
        csv_name="incoming-supplies",
    )


@bp.route("/incoming/")
@require(Permission.VIEW_ORDERS)
def incoming():
    return supply_listing().respond(
        lambda page: render_template(
            "orders/eu_incoming.html", page=page, manage=services_eu.can_manage(current_user)
        )
    )


@bp.route("/incoming/<int:supply_id>")
@require(Permission.VIEW_ORDERS)
def incoming_supply(supply_id: int):
    supply = _supply_or_404(supply_id)
    return render_template(
        "orders/eu_incoming_supply.html",
        supply=supply,
        received=services.received_quantity(db.session, supply),
        supply_status=DeliveryStatus(supply.status),
        supply_kind=IncomingSupplyKind(supply.kind),
        outcome_label=lambda receipt: InspectionOutcome(receipt.outcome).label,
        manage=services_eu.can_manage(current_user),
        cancel_form=CancelSupplyForm(),
    )


def _supply_form(supply: IncomingSupply | None = None) -> IncomingSupplyForm:
    form = IncomingSupplyForm(obj=supply)
    form.product_id.choices = optional_product_choices(empty=_("Choose…"))
    form.destination.choices = destination_select_choices()
    if not form.is_submitted():
        if supply is not None:
            form.destination.data = services_eu.destination_key(supply.destination)
        else:
            form.expected_on.data = local_today()
    return form


def _supply_data(form: IncomingSupplyForm) -> services.SupplyData:
    return services.SupplyData(
        kind=form.kind.data, source=form.source.data, reference=form.reference.data, product_id=form.product_id.data,
        quantity=form.quantity.data, expected_on=form.expected_on.data, destination=form.destination.data,
        notes=form.notes.data,
    )


SUPPLY_HINTS = {
    "source": _l("The donor, or for rescEU the Commission's allocation decision."),
    "reference": _l("The donor's or the Commission's reference, if any."),
    "destination": _l("Where the goods are delivered and received into quarantine."),
}


@bp.route("/incoming/new", methods=["GET", "POST"])
@require(Permission.MANAGE_EU_PROCUREMENT, national=True)
def incoming_new():
    form = _supply_form()
    done = submit(
        form, lambda: services.register_supply(db.session, current_user, _supply_data(form)),
        _("The incoming supply is registered."), lambda s: url_for("orders.incoming_supply", supply_id=s.id),
    )
    return done or form_page(
        form, heading=_("Register an incoming supply"), action=url_for("orders.incoming_new"),
        back=url_for("orders.incoming"), submit_label=_("Register the supply"), hints=SUPPLY_HINTS,
    )


@bp.route("/incoming/<int:supply_id>/edit", methods=["GET", "POST"])
@require(Permission.MANAGE_EU_PROCUREMENT, national=True)
def incoming_edit(supply_id: int):
    supply = _supply_or_404(supply_id)
    form = _supply_form(supply)
    back = url_for("orders.incoming_supply", supply_id=supply.id)
    done = submit(
        form, lambda: services.update_supply(db.session, current_user, supply, _supply_data(form)),
        _("The incoming supply is saved."), lambda _s: back,
    )
    return done or form_page(
        form, heading=_("Edit the incoming supply"), context=supply.source, action=url_for(
            "orders.incoming_edit", supply_id=supply.id), back=back, submit_label=_("Save the supply"),
        hints=SUPPLY_HINTS,
    )


@bp.route("/incoming/<int:supply_id>/cancel", methods=["POST"])
@require(Permission.MANAGE_EU_PROCUREMENT, national=True)
def incoming_cancel(supply_id: int):
    supply = _supply_or_404(supply_id)
    form = CancelSupplyForm()
    back = url_for("orders.incoming_supply", supply_id=supply.id)
    try:
        services.cancel_supply(db.session, current_user, supply, form.reason.data)
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(_("The incoming supply is cancelled."), "success")
    return redirect(back)
