"""Joint purchase pages (samordnade inköp): the list (search, filters, CSV/XLSX), starting one from registered
need or by hand, its page with participants, totals and cost split, editing a draft, ordering and cancelling.

VIEW_JOINT_PURCHASES reads within the scope orders/services_joint.py gives (lead buyer or a participant);
MANAGE_ORDERS changes and orders, for officers who may buy for the lead buyer. The rules are in the service.
"""
from __future__ import annotations

from decimal import Decimal

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import exists, or_, select
from sqlalchemy.orm import selectinload
from werkzeug.routing import BuildError
from wtforms.fields.choices import SelectChoice

from app.auth.access import Scope, require, scope_of
from app.auth.roles import Permission
from app.catalog.models import Product, ProductCategory
from app.catalog.views import display_name
from app.errors import DomainError
from app.extensions import db
from app.forms import apply_domain_error, form_status
from app.listing import Column, Filter, Listing
from app.main import register_nav
from app.organisations.models import County, Organisation
from app.organisations.services import display_name as organisation_name
from app.stock import ledger
from app.timeutil import local_today
from orders import bp
from orders import services_joint as services
from orders.approval import format_sek
from orders.forms_joint import JointOrderForm, JointPurchaseForm, ParticipantsForm
from orders.models import CostSplit, JointPurchase, JointPurchaseParticipant, JointPurchaseStatus, OrderStatus
from orders.services_orders import order_value_ore
from suppliers.models import Supplier, VettingStatus
from suppliers.views_certificates import product_label

STATUS_TONES = {
    JointPurchaseStatus.DRAFT: "neutral",
    JointPurchaseStatus.ORDERED: "green",
    JointPurchaseStatus.CLOSED: "neutral",
    JointPurchaseStatus.CANCELLED: "red",
}


def register_navigation() -> None:
    register_nav("orders.joint_purchases", _l("Joint purchases"), Permission.VIEW_JOINT_PURCHASES, order=51)


def _link(endpoint: str, **values) -> str | None:
    """A URL when the endpoint exists: the orders pages may not be there yet."""
    try:
        return url_for(endpoint, **values)
    except BuildError:
        return None


def format_share(ppm: int | None) -> str:
    """Parts per million as a percentage with four decimals: ``12,3457 %``."""
    if ppm is None:
        return "—"
    return f"{format_decimal(Decimal(ppm) / 10_000, format='#,##0.0000')} %"


@bp.context_processor
def _joint_helpers():
    return {
        "JointPurchaseStatus": JointPurchaseStatus,
        "CostSplit": CostSplit,
        "joint_status_tone": lambda status: STATUS_TONES[JointPurchaseStatus(status)],
        "format_share": format_share,
        "organisation_name": organisation_name,
    }


# --- choices -----------------------------------------------------------------------------------------------------


def _category_choices() -> list[SelectChoice]:
    categories = db.session.scalars(select(ProductCategory).order_by(ProductCategory.sort_order)).all()
    return [SelectChoice("", _("Choose…"))] + [SelectChoice(c.id, display_name(c)) for c in categories]


def _product_choices(category_id: int | None = None, *, empty: str) -> list[SelectChoice]:
    stmt = select(Product).join(Product.category).where(Product.active.is_(True))
    if category_id is not None:
        stmt = stmt.where(Product.category_id == category_id)
    products = db.session.scalars(stmt.order_by(ProductCategory.sort_order, Product.sku)).all()
    return [SelectChoice("", empty)] + [
        SelectChoice(p.id, product_label(p), optgroup=display_name(p.category)) for p in products
    ]


def _lead_county() -> str | None:
    """The county a region's or municipality's officer buys in; None for the agency (every county)."""
    return None if scope_of(current_user) is Scope.NATIONAL else current_user.organisation.county_code


def _participant_choices(exclude: set[int] = frozenset()) -> list[SelectChoice]:
    """Regions and municipalities the user's organisation may lead a joint purchase for, by county."""
    stmt = select(Organisation).where(Organisation.kind.in_([str(k) for k in services.PARTICIPANT_KINDS]))
    county = _lead_county()
    if county is not None:
        stmt = stmt.where(Organisation.county_code == county)
    organisations = sorted(db.session.scalars(stmt), key=services.participant_sort_key)
    return [
        SelectChoice(o.id, organisation_name(o), optgroup=o.county_code or "")
        for o in organisations
        if o.id not in exclude
    ]


def _county_choices() -> list[SelectChoice]:
    stmt = select(County).order_by(County.code)
    county = _lead_county()
    if county is not None:
        stmt = stmt.where(County.code == county)
    return [SelectChoice("", _("Choose…"))] + [SelectChoice(c.code, f"{c.code} {c.name}") for c in db.session.scalars(stmt)]


def _found(model, identifier):
    return db.session.get(model, identifier) if identifier is not None else None


# --- the list ----------------------------------------------------------------------------------------------------


def _county_filter(stmt, value):
    return stmt.where(
        or_(
            Organisation.county_code == value,
            exists().where(
                JointPurchaseParticipant.joint_purchase_id == JointPurchase.id,
                JointPurchaseParticipant.organisation_id.in_(
                    select(Organisation.id).where(Organisation.county_code == value)
                ),
            ),
        )
    )


def joint_purchase_listing() -> Listing:
    scope = services.joint_purchase_scope_clause(current_user)
    statement = (
        select(JointPurchase)
        .join(ProductCategory, ProductCategory.id == JointPurchase.category_id)
        .join(Organisation, Organisation.id == JointPurchase.lead_buyer_id)
        .where(scope)
        .options(
            selectinload(JointPurchase.participants),
            selectinload(JointPurchase.category),
            selectinload(JointPurchase.product),
            selectinload(JointPurchase.lead_buyer),
        )
    )
    leads = db.session.execute(
        select(Organisation.id, Organisation.name)
        .where(Organisation.id.in_(select(JointPurchase.lead_buyer_id).where(scope)))
        .order_by(Organisation.name)
    ).all()
    categories = db.session.scalars(select(ProductCategory).order_by(ProductCategory.sort_order)).all()
    counties = db.session.scalars(select(County).order_by(County.code)).all()
    return Listing(
        statement,
        columns=[
            Column("reference", _l("Reference"), lambda p: p.reference, sort=JointPurchase.reference,
                   link=lambda p: url_for("orders.joint_detail", joint_purchase_id=p.id)),
            Column("title", _l("Title"), lambda p: p.title, sort=JointPurchase.title),
            Column("category", _l("Category"), lambda p: display_name(p.category), sort=ProductCategory.sort_order),
            Column("product", _l("Product"), lambda p: p.product.sku if p.product else None),
            Column("lead", _l("Lead buyer"), lambda p: organisation_name(p.lead_buyer), sort=Organisation.name),
            Column("participants", _l("Participants"), lambda p: sum(1 for x in p.participants if x.quantity > 0)),
            Column("quantity", _l("Quantity"), services.total_quantity),
            Column("split", _l("Cost split"), lambda p: CostSplit(p.cost_split).label),
            Column("status", _l("Status"), lambda p: JointPurchaseStatus(p.status).label, sort=JointPurchase.status),
            Column("created", _l("Started"), lambda p: p.created_at, sort=JointPurchase.created_at),
        ],
        search=[JointPurchase.reference, JointPurchase.title],
        filters=[
            Filter("status", _l("Status"), JointPurchaseStatus.choices(),
                   lambda stmt, value: stmt.where(JointPurchase.status == value)),
            Filter("category", _l("Category"), [(str(c.id), display_name(c)) for c in categories],
                   lambda stmt, value: stmt.where(JointPurchase.category_id == int(value))),
            Filter("lead", _l("Lead buyer"), [(str(i), name) for i, name in leads],
                   lambda stmt, value: stmt.where(JointPurchase.lead_buyer_id == int(value))),
            Filter("county", _l("County"), [(c.code, f"{c.code} {c.name}") for c in counties], _county_filter),
        ],
        default_sort="created",
        default_dir="desc",
        csv_name="joint-purchases",
    )


@bp.route("/joint/")
@require(Permission.VIEW_JOINT_PURCHASES)
def joint_purchases():
    return joint_purchase_listing().respond(lambda page: render_template("orders/joint_list.html", page=page))


# --- starting one ------------------------------------------------------------------------------------------------


def _new_form() -> JointPurchaseForm:
    form = JointPurchaseForm()
    form.category_id.choices = _category_choices()
    form.product_id.choices = _product_choices(empty=_("Any product of the category"))
    form.county_code.choices = _county_choices()
    form.organisation_ids.choices = _participant_choices()
    if not form.is_submitted() and _lead_county():
        form.county_code.data = _lead_county()
    return form


def _input(form: JointPurchaseForm) -> services.JointPurchaseInput:
    return services.JointPurchaseInput(
        title=form.title.data or "",
        category=_found(ProductCategory, form.category_id.data),
        product=_found(Product, form.product_id.data),
        recipients=form.recipients.data,
        county_code=form.county_code.data or None,
        organisation_ids=form.organisation_ids.data or (),
        cost_split=form.cost_split.data,
        from_register=form.source.data != "manual",
        notes=form.notes.data,
    )


@bp.route("/joint/new", methods=["GET", "POST"])
@require(Permission.MANAGE_ORDERS)
def joint_new():
    form = _new_form()
    preview = None
    if form.is_submitted() and form.preview.data:
        # The preview needs only the category and the recipients, not a title yet.
        try:
            preview = services.preview_need(db.session, current_user, _input(form))
        except DomainError as error:
            apply_domain_error(form, error)
    elif form.validate_on_submit():
        try:
            purchase = services.start_joint_purchase(db.session, current_user, _input(form))
        except DomainError as error:
            db.session.rollback()
            apply_domain_error(form, error)
        else:
            db.session.commit()
            flash(_("%(reference)s is a draft with %(n)s participants.", reference=purchase.reference,
                    n=len(purchase.participants)), "success")
            target = "orders.joint_detail" if form.source.data != "manual" else "orders.joint_edit"
            return redirect(url_for(target, joint_purchase_id=purchase.id))
    return render_template("orders/joint_new.html", form=form, preview=preview), form_status(form)


# --- one joint purchase ------------------------------------------------------------------------------------------


def _reported_at(purchase: JointPurchase) -> dict:
    if purchase.need_read_at is None:
        return {}
    return services.snapshot_reported_at(db.session, purchase)


@bp.route("/joint/<int:joint_purchase_id>")
@require(Permission.VIEW_JOINT_PURCHASES)
def joint_detail(joint_purchase_id: int):
    purchase = services.get_joint_purchase(db.session, current_user, joint_purchase_id)
    shares, split_problem = services.cost_shares(db.session, purchase)
    order = services.current_order(db.session, purchase)
    amounts = services.participant_amounts(purchase, shares, order) if order is not None and shares else None
    return render_template(
        "orders/joint_detail.html",
        purchase=purchase,
        participants=sorted(purchase.participants, key=lambda p: services.participant_sort_key(p.organisation)),
        shares=shares,
        split_problem=split_problem,
        order=order,
        order_value=order_value_ore(order) if order is not None else None,
        order_status=OrderStatus(order.status).label if order is not None else None,
        order_link=_link("orders.detail", order_id=order.id) if order is not None else None,
        amounts=amounts,
        reported_at=_reported_at(purchase),
        can_manage=services.can_manage(current_user, purchase),
        can_order=services.can_order(db.session, purchase),
        format_sek=format_sek,
    )


def _managed(joint_purchase_id: int) -> JointPurchase:
    purchase = services.get_joint_purchase(db.session, current_user, joint_purchase_id)
    if not services.can_manage(current_user, purchase):
        abort(403)
    return purchase


def _not_draft(purchase: JointPurchase):
    flash(_("%(reference)s is %(status)s; only a draft can be changed.", reference=purchase.reference,
            status=JointPurchaseStatus(purchase.status).label.lower()), "error")
    return redirect(url_for("orders.joint_detail", joint_purchase_id=purchase.id))


def _participants_form(purchase: JointPurchase) -> ParticipantsForm:
    form = ParticipantsForm()
    taking = {p.organisation_id for p in purchase.participants}
    form.add_organisation_ids.choices = _participant_choices(exclude=taking)
    if not form.is_submitted():
        form.title.data = purchase.title
        form.cost_split.data = purchase.cost_split
        form.notes.data = purchase.notes
        ordered = sorted(purchase.participants, key=lambda p: services.participant_sort_key(p.organisation))
        for participant in ordered:
            form.participants.append_entry({"organisation_id": str(participant.organisation_id),
                                            "quantity": participant.quantity})
    return form


def _row_organisation_id(row) -> int | None:
    try:
        return int(row.organisation_id.data)
    except (TypeError, ValueError):
        return None


@bp.route("/joint/<int:joint_purchase_id>/edit", methods=["GET", "POST"])
@require(Permission.MANAGE_ORDERS)
def joint_edit(joint_purchase_id: int):
    purchase = _managed(joint_purchase_id)
    if purchase.status != JointPurchaseStatus.DRAFT:
        return _not_draft(purchase)
    form = _participants_form(purchase)
    if form.validate_on_submit():
        rows = [(_row_organisation_id(row), row) for row in form.participants]
        try:
            services.update_joint_purchase(
                db.session,
                current_user,
                purchase,
                title=form.title.data,
                cost_split=form.cost_split.data,
                notes=form.notes.data,
                quantities={key: row.quantity.data for key, row in rows if key is not None},
                removed={key for key, row in rows if key is not None and row.remove.data},
                added=[db.session.get(Organisation, i) for i in form.add_organisation_ids.data or ()],
            )
        except DomainError as error:
            db.session.rollback()
            apply_domain_error(form, error)
        else:
            db.session.commit()
            flash(_("%(reference)s is saved.", reference=purchase.reference), "success")
            return redirect(url_for("orders.joint_detail", joint_purchase_id=purchase.id))
        purchase = services.get_joint_purchase(db.session, current_user, joint_purchase_id)
    by_id = {p.organisation_id: p for p in purchase.participants}
    rows = [(row, by_id.get(_row_organisation_id(row))) for row in form.participants]
    return render_template("orders/joint_edit.html", form=form, purchase=purchase, rows=rows), form_status(form)


def _act(joint_purchase_id: int, action, success) -> object:
    """A button's whole job: the service on the purchase, commit and a notice, or the refusal as one."""
    purchase = _managed(joint_purchase_id)
    try:
        action(db.session, current_user, purchase)
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(success(purchase), "success")
    return redirect(url_for("orders.joint_detail", joint_purchase_id=joint_purchase_id))


@bp.route("/joint/<int:joint_purchase_id>/refresh-need", methods=["POST"])
@require(Permission.MANAGE_ORDERS)
def joint_refresh(joint_purchase_id: int):
    return _act(joint_purchase_id, services.refresh_need,
                lambda _purchase: _("The registered need is read again; quantities you had changed are kept."))


@bp.route("/joint/<int:joint_purchase_id>/cancel", methods=["POST"])
@require(Permission.MANAGE_ORDERS)
def joint_cancel(joint_purchase_id: int):
    return _act(joint_purchase_id, services.cancel_joint_purchase,
                lambda purchase: _("%(reference)s is cancelled.", reference=purchase.reference))


# --- ordering ----------------------------------------------------------------------------------------------------


def _order_form(purchase: JointPurchase) -> JointOrderForm:
    form = JointOrderForm()
    suppliers = db.session.scalars(
        select(Supplier).where(Supplier.vetting_status == VettingStatus.APPROVED.value).order_by(Supplier.legal_name)
    ).all()
    form.supplier_id.choices = [SelectChoice("", _("Choose…"))] + [SelectChoice(s.id, s.legal_name) for s in suppliers]
    if purchase.product is not None:
        form.product_id.choices = [SelectChoice(purchase.product.id, product_label(purchase.product))]
    else:
        form.product_id.choices = _product_choices(purchase.category_id, empty=_("Choose…"))
    form.warehouse_id.choices = [SelectChoice("", _("Choose…"))] + [
        SelectChoice(w.id, w.name) for w in ledger.warehouses(db.session)
    ]
    if not form.is_submitted():
        form.order_date.data = local_today()
        if purchase.product is not None:
            form.product_id.data = purchase.product.id
    return form


def _order_input(form: JointOrderForm) -> services.JointOrderInput:
    from app.stock.models import StockLocation

    return services.JointOrderInput(
        supplier=_found(Supplier, form.supplier_id.data),
        product=_found(Product, form.product_id.data),
        unit_price=form.unit_price.data,
        currency=form.currency.data,
        order_date=form.order_date.data,
        due_on=form.due_on.data,
        delivery=form.delivery.data,
        warehouse=_found(StockLocation, form.warehouse_id.data),
        incoterm=form.incoterm.data or None,
        incoterm_place=form.incoterm_place.data,
        payment_terms=form.payment_terms.data,
        notes=form.notes.data,
    )


@bp.route("/joint/<int:joint_purchase_id>/order", methods=["GET", "POST"])
@require(Permission.MANAGE_ORDERS)
def joint_order(joint_purchase_id: int):
    purchase = _managed(joint_purchase_id)
    if not services.can_order(db.session, purchase):
        flash(_("%(reference)s is %(status)s and has an order already.", reference=purchase.reference,
                status=JointPurchaseStatus(purchase.status).label.lower()), "error")
        return redirect(url_for("orders.joint_detail", joint_purchase_id=purchase.id))
    form = _order_form(purchase)
    if form.validate_on_submit():
        try:
            order = services.order_joint_purchase(db.session, current_user, purchase, _order_input(form))
        except DomainError as error:
            db.session.rollback()
            apply_domain_error(form, error)
            purchase = services.get_joint_purchase(db.session, current_user, joint_purchase_id)
        else:
            db.session.commit()
            flash(_("%(order)s is drafted for %(reference)s; submit it for approval from the order's page.",
                    order=order.number, reference=purchase.reference), "success")
            return redirect(_link("orders.detail", order_id=order.id)
                            or url_for("orders.joint_detail", joint_purchase_id=purchase.id))
    _shares, split_problem = services.cost_shares(db.session, purchase)
    return render_template(
        "orders/joint_order.html",
        form=form,
        purchase=purchase,
        total=services.total_quantity(purchase),
        taking=[p for p in sorted(purchase.participants, key=lambda p: services.participant_sort_key(p.organisation))
                if p.quantity > 0],
        split_problem=split_problem,
    ), form_status(form)
