"""Purchase order pages: the list, drafting, one order and its steps, amendments and versions, the PDF,
exchange rates and approval rules. Thin: form -> service -> commit -> redirect."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import contains_eager, selectinload
from wtforms.fields.choices import SelectChoice

from app.auth.access import has_permission, require
from app.auth.roles import Permission, Role
from app.catalog.models import Product, ProductCategory
from app.catalog.views import display_name
from app.errors import DomainError
from app.extensions import db
from app.forms import form_status
from app.listing import Column, Filter, Listing
from app.main import register_nav
from app.organisations.models import Organisation, OrganisationKind
from app.pdf import pdf_response, render_pdf
from app.stock import ledger
from app.stock.models import StockLocation
from app.timeutil import local_today
from orders import approval, bp
from orders import services_orders as services
from orders.forms_orders import (
    EXTRA_DELIVERY_ROWS,
    AmendForm,
    ApprovalRulesForm,
    ConfirmForm,
    ExchangeRateForm,
    OrderForm,
    ReasonForm,
)
from orders.models import (
    ApprovalRule,
    DeliveryStatus,
    ExchangeRate,
    OrderStatus,
    PurchaseOrder,
    PurchaseOrderLine,
    ScheduledDelivery,
)
from suppliers.forms_certificates import select_choices
from suppliers.models import Offer, Supplier, VettingStatus
from suppliers.views_certificates import product_choices, show_domain_error
from suppliers.views_offers import INCOTERM_NAMES

STATUS_TONES = {
    OrderStatus.DRAFT: "neutral",
    OrderStatus.SUBMITTED: "amber",
    OrderStatus.APPROVED: "green",
    OrderStatus.SENT: "neutral",
    OrderStatus.CONFIRMED: "green",
    OrderStatus.PARTIALLY_RECEIVED: "amber",
    OrderStatus.RECEIVED: "green",
    OrderStatus.CLOSED: "neutral",
    OrderStatus.CANCELLED: "red",
}


def register_navigation() -> None:
    register_nav("orders.index", _l("Purchase orders"), Permission.VIEW_ORDERS, order=48)


def _helpers() -> dict:
    """What every order template uses to show money, states and destinations."""
    return {
        "format_sek": services.format_sek,
        "format_amount": services.format_amount,
        "status_label": lambda status: OrderStatus(status).label,
        "status_tone": lambda status: STATUS_TONES[OrderStatus(status)],
        "delivery_label": lambda status: DeliveryStatus(status).label,
        "incoterm_name": lambda code: INCOTERM_NAMES.get(code or "", ""),
    }


def _render(template: str, status: int = 200, **context):
    return render_template(template, **_helpers(), **context), status


def _order(order_id: int) -> PurchaseOrder:
    """The order in the user's scope; 404 otherwise (services.get_order raises NotFoundError)."""
    return services.get_order(db.session, current_user, order_id)


# --- the list --------------------------------------------------------------------------------------------------

DUE_CHOICES = (
    ("overdue", _l("Overdue")),
    ("week", _l("Due within 7 days")),
    ("month", _l("Due within 30 days")),
    ("later", _l("Due later")),
    ("none", _l("Nothing expected")),
)


def _next_due():
    """The due date of each order's next delivery still expected, as a correlated SQL expression."""
    return (
        select(func.min(ScheduledDelivery.due_on))
        .where(
            ScheduledDelivery.order_id == PurchaseOrder.id,
            ScheduledDelivery.status.in_(services.OPEN_DELIVERY),
        )
        .correlate(PurchaseOrder)
        .scalar_subquery()
    )


def _due_filter(stmt, value: str):
    today = local_today()
    due = _next_due()
    conditions = {
        "overdue": due < today,
        "week": due.between(today, today + timedelta(days=7)),
        "month": due.between(today, today + timedelta(days=30)),
        "later": due > today + timedelta(days=30),
        "none": due.is_(None),
    }
    return stmt.where(conditions[value])


def _in_category(code: str):
    return exists(
        select(PurchaseOrderLine.id)
        .join(Product, Product.id == PurchaseOrderLine.product_id)
        .join(ProductCategory, ProductCategory.id == Product.category_id)
        .where(PurchaseOrderLine.order_id == PurchaseOrder.id, ProductCategory.code == code)
    )


def _search_products(q: str):
    pattern = f"%{q.lower()}%"
    return exists(
        select(PurchaseOrderLine.id)
        .join(Product, Product.id == PurchaseOrderLine.product_id)
        .where(
            PurchaseOrderLine.order_id == PurchaseOrder.id,
            or_(
                func.lower(Product.sku).like(pattern),
                func.lower(Product.name_sv).like(pattern),
                func.lower(Product.name_en).like(pattern),
            ),
        )
    )


def order_listing() -> Listing:
    scope = services.order_scope_clause(current_user)
    stmt = (
        select(PurchaseOrder)
        .join(PurchaseOrder.supplier)
        .join(PurchaseOrder.buyer)
        .where(scope)
        .options(
            contains_eager(PurchaseOrder.supplier),
            contains_eager(PurchaseOrder.buyer),
            selectinload(PurchaseOrder.lines),
            selectinload(PurchaseOrder.deliveries),
            selectinload(PurchaseOrder.responsible),
        )
    )
    value_sort = (
        select(func.sum(PurchaseOrderLine.quantity * PurchaseOrderLine.unit_price))
        .where(PurchaseOrderLine.order_id == PurchaseOrder.id)
        .correlate(PurchaseOrder)
        .scalar_subquery()
        * PurchaseOrder.exchange_rate
    )
    suppliers = db.session.execute(
        select(Supplier.id, Supplier.legal_name)
        .where(Supplier.id.in_(select(PurchaseOrder.supplier_id).where(scope)))
        .order_by(Supplier.legal_name)
    ).all()
    buyers = db.session.execute(
        select(Organisation.id, Organisation.name)
        .where(Organisation.id.in_(select(PurchaseOrder.buyer_id).where(scope)))
        .order_by(Organisation.name)
    ).all()
    categories = db.session.scalars(select(ProductCategory).order_by(ProductCategory.sort_order)).all()
    columns = [
        Column(
            "number",
            _l("Order"),
            lambda o: o.number,
            sort=PurchaseOrder.number,
            link=lambda o: url_for("orders.detail", order_id=o.id),
        ),
        Column("supplier", _l("Supplier"), lambda o: o.supplier.legal_name, sort=Supplier.legal_name),
        Column("buyer", _l("Buyer"), lambda o: o.buyer.name, sort=Organisation.name),
        Column("status", _l("Status"), lambda o: OrderStatus(o.status).label, sort=PurchaseOrder.status),
        Column("order_date", _l("Order date"), lambda o: o.order_date, sort=PurchaseOrder.order_date),
        Column("due", _l("Next delivery due"), services.next_open_due, sort=_next_due()),
        Column("currency", _l("Currency"), lambda o: o.currency, sort=PurchaseOrder.currency),
        Column(
            "value", _l("Value (SEK)"), lambda o: Decimal(services.order_value_ore(o)) / 100, sort=value_sort
        ),
        Column("responsible", _l("Responsible"), lambda o: o.responsible.name),
    ]
    filters = [
        Filter(
            "status",
            _l("Status"),
            OrderStatus.choices(),
            lambda stmt, value: stmt.where(PurchaseOrder.status == value),
        ),
        Filter(
            "supplier",
            _l("Supplier"),
            [(str(i), name) for i, name in suppliers],
            lambda stmt, value: stmt.where(PurchaseOrder.supplier_id == int(value)),
        ),
        Filter(
            "category",
            _l("Category"),
            [(c.code, display_name(c)) for c in categories],
            lambda stmt, value: stmt.where(_in_category(value)),
        ),
        Filter("due", _l("Due"), DUE_CHOICES, _due_filter),
        Filter(
            "buyer",
            _l("Buyer"),
            [(str(i), name) for i, name in buyers],
            lambda stmt, value: stmt.where(PurchaseOrder.buyer_id == int(value)),
        ),
    ]
    return Listing(
        stmt,
        columns=columns,
        search=[
            PurchaseOrder.number,
            Supplier.legal_name,
            PurchaseOrder.supplier_reference,
            _search_products,
        ],
        filters=filters,
        default_sort="number",
        default_dir="desc",
        csv_name="purchase-orders",
    )


@bp.route("/")
@require(Permission.VIEW_ORDERS)
def index():
    return order_listing().respond(lambda page: render_template("orders/orders.html", page=page))


# --- the order form --------------------------------------------------------------------------------------------


def _supplier_choices(current: Supplier | None) -> list[SelectChoice]:
    suppliers = db.session.scalars(
        select(Supplier)
        .where(
            (Supplier.vetting_status == VettingStatus.APPROVED.value)
            | (Supplier.id == (current.id if current else None))
        )
        .order_by(Supplier.legal_name)
    ).all()
    return [
        SelectChoice("", _("Choose an approved supplier")),
        *(SelectChoice(s.id, s.legal_name) for s in suppliers),
    ]


def destination_value(location: StockLocation) -> str:
    """A destination as the form names it: a warehouse by its location, an organisation by itself."""
    return f"org-{location.organisation_id}" if location.organisation_id else f"loc-{location.id}"


def _destination_choices(buyer: Organisation, current: list[StockLocation] = ()) -> list[SelectChoice]:
    """National warehouses, then the regions and municipalities the buyer may deliver straight to: all of them
    for the agency, its own county's for a region or municipality; and any destination already chosen."""
    warehouses = ledger.warehouses(db.session)
    choices = [SelectChoice("", "—")]
    choices += [
        SelectChoice(destination_value(w), w.name, optgroup=_("National warehouses")) for w in warehouses
    ]
    organisations = select(Organisation).where(
        Organisation.kind.in_([OrganisationKind.REGION.value, OrganisationKind.MUNICIPALITY.value])
    )
    if not buyer.is_national:
        organisations = organisations.where(
            (Organisation.county_code == buyer.county_code) | (Organisation.id == buyer.id)
        )
    listed = {choice.value for choice in choices}
    for organisation in db.session.scalars(
        organisations.order_by(Organisation.kind.desc(), Organisation.name)
    ):
        group = _("Regions") if organisation.kind == OrganisationKind.REGION else _("Municipalities")
        choices.append(SelectChoice(f"org-{organisation.id}", organisation.name, optgroup=group))
        listed.add(f"org-{organisation.id}")
    for location in current:
        if destination_value(location) not in listed:
            choices.append(SelectChoice(destination_value(location), location.name))
            listed.add(destination_value(location))
    return choices


def _destination(value: str | None) -> StockLocation | None:
    """The stock location a form value names; an organisation's is created on first use."""
    kind, _sep, number = (value or "").partition("-")
    if not number.isdigit():
        return None
    if kind == "loc":
        return db.session.get(StockLocation, int(number))
    organisation = db.session.get(Organisation, int(number)) if kind == "org" else None
    if organisation is None or organisation.is_national:
        return None
    return ledger.location_for_organisation(db.session, organisation)


def _incoterm_choices() -> list[SelectChoice]:
    return select_choices([("", "—"), *((code, f"{code} – {name}") for code, name in INCOTERM_NAMES.items())])


def _prepare_order_form(
    form: OrderForm, buyer: Organisation, order: PurchaseOrder | None = None
) -> OrderForm:
    form.supplier_id.choices = _supplier_choices(order.supplier if order else None)
    form.incoterm.choices = _incoterm_choices()
    products = product_choices()
    destinations = _destination_choices(buyer, [d.destination for d in order.deliveries] if order else [])
    for entry in form.lines:
        entry.form.product_id.choices = [SelectChoice("", "—"), *products]
    for entry in form.deliveries:
        entry.form.destination.choices = destinations
    return form


class FormRowError(DomainError):
    """A delivery row names a line row that is empty."""


def _line_inputs(form) -> tuple[list[services.OrderLineInput], dict[int, int]]:
    """The filled line rows as inputs, and each row's number on the form -> its line number on the order."""
    inputs, numbers = [], {}
    for row, entry in enumerate(form.lines, start=1):
        if entry.form.is_blank:
            continue
        product = db.session.get(Product, entry.form.product_id.data)
        inputs.append(services.OrderLineInput(product, entry.form.quantity.data, entry.form.unit_price.data))
        numbers[row] = len(inputs)
    return inputs, numbers


def _delivery_inputs(form, numbers: dict[int, int] | None = None) -> list[services.DeliveryInput]:
    """The filled delivery rows as inputs; ``numbers`` maps the form's line rows to order line numbers."""
    inputs = []
    for row, entry in enumerate(form.deliveries, start=1):
        sub = entry.form
        if sub.is_blank:
            continue
        line_number = sub.line_number.data if numbers is None else numbers.get(sub.line_number.data)
        if line_number is None:
            raise FormRowError(
                _("Delivery %(n)s: line %(line)s is empty.", n=row, line=sub.line_number.data),
                field="deliveries",
            )
        inputs.append(
            services.DeliveryInput(
                line_number=line_number,
                due_on=sub.due_on.data,
                quantity=sub.quantity.data,
                destination=_destination(sub.destination.data),
                delivery_id=int(sub.delivery_id.data) if (sub.delivery_id.data or "").isdigit() else None,
            )
        )
    return inputs


def _terms(form: OrderForm) -> dict:
    lines, numbers = _line_inputs(form)
    return {
        "supplier": db.session.get(Supplier, form.supplier_id.data) if form.supplier_id.data else None,
        "currency": form.currency.data,
        "order_date": form.order_date.data,
        "lines": lines,
        "deliveries": _delivery_inputs(form, numbers),
        "incoterm": form.incoterm.data or None,
        "incoterm_place": form.incoterm_place.data,
        "payment_terms": form.payment_terms.data,
        "notes": form.notes.data,
    }


def _offer_to_prefill() -> Offer | None:
    offer_id = request.values.get("offer_id", type=int)
    return db.session.get(Offer, offer_id) if offer_id else None


def _prefill_from_offer(form: OrderForm, offer: Offer) -> None:
    """An offer fills in the supplier, the first line's product and price, the currency and Incoterms."""
    form.offer_id.data = str(offer.id)
    form.supplier_id.data = offer.supplier_id
    form.currency.data = offer.currency
    form.incoterm.data = offer.incoterm or ""
    form.incoterm_place.data = offer.incoterm_place
    first = form.lines[0].form
    first.product_id.data = offer.product_id
    first.unit_price.data = offer.unit_price
    first.quantity.data = offer.minimum_order_quantity


@bp.route("/new", methods=["GET", "POST"])
@require(Permission.MANAGE_ORDERS)
def new():
    buyer = current_user.organisation
    form = _prepare_order_form(OrderForm(), buyer)
    offer = _offer_to_prefill()
    if not form.is_submitted():
        form.order_date.data = local_today()
        if offer is not None:
            _prefill_from_offer(form, offer)
    if form.validate_on_submit():
        try:
            order = services.create_order(db.session, current_user, buyer=buyer, offer=offer, **_terms(form))
        except DomainError as error:
            db.session.rollback()
            show_domain_error(form, error)
        else:
            db.session.commit()
            flash(_("Purchase order %(number)s is saved as a draft.", number=order.number), "success")
            return redirect(url_for("orders.detail", order_id=order.id))
    return _render(
        "orders/order_form.html", form_status(form), form=form, order=None, offer=offer, buyer=buyer
    )


def _fill_order_form(form: OrderForm, order: PurchaseOrder) -> None:
    form.supplier_id.data = order.supplier_id
    form.order_date.data = order.order_date
    form.currency.data = order.currency
    form.incoterm.data = order.incoterm or ""
    form.incoterm_place.data = order.incoterm_place
    form.payment_terms.data = order.payment_terms
    form.notes.data = order.notes
    while len(form.lines) < len(order.lines):
        form.lines.append_entry()
    for entry, line in zip(form.lines, order.lines, strict=False):
        entry.form.product_id.data = line.product_id
        entry.form.quantity.data = line.quantity
        entry.form.unit_price.data = line.unit_price
    _fill_deliveries(form, order)


def _fill_deliveries(form, order: PurchaseOrder, *, with_ids: bool = False) -> None:
    while len(form.deliveries) < len(order.deliveries):
        form.deliveries.append_entry()
    for entry, delivery in zip(form.deliveries, order.deliveries, strict=False):
        sub = entry.form
        sub.delivery_id.data = str(delivery.id) if with_ids else ""
        sub.line_number.data = delivery.line.line_number
        sub.due_on.data = delivery.due_on
        sub.quantity.data = delivery.quantity
        sub.destination.data = destination_value(delivery.destination)


@bp.route("/<int:order_id>/edit", methods=["GET", "POST"])
@require(Permission.MANAGE_ORDERS)
def edit(order_id: int):
    order = _order(order_id)
    if order.status != OrderStatus.DRAFT or order.sent_at is not None:
        flash(_("Only a draft that has never been sent can be edited; amend a sent order instead."), "error")
        return redirect(url_for("orders.detail", order_id=order.id))
    form = OrderForm()
    if not form.is_submitted():
        _fill_order_form(form, order)
    _prepare_order_form(form, order.buyer, order)
    if form.validate_on_submit():
        try:
            services.update_draft(db.session, current_user, order, **_terms(form))
        except DomainError as error:
            db.session.rollback()
            show_domain_error(form, error)
        else:
            db.session.commit()
            flash(_("The draft is saved."), "success")
            return redirect(url_for("orders.detail", order_id=order.id))
    return _render(
        "orders/order_form.html",
        form_status(form),
        form=form,
        order=order,
        offer=order.offer,
        buyer=order.buyer,
    )


# --- one order -------------------------------------------------------------------------------------------------


def _detail(order: PurchaseOrder, status: int = 200, **forms):
    received = services.received_by_delivery(db.session, order)
    value = services.order_value_ore(order)
    rules = approval.current_rules(db.session)
    refusal = None
    if order.status == OrderStatus.SUBMITTED:
        refusal = approval.approval_refusal(db.session, current_user, order, value)
    forms.setdefault("return_form", ReasonForm(prefix="return"))
    forms.setdefault("cancel_form", ReasonForm(prefix="cancel"))
    forms.setdefault("confirm_form", ConfirmForm(prefix="confirm"))
    return _render(
        "orders/order_detail.html",
        status,
        order=order,
        snapshot=services.snapshot(order, services.approval_of(order)),
        received=received,
        statuses={delivery.id: delivery.status for delivery in order.deliveries},
        approver_roles=[role for role in Role if role in approval.approver_roles(rules, value)],
        approval_refusal=refusal,
        can_manage=has_permission(current_user, Permission.MANAGE_ORDERS),
        can_approve=order.status == OrderStatus.SUBMITTED and refusal is None,
        can_amend=services.can_amend(order),
        can_cancel=order.status in services.CANCELLABLE and not any(received.values()),
        **forms,
    )


@bp.route("/<int:order_id>")
@require(Permission.VIEW_ORDERS)
def detail(order_id: int):
    return _detail(_order(order_id))


def _step(order: PurchaseOrder, action, success: str, **forms):
    """Run one step of the order's life; on a refusal show the order again with the message."""
    try:
        action()
    except DomainError as error:
        db.session.rollback()
        form = next(iter(forms.values()), None)
        if form is not None and error.field and hasattr(form, error.field):
            show_domain_error(form, error)
            return _detail(order, 422, **forms)
        flash(error.message, "error")
        return redirect(url_for("orders.detail", order_id=order.id))
    db.session.commit()
    flash(success, "success")
    return redirect(url_for("orders.detail", order_id=order.id))


@bp.route("/<int:order_id>/submit", methods=["POST"])
@require(Permission.MANAGE_ORDERS)
def submit(order_id: int):
    order = _order(order_id)
    return _step(
        order,
        lambda: services.submit_order(db.session, current_user, order),
        _("The order is submitted for approval."),
    )


@bp.route("/<int:order_id>/approve", methods=["POST"])
@require(Permission.APPROVE_ORDERS)
def approve(order_id: int):
    order = _order(order_id)
    return _step(
        order, lambda: services.approve_order(db.session, current_user, order), _("The order is approved.")
    )


def _with_reason(order: PurchaseOrder, prefix: str, form_name: str, step, success: str):
    form = ReasonForm(prefix=prefix)
    if not form.validate_on_submit():
        return _detail(order, 422, **{form_name: form})
    return _step(
        order, lambda: step(db.session, current_user, order, form.reason.data), success, **{form_name: form}
    )


@bp.route("/<int:order_id>/return", methods=["POST"])
@require(Permission.APPROVE_ORDERS)
def return_order(order_id: int):
    order = _order(order_id)
    return _with_reason(
        order, "return", "return_form", services.return_order, _("The order is returned to its officer.")
    )


@bp.route("/<int:order_id>/send", methods=["POST"])
@require(Permission.MANAGE_ORDERS)
def send(order_id: int):
    order = _order(order_id)
    return _step(
        order,
        lambda: services.send_order(db.session, current_user, order),
        _("The order is marked as sent to the supplier."),
    )


@bp.route("/<int:order_id>/confirm", methods=["POST"])
@require(Permission.MANAGE_ORDERS)
def confirm(order_id: int):
    order = _order(order_id)
    form = ConfirmForm(prefix="confirm")
    if not form.validate_on_submit():
        return _detail(order, 422, confirm_form=form)
    return _step(
        order,
        lambda: services.confirm_order(db.session, current_user, order, form.supplier_reference.data),
        _("The supplier's confirmation is recorded."),
        confirm_form=form,
    )


@bp.route("/<int:order_id>/close", methods=["POST"])
@require(Permission.MANAGE_ORDERS)
def close(order_id: int):
    order = _order(order_id)
    return _step(
        order, lambda: services.close_order(db.session, current_user, order), _("The order is closed.")
    )


@bp.route("/<int:order_id>/cancel", methods=["POST"])
@require(Permission.MANAGE_ORDERS)
def cancel(order_id: int):
    order = _order(order_id)
    return _with_reason(order, "cancel", "cancel_form", services.cancel_order, _("The order is cancelled."))


@bp.route("/<int:order_id>/order.pdf")
@require(Permission.VIEW_ORDERS)
def pdf(order_id: int):
    order = _order(order_id)
    document = render_pdf(
        "orders/order_pdf.html",
        organisation=order.buyer,
        title=_("Purchase order %(number)s", number=order.number),
        order=order,
        data=services.snapshot(order, services.approval_of(order)),
        **_helpers(),
    )
    return pdf_response(document, f"{order.number}.pdf")


# --- amendments and versions -----------------------------------------------------------------------------------


def _prepare_amend_form(form: AmendForm, order: PurchaseOrder) -> AmendForm:
    destinations = _destination_choices(order.buyer, [d.destination for d in order.deliveries])
    for entry in form.deliveries:
        entry.form.destination.choices = destinations
    return form


@bp.route("/<int:order_id>/amend", methods=["GET", "POST"])
@require(Permission.MANAGE_ORDERS)
def amend(order_id: int):
    order = _order(order_id)
    if not services.can_amend(order):
        flash(_("Only a sent, confirmed or partially received order can be amended."), "error")
        return redirect(url_for("orders.detail", order_id=order.id))
    form = AmendForm()
    if not form.is_submitted():
        for line in order.lines:
            form.lines.append_entry({"quantity": line.quantity, "unit_price": line.unit_price})
        _fill_deliveries(form, order, with_ids=True)
        for _extra in range(EXTRA_DELIVERY_ROWS):
            form.deliveries.append_entry()
    _prepare_amend_form(form, order)
    if form.validate_on_submit():
        try:
            lines = [
                services.OrderLineInput(line.product, entry.form.quantity.data, entry.form.unit_price.data)
                for line, entry in zip(order.lines, form.lines, strict=False)
            ]
            version = services.amend_order(
                db.session,
                current_user,
                order,
                reason=form.reason.data,
                lines=lines,
                deliveries=_delivery_inputs(form),
            )
        except DomainError as error:
            db.session.rollback()
            show_domain_error(form, error)
        else:
            db.session.commit()
            if order.status == OrderStatus.SUBMITTED:
                flash(
                    _(
                        "Version %(n)s is saved. Its value is above what was approved: the order awaits approval "
                        "again.",
                        n=version.version,
                    ),
                    "info",
                )
            else:
                flash(_("Version %(n)s is saved.", n=version.version), "success")
            return redirect(url_for("orders.detail", order_id=order.id))
    received = services.received_by_delivery(db.session, order)
    return _render(
        "orders/order_amend.html",
        form_status(form),
        form=form,
        order=order,
        received=received,
        received_lines=services.received_by_line(db.session, order),
        line_rows=list(zip(order.lines, form.lines, strict=False)),
    )


@bp.route("/<int:order_id>/versions/<int:version>")
@require(Permission.VIEW_ORDERS)
def version(order_id: int, version: int):
    order = _order(order_id)
    found = services.version_of(order, version)
    if found is None:
        abort(404)
    return _render("orders/order_version.html", order=order, version=found, data=found.snapshot)


# --- exchange rates --------------------------------------------------------------------------------------------


def _rates_page(form: ExchangeRateForm, status: int = 200):
    rates = db.session.scalars(
        select(ExchangeRate).order_by(ExchangeRate.valid_on.desc(), ExchangeRate.currency).limit(200)
    ).all()
    latest = {}
    for rate in rates:
        latest.setdefault(rate.currency, rate)
    return _render(
        "orders/order_rates.html",
        status,
        form=form,
        rates=rates,
        latest=latest,
        can_add=has_permission(current_user, Permission.MANAGE_EXCHANGE_RATES),
    )


@bp.route("/exchange-rates")
@require(Permission.VIEW_ORDERS)
def rates():
    form = ExchangeRateForm()
    form.valid_on.data = local_today()
    return _rates_page(form)


@bp.route("/exchange-rates", methods=["POST"])
@require(Permission.MANAGE_EXCHANGE_RATES)
def rates_add():
    form = ExchangeRateForm()
    if form.validate_on_submit():
        try:
            rate = services.record_exchange_rate(
                db.session,
                current_user,
                currency=form.currency.data,
                valid_on=form.valid_on.data,
                sek_per_unit=form.sek_per_unit.data,
            )
        except DomainError as error:
            db.session.rollback()
            show_domain_error(form, error)
        else:
            db.session.commit()
            flash(
                _(
                    "The rate for %(currency)s from %(day)s is recorded.",
                    currency=rate.currency,
                    day=rate.valid_on.isoformat(),
                ),
                "success",
            )
            return redirect(url_for("orders.rates"))
    return _rates_page(form, form_status(form))


# --- approval rules --------------------------------------------------------------------------------------------


def _role_choices():
    return [(role.value, role.label) for role in approval.APPROVER_ROLES]


@bp.route("/approval-rules", methods=["GET", "POST"])
@require(Permission.MANAGE_APPROVAL_RULES)
def approval_rules():
    current = approval.current_rules(db.session)
    saved = bool(db.session.scalar(select(func.count()).select_from(ApprovalRule)))
    form = ApprovalRulesForm()
    if not form.is_submitted():
        while len(form.rules) < len(current) + 2:
            form.rules.append_entry()
        for entry, rule in zip(form.rules, current, strict=False):
            entry.form.max_value_sek.data = Decimal(rule.max_value_ore) / 100 if rule.max_value_ore else None
            entry.form.roles.data = [role.value for role in rule.roles]
    for entry in form.rules:
        entry.form.roles.choices = _role_choices()
    if form.validate_on_submit():
        specs = [
            approval.RuleSpec(
                int(entry.form.max_value_sek.data * 100)
                if entry.form.max_value_sek.data is not None
                else None,
                tuple(Role(value) for value in entry.form.roles.data),
            )
            for entry in form.rules
            if entry.form.roles.data or entry.form.max_value_sek.data is not None
        ]
        try:
            approval.replace_rules(db.session, current_user, specs)
        except DomainError as error:
            db.session.rollback()
            show_domain_error(form, error)
        else:
            db.session.commit()
            flash(_("The approval rules are saved."), "success")
            return redirect(url_for("orders.approval_rules"))
    return _render(
        "orders/order_approval_rules.html", form_status(form), form=form, current=current, saved=saved
    )
