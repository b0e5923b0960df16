"""Allocation rounds and decisions on the web: the list, opening a round, the round page with its preview,
adjustments, deciding, cancelling, the decision PDF, and passing a county board's share on.
Thin: form -> service -> commit -> redirect."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from flask import current_app, flash, redirect, render_template, url_for
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import exists, func, select
from sqlalchemy.orm import joinedload, selectinload
from wtforms.fields.choices import SelectChoice

from allocation import bp
from allocation import services_rounds as services
from allocation.forms_rounds import (
    PRODUCT_ROWS,
    AdjustForm,
    CancelForm,
    DecideForm,
    OnwardForm,
    RoundForm,
    set_choices,
)
from allocation.models_distribution import (
    AllocationLine,
    AllocationPolicy,
    AllocationRound,
    RecipientScope,
    RoundProduct,
    RoundStatus,
    Shipment,
    ShipmentStatus,
)
from app.auth.access import require
from app.auth.roles import Permission
from app.catalog.models import Product, ProductCategory
from app.catalog.views import display_name
from app.errors import DomainError
from app.extensions import db
from app.forms import form_status
from app.listing import Column, Filter, Listing
from app.main import register_nav
from app.organisations.models import County, Organisation
from app.pdf import pdf_response, render_pdf
from app.stock import ledger
from app.stock.models import StockLocation
from suppliers.views_certificates import product_choices, show_domain_error

STATUS_TONES = {RoundStatus.DRAFT: "amber", RoundStatus.DECIDED: "green", RoundStatus.CANCELLED: "neutral"}


def register_navigation() -> None:
    register_nav("allocation.rounds", _l("Allocation"), Permission.VIEW_ALLOCATION, order=35)


# --- presenting figures ------------------------------------------------------------------------------------


def figure(value, places: int = 1) -> str:
    """An exact figure (Fraction, int) rounded half up for the screen; "—" for none."""
    if value is None:
        return "—"
    if isinstance(value, Fraction):
        value = Decimal(value.numerator) / Decimal(value.denominator)
    quantum = Decimal(1).scaleb(-places)
    pattern = "#,##0" + ("." + "0" * places if places else "")
    return format_decimal(Decimal(value).quantize(quantum, rounding=ROUND_HALF_UP), format=pattern)


def level(view: services.LineView, policy: str):
    """The policy's final level: days of supply, units per unit of need, or units per inhabitant."""
    line = view.line
    if policy == AllocationPolicy.DAYS_OF_SUPPLY.value:
        return view.days_after
    basis = line.need if policy == AllocationPolicy.PROPORTIONAL.value else line.population
    return Fraction(line.computed_quantity, basis) if basis else None


def scope_text(round_: AllocationRound) -> str:
    if round_.recipient_scope == RecipientScope.COUNTY.value and round_.county is not None:
        return _("%(county)s: the region and municipalities", county=round_.county.name)
    return RecipientScope(round_.recipient_scope).label


def _helpers() -> dict:
    return {
        "figure": figure,
        "level": level,
        "scope_text": scope_text,
        "status_label": lambda status: RoundStatus(status).label,
        "status_tone": lambda status: STATUS_TONES[RoundStatus(status)],
        "policy_label": lambda policy: AllocationPolicy(policy).label,
        "display_name": display_name,
    }


def _render(template: str, status: int = 200, **context):
    return render_template(template, **_helpers(), **context), status


def _round(round_id: int) -> AllocationRound:
    """The round in the user's view; 404 otherwise (services.get_round raises NotFoundError)."""
    return services.get_round(db.session, current_user, round_id)


def _to_round(round_: AllocationRound, anchor: str | None = None):
    return redirect(url_for("allocation.round", round_id=round_.id, _anchor=anchor))


# --- the list ----------------------------------------------------------------------------------------------


def _has_product(product_id: str):
    return exists(
        select(RoundProduct.id).where(RoundProduct.round_id == AllocationRound.id,
                                      RoundProduct.product_id == int(product_id))
    )


def _search_number(q: str):
    return func.lower(func.coalesce(AllocationRound.number, "")).like(f"%{q.lower()}%")


def round_listing() -> Listing:
    visible = services.visibility_clause(current_user)
    stmt = (
        select(AllocationRound)
        .join(AllocationRound.decided_by_organisation)
        .where(visible)
        .options(
            joinedload(AllocationRound.decided_by_organisation),
            joinedload(AllocationRound.county),
            selectinload(AllocationRound.products).joinedload(RoundProduct.product),
        )
    )
    products = db.session.execute(
        select(Product.id, Product.sku)
        .where(Product.id.in_(select(RoundProduct.product_id).join(AllocationRound).where(visible)))
        .order_by(Product.sku)
    ).all()
    columns = [
        Column("number", _l("Decision"), lambda r: r.number or "", sort=AllocationRound.number),
        Column("title", _l("Title"), lambda r: r.title, sort=AllocationRound.title,
               link=lambda r: url_for("allocation.round", round_id=r.id)),
        Column("status", _l("Status"), lambda r: RoundStatus(r.status).label, sort=AllocationRound.status),
        Column("recipients", _l("Recipients"), scope_text, sort=AllocationRound.recipient_scope),
        Column("policy", _l("Policy"), lambda r: AllocationPolicy(r.policy).label, sort=AllocationRound.policy),
        Column("products", _l("Products"), lambda r: ", ".join(rp.product.sku for rp in r.products)),
        Column("units", _l("Units"), lambda r: sum(rp.quantity for rp in r.products)),
        Column("decided_by", _l("Deciding organisation"), lambda r: r.decided_by_organisation.name,
               sort=Organisation.name),
        Column("decided_on", _l("Decided on"), lambda r: r.decided_on, sort=AllocationRound.decided_on),
        Column("created_at", _l("Opened"), lambda r: r.created_at, sort=AllocationRound.created_at),
    ]
    filters = [
        Filter("status", _l("Status"), RoundStatus.choices(),
               lambda stmt, value: stmt.where(AllocationRound.status == value)),
        Filter("scope", _l("Recipients"), RecipientScope.choices(),
               lambda stmt, value: stmt.where(AllocationRound.recipient_scope == value)),
        Filter("policy", _l("Policy"), AllocationPolicy.choices(),
               lambda stmt, value: stmt.where(AllocationRound.policy == value)),
        Filter("level", _l("Level"), [("national", _l("National rounds")), ("second", _l("Second-level rounds"))],
               lambda stmt, value: stmt.where(AllocationRound.parent_id.is_(None) if value == "national"
                                              else AllocationRound.parent_id.is_not(None))),
        Filter("product", _l("Product"), [(str(i), sku) for i, sku in products],
               lambda stmt, value: stmt.where(_has_product(value))),
    ]
    return Listing(
        stmt,
        columns=columns,
        search=[AllocationRound.title, _search_number],
        filters=filters,
        default_sort="created_at",
        default_dir="desc",
        csv_name="allocation-rounds",
    )


@bp.route("/rounds/")
@require(Permission.VIEW_ALLOCATION)
def rounds():
    return round_listing().respond(
        lambda page: render_template("allocation/rounds.html", page=page,
                                     can_open=services.may_open_national(current_user))
    )


# --- the round form ----------------------------------------------------------------------------------------


def _category_choices() -> list[SelectChoice]:
    categories = db.session.scalars(select(ProductCategory).order_by(ProductCategory.sort_order)).all()
    return [SelectChoice("", _("Its own category")), *(SelectChoice(c.id, display_name(c)) for c in categories)]


def _prepare_products(form, products: list[SelectChoice] | None = None) -> None:
    set_choices(form)
    products = products if products is not None else product_choices()
    categories = _category_choices()
    for entry in form.products:
        entry.form.product_id.choices = [SelectChoice("", "—"), *products]
        entry.form.need_category_id.choices = categories


def _open_requests() -> list:
    from allocation import services_requests  # the escalation helper's

    return list(services_requests.open_requests(db.session))


def _prepare_round_form(form: RoundForm) -> RoundForm:
    form.source_location_id.choices = [SelectChoice(w.id, w.name) for w in ledger.warehouses(db.session)]
    counties = db.session.scalars(select(County).order_by(County.code)).all()
    form.county_code.choices = [SelectChoice("", "—"), *(SelectChoice(c.code, f"{c.code} {c.name}") for c in counties)]
    form.requests.choices = [
        SelectChoice(request.id, _("%(reference)s from %(county)s", reference=request.reference,
                                   county=request.county.name))
        for request in _open_requests()
    ]
    _prepare_products(form)
    return form


def _product_inputs(form) -> list[services.ProductInput]:
    inputs = []
    for entry in form.products:
        sub = entry.form
        if sub.is_blank:
            continue
        product = db.session.get(Product, sub.product_id.data)
        if product is None:
            raise services.RoundError(_("Choose a product from the catalogue."), field="products")
        category = db.session.get(ProductCategory, sub.need_category_id.data) if sub.need_category_id.data else None
        inputs.append(services.ProductInput(product, sub.quantity.data, sub.pack_size.data or None, category,
                                            sub.substitute_note.data or ""))
    return inputs


def _settings(form) -> services.RoundSettings:
    return services.RoundSettings(form.title.data or "", form.policy.data, form.horizon_days.data, form.notes.data or "")


def _fill_products(form, products) -> None:
    """Fill the product rows from (product, quantity, pack size, need category, note) tuples."""
    while len(form.products) < max(len(products), PRODUCT_ROWS):
        form.products.append_entry()
    for entry, (product, quantity, pack_size, category, note) in zip(form.products, products, strict=False):
        entry.form.product_id.data = product.id
        entry.form.quantity.data = quantity
        entry.form.pack_size.data = pack_size
        entry.form.need_category_id.data = category.id if category is not None and category.id != product.category_id else None
        entry.form.substitute_note.data = note or ""


def _saved(form, change, message: str):
    """Run the service when the form is valid; on success commit and go to the round."""
    if not form.validate_on_submit():
        return None
    try:
        round_ = change()
    except DomainError as error:
        db.session.rollback()
        show_domain_error(form, error)
        return None
    db.session.commit()
    flash(message, "success")
    return _to_round(round_)


@bp.route("/rounds/new", methods=["GET", "POST"])
@require(Permission.MANAGE_ALLOCATION)
def round_new():
    if not services.may_open_national(current_user):
        flash(_("A county board passes its allocation on from the decision it received: open that decision and "
                "choose \"Pass on to the county\"."), "info")
        return redirect(url_for("allocation.rounds"))
    form = _prepare_round_form(RoundForm())

    def change():
        location = db.session.get(StockLocation, form.source_location_id.data)
        if location is None:
            raise services.RoundError(_("Choose a national warehouse."), field="source_location_id")
        requests = [r for r in _open_requests() if r.id in set(form.requests.data or [])]
        return services.open_round(
            db.session, current_user, settings=_settings(form), source_location=location,
            recipient_scope=form.recipient_scope.data, county_code=form.county_code.data or None,
            products=_product_inputs(form), requests=requests,
        )

    done = _saved(form, change, _("The round is opened. Check the preview, adjust if needed, and decide."))
    if done is not None:
        return done
    return _render("allocation/rounds_form.html", form_status(form), form=form, round=None, parent=None,
                   stock=services.warehouse_stock(db.session))


@bp.route("/rounds/<int:round_id>/edit", methods=["GET", "POST"])
@require(Permission.MANAGE_ALLOCATION)
def round_edit(round_id: int):
    round_ = _round(round_id)
    if not services.may_manage(current_user, round_) or round_.status != RoundStatus.DRAFT.value:
        flash(_("Only a draft of your own organisation can be changed."), "error")
        return _to_round(round_)
    second_level = round_.parent_id is not None
    form = OnwardForm() if second_level else _prepare_round_form(RoundForm())
    if not form.is_submitted():
        form.title.data, form.policy.data = round_.title, round_.policy
        form.horizon_days.data, form.notes.data = round_.horizon_days, round_.notes
        if not second_level:
            form.source_location_id.data = round_.source_location_id
            form.recipient_scope.data, form.county_code.data = round_.recipient_scope, round_.county_code or ""
        _fill_products(form, [(rp.product, rp.quantity, rp.pack_size, rp.need_category, rp.substitute_note)
                              for rp in round_.products])
    _prepare_products(form)

    def change():
        return services.update_round(
            db.session, current_user, round_, settings=_settings(form), products=_product_inputs(form),
            recipient_scope=None if second_level else form.recipient_scope.data,
            county_code=None if second_level else (form.county_code.data or None),
        )

    done = _saved(form, change, _("The round is saved and computed again."))
    if done is not None:
        return done
    return _render("allocation/rounds_form.html", form_status(form), form=form, round=round_,
                   parent=round_.parent, stock=None if second_level else services.warehouse_stock(db.session))


# --- the round page ------------------------------------------------------------------------------------------


def _shipments(round_: AllocationRound) -> list[Shipment]:
    return list(
        db.session.scalars(
            select(Shipment).where(Shipment.round_id == round_.id).options(joinedload(Shipment.recipient))
            .order_by(Shipment.id)
        )
    )


def _detail(round_: AllocationRound, status: int = 200, **forms):
    manage = services.may_manage(current_user, round_)
    draft = round_.status == RoundStatus.DRAFT.value
    forms.setdefault("adjust_form", AdjustForm(formdata=None))
    forms.setdefault("decide_form", DecideForm(formdata=None))
    forms.setdefault("cancel_form", CancelForm(formdata=None))
    onward = None
    if (round_.status == RoundStatus.DECIDED.value and round_.recipient_scope == RecipientScope.COUNTY_BOARDS.value
            and current_user.organisation.county_code is not None):
        onward = services.onward(db.session, current_user, round_)
    return _render(
        "allocation/rounds_detail.html",
        status,
        round=round_,
        previews=services.preview(db.session, round_),
        can_manage=manage and draft,
        requests=services.attached_requests(db.session, round_),
        shipments=_shipments(round_),
        shipment_pages="allocation.shipment" in current_app.view_functions,
        request_pages="allocation.national_request" in current_app.view_functions,
        children=services.second_level_rounds(db.session, round_),
        onward=onward,
        without_report=services.without_report_count(db.session, round_) if draft else 0,
        ShipmentStatus=ShipmentStatus,
        **forms,
    )


@bp.route("/rounds/<int:round_id>", endpoint="round")
@require(Permission.VIEW_ALLOCATION)
def round_page(round_id: int):
    return _detail(_round(round_id))


def _step(round_: AllocationRound, action, success: str, form=None, form_name: str | None = None):
    """Run one step; on a refusal show the round again with the message beside the form (or flashed)."""
    try:
        action()
    except DomainError as error:
        db.session.rollback()
        if form is not None:
            show_domain_error(form, error)
            return _detail(round_, 422, **{form_name: form})
        flash(error.message, "error")
        return _to_round(round_)
    db.session.commit()
    flash(success, "success")
    return _to_round(round_)


@bp.route("/rounds/<int:round_id>/recompute", methods=["POST"])
@require(Permission.MANAGE_ALLOCATION)
def round_recompute(round_id: int):
    round_ = _round(round_id)
    return _step(round_, lambda: services.recompute(db.session, current_user, round_),
                 _("The lines are computed again from the current registered need."))


@bp.route("/rounds/<int:round_id>/adjust", methods=["POST"])
@require(Permission.MANAGE_ALLOCATION)
def round_adjust(round_id: int):
    round_ = _round(round_id)
    form = AdjustForm()
    if not form.validate_on_submit():
        return _detail(round_, 422, adjust_form=form)
    line = db.session.get(AllocationLine, int(form.line_id.data)) if str(form.line_id.data).isdigit() else None
    if line is None or line.round_id != round_.id:
        flash(_("No such line in this round."), "error")
        return _to_round(round_)
    return _step(round_, lambda: services.adjust_line(db.session, current_user, line, quantity=form.quantity.data,
                                                      reason=form.reason.data),
                 _("The line for %(recipient)s is saved.", recipient=line.recipient.name), form, "adjust_form")


@bp.route("/rounds/<int:round_id>/decide", methods=["POST"])
@require(Permission.MANAGE_ALLOCATION)
def round_decide(round_id: int):
    round_ = _round(round_id)
    form = DecideForm()
    if not form.validate_on_submit():
        return _detail(round_, 422, decide_form=form)
    return _step(round_, lambda: services.decide_round(db.session, current_user, round_),
                 _("The allocation is decided; the stock is reserved and the shipments are planned."),
                 form, "decide_form")


@bp.route("/rounds/<int:round_id>/cancel", methods=["POST"])
@require(Permission.MANAGE_ALLOCATION)
def round_cancel(round_id: int):
    round_ = _round(round_id)
    form = CancelForm()
    if not form.validate_on_submit():
        return _detail(round_, 422, cancel_form=form)
    return _step(round_, lambda: services.cancel_round(db.session, current_user, round_, form.reason.data),
                 _("The round is cancelled."), form, "cancel_form")


@bp.route("/rounds/<int:round_id>/decision.pdf")
@require(Permission.VIEW_ALLOCATION)
def round_pdf(round_id: int):
    round_ = _round(round_id)
    if round_.status != RoundStatus.DECIDED.value:
        flash(_("The decision PDF exists once the round is decided."), "info")
        return _to_round(round_)
    document = render_pdf(
        "allocation/decision_pdf.html",
        organisation=round_.decided_by_organisation,
        title=_("Allocation decision %(number)s", number=round_.number),
        round=round_,
        previews=services.preview(db.session, round_),
        **_helpers(),
    )
    return pdf_response(document, f"fordelningsbeslut-{round_.number}.pdf")


# --- passing a county board's share on -----------------------------------------------------------------------


@bp.route("/rounds/<int:round_id>/onward", methods=["GET", "POST"])
@require(Permission.MANAGE_ALLOCATION)
def round_onward(round_id: int):
    parent = _round(round_id)
    state = services.onward(db.session, current_user, parent)
    if not state.possible:
        flash(state.refusal, "error")
        return _to_round(parent)
    form = OnwardForm()
    parent_products = [rp for rp in parent.products if rp.product_id in state.received]
    choices = [SelectChoice(rp.product_id, f"{rp.product.sku} {display_name(rp.product)}") for rp in parent_products]
    if not form.is_submitted():
        form.title.data = _("%(title)s: %(county)s", title=parent.title, county=state.board.county.name
                            if state.board.county else state.board.name)
        form.policy.data, form.horizon_days.data = parent.policy, parent.horizon_days
        _fill_products(form, [
            (rp.product, min(state.received[rp.product_id], state.available.get(rp.product_id, 0)),
             rp.product.pack_size, rp.need_category, rp.substitute_note)
            for rp in parent_products
        ])
    _prepare_products(form, choices)

    def change():
        return services.open_second_level(db.session, current_user, parent, settings=_settings(form),
                                          products=_product_inputs(form))

    done = _saved(form, change, _("The second-level round is opened."))
    if done is not None:
        return done
    rows = [(rp.product, state.received[rp.product_id], state.available.get(rp.product_id, 0))
            for rp in parent_products]
    return _render("allocation/rounds_form.html", form_status(form), form=form, round=None, parent=parent,
                   onward_rows=rows, stock=None)

