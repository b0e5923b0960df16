"""EU joint procurement pages: the tender list (search, filters, CSV/XLSX), a tender with its lots, framework
contracts and contractors with their remaining quantities, the forms for each, specific orders, and the OCDS
release package. Reading needs VIEW_ORDERS; changing needs MANAGE_EU_PROCUREMENT at the agency."""
from __future__ import annotations

import json
from collections.abc import Callable

from flask import Response, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import exists, func, select
from sqlalchemy.orm import selectinload
from wtforms.fields.choices import SelectChoice

from app.auth.access import require
from app.auth.roles import Permission
from app.catalog.models import Product, ProductCategory
from app.catalog.views import display_name
from app.db import utcnow
from app.errors import DomainError
from app.extensions import db
from app.forms import apply_domain_error, form_status
from app.listing import Column, Filter, Listing
from app.main import register_nav
from app.organisations.models import Organisation
from app.organisations.services import AGENCY_CODE
from app.timeutil import local_timezone, local_today
from orders import bp, ocds
from orders import services_eu as services
from orders.forms_eu import (
    ContractorForm,
    ContractorTermsForm,
    FrameworkForm,
    LotForm,
    MoveForm,
    SpecificOrderForm,
    TenderForm,
)
from orders.models import (
    FrameworkContract,
    FrameworkContractor,
    OrderStatus,
    PurchaseOrder,
    Tender,
    TenderLot,
)
from suppliers.models import Supplier
from suppliers.views_certificates import product_label
from suppliers.views_offers import INCOTERM_NAMES, format_price


def register_navigation() -> None:
    register_nav("orders.tenders", _l("EU joint procurement"), Permission.VIEW_ORDERS, order=52)


# --- helpers shared by the EU and incoming-supply pages ------------------------------------------------------


def show_errors(form, error: DomainError) -> None:
    """Each of a refusal's errors beside its field (or above the form)."""
    for each in getattr(error, "errors", None) or [error]:
        apply_domain_error(form, each)


def submit(form, action: Callable, success: str, target: Callable[[object], str]):
    """The thin view's whole job on POST: shape check, service, commit and redirect, or the errors beside the
    fields after a rollback. Returns the redirect, or None to show the form again."""
    if not form.validate_on_submit():
        return None
    try:
        result = action()
    except DomainError as error:
        db.session.rollback()
        show_errors(form, error)
        return None
    db.session.commit()
    flash(success, "success")
    return redirect(target(result))


def form_page(form, *, heading: str, action: str, back: str, submit_label: str, context: str | None = None,
              hints: dict | None = None):
    return render_template(
        "orders/eu_form.html", form=form, heading=heading, action=action, back=back, submit_label=submit_label,
        context=context, hints=hints or {},
    ), form_status(form)


def destination_select_choices() -> list[SelectChoice]:
    return [SelectChoice("", _("Choose…"))] + [
        SelectChoice(choice.key, choice.label, optgroup=choice.group)
        for choice in services.destination_choices(db.session)
    ]


def optional_product_choices(category_id: int | None = None, *, empty: str) -> list[SelectChoice]:
    """Catalogue products grouped by category (of one category when given), after an empty choice."""
    stmt = select(Product).join(Product.category).where(Product.active.is_(True))
    if category_id is not None:
        stmt = stmt.where(Product.category_id == category_id)
    products = db.session.scalars(stmt.order_by(ProductCategory.sort_order, Product.sku)).all()
    return [SelectChoice("", empty)] + [
        SelectChoice(product.id, product_label(product), optgroup=display_name(product.category)) for product in products
    ]


def _category_choices() -> list[SelectChoice]:
    categories = db.session.scalars(select(ProductCategory).order_by(ProductCategory.sort_order)).all()
    return [SelectChoice("", _("Choose…"))] + [SelectChoice(c.id, display_name(c)) for c in categories]


# --- the list ------------------------------------------------------------------------------------------------


def tender_listing() -> Listing:
    today = local_today()
    lot_count = select(func.count(TenderLot.id)).where(TenderLot.tender_id == Tender.id).scalar_subquery()
    declared = (
        select(func.coalesce(func.sum(TenderLot.declared_quantity), 0))
        .where(TenderLot.tender_id == Tender.id)
        .scalar_subquery()
    )
    categories = db.session.scalars(select(ProductCategory).order_by(ProductCategory.sort_order)).all()

    def lot_title_matches(q: str):
        pattern = f"%{q.lower()}%"
        return Tender.id.in_(select(TenderLot.tender_id).where(func.lower(TenderLot.title).like(pattern)))

    def in_category(stmt, value):
        return stmt.where(
            exists().where(TenderLot.tender_id == Tender.id, TenderLot.category_id == int(value))
        )

    def frameworks(tender: Tender) -> int:
        return sum(len(lot.framework_contracts) for lot in tender.lots)

    return Listing(
        select(Tender).options(selectinload(Tender.lots).selectinload(TenderLot.framework_contracts)),
        columns=[
            Column("reference", _l("Reference"), lambda t: t.reference, sort=Tender.reference,
                   link=lambda t: url_for("orders.tender", tender_id=t.id)),
            Column("name", _l("Name"), lambda t: t.name, sort=Tender.name),
            Column("stage", _l("Stage"), lambda t: services.tender_stage(t, today).label),
            Column("lots", _l("Lots"), lambda t: len(t.lots), sort=lot_count),
            Column("declared", _l("Sweden's declared quantity"), lambda t: sum(lot.declared_quantity for lot in t.lots),
                   sort=declared),
            Column("frameworks", _l("Framework contracts"), frameworks),
            Column("published_on", _l("Published"), lambda t: t.published_on, sort=Tender.published_on),
            Column("closing_on", _l("Closing"), lambda t: t.closing_on, sort=Tender.closing_on),
            Column("awarded_on", _l("Awarded"), lambda t: t.awarded_on, sort=Tender.awarded_on),
        ],
        search=[Tender.reference, Tender.name, Tender.description, lot_title_matches],
        filters=[
            Filter("stage", _l("Stage"), services.TenderStage.choices(),
                   lambda stmt, value: stmt.where(services.tender_stage_clause(value, today))),
            Filter("category", _l("Category"), [(str(c.id), display_name(c)) for c in categories], in_category),
        ],
        default_sort="published_on",
        default_dir="desc",
        csv_name="eu-tenders",
    )


@bp.route("/eu/")
@require(Permission.VIEW_ORDERS)
def tenders():
    return tender_listing().respond(
        lambda page: render_template("orders/eu_tenders.html", page=page, manage=services.can_manage(current_user))
    )


# --- one tender --------------------------------------------------------------------------------------------------


@bp.route("/eu/<int:tender_id>")
@require(Permission.VIEW_ORDERS)
def tender(tender_id: int):
    tender = db.get_or_404(Tender, tender_id)
    frameworks = [framework for lot in tender.lots for framework in lot.framework_contracts]
    standings = {framework.id: services.standings(db.session, framework) for framework in frameworks}
    framework_of = {s.contractor.id: framework_id for framework_id, rows in standings.items() for s in rows}
    framework_orders: dict[int, list[PurchaseOrder]] = {}
    if framework_of:
        for order in db.session.scalars(
            select(PurchaseOrder)
            .where(PurchaseOrder.framework_contractor_id.in_(list(framework_of)))
            .options(selectinload(PurchaseOrder.lines), selectinload(PurchaseOrder.supplier))
            .order_by(PurchaseOrder.order_date, PurchaseOrder.id)
        ):
            framework_orders.setdefault(framework_of[order.framework_contractor_id], []).append(order)
    return render_template(
        "orders/eu_tender.html",
        tender=tender,
        stage=services.tender_stage(tender, local_today()),
        standings=standings,
        framework_orders=framework_orders,
        contractors_with_orders={o.framework_contractor_id for rows in framework_orders.values() for o in rows},
        order_status=lambda order: OrderStatus(order.status).label,
        today=local_today(),
        manage=services.can_manage(current_user),
        format_price=format_price,
    )


def _tender_data(form: TenderForm) -> services.TenderData:
    return services.TenderData(
        reference=form.reference.data, name=form.name.data, description=form.description.data,
        published_on=form.published_on.data, closing_on=form.closing_on.data, awarded_on=form.awarded_on.data,
    )


TENDER_HINTS = {
    "reference": _l("The Commission's reference, e.g. SANTE/C3/2020/015."),
    "closing_on": _l("The last day for tenders."),
    "awarded_on": _l("Leave empty until the lots are awarded."),
}


@bp.route("/eu/new", methods=["GET", "POST"])
@require(Permission.MANAGE_EU_PROCUREMENT, national=True)
def tender_new():
    form = TenderForm()
    done = submit(
        form, lambda: services.save_tender(db.session, current_user, _tender_data(form)),
        _("The tender is recorded."), lambda t: url_for("orders.tender", tender_id=t.id),
    )
    return done or form_page(
        form, heading=_("Record an EU tender"), action=url_for("orders.tender_new"),
        back=url_for("orders.tenders"), submit_label=_("Record the tender"), hints=TENDER_HINTS,
    )


@bp.route("/eu/<int:tender_id>/edit", methods=["GET", "POST"])
@require(Permission.MANAGE_EU_PROCUREMENT, national=True)
def tender_edit(tender_id: int):
    tender = db.get_or_404(Tender, tender_id)
    form = TenderForm(obj=tender)
    done = submit(
        form, lambda: services.save_tender(db.session, current_user, _tender_data(form), tender),
        _("The tender is saved."), lambda t: url_for("orders.tender", tender_id=t.id),
    )
    return done or form_page(
        form, heading=_("Edit the tender"), context=f"{tender.reference} · {tender.name}",
        action=url_for("orders.tender_edit", tender_id=tender.id),
        back=url_for("orders.tender", tender_id=tender.id), submit_label=_("Save the tender"), hints=TENDER_HINTS,
    )


# --- lots ------------------------------------------------------------------------------------------------------


def _lot_form(lot: TenderLot | None = None, tender: Tender | None = None) -> LotForm:
    form = LotForm(obj=lot)
    form.category_id.choices = _category_choices()
    form.product_id.choices = optional_product_choices(empty=_("No particular product"))
    if lot is None and tender is not None and not form.is_submitted():
        form.number.data = max((existing.number for existing in tender.lots), default=0) + 1
    return form


def _lot_data(form: LotForm) -> services.LotData:
    return services.LotData(
        number=form.number.data, title=form.title.data, category_id=form.category_id.data,
        product_id=form.product_id.data, specification=form.specification.data,
        declared_quantity=form.declared_quantity.data,
    )


LOT_HINTS = {
    "product_id": _l("The catalogue product that specific orders under the lot buy; without one, each order chooses a "
                     "product of the category."),
    "declared_quantity": _l("The quantity Sweden declared to the Commission for this lot."),
}


@bp.route("/eu/<int:tender_id>/lots/new", methods=["GET", "POST"])
@require(Permission.MANAGE_EU_PROCUREMENT, national=True)
def lot_new(tender_id: int):
    tender = db.get_or_404(Tender, tender_id)
    form = _lot_form(tender=tender)
    done = submit(
        form, lambda: services.save_lot(db.session, current_user, tender, _lot_data(form)),
        _("The lot is recorded."), lambda lot: url_for("orders.tender", tender_id=tender.id, _anchor=f"lot-{lot.id}"),
    )
    return done or form_page(
        form, heading=_("Add a lot"), context=f"{tender.reference} · {tender.name}",
        action=url_for("orders.lot_new", tender_id=tender.id), back=url_for("orders.tender", tender_id=tender.id),
        submit_label=_("Add the lot"), hints=LOT_HINTS,
    )


@bp.route("/eu/lots/<int:lot_id>/edit", methods=["GET", "POST"])
@require(Permission.MANAGE_EU_PROCUREMENT, national=True)
def lot_edit(lot_id: int):
    lot = db.get_or_404(TenderLot, lot_id)
    form = _lot_form(lot)
    back = url_for("orders.tender", tender_id=lot.tender_id, _anchor=f"lot-{lot.id}")
    done = submit(
        form, lambda: services.save_lot(db.session, current_user, lot.tender, _lot_data(form), lot),
        _("The lot is saved."), lambda _lot: back,
    )
    return done or form_page(
        form, heading=_("Edit lot %(number)s", number=lot.number), context=f"{lot.tender.reference} · {lot.title}",
        action=url_for("orders.lot_edit", lot_id=lot.id), back=back, submit_label=_("Save the lot"), hints=LOT_HINTS,
    )


# --- framework contracts -----------------------------------------------------------------------------------------


def _framework_data(form: FrameworkForm) -> services.FrameworkData:
    return services.FrameworkData(
        reference=form.reference.data, signed_on=form.signed_on.data,
        valid_from=form.valid_from.data, valid_until=form.valid_until.data,
    )


def _framework_anchor(framework: FrameworkContract) -> str:
    return url_for("orders.tender", tender_id=framework.lot.tender_id, _anchor=f"framework-{framework.id}")


@bp.route("/eu/lots/<int:lot_id>/frameworks/new", methods=["GET", "POST"])
@require(Permission.MANAGE_EU_PROCUREMENT, national=True)
def framework_new(lot_id: int):
    lot = db.get_or_404(TenderLot, lot_id)
    form = FrameworkForm()
    done = submit(
        form, lambda: services.save_framework(db.session, current_user, lot, _framework_data(form)),
        _("The framework contract is recorded."), _framework_anchor,
    )
    return done or form_page(
        form, heading=_("Record a framework contract"),
        context=_("Lot %(number)s: %(title)s", number=lot.number, title=lot.title),
        action=url_for("orders.framework_new", lot_id=lot.id),
        back=url_for("orders.tender", tender_id=lot.tender_id, _anchor=f"lot-{lot.id}"),
        submit_label=_("Record the framework contract"),
    )


@bp.route("/eu/frameworks/<int:framework_id>/edit", methods=["GET", "POST"])
@require(Permission.MANAGE_EU_PROCUREMENT, national=True)
def framework_edit(framework_id: int):
    framework = db.get_or_404(FrameworkContract, framework_id)
    form = FrameworkForm(obj=framework)
    done = submit(
        form, lambda: services.save_framework(db.session, current_user, framework.lot, _framework_data(form), framework),
        _("The framework contract is saved."), _framework_anchor,
    )
    return done or form_page(
        form, heading=_("Edit framework contract %(reference)s", reference=framework.reference),
        context=_("Lot %(number)s: %(title)s", number=framework.lot.number, title=framework.lot.title),
        action=url_for("orders.framework_edit", framework_id=framework.id), back=_framework_anchor(framework),
        submit_label=_("Save the framework contract"),
    )


# --- contractors -------------------------------------------------------------------------------------------------

CONTRACTOR_HINTS = {
    "rank": _l("1 is asked first. Leave empty to put the contractor last in the cascade."),
    "unit_price": _l("Per unit of issue, at most four decimals."),
    "supplier_id": _l("Or leave this empty and register the contractor below: it enters the supplier registry as "
                      "new and must be approved before the first specific order."),
    "legal_name": _l("Only for a contractor not yet in the registry."),
}


def _supplier_choices() -> list[SelectChoice]:
    suppliers = db.session.scalars(select(Supplier).order_by(Supplier.legal_name, Supplier.id)).all()
    return [SelectChoice("", _("Not in the registry: register it below"))] + [
        SelectChoice(s.id, f"{s.legal_name} ({s.identifier}) – {s.status.label}") for s in suppliers
    ]


def _new_supplier(form: ContractorForm):
    from suppliers.services import SupplierData

    if form.supplier_id.data is not None or not (form.legal_name.data or "").strip():
        return None
    return SupplierData(
        legal_name=form.legal_name.data, country=form.country.data, kind=form.kind.data,
        organisation_number=form.organisation_number.data,
        foreign_registration_number=form.foreign_registration_number.data,
    )


def _contractor_data(form: ContractorTermsForm, **extra) -> services.ContractorData:
    return services.ContractorData(
        max_quantity=form.max_quantity.data, unit_price=form.unit_price.data, currency=form.currency.data,
        rank=form.rank.data, **extra,
    )


@bp.route("/eu/frameworks/<int:framework_id>/contractors/new", methods=["GET", "POST"])
@require(Permission.MANAGE_EU_PROCUREMENT, national=True)
def contractor_new(framework_id: int):
    framework = db.get_or_404(FrameworkContract, framework_id)
    form = ContractorForm()
    form.supplier_id.choices = _supplier_choices()
    done = submit(
        form,
        lambda: services.save_contractor(
            db.session, current_user, framework,
            _contractor_data(form, supplier_id=form.supplier_id.data, new_supplier=_new_supplier(form)),
        ),
        _("The contractor is added."), lambda c: _framework_anchor(c.framework_contract),
    )
    return done or form_page(
        form, heading=_("Add a contractor"),
        context=_("Framework contract %(reference)s", reference=framework.reference),
        action=url_for("orders.contractor_new", framework_id=framework.id), back=_framework_anchor(framework),
        submit_label=_("Add the contractor"), hints=CONTRACTOR_HINTS,
    )


@bp.route("/eu/contractors/<int:contractor_id>/edit", methods=["GET", "POST"])
@require(Permission.MANAGE_EU_PROCUREMENT, national=True)
def contractor_edit(contractor_id: int):
    contractor = db.get_or_404(FrameworkContractor, contractor_id)
    form = ContractorTermsForm(obj=contractor)
    framework = contractor.framework_contract
    done = submit(
        form, lambda: services.save_contractor(db.session, current_user, framework, _contractor_data(form), contractor),
        _("The contractor is saved."), lambda c: _framework_anchor(framework),
    )
    return done or form_page(
        form, heading=_("Edit the contractor %(supplier)s", supplier=contractor.supplier.legal_name),
        context=_("Framework contract %(reference)s", reference=framework.reference),
        action=url_for("orders.contractor_edit", contractor_id=contractor.id), back=_framework_anchor(framework),
        submit_label=_("Save the contractor"), hints=CONTRACTOR_HINTS,
    )


def _post_action(contractor: FrameworkContractor, action: Callable[[], None], success: str):
    back = _framework_anchor(contractor.framework_contract)
    try:
        action()
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(success, "success")
    return redirect(back)


@bp.route("/eu/contractors/<int:contractor_id>/move", methods=["POST"])
@require(Permission.MANAGE_EU_PROCUREMENT, national=True)
def contractor_move(contractor_id: int):
    contractor = db.get_or_404(FrameworkContractor, contractor_id)
    form = MoveForm()
    if not form.validate_on_submit():
        flash(_("The page was out of date; try again."), "error")
        return redirect(_framework_anchor(contractor.framework_contract))
    return _post_action(
        contractor, lambda: services.move_contractor(db.session, current_user, contractor, form.direction.data),
        _("The cascade is changed."),
    )


@bp.route("/eu/contractors/<int:contractor_id>/remove", methods=["POST"])
@require(Permission.MANAGE_EU_PROCUREMENT, national=True)
def contractor_remove(contractor_id: int):
    contractor = db.get_or_404(FrameworkContractor, contractor_id)
    return _post_action(
        contractor, lambda: services.remove_contractor(db.session, current_user, contractor),
        _("The contractor is removed from the framework contract."),
    )


# --- specific orders ----------------------------------------------------------------------------------------------


def _specific_order_form(contractor: FrameworkContractor) -> SpecificOrderForm:
    form = SpecificOrderForm()
    lot = contractor.framework_contract.lot
    form.product_id.choices = optional_product_choices(lot.category_id, empty=_("Choose…"))
    destinations = destination_select_choices()
    for row in form.deliveries:
        row.form.destination.choices = destinations
    form.incoterm.choices = [SelectChoice("", "—")] + [
        SelectChoice(code, f"{code} – {name}") for code, name in INCOTERM_NAMES.items()
    ]
    if not form.is_submitted():
        form.order_date.data = local_today()
        if lot.product_id is not None:
            form.product_id.data = lot.product_id
    return form


def _specific_order_data(form: SpecificOrderForm) -> services.SpecificOrderData:
    return services.SpecificOrderData(
        product_id=form.product_id.data,
        quantity=form.quantity.data,
        order_date=form.order_date.data,
        deliveries=[
            services.DeliveryPlan(row.form.due_on.data, row.form.quantity.data, row.form.destination.data)
            for row in form.deliveries
        ],
        cascade_reason=form.cascade_reason.data,
        incoterm=form.incoterm.data,
        incoterm_place=form.incoterm_place.data,
        payment_terms=form.payment_terms.data,
        notes=form.notes.data,
    )


@bp.route("/eu/contractors/<int:contractor_id>/order", methods=["GET", "POST"])
@require(Permission.MANAGE_EU_PROCUREMENT, national=True)
def specific_order_new(contractor_id: int):
    contractor = db.get_or_404(FrameworkContractor, contractor_id)
    form = _specific_order_form(contractor)
    done = submit(
        form,
        lambda: services.place_specific_order(db.session, current_user, contractor, _specific_order_data(form)),
        _("The specific order is created as a draft purchase order."),
        lambda order: url_for("orders.detail", order_id=order.id),
    )
    if done:
        return done
    framework = contractor.framework_contract
    return render_template(
        "orders/eu_specific_order.html",
        form=form,
        contractor=contractor,
        framework=framework,
        lot=framework.lot,
        standing=services.standing_of(db.session, contractor),
        ahead=services.cascade_ahead(db.session, contractor),
        format_price=format_price,
    ), form_status(form)


# --- OCDS ----------------------------------------------------------------------------------------------------


@bp.route("/eu/ocds.json", endpoint="ocds")
@require(Permission.VIEW_ORDERS)
def ocds_export():
    agency = db.session.scalar(select(Organisation).where(Organisation.code == AGENCY_CODE))
    package = ocds.release_package(
        db.session,
        uri=url_for("orders.ocds", _external=True),
        prefix=current_app.config.get("SAMORDNA_OCDS_PREFIX", "ocds-samordna-"),
        publisher=agency,
        now=utcnow(),
        tz=local_timezone(),
    )
    return Response(
        json.dumps(package, ensure_ascii=False, indent=2),
        mimetype="application/json",
        headers={"Content-Disposition": 'inline; filename="eu-joint-procurement-ocds.json"'},
    )


from orders import views_incoming  # noqa: F401  (the incoming-supply pages)
