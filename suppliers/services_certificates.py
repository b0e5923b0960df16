"""Suppliers' products (models), their certificates and uploaded documents, and certificate verification.

Services take the session and the acting user, check the rules and flush; the caller commits. Each raises
before it writes, so a refused request leaves the database as it was (uploaded files are removed again by
suppliers.storage when the transaction does not commit).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import BinaryIO

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.auth.roles import Permission, permissions_of
from app.catalog.models import Product
from app.db import utcnow
from app.enums import LabelledEnum
from app.errors import DomainError
from suppliers import standards, storage
from suppliers.models import (
    Certificate,
    CertificateKind,
    Document,
    Supplier,
    SupplierKind,
    SupplierProduct,
    VerificationStatus,
)

EXPIRY_HORIZON_DAYS = 60
# Regulation (EU) 2016/425, Annex V point 6: an EU type-examination certificate is valid for at most 5 years.
MAX_TYPE_EXAMINATION_YEARS = 5
NOTIFIED_BODY_PATTERN = re.compile(r"^\d{4}$")
# What shows that a model conforms; a test report or other paper supports it but does not on its own.
CONFORMITY_KINDS = frozenset(
    {
        CertificateKind.EU_TYPE_EXAMINATION,
        CertificateKind.DECLARATION_OF_CONFORMITY,
        CertificateKind.TEMPORARY_PERMIT,
    }
)
MAX_LENGTHS = {
    "model_name": 200,
    "manufacturer_name": 200,
    "certificate_number": 120,
    "issued_by": 200,
    "title": 200,
}


class SupplierDocumentError(DomainError):
    """A product model, certificate or document breaks a rule."""


class NotAllowed(SupplierDocumentError):
    """The acting user's roles do not allow the change."""

    status_code = 403


class Rejected(SupplierDocumentError):
    """One or more fields break the rules; ``errors`` holds one DomainError per problem."""

    def __init__(self, errors: Sequence[DomainError]):
        super().__init__(errors[0].message, field=errors[0].field)
        self.errors = list(errors)


def ensure_permission(user, permission: Permission, message: str) -> None:
    """Raise NotAllowed with ``message`` unless ``user`` holds ``permission``."""
    if user is None or permission not in permissions_of(getattr(user, "roles", ())):
        raise NotAllowed(message)


def _ensure_manages_suppliers(user) -> None:
    ensure_permission(user, Permission.MANAGE_SUPPLIERS, _("Your role cannot change suppliers' products."))


def _clean(value: str | None) -> str | None:
    return (value or "").strip() or None


def _too_long(data, names: Sequence[str]) -> list[DomainError]:
    return [
        SupplierDocumentError(_("At most %(n)s characters.", n=MAX_LENGTHS[name]), field=name)
        for name in names
        if getattr(data, name) and len(getattr(data, name)) > MAX_LENGTHS[name]
    ]


def _raise_if(problems: list[DomainError]) -> None:
    if problems:
        raise Rejected(problems)


# --- product models ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SupplierProductData:
    """A supplier's model of a catalogue product, as the user gives it."""

    product_id: int | None
    model_name: str | None
    manufacturer_name: str | None = None
    notes: str | None = None

    def normalised(self) -> SupplierProductData:
        return SupplierProductData(
            self.product_id, _clean(self.model_name), _clean(self.manufacturer_name), _clean(self.notes)
        )


def _duplicate_model() -> SupplierDocumentError:
    return SupplierDocumentError(
        _("This supplier already has a model with that name for the product."), field="model_name"
    )


def _model_taken(
    session: Session, supplier: Supplier, data: SupplierProductData, own: SupplierProduct | None
):
    stmt = select(SupplierProduct.id).where(
        SupplierProduct.supplier_id == supplier.id,
        SupplierProduct.product_id == data.product_id,
        SupplierProduct.model_name == data.model_name,
    )
    if own is not None and own.id is not None:
        stmt = stmt.where(SupplierProduct.id != own.id)
    return session.scalar(stmt.limit(1)) is not None


@contextmanager
def _guarding_duplicate(session: Session, supplier: Supplier, data: SupplierProductData, own):
    """Flush the block's changes in a savepoint so a model saved a moment earlier by someone else is reported
    beside the field instead of failing the request."""
    try:
        with session.begin_nested():
            yield
            session.flush()
    except IntegrityError:
        if _model_taken(session, supplier, data, own):
            raise Rejected([_duplicate_model()]) from None
        raise


def _checked_model(
    session: Session, user, supplier: Supplier, data: SupplierProductData, own: SupplierProduct | None
) -> tuple[SupplierProductData, Product | None]:
    _ensure_manages_suppliers(user)
    data = data.normalised()
    problems = _too_long(data, ("model_name", "manufacturer_name"))
    product = session.get(Product, data.product_id) if data.product_id is not None else None
    if product is None:
        problems.append(SupplierDocumentError(_("Choose a product from the catalogue."), field="product_id"))
    elif not product.active and (own is None or own.product_id != product.id):
        problems.append(
            SupplierDocumentError(_("The product is no longer active in the catalogue."), field="product_id")
        )
    elif own is not None and own.product_id != product.id and own.certificates:
        problems.append(
            SupplierDocumentError(
                _("The model has certificates for its product; add a new model for another product."),
                field="product_id",
            )
        )
    if not data.model_name:
        problems.append(
            SupplierDocumentError(_("Enter the model name as marked on the product."), field="model_name")
        )
    if supplier.kind != SupplierKind.MANUFACTURER and not data.manufacturer_name:
        problems.append(
            SupplierDocumentError(
                _("The supplier is not a manufacturer: enter who makes the product."),
                field="manufacturer_name",
            )
        )
    if not problems and _model_taken(session, supplier, data, own):
        problems.append(_duplicate_model())
    _raise_if(problems)
    return data, product


def add_supplier_product(
    session: Session, user, supplier: Supplier, data: SupplierProductData
) -> SupplierProduct:
    """Register a supplier's model of a catalogue product. Flushes; the caller commits.

    Raises NotAllowed without MANAGE_SUPPLIERS, and Rejected for an unknown or inactive product, a missing
    model name, no manufacturer named when the supplier is not the maker, or a model name the supplier already
    has for the product.
    """
    data, product = _checked_model(session, user, supplier, data, None)
    with _guarding_duplicate(session, supplier, data, None):
        model = SupplierProduct(
            supplier=supplier,
            product=product,
            model_name=data.model_name,
            manufacturer_name=data.manufacturer_name,
            notes=data.notes,
        )
        session.add(model)
    return model


def update_supplier_product(
    session: Session, user, model: SupplierProduct, data: SupplierProductData
) -> SupplierProduct:
    """Change a model's product, name, manufacturer or notes. Flushes; the caller commits.

    Raises as :func:`add_supplier_product`, and Rejected when the product changes while the model has
    certificates (they were issued for the old product).
    """
    data, product = _checked_model(session, user, model.supplier, data, model)
    with _guarding_duplicate(session, model.supplier, data, model):
        model.product = product
        model.model_name = data.model_name
        model.manufacturer_name = data.manufacturer_name
        model.notes = data.notes
    return model


# --- certificates -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CertificateData:
    """A certificate as the user gives it; ``standard_class`` is None for standards without classes."""

    kind: str | None
    standard: str | None
    standard_class: str | None = None
    ce_marked: bool = False
    notified_body_number: str | None = None
    certificate_number: str | None = None
    issued_by: str | None = None
    valid_from: date | None = None
    valid_until: date | None = None

    def normalised(self) -> CertificateData:
        return CertificateData(
            kind=_clean(self.kind),
            standard=_clean(self.standard),
            standard_class=_clean(self.standard_class),
            ce_marked=bool(self.ce_marked),
            notified_body_number=re.sub(r"\s+", "", self.notified_body_number or "") or None,
            certificate_number=_clean(self.certificate_number),
            issued_by=_clean(self.issued_by),
            valid_from=self.valid_from,
            valid_until=self.valid_until,
        )


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def certificate_problems(data: CertificateData, category_code: str | None) -> list[DomainError]:
    """Every rule a certificate breaks on its own (pure: no database). ``data`` is normalised."""
    problems: list[DomainError] = _too_long(data, ("certificate_number", "issued_by"))

    def problem(message: str, field: str) -> None:
        problems.append(SupplierDocumentError(message, field=field))

    if data.kind not in set(CertificateKind):
        problem(_("Choose the kind of certificate."), "kind")
    if not data.standard:
        problem(_("Choose the standard and class."), "standard")
    elif not standards.fits(category_code, data.standard, data.standard_class):
        problem(_("Choose a standard and class that fit the product's category."), "standard")
    type_examination = data.kind == CertificateKind.EU_TYPE_EXAMINATION
    if data.notified_body_number and not NOTIFIED_BODY_PATTERN.match(data.notified_body_number):
        problem(_("A notified body number is exactly four digits, e.g. 0598."), "notified_body_number")
    elif not data.notified_body_number and type_examination and standards.needs_notified_body(data.standard):
        problem(
            _(
                "Category III protective equipment is certified by a notified body: "
                "enter its four-digit number."
            ),
            "notified_body_number",
        )
    if type_examination and not data.certificate_number:
        problem(_("Enter the certificate's number."), "certificate_number")
    if type_examination and data.valid_until is None:
        problem(_("Enter the date the certificate is valid until."), "valid_until")
    if data.kind == CertificateKind.TEMPORARY_PERMIT and data.ce_marked:
        problem(_("A temporary permit is for equipment without CE marking."), "ce_marked")
    if data.valid_from and data.valid_until:
        if data.valid_until < data.valid_from:
            problem(_("The certificate cannot end before it starts."), "valid_until")
        elif type_examination and data.valid_until > _add_years(data.valid_from, MAX_TYPE_EXAMINATION_YEARS):
            problem(_("An EU type-examination certificate is valid for at most five years."), "valid_until")
    return problems


def _category_code(model: SupplierProduct) -> str | None:
    return model.product.category.code if model.product and model.product.category else None


def _apply(certificate: Certificate, data: CertificateData) -> None:
    if certificate.valid_until != data.valid_until:
        # A new end date earns new expiry warnings.
        certificate.expiry_warned_60_at = None
        certificate.expiry_warned_14_at = None
    certificate.kind = data.kind
    certificate.standard = data.standard
    certificate.standard_class = data.standard_class
    certificate.ce_marked = data.ce_marked
    certificate.notified_body_number = data.notified_body_number
    certificate.certificate_number = data.certificate_number
    certificate.issued_by = data.issued_by
    certificate.valid_from = data.valid_from
    certificate.valid_until = data.valid_until


@dataclass(frozen=True)
class Upload:
    """A file the user sends: its bytes, the name it had on their computer, and a title for it."""

    stream: BinaryIO
    filename: str | None
    title: str | None = None


def add_certificate(
    session: Session, user, model: SupplierProduct, data: CertificateData, upload: Upload | None = None
) -> Certificate:
    """Record a certificate for a supplier's model, with its file when one is given. Flushes.

    Raises NotAllowed without MANAGE_SUPPLIERS, Rejected for any rule of :func:`certificate_problems`, and
    UploadRejected (field ``file``) for a file that is empty, too large or not a PDF, PNG or JPEG.
    """
    _ensure_manages_suppliers(user)
    data = data.normalised()
    _raise_if(certificate_problems(data, _category_code(model)))
    stored = _stored(session, upload) if upload is not None else None  # a refused file raises before any row
    certificate = Certificate(supplier_product=model, created_by=user)
    _apply(certificate, data)
    session.add(certificate)
    if stored is not None:
        session.add(_document(user, model.supplier, stored, upload.title, certificate))
    session.flush()
    return certificate


def update_certificate(
    session: Session, user, certificate: Certificate, data: CertificateData
) -> Certificate:
    """Correct a certificate. A verified one goes back to not verified: what was checked has changed. Flushes.

    Raises NotAllowed without MANAGE_SUPPLIERS, Rejected for any rule of :func:`certificate_problems`, and
    Rejected when the certificate was rejected as invalid (it is kept as evidence; record a new one).
    """
    _ensure_manages_suppliers(user)
    if certificate.verification_status == VerificationStatus.REJECTED:
        raise Rejected(
            [
                SupplierDocumentError(
                    _("A certificate rejected as invalid is kept as it was; record a new one.")
                )
            ]
        )
    data = data.normalised()
    _raise_if(certificate_problems(data, _category_code(certificate.supplier_product)))
    _apply(certificate, data)
    if certificate.verification_status == VerificationStatus.VERIFIED and session.is_modified(certificate):
        certificate.verification_status = VerificationStatus.UNVERIFIED.value
        certificate.verification_note = None
        certificate.verified_by = None
        certificate.verified_at = None
    session.flush()
    return certificate


def record_verification(
    session: Session,
    user,
    certificate: Certificate,
    outcome: str,
    note: str | None,
    *,
    now: datetime | None = None,
) -> Certificate:
    """Record that the certificate was checked with its issuer: verified, or rejected as invalid. Flushes.

    Who and when are recorded; a rejection needs a note saying what was wrong. A verified certificate may
    later be rejected (a forgery found out), and a rejection corrected. Raises NotAllowed without
    MANAGE_SUPPLIERS and Rejected for an outcome other than verified or rejected, a rejection without a
    note, the status it already has, or verifying a certificate with no uploaded document to have checked.
    """
    _ensure_manages_suppliers(user)
    note = _clean(note)
    problems: list[DomainError] = []
    if outcome not in (VerificationStatus.VERIFIED, VerificationStatus.REJECTED):
        problems.append(SupplierDocumentError(_("Choose verified or rejected."), field="outcome"))
    elif outcome == certificate.verification_status:
        problems.append(
            SupplierDocumentError(
                _("The certificate is already %(status)s.", status=VerificationStatus(outcome).label.lower()),
                field="outcome",
            )
        )
    elif outcome == VerificationStatus.REJECTED and not note:
        problems.append(SupplierDocumentError(_("Say why the certificate is not valid."), field="note"))
    elif outcome == VerificationStatus.VERIFIED and not certificate.documents:
        problems.append(
            SupplierDocumentError(
                _("Upload the certificate's document before marking it verified."), field="outcome"
            )
        )
    _raise_if(problems)
    certificate.verification_status = VerificationStatus(outcome).value
    certificate.verification_note = note
    certificate.verified_by = user
    certificate.verified_at = now or utcnow()
    session.flush()
    return certificate


# --- documents ----------------------------------------------------------------------------------------------


def attach_document(
    session: Session, user, supplier: Supplier, upload: Upload, *, certificate: Certificate | None = None
) -> Document:
    """Store an uploaded file and record it for the supplier (and the certificate it documents). Flushes.

    The file's title defaults to its name. Raises NotAllowed without MANAGE_SUPPLIERS, Rejected for a title
    that is too long or a certificate of another supplier, and UploadRejected for a file that is empty, too
    large or not a PDF, PNG or JPEG. The stored file is removed again if the transaction does not commit.
    """
    _ensure_manages_suppliers(user)
    if certificate is not None and certificate.supplier_product.supplier is not supplier:
        raise Rejected([SupplierDocumentError(_("The certificate belongs to another supplier."))])
    document = _document(user, supplier, _stored(session, upload), upload.title, certificate)
    session.add(document)
    session.flush()
    return document


def _stored(session: Session, upload: Upload) -> storage.StoredFile:
    title = _clean(upload.title)
    if title and len(title) > MAX_LENGTHS["title"]:
        raise Rejected([SupplierDocumentError(_("At most %(n)s characters.", n=MAX_LENGTHS["title"]), field="title")])
    return storage.store(session, upload.stream, upload.filename)


def _document(user, supplier: Supplier, stored: storage.StoredFile, title: str | None, certificate) -> Document:
    return Document(
        supplier=supplier,
        certificate=certificate,
        title=_clean(title) or stored.filename,
        filename=stored.filename,
        content_type=stored.content_type,
        size_bytes=stored.size_bytes,
        sha256=stored.sha256,
        storage_key=stored.storage_key,
        uploaded_by=user,
    )


# --- what a certificate is worth today ----------------------------------------------------------------------


class CertificateState(LabelledEnum):
    """A certificate's standing on a given day, for badges and the comparison of offers (best first)."""

    VALID = "valid"  # verified and within its dates
    UNVERIFIED = "unverified"  # within its dates, not (yet) checked with the issuer
    NOT_YET_VALID = "not_yet_valid"
    EXPIRED = "expired"
    REJECTED = "rejected"

    @classmethod
    def _labels(cls) -> dict:
        return {
            cls.VALID: _l("Valid and verified"),
            cls.UNVERIFIED: _l("Valid, not verified"),
            cls.NOT_YET_VALID: _l("Not yet valid"),
            cls.EXPIRED: _l("Expired"),
            cls.REJECTED: _l("Rejected as invalid"),
        }

    @property
    def tone(self) -> str:
        return {self.VALID: "green", self.UNVERIFIED: "amber", self.NOT_YET_VALID: "amber"}.get(self, "red")


_STATE_RANK = list(CertificateState)  # best first


def certificate_state(certificate: Certificate, today: date) -> CertificateState:
    if certificate.verification_status == VerificationStatus.REJECTED:
        return CertificateState.REJECTED
    if certificate.valid_until is not None and certificate.valid_until < today:
        return CertificateState.EXPIRED
    if certificate.valid_from is not None and certificate.valid_from > today:
        return CertificateState.NOT_YET_VALID
    if certificate.verification_status == VerificationStatus.VERIFIED:
        return CertificateState.VALID
    return CertificateState.UNVERIFIED


def expires_soon(certificate: Certificate, today: date, days: int = EXPIRY_HORIZON_DAYS) -> bool:
    return (
        certificate_state(certificate, today) in (CertificateState.VALID, CertificateState.UNVERIFIED)
        and certificate.valid_until is not None
        and certificate.valid_until <= today + timedelta(days=days)
    )


def model_state(model: SupplierProduct | None, today: date) -> CertificateState | None:
    """The best standing among a model's conformity certificates (EU type-examination, declaration of
    conformity, temporary permit); None when it has none."""
    if model is None:
        return None
    states = [certificate_state(c, today) for c in model.certificates if c.kind in CONFORMITY_KINDS]
    return min(states, key=_STATE_RANK.index) if states else None


# --- the certificate list's filters (SQL) -------------------------------------------------------------------


def expiring_clause(today: date, days: int = EXPIRY_HORIZON_DAYS):
    """Certificates not rejected that end within ``days`` days from today (today included)."""
    return and_(
        Certificate.verification_status != VerificationStatus.REJECTED.value,
        Certificate.valid_until.between(today, today + timedelta(days=days)),
        or_(Certificate.valid_from.is_(None), Certificate.valid_from <= today),
    )


def expired_clause(today: date):
    return Certificate.valid_until < today
