"""The supplier registry on the web: the list, the overview page, create and edit, contacts and addresses,
and the vetting page (checklist and status decisions).

Everyone with VIEW_SUPPLIERS reads; MANAGE_SUPPLIERS edits and ticks the checklist; DECIDE_VETTING decides.
"""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import format_percent, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from app.auth.access import require
from app.auth.roles import Permission
from app.catalog.models import Product, ProductCategory
from app.errors import DomainError
from app.extensions import db
from app.forms import apply_domain_error, form_status
from app.listing import Column, Filter, Listing
from app.main import register_nav
from app.timeutil import local_timezone
from suppliers import bp, services
from suppliers.forms import (
    AddressForm,
    ContactForm,
    SupplierForm,
    VettingCheckForm,
    VettingDecisionForm,
    select_choices,
)
from suppliers.identifiers import country_name
from suppliers.models import (
    AddressKind,
    Supplier,
    SupplierContact,
    SupplierKind,
    SupplierProduct,
    VettingCheckItem,
    VettingStatus,
)
from suppliers.performance import supplier_performance

STATUS_TONES = {
    VettingStatus.NEW: "neutral",
    VettingStatus.UNDER_REVIEW: "amber",
    VettingStatus.APPROVED: "green",
    VettingStatus.REJECTED: "red",
    VettingStatus.SUSPENDED: "red",
}


def register_navigation() -> None:
    register_nav("suppliers.index", _l("Suppliers"), Permission.VIEW_SUPPLIERS, order=45)


@bp.context_processor
def _supplier_helpers():
    return {
        "vetting_tone": lambda status: STATUS_TONES[VettingStatus(status)],
        "country_name": country_name,
        "format_percent": format_percent,
        "VettingStatus": VettingStatus,
    }


# --- the list ---------------------------------------------------------------------------------------------


def _search_contacts(q: str):
    pattern = f"%{q.lower()}%"
    return Supplier.id.in_(
        select(SupplierContact.supplier_id).where(
            or_(
                func.lower(SupplierContact.name).like(pattern),
                func.lower(SupplierContact.email).like(pattern),
                SupplierContact.phone.like(pattern),
            )
        )
    )


def _search_identifiers(q: str):
    """Organisationsnummer and VAT number match with or without dashes and spaces."""
    compact = "".join(ch for ch in q if ch.isalnum()).upper()
    if not compact:
        return Supplier.id.is_(None)
    pattern = f"%{compact}%"
    return or_(
        func.replace(Supplier.organisation_number, "-", "").like(pattern),
        func.upper(Supplier.vat_number).like(pattern),
        func.upper(func.replace(Supplier.foreign_registration_number, " ", "")).like(pattern),
    )


def _carries_category(stmt, value):
    return stmt.where(
        Supplier.id.in_(
            select(SupplierProduct.supplier_id)
            .join(Product, Product.id == SupplierProduct.product_id)
            .where(Product.category_id == int(value))
        )
    )


def _primary_contact(supplier: Supplier) -> str:
    contact = next((c for c in supplier.contacts if c.is_primary), None) or next(iter(supplier.contacts), None)
    return contact.name if contact else ""


def supplier_listing() -> Listing:
    locale = str(get_locale() or "sv")
    tz = local_timezone()
    categories = db.session.scalars(select(ProductCategory).order_by(ProductCategory.sort_order)).all()
    countries = db.session.scalars(select(Supplier.country).distinct()).all()
    return Listing(
        select(Supplier).options(selectinload(Supplier.contacts)),
        columns=[
            Column(
                "name",
                _l("Name"),
                lambda s: s.legal_name,
                sort=Supplier.legal_name,
                link=lambda s: url_for("suppliers.detail", supplier_id=s.id),
            ),
            Column("identifier", _l("Organisationsnummer or registration number"), lambda s: s.identifier,
                   sort=Supplier.organisation_number),
            Column("vat", _l("VAT number"), lambda s: s.vat_number, sort=Supplier.vat_number),
            Column("country", _l("Country"), lambda s: country_name(s.country), sort=Supplier.country),
            Column("kind", _l("Kind"), lambda s: SupplierKind(s.kind).label, sort=Supplier.kind),
            Column("sweden", _l("Produces in Sweden"), lambda s: s.produces_in_sweden,
                   sort=Supplier.produces_in_sweden),
            Column("status", _l("Vetting status"), lambda s: s.status.label, sort=Supplier.vetting_status),
            Column("contact", _l("Contact"), _primary_contact),
            Column("updated", _l("Changed"), lambda s: s.updated_at.astimezone(tz).date(), sort=Supplier.updated_at),
        ],
        search=[Supplier.legal_name, _search_identifiers, _search_contacts],
        filters=[
            Filter("kind", _l("Kind"), SupplierKind.choices(), lambda stmt, v: stmt.where(Supplier.kind == v)),
            Filter(
                "country",
                _l("Country"),
                sorted(((code, country_name(code)) for code in countries), key=lambda pair: pair[1]),
                lambda stmt, v: stmt.where(Supplier.country == v),
            ),
            Filter(
                "status",
                _l("Vetting status"),
                VettingStatus.choices(),
                lambda stmt, v: stmt.where(Supplier.vetting_status == v),
            ),
            Filter(
                "sweden",
                _l("Produces in Sweden"),
                [("yes", _l("Yes")), ("no", _l("No"))],
                lambda stmt, v: stmt.where(Supplier.produces_in_sweden.is_(v == "yes")),
            ),
            Filter("category", _l("Carries products in"), [(str(c.id), c.name_in(locale)) for c in categories],
                   _carries_category),
        ],
        default_sort="name",
        csv_name="suppliers",
    )


@bp.route("/")
@require(Permission.VIEW_SUPPLIERS)
def index():
    return supplier_listing().respond(lambda page: render_template("suppliers/index.html", page=page))


# --- overview, create and edit ----------------------------------------------------------------------------


@bp.route("/<int:supplier_id>")
@require(Permission.VIEW_SUPPLIERS)
def detail(supplier_id: int):
    supplier = services.get_supplier(db.session, supplier_id)
    return render_template(
        "suppliers/detail.html",
        supplier=supplier,
        performance=supplier_performance(db.session, supplier),
        AddressKind=AddressKind,
        SupplierKind=SupplierKind,
    )


def _supplier_data(form: SupplierForm) -> services.SupplierData:
    return services.SupplierData(
        legal_name=form.legal_name.data,
        country=form.country.data,
        kind=form.kind.data,
        organisation_number=form.organisation_number.data,
        foreign_registration_number=form.foreign_registration_number.data,
        vat_number=form.vat_number.data,
        produces_in_sweden=form.produces_in_sweden.data,
        website=form.website.data,
        notes=form.notes.data,
    )


def _render_edit(form, *, title: str, action: str, cancel: str, supplier=None, submit=None, hints=None):
    return (
        render_template(
            "suppliers/edit.html",
            form=form,
            title=title,
            action=action,
            cancel=cancel,
            supplier=supplier,
            submit=submit,
            hints=hints or {},
        ),
        form_status(form),
    )


SUPPLIER_HINTS = {
    "organisation_number": _l("Swedish suppliers: NNNNNN-NNNN, e.g. 556677-8899. Foreign suppliers with a Swedish "
                              "branch may give it too."),
    "foreign_registration_number": _l("Suppliers outside Sweden: the number in their country's company registry."),
    "vat_number": _l("Swedish: SE + the ten digits of the organisationsnummer + 01. In the EU: the country's prefix "
                     "(DE, FR, EL for Greece …)."),
}


@bp.route("/new", methods=["GET", "POST"])
@require(Permission.MANAGE_SUPPLIERS)
def new():
    form = SupplierForm()
    if form.validate_on_submit():
        try:
            supplier = services.create_supplier(db.session, current_user, _supplier_data(form))
        except DomainError as error:
            db.session.rollback()
            apply_domain_error(form, error)
        else:
            db.session.commit()
            flash(_("%(name)s is registered; it needs vetting before it can receive orders.",
                    name=supplier.legal_name), "success")
            return redirect(url_for("suppliers.detail", supplier_id=supplier.id))
    return _render_edit(
        form,
        title=_("Register a supplier"),
        action=url_for("suppliers.new"),
        cancel=url_for("suppliers.index"),
        submit=_("Register the supplier"),
        hints=SUPPLIER_HINTS,
    )


@bp.route("/<int:supplier_id>/edit", methods=["GET", "POST"])
@require(Permission.MANAGE_SUPPLIERS)
def edit(supplier_id: int):
    supplier = services.get_supplier(db.session, supplier_id)
    form = SupplierForm(obj=supplier)
    if form.validate_on_submit():
        try:
            services.update_supplier(db.session, current_user, supplier, _supplier_data(form))
        except DomainError as error:
            db.session.rollback()
            apply_domain_error(form, error)
        else:
            db.session.commit()
            flash(_("%(name)s is saved.", name=supplier.legal_name), "success")
            return redirect(url_for("suppliers.detail", supplier_id=supplier.id))
    return _render_edit(
        form,
        title=_("Edit the supplier"),
        action=url_for("suppliers.edit", supplier_id=supplier.id),
        cancel=url_for("suppliers.detail", supplier_id=supplier.id),
        supplier=supplier,
        hints=SUPPLIER_HINTS,
    )


# --- contacts and addresses ---------------------------------------------------------------------------------


def _contact_data(form: ContactForm) -> services.ContactData:
    return services.ContactData(
        name=form.name.data, title=form.title.data, email=form.email.data, phone=form.phone.data,
        is_primary=form.is_primary.data,
    )


def _address_data(form: AddressForm) -> services.AddressData:
    return services.AddressData(
        kind=form.kind.data, street=form.street.data, postal_code=form.postal_code.data, city=form.city.data,
        country=form.country.data,
    )


def _save_part(supplier, form, save, *, title: str, action: str, saved: str):
    """The shared flow of the contact and address forms: service, commit, back to the overview."""
    overview = url_for("suppliers.detail", supplier_id=supplier.id)
    if form.validate_on_submit():
        try:
            save()
        except DomainError as error:
            db.session.rollback()
            apply_domain_error(form, error)
        else:
            db.session.commit()
            flash(saved, "success")
            return redirect(overview)
    return _render_edit(form, title=title, action=action, cancel=overview, supplier=supplier)


@bp.route("/<int:supplier_id>/contacts/new", methods=["GET", "POST"])
@require(Permission.MANAGE_SUPPLIERS)
def contact_new(supplier_id: int):
    supplier = services.get_supplier(db.session, supplier_id)
    form = ContactForm()
    return _save_part(
        supplier,
        form,
        lambda: services.add_contact(db.session, current_user, supplier, _contact_data(form)),
        title=_("Add a contact"),
        action=url_for("suppliers.contact_new", supplier_id=supplier.id),
        saved=_("The contact is added."),
    )


@bp.route("/<int:supplier_id>/contacts/<int:contact_id>/edit", methods=["GET", "POST"])
@require(Permission.MANAGE_SUPPLIERS)
def contact_edit(supplier_id: int, contact_id: int):
    supplier = services.get_supplier(db.session, supplier_id)
    contact = services.get_contact(db.session, supplier, contact_id)
    form = ContactForm(obj=contact)
    return _save_part(
        supplier,
        form,
        lambda: services.update_contact(db.session, current_user, contact, _contact_data(form)),
        title=_("Edit the contact"),
        action=url_for("suppliers.contact_edit", supplier_id=supplier.id, contact_id=contact.id),
        saved=_("The contact is saved."),
    )


@bp.route("/<int:supplier_id>/contacts/<int:contact_id>/remove", methods=["POST"])
@require(Permission.MANAGE_SUPPLIERS)
def contact_remove(supplier_id: int, contact_id: int):
    supplier = services.get_supplier(db.session, supplier_id)
    contact = services.get_contact(db.session, supplier, contact_id)
    name = contact.name
    services.remove_contact(db.session, current_user, contact)
    db.session.commit()
    flash(_("%(name)s is removed from the contacts.", name=name), "success")
    return redirect(url_for("suppliers.detail", supplier_id=supplier.id))


@bp.route("/<int:supplier_id>/addresses/new", methods=["GET", "POST"])
@require(Permission.MANAGE_SUPPLIERS)
def address_new(supplier_id: int):
    supplier = services.get_supplier(db.session, supplier_id)
    form = AddressForm()
    if request.method == "GET":
        form.country.data = supplier.country
    return _save_part(
        supplier,
        form,
        lambda: services.add_address(db.session, current_user, supplier, _address_data(form)),
        title=_("Add an address"),
        action=url_for("suppliers.address_new", supplier_id=supplier.id),
        saved=_("The address is added."),
    )


@bp.route("/<int:supplier_id>/addresses/<int:address_id>/edit", methods=["GET", "POST"])
@require(Permission.MANAGE_SUPPLIERS)
def address_edit(supplier_id: int, address_id: int):
    supplier = services.get_supplier(db.session, supplier_id)
    address = services.get_address(db.session, supplier, address_id)
    form = AddressForm(obj=address)
    return _save_part(
        supplier,
        form,
        lambda: services.update_address(db.session, current_user, address, _address_data(form)),
        title=_("Edit the address"),
        action=url_for("suppliers.address_edit", supplier_id=supplier.id, address_id=address.id),
        saved=_("The address is saved."),
    )


@bp.route("/<int:supplier_id>/addresses/<int:address_id>/remove", methods=["POST"])
@require(Permission.MANAGE_SUPPLIERS)
def address_remove(supplier_id: int, address_id: int):
    supplier = services.get_supplier(db.session, supplier_id)
    address = services.get_address(db.session, supplier, address_id)
    services.remove_address(db.session, current_user, address)
    db.session.commit()
    flash(_("The address is removed."), "success")
    return redirect(url_for("suppliers.detail", supplier_id=supplier.id))


# --- vetting ---------------------------------------------------------------------------------------------------


def _check_forms(supplier: Supplier, submitted: VettingCheckForm | None = None, item: str | None = None) -> dict:
    forms = {}
    for row in services.checklist(supplier):
        if submitted is not None and row.item.value == item:
            forms[row.item.value] = submitted
            continue
        form = VettingCheckForm(prefix=row.item.value, formdata=None)
        if row.check is not None:
            form.done.data = row.check.done
            form.note.data = row.check.note
        forms[row.item.value] = form
    return forms


def _decision_form(supplier: Supplier, formdata=None) -> VettingDecisionForm:
    form = VettingDecisionForm(formdata=formdata) if formdata is not None else VettingDecisionForm(formdata=None)
    form.to_status.choices = select_choices((s.value, s.label) for s in services.allowed_decisions(supplier))
    return form


def _render_vetting(supplier: Supplier, *, check_forms: dict, decision_form: VettingDecisionForm, status: int = 200):
    return (
        render_template(
            "suppliers/vetting.html",
            supplier=supplier,
            checklist=services.checklist(supplier),
            missing=services.missing_checks(supplier),
            check_forms=check_forms,
            decision_form=decision_form,
        ),
        status,
    )


@bp.route("/<int:supplier_id>/vetting")
@require(Permission.VIEW_SUPPLIERS)
def vetting(supplier_id: int):
    supplier = services.get_supplier(db.session, supplier_id)
    return _render_vetting(supplier, check_forms=_check_forms(supplier), decision_form=_decision_form(supplier))


@bp.route("/<int:supplier_id>/vetting/checks", methods=["POST"])
@require(Permission.MANAGE_SUPPLIERS)
def vetting_check(supplier_id: int):
    supplier = services.get_supplier(db.session, supplier_id)
    item = request.form.get("item", "")
    if item not in {i.value for i in VettingCheckItem}:
        flash(_("Choose a checklist item."), "error")
        return _render_vetting(
            supplier, check_forms=_check_forms(supplier), decision_form=_decision_form(supplier), status=422
        )
    form = VettingCheckForm(prefix=item)
    if form.validate_on_submit():
        try:
            check = services.record_check(
                db.session, current_user, supplier, item, done=form.done.data, note=form.note.data
            )
        except DomainError as error:
            db.session.rollback()
            apply_domain_error(form, error)
        else:
            db.session.commit()
            label = VettingCheckItem(check.item).label
            flash(_("“%(item)s” is recorded.", item=label), "success")
            return redirect(url_for("suppliers.vetting", supplier_id=supplier.id) + f"#check-{item}")
    return _render_vetting(
        supplier,
        check_forms=_check_forms(supplier, form, item),
        decision_form=_decision_form(supplier),
        status=form_status(form),
    )


@bp.route("/<int:supplier_id>/vetting/decisions", methods=["POST"])
@require(Permission.DECIDE_VETTING)
def vetting_decide(supplier_id: int):
    supplier = services.get_supplier(db.session, supplier_id)
    form = _decision_form(supplier, request.form)
    if form.validate_on_submit():
        try:
            decision = services.decide_vetting(
                db.session,
                current_user,
                supplier,
                form.to_status.data,
                form.reason.data,
                link=url_for("suppliers.vetting", supplier_id=supplier.id, _external=True),
            )
        except DomainError as error:
            db.session.rollback()
            apply_domain_error(form, error)
        else:
            db.session.commit()
            flash(_("%(name)s is now %(status)s.", name=supplier.legal_name,
                    status=VettingStatus(decision.to_status).label.lower()), "success")
            return redirect(url_for("suppliers.vetting", supplier_id=supplier.id))
    return _render_vetting(
        supplier, check_forms=_check_forms(supplier), decision_form=form, status=form_status(form)
    )
