"""The supplier registry's rules: identity and duplicates, contacts and addresses, due diligence and vetting.

Every function takes the session and the acting user, flushes and never commits; a broken rule raises
DomainError naming the form field it belongs beside. Other packages call :func:`ensure_orderable` before
they order from a supplier.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.auth.access import has_permission
from app.auth.models import User, UserRole
from app.auth.roles import Permission, Role
from app.db import utcnow
from app.errors import DomainError, NotFoundError
from suppliers import identifiers
from suppliers.identifiers import SWEDEN, IdentifierError
from suppliers.models import (
    AddressKind,
    Supplier,
    SupplierAddress,
    SupplierContact,
    SupplierKind,
    VettingCheck,
    VettingCheckItem,
    VettingDecision,
    VettingStatus,
)

# Which vetting decisions may follow which status. Approval always goes through a review; a rejected
# supplier can be reviewed again; an approved one can be suspended (or sent back to review) and a
# suspended one reinstated, reviewed again or rejected.
TRANSITIONS: dict[VettingStatus, tuple[VettingStatus, ...]] = {
    VettingStatus.NEW: (VettingStatus.UNDER_REVIEW, VettingStatus.REJECTED),
    VettingStatus.UNDER_REVIEW: (VettingStatus.APPROVED, VettingStatus.REJECTED),
    VettingStatus.APPROVED: (VettingStatus.SUSPENDED, VettingStatus.UNDER_REVIEW),
    VettingStatus.SUSPENDED: (VettingStatus.APPROVED, VettingStatus.UNDER_REVIEW, VettingStatus.REJECTED),
    VettingStatus.REJECTED: (VettingStatus.UNDER_REVIEW,),
}


# --- the supplier itself -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SupplierData:
    """What the supplier form gives the services, before normalisation."""

    legal_name: str
    country: str
    kind: str
    organisation_number: str | None = None
    foreign_registration_number: str | None = None
    vat_number: str | None = None
    produces_in_sweden: bool = False
    website: str | None = None
    notes: str | None = None


def get_supplier(session: Session, supplier_id: int) -> Supplier:
    """The supplier; raises NotFoundError (404) when there is none. The registry is national: no scope."""
    supplier = session.get(Supplier, supplier_id)
    if supplier is None:
        raise NotFoundError(_("There is no such supplier."))
    return supplier


def create_supplier(session: Session, user: User, data: SupplierData) -> Supplier:
    """Register a supplier as new (not yet vetted). Raises DomainError for invalid or duplicate identity."""
    supplier = Supplier(**_validated(session, data, None), created_by_id=user.id)
    supplier.vetting_status = VettingStatus.NEW.value
    _flush_identity(session, supplier)
    return supplier


def update_supplier(session: Session, user: User, supplier: Supplier, data: SupplierData) -> Supplier:
    """Change a supplier's identity and details; the same checks as on creation. Vetting is not touched."""
    for name, value in _validated(session, data, supplier).items():
        setattr(supplier, name, value)
    _flush_identity(session, supplier)
    return supplier


def _flush_identity(session: Session, supplier: Supplier) -> None:
    """Write the supplier; someone registering the same number at the same moment gets the same message
    as a duplicate found beforehand, not an error page (the unique constraints decide the race)."""
    # Read before the savepoint: rolling it back expires what was set.
    identity = (supplier.organisation_number, supplier.country, supplier.foreign_registration_number)
    try:
        with session.begin_nested():
            session.add(supplier)
            session.flush()
    except IntegrityError:
        _refuse_duplicates(session, supplier, *identity)
        raise


def _validated(session: Session, data: SupplierData, supplier: Supplier | None) -> dict:
    """The normalised column values; raises DomainError (with its field) for the first thing wrong."""
    legal_name = " ".join((data.legal_name or "").split())
    if not legal_name:
        raise DomainError(_("Enter the supplier's legal name."), field="legal_name")
    try:
        country = identifiers.normalise_country(data.country)
    except IdentifierError as error:
        raise DomainError(error.message, field="country") from None
    kind = data.kind if data.kind in set(SupplierKind) else None
    if kind is None:
        raise DomainError(_("Choose what kind of supplier this is."), field="kind")

    organisation_number = _blank_to_none(data.organisation_number)
    foreign_number = _blank_to_none(" ".join((data.foreign_registration_number or "").split()))
    if country == SWEDEN:
        if organisation_number is None:
            raise DomainError(_("A Swedish supplier needs its organisationsnummer."), field="organisation_number")
        foreign_number = None
    elif foreign_number is None:
        raise DomainError(
            _("A supplier outside Sweden needs its registration number in %(country)s.",
              country=identifiers.country_name(country)),
            field="foreign_registration_number",
        )
    if organisation_number is not None:
        # A foreign company's Swedish branch (filial) has an organisationsnummer too.
        try:
            organisation_number = identifiers.normalise_organisation_number(organisation_number)
        except IdentifierError as error:
            raise DomainError(error.message, field="organisation_number") from None

    vat_number = _blank_to_none(data.vat_number)
    if vat_number is not None:
        try:
            vat_number = identifiers.normalise_vat_number(
                vat_number, country, organisation_number if country == SWEDEN else None
            )
        except IdentifierError as error:
            raise DomainError(error.message, field="vat_number") from None

    _refuse_duplicates(session, supplier, organisation_number, country, foreign_number)
    return {
        "legal_name": legal_name,
        "country": country,
        "kind": kind,
        "organisation_number": organisation_number,
        "foreign_registration_number": foreign_number,
        "vat_number": vat_number or None,
        "produces_in_sweden": bool(data.produces_in_sweden),
        "website": _website(data.website),
        "notes": (data.notes or "").strip() or None,
    }


def _refuse_duplicates(
    session: Session, supplier: Supplier | None, organisation_number: str | None, country: str, foreign: str | None
) -> None:
    others = select(Supplier)
    if supplier is not None and supplier.id is not None:
        others = others.where(Supplier.id != supplier.id)
    if organisation_number is not None:
        twin = session.scalar(others.where(Supplier.organisation_number == organisation_number))
        if twin is not None:
            raise DomainError(
                _("%(name)s is already registered with organisationsnummer %(number)s.",
                  name=twin.legal_name, number=organisation_number),
                field="organisation_number",
            )
    if foreign is not None:
        twin = session.scalar(
            others.where(Supplier.country == country, Supplier.foreign_registration_number == foreign)
        )
        if twin is not None:
            raise DomainError(
                _("%(name)s is already registered with registration number %(number)s in %(country)s.",
                  name=twin.legal_name, number=foreign, country=identifiers.country_name(country)),
                field="foreign_registration_number",
            )


def _website(raw: str | None) -> str | None:
    """An http(s) address (https:// added when no scheme is given); anything else could run as a script."""
    text = (raw or "").strip()
    if not text:
        return None
    if "://" not in text:
        text = f"https://{text}"
    parts = urlsplit(text)
    if parts.scheme.lower() not in ("http", "https") or "." not in parts.netloc or " " in text:
        raise DomainError(_("Enter the website as an address such as https://www.example.se."), field="website")
    return text


def _blank_to_none(value: str | None) -> str | None:
    text = (value or "").strip()
    return text or None


# --- contacts and addresses --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ContactData:
    name: str
    title: str | None = None
    email: str | None = None
    phone: str | None = None
    is_primary: bool = False


@dataclass(frozen=True)
class AddressData:
    kind: str
    street: str
    city: str
    country: str
    postal_code: str | None = None


def get_contact(session: Session, supplier: Supplier, contact_id: int) -> SupplierContact:
    """The supplier's contact; NotFoundError when it does not exist or belongs to another supplier."""
    contact = session.get(SupplierContact, contact_id)
    if contact is None or contact.supplier_id != supplier.id:
        raise NotFoundError(_("There is no such contact."))
    return contact


def get_address(session: Session, supplier: Supplier, address_id: int) -> SupplierAddress:
    """The supplier's address; NotFoundError when it does not exist or belongs to another supplier."""
    address = session.get(SupplierAddress, address_id)
    if address is None or address.supplier_id != supplier.id:
        raise NotFoundError(_("There is no such address."))
    return address


def add_contact(session: Session, user: User, supplier: Supplier, data: ContactData) -> SupplierContact:
    """Add a contact person; raises DomainError (``name`` or ``email``) before anything is written."""
    values = _contact_values(data)
    contact = SupplierContact()
    supplier.contacts.append(contact)
    return _apply_contact(session, contact, values)


def update_contact(session: Session, user: User, contact: SupplierContact, data: ContactData) -> SupplierContact:
    """Change a contact; a primary contact makes the supplier's other contacts not primary."""
    return _apply_contact(session, contact, _contact_values(data))


def _contact_values(data: ContactData) -> dict:
    name = " ".join((data.name or "").split())
    if not name:
        raise DomainError(_("Enter the contact's name."), field="name")
    email = _blank_to_none(data.email)
    phone = _blank_to_none(data.phone)
    if email is None and phone is None:
        raise DomainError(_("Enter an e-mail address or a phone number to reach the contact by."), field="email")
    return {
        "name": name,
        "title": _blank_to_none(data.title),
        "email": email.lower() if email else None,
        "phone": phone,
        "is_primary": bool(data.is_primary),
    }


def _apply_contact(session: Session, contact: SupplierContact, values: dict) -> SupplierContact:
    for name, value in values.items():
        setattr(contact, name, value)
    if contact.is_primary:
        for other in contact.supplier.contacts:
            if other is not contact:
                other.is_primary = False
    session.flush()
    return contact


def remove_contact(session: Session, user: User, contact: SupplierContact) -> None:
    contact.supplier.contacts.remove(contact)
    session.flush()


def add_address(session: Session, user: User, supplier: Supplier, data: AddressData) -> SupplierAddress:
    """Add an address; raises DomainError (its field) before anything is written."""
    address = SupplierAddress(**_address_values(data))
    supplier.addresses.append(address)
    session.flush()
    return address


def update_address(session: Session, user: User, address: SupplierAddress, data: AddressData) -> SupplierAddress:
    return _apply_address(session, address, _address_values(data))


def _address_values(data: AddressData) -> dict:
    if data.kind not in set(AddressKind):
        raise DomainError(_("Choose what kind of address this is."), field="kind")
    street = " ".join((data.street or "").split())
    city = " ".join((data.city or "").split())
    if not street:
        raise DomainError(_("Enter the street address."), field="street")
    if not city:
        raise DomainError(_("Enter the city."), field="city")
    try:
        country = identifiers.normalise_country(data.country)
    except IdentifierError as error:
        raise DomainError(error.message, field="country") from None
    postal_code = _blank_to_none(data.postal_code)
    if country == SWEDEN and postal_code is not None:
        digits = postal_code.replace(" ", "")
        if not (digits.isdigit() and len(digits) == 5):
            raise DomainError(_("A Swedish postal code has five digits, e.g. 114 55."), field="postal_code")
        postal_code = f"{digits[:3]} {digits[3:]}"
    return {"kind": data.kind, "street": street, "city": city, "country": country, "postal_code": postal_code}


def _apply_address(session: Session, address: SupplierAddress, values: dict) -> SupplierAddress:
    for name, value in values.items():
        setattr(address, name, value)
    session.flush()
    return address


def remove_address(session: Session, user: User, address: SupplierAddress) -> None:
    address.supplier.addresses.remove(address)
    session.flush()


# --- due diligence and vetting decisions -------------------------------------------------------------------


@dataclass(frozen=True)
class ChecklistRow:
    """One checklist item as shown: the item and, once someone has recorded it, the check."""

    item: VettingCheckItem
    check: VettingCheck | None

    @property
    def done(self) -> bool:
        return bool(self.check and self.check.done)


def checklist(supplier: Supplier) -> list[ChecklistRow]:
    """Every checklist item in its fixed order, with what has been recorded for it."""
    recorded = {check.item: check for check in supplier.vetting_checks}
    return [ChecklistRow(item, recorded.get(item.value)) for item in VettingCheckItem]


def missing_checks(supplier: Supplier) -> list[VettingCheckItem]:
    return [row.item for row in checklist(supplier) if not row.done]


def record_check(
    session: Session,
    user: User,
    supplier: Supplier,
    item: str,
    *,
    done: bool,
    note: str | None,
    now: datetime | None = None,
) -> VettingCheck:
    """Tick (or untick) a checklist item with a note, recording who did it and when.

    A tick needs a note saying what was checked (the evidence). An approved supplier's items cannot be
    unticked: suspend it or send it back to review first. Raises DomainError (``done`` or ``note``).
    """
    try:
        checked_item = VettingCheckItem(item)
    except ValueError:
        raise DomainError(_("There is no such checklist item."), field="item") from None
    note = (note or "").strip() or None
    if done and note is None:
        raise DomainError(
            _("Say what was checked (source, date, result) before ticking “%(item)s”.", item=checked_item.label),
            field="note",
        )
    check = next((c for c in supplier.vetting_checks if c.item == checked_item.value), None)
    if not done and supplier.is_approved and check is not None and check.done:
        raise DomainError(
            _("The supplier is approved on a complete checklist; suspend it or send it back to review first."),
            field="done",
        )
    if check is None:
        check = VettingCheck(item=checked_item.value)
        supplier.vetting_checks.append(check)
    check.done = bool(done)
    check.note = note
    check.checked_by_id = user.id
    check.checked_at = now or utcnow()
    session.flush()
    return check


def allowed_decisions(supplier: Supplier) -> tuple[VettingStatus, ...]:
    return TRANSITIONS[supplier.status]


def decide_vetting(
    session: Session,
    user: User,
    supplier: Supplier,
    to_status: str,
    reason: str,
    *,
    link: str | None = None,
    now: datetime | None = None,
) -> VettingDecision:
    """Move the supplier to a new vetting status with a reason, as someone allowed to decide (DECIDE_VETTING).

    Only the moves in TRANSITIONS are allowed; approval needs the whole checklist ticked. The decision is
    kept as a VettingDecision and on the supplier (vetting_* columns); the supplier record's creator and
    every purchasing lead (other than the decider) are notified. Raises DomainError (``to_status`` or
    ``reason``).
    """
    _require(user, Permission.DECIDE_VETTING)
    try:
        target = VettingStatus(to_status)
    except ValueError:
        raise DomainError(_("Choose the new vetting status."), field="to_status") from None
    current = supplier.status
    if target not in TRANSITIONS[current]:
        raise DomainError(
            _("A supplier that is %(current)s cannot be made %(target)s; possible: %(allowed)s.",
              current=current.label.lower(), target=target.label.lower(),
              allowed=", ".join(s.label.lower() for s in TRANSITIONS[current])),
            field="to_status",
        )
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("Give the reason for the decision."), field="reason")
    if target == VettingStatus.APPROVED:
        missing = missing_checks(supplier)
        if missing:
            raise DomainError(
                _("The checklist is not complete; still missing: %(items)s.",
                  items=", ".join(str(item.label) for item in missing)),
                field="to_status",
            )
    when = now or utcnow()
    decision = VettingDecision(
        supplier=supplier,
        from_status=current.value,
        to_status=target.value,
        reason=reason,
        decided_by_id=user.id,
        decided_at=when,
    )
    session.add(decision)
    supplier.vetting_status = target.value
    supplier.vetting_reason = reason
    supplier.vetting_decided_by_id = user.id
    supplier.vetting_decided_at = when
    session.flush()
    _notify_decision(session, user, supplier, target, reason, link)
    return decision


def _notify_decision(
    session: Session, user: User, supplier: Supplier, target: VettingStatus, reason: str, link: str | None
) -> None:
    from app.notifications.services import notify

    leads = session.scalars(
        select(User)
        .join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role == Role.PURCHASING_LEAD.value, User.active.is_(True))
        .order_by(User.id)
    ).all()
    recipients = {person.id: person for person in [*([supplier.created_by] if supplier.created_by else []), *leads]}
    recipients.pop(user.id, None)
    subject = _("%(supplier)s is now %(status)s", supplier=supplier.legal_name, status=target.label.lower())
    body = _("%(who)s decided: %(status)s. Reason: %(reason)s",
             who=user.name, status=target.label, reason=reason)
    for person in recipients.values():
        notify(session, person, subject, body, link)


def ensure_orderable(supplier: Supplier) -> None:
    """Raise DomainError (field ``supplier_id``) with the reason unless the supplier is approved for orders."""
    if supplier.is_approved:
        return
    if supplier.vetting_reason and supplier.status in (VettingStatus.SUSPENDED, VettingStatus.REJECTED):
        message = _("%(supplier)s is %(status)s and cannot receive orders: %(reason)s",
                    supplier=supplier.legal_name, status=supplier.status.label.lower(), reason=supplier.vetting_reason)
    else:
        message = _("%(supplier)s is %(status)s; only approved suppliers can receive orders.",
                    supplier=supplier.legal_name, status=supplier.status.label.lower())
    raise DomainError(message, field="supplier_id")


def _require(user: User, permission: Permission) -> None:
    # The views check the permission too; this keeps the rule when a CLI command or job calls the service.
    if not has_permission(user, permission):
        raise DomainError(_("Your role does not allow this."))
