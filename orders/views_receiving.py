"""Goods receipt (godsmottagning) on the web: expected deliveries, the receive form, the list of receipts
(CSV/XLSX) and a receipt's page with its inspection (kvalitetskontroll) and what became of rejected goods.

VIEW_ORDERS reads, within the user's scope; RECEIVE_GOODS receives; INSPECT_GOODS inspects and settles
rejected goods. The rules are in orders/services_receiving.py.
"""
from __future__ import annotations

from datetime import timedelta

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from app.auth.access import has_permission, require
from app.auth.roles import Permission
from app.catalog.models import Product
from app.catalog.views import display_name
from app.errors import DomainError
from app.extensions import db
from app.forms import apply_domain_error, form_status
from app.listing import Column, Filter, Listing
from app.main import register_nav
from app.stock.models import Lot, StockLocation, StockState
from app.timeutil import local_today
from orders import bp
from orders import services_receiving as receiving
from orders.forms_receiving import DispositionForm, InspectionForm, ReceiptForm
from orders.models import (
    DeliveryStatus,
    GoodsCondition,
    GoodsReceipt,
    IncomingSupply,
    IncomingSupplyKind,
    InspectionOutcome,
    PurchaseOrder,
    ScheduledDelivery,
)
from suppliers.forms_certificates import select_choices
from suppliers.models import CertificateKind, Supplier, VerificationStatus

OUTCOME_TONES = {
    InspectionOutcome.PENDING: "amber",
    InspectionOutcome.RELEASED: "green",
    InspectionOutcome.REJECTED: "red",
}
# The "received" filter of the list: within the last so many days.
PERIODS = (7, 30, 90, 365)


def register_navigation() -> None:
    register_nav("orders.receipts", _l("Goods receipt"), Permission.VIEW_ORDERS, order=57)


def source_of(receipt: GoodsReceipt) -> str:
    """What the goods came against: the order number, or the kind and source of an incoming supply."""
    if receipt.scheduled_delivery is not None:
        return receipt.scheduled_delivery.order.number
    supply = receipt.incoming_supply
    return f"{IncomingSupplyKind(supply.kind).label}: {supply.source}"


@bp.context_processor
def _receiving_helpers():
    return {
        "outcome_tone": lambda outcome: OUTCOME_TONES[InspectionOutcome(outcome)],
        "InspectionOutcome": InspectionOutcome,
        "DeliveryStatus": DeliveryStatus,
        "GoodsCondition": GoodsCondition,
        "IncomingSupplyKind": IncomingSupplyKind,
        "CertificateKind": CertificateKind,
        "VerificationStatus": VerificationStatus,
        "receipt_source": source_of,
        "StockState": StockState,
    }


# --- the list of receipts -----------------------------------------------------------------------------------


def _search_order_or_supplier(q: str):
    pattern = f"%{q.lower()}%"
    return or_(
        func.lower(PurchaseOrder.number).like(pattern),
        func.lower(Supplier.legal_name).like(pattern),
        func.lower(IncomingSupply.source).like(pattern),
    )


def _supplier_filter(stmt, value):
    if value == "none":
        return stmt.where(GoodsReceipt.incoming_supply_id.is_not(None))
    return stmt.where(PurchaseOrder.supplier_id == int(value))


def _period_filter(stmt, value):
    return stmt.where(GoodsReceipt.received_on >= local_today() - timedelta(days=int(value)))


def receipt_listing() -> Listing:
    scope = receiving.receipt_scope_filter(current_user)
    statement = (
        select(GoodsReceipt)
        .join(Product, Product.id == GoodsReceipt.product_id)
        .join(Lot, Lot.id == GoodsReceipt.lot_id)
        .join(StockLocation, StockLocation.id == GoodsReceipt.location_id)
        .outerjoin(ScheduledDelivery, ScheduledDelivery.id == GoodsReceipt.scheduled_delivery_id)
        .outerjoin(PurchaseOrder, PurchaseOrder.id == ScheduledDelivery.order_id)
        .outerjoin(Supplier, Supplier.id == PurchaseOrder.supplier_id)
        .outerjoin(IncomingSupply, IncomingSupply.id == GoodsReceipt.incoming_supply_id)
        .where(scope)
        .options(
            selectinload(GoodsReceipt.scheduled_delivery)
            .selectinload(ScheduledDelivery.order)
            .selectinload(PurchaseOrder.supplier),
            selectinload(GoodsReceipt.incoming_supply),
            selectinload(GoodsReceipt.product),
            selectinload(GoodsReceipt.lot),
            selectinload(GoodsReceipt.location),
        )
    )
    suppliers = db.session.execute(
        select(Supplier.id, Supplier.legal_name)
        .distinct()
        .join(PurchaseOrder, PurchaseOrder.supplier_id == Supplier.id)
        .join(ScheduledDelivery, ScheduledDelivery.order_id == PurchaseOrder.id)
        .join(GoodsReceipt, GoodsReceipt.scheduled_delivery_id == ScheduledDelivery.id)
        .where(scope)
        .order_by(Supplier.legal_name)
    ).all()
    products = db.session.scalars(
        select(Product).where(Product.id.in_(select(GoodsReceipt.product_id).where(scope))).order_by(Product.sku)
    ).all()
    return Listing(
        statement,
        columns=[
            Column("number", _l("Receipt"), lambda r: r.number, sort=GoodsReceipt.number,
                   link=lambda r: url_for("orders.receipt", receipt_id=r.id)),
            Column("received", _l("Received on"), lambda r: r.received_on, sort=GoodsReceipt.received_on),
            Column("source", _l("Order or source"), source_of, sort=PurchaseOrder.number),
            Column("supplier", _l("Supplier"), lambda r: s.legal_name if (s := receiving.supplier_of(r)) else None,
                   sort=Supplier.legal_name),
            Column("product", _l("Product"), lambda r: f"{r.product.sku} {display_name(r.product)}", sort=Product.sku),
            Column("lot", _l("Lot"), lambda r: r.lot.lot_number, sort=Lot.lot_number),
            Column("expiry", _l("Expiry date"), lambda r: r.lot.expiry_on, sort=Lot.expiry_on),
            Column("quantity", _l("Quantity"), lambda r: r.quantity, sort=GoodsReceipt.quantity),
            Column("location", _l("Received at"), lambda r: r.location.name, sort=StockLocation.name),
            Column("condition", _l("Condition"), lambda r: GoodsCondition(r.condition).label,
                   sort=GoodsReceipt.condition),
            Column("outcome", _l("Inspection"), lambda r: InspectionOutcome(r.outcome).label,
                   sort=GoodsReceipt.outcome),
            Column("reason", _l("Reason for rejection"), lambda r: r.rejection_reason),
        ],
        search=[GoodsReceipt.number, Lot.lot_number, _search_order_or_supplier],
        filters=[
            Filter("outcome", _l("Inspection"), InspectionOutcome.choices(),
                   lambda stmt, value: stmt.where(GoodsReceipt.outcome == value)),
            Filter("supplier", _l("Supplier"),
                   [(str(sid), name) for sid, name in suppliers] + [("none", _("rescEU and donations"))],
                   _supplier_filter),
            Filter("product", _l("Product"), [(str(p.id), f"{p.sku} {display_name(p)}") for p in products],
                   lambda stmt, value: stmt.where(GoodsReceipt.product_id == int(value))),
            Filter("received", _l("Received"),
                   [(str(days), _("In the last %(days)s days", days=days)) for days in PERIODS], _period_filter),
        ],
        default_sort="received",
        default_dir="desc",
        csv_name="goods-receipts",
    )


@bp.route("/receipts/")
@require(Permission.VIEW_ORDERS)
def receipts():
    return receipt_listing().respond(
        lambda page: render_template(
            "orders/receiving_list.html", page=page, pending=_pending_count(), overdue=_overdue_count()
        )
    )


def _pending_count() -> int:
    return db.session.scalar(
        select(func.count(GoodsReceipt.id)).where(
            GoodsReceipt.outcome == InspectionOutcome.PENDING.value, receiving.receipt_scope_filter(current_user)
        )
    )


def _overdue_count() -> int:
    today = local_today()
    return sum(1 for item in receiving.expected_deliveries(db.session, current_user) if item.is_overdue(today))


@bp.route("/receipts/expected")
@require(Permission.VIEW_ORDERS)
def expected():
    return render_template(
        "orders/receiving_expected.html",
        items=receiving.expected_deliveries(db.session, current_user),
        today=local_today(),
    )


# --- receiving ----------------------------------------------------------------------------------------------


def _receipt_data(form: ReceiptForm) -> receiving.ReceiptData:
    accept = form.accept_over_delivery.data if "accept_over_delivery" in form else False
    return receiving.ReceiptData(
        quantity=form.quantity.data,
        lot_number=form.lot_number.data or "",
        received_on=form.received_on.data,
        expiry_on=form.expiry_on.data,
        manufactured_on=form.manufactured_on.data,
        condition=form.condition.data,
        notes=form.notes.data,
        accept_over_delivery=bool(accept),
    )


@bp.route("/deliveries/<int:delivery_id>/receive", methods=["GET", "POST"])
@bp.route("/incoming/<int:supply_id>/receive", methods=["GET", "POST"])
@require(Permission.RECEIVE_GOODS)
def receive(delivery_id: int | None = None, supply_id: int | None = None):
    if delivery_id is not None:
        delivery = receiving.get_delivery(db.session, current_user, delivery_id)
        supply = None
        problem = receiving.receivable_problem(delivery)
        received = receiving.received_for_delivery(db.session, delivery)
        scheduled, action = delivery.quantity, url_for("orders.receive", delivery_id=delivery.id)
    else:
        supply = receiving.get_incoming_supply(db.session, current_user, supply_id)
        delivery = None
        problem = receiving.supply_receivable_problem(supply)
        received = receiving.received_for_supply(db.session, supply)
        scheduled, action = supply.quantity, url_for("orders.receive", supply_id=supply.id)
    form = ReceiptForm()
    if not has_permission(current_user, Permission.ACCEPT_OVER_DELIVERY):
        del form.accept_over_delivery
    if not form.is_submitted():
        form.received_on.data = local_today()
        form.quantity.data = max(scheduled - received, 0) or None
    if problem is None and form.validate_on_submit():
        data = _receipt_data(form)
        try:
            if delivery is not None:
                receipt = receiving.receive_delivery(db.session, current_user, delivery, data, today=local_today())
            else:
                receipt = receiving.receive_supply(db.session, current_user, supply, data, today=local_today())
        except DomainError as error:
            db.session.rollback()
            apply_domain_error(form, error)
        else:
            db.session.commit()
            flash(
                _("%(number)s received: %(quantity)s units in quarantine until inspected.",
                  number=receipt.number, quantity=receipt.quantity),
                "success",
            )
            return redirect(url_for("orders.receipt", receipt_id=receipt.id))
    elif problem is not None and form.is_submitted():
        form.form_errors.append(problem)
    return (
        render_template(
            "orders/receiving_form.html",
            form=form,
            action=action,
            delivery=delivery,
            supply=supply,
            problem=problem,
            scheduled=scheduled,
            received=received,
            limit=receiving.over_delivery_limit(scheduled),
        ),
        form_status(form),
    )


# --- a receipt, its inspection and what became of rejected goods --------------------------------------------


def _inspection_form(receipt: GoodsReceipt, certificates) -> InspectionForm:
    form = InspectionForm(prefix="inspection")
    day = receipt.received_on
    form.certificate_id.choices = select_choices([("", _("None of them"))] + [
        (
            str(c.id),
            " · ".join(
                part
                for part in (
                    c.supplier_product.model_name,
                    CertificateKind(c.kind).label,
                    c.certificate_number,
                    VerificationStatus(c.verification_status).label,
                    _("valid on the day of receipt") if c.is_valid_on(day) else _("not valid on the day of receipt"),
                )
                if part
            ),
        )
        for c in certificates
    ])
    return form


def _render_receipt(receipt: GoodsReceipt, *, inspection_form=None, disposition_form=None, status: int = 200):
    certificates = receiving.certificates_for(db.session, receipt)
    if inspection_form is None:
        inspection_form = _inspection_form(receipt, certificates)
    delivery = receipt.scheduled_delivery
    if delivery is not None:
        received, scheduled = receiving.received_for_delivery(db.session, delivery), delivery.quantity
    else:
        received, scheduled = receiving.received_for_supply(db.session, receipt.incoming_supply), receipt.incoming_supply.quantity
    return (
        render_template(
            "orders/receiving_receipt.html",
            receipt=receipt,
            supplier=receiving.supplier_of(receipt),
            certificates=certificates,
            warning=receiving.certificate_warning(receipt, certificates),
            inspection_form=inspection_form,
            disposition_form=disposition_form or DispositionForm(prefix="disposition"),
            remaining=receiving.rejected_remaining(db.session, receipt),
            movements=receiving.receipt_movements(db.session, receipt),
            received=received,
            scheduled=scheduled,
            four_eyes=receipt.received_by_id == current_user.id,
        ),
        status,
    )


@bp.route("/receipts/<int:receipt_id>")
@require(Permission.VIEW_ORDERS)
def receipt(receipt_id: int):
    return _render_receipt(receiving.get_receipt(db.session, current_user, receipt_id))


@bp.route("/receipts/<int:receipt_id>/inspect", methods=["POST"])
@require(Permission.INSPECT_GOODS)
def inspect(receipt_id: int):
    receipt = receiving.get_receipt(db.session, current_user, receipt_id)
    form = _inspection_form(receipt, receiving.certificates_for(db.session, receipt))
    if form.validate_on_submit():
        data = receiving.InspectionData(
            decision=form.decision.data,
            documents_checked=bool(form.documents_checked.data),
            sample_result=form.sample_result.data,
            certificate_id=form.certificate_id.data,
            notes=form.notes.data,
            rejection_reason=form.rejection_reason.data,
        )
        try:
            receiving.inspect(db.session, current_user, receipt, data)
        except DomainError as error:
            db.session.rollback()
            apply_domain_error(form, error)
        else:
            db.session.commit()
            if receipt.outcome == InspectionOutcome.RELEASED:
                flash(_("%(number)s is released: %(quantity)s units are available for allocation.",
                        number=receipt.number, quantity=receipt.quantity), "success")
            else:
                flash(_("%(number)s is rejected: the units are held apart until returned or disposed of.",
                        number=receipt.number), "success")
            return redirect(url_for("orders.receipt", receipt_id=receipt.id))
    receipt = receiving.get_receipt(db.session, current_user, receipt_id)
    return _render_receipt(receipt, inspection_form=form, status=form_status(form))


@bp.route("/receipts/<int:receipt_id>/settle", methods=["POST"])
@require(Permission.INSPECT_GOODS)
def settle(receipt_id: int):
    receipt = receiving.get_receipt(db.session, current_user, receipt_id)
    form = DispositionForm(prefix="disposition")
    if form.validate_on_submit():
        try:
            movement = receiving.settle_rejected(db.session, current_user, receipt, how=form.how.data,
                                                 note=form.note.data)
        except DomainError as error:
            db.session.rollback()
            apply_domain_error(form, error)
        else:
            db.session.commit()
            flash(_("%(quantity)s rejected units of %(number)s have left the stock.",
                    quantity=movement.quantity, number=receipt.number), "success")
            return redirect(url_for("orders.receipt", receipt_id=receipt.id))
    receipt = receiving.get_receipt(db.session, current_user, receipt_id)
    return _render_receipt(receipt, disposition_form=form, status=form_status(form))

