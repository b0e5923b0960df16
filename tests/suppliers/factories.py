"""Factories for supplier tests, shared by every suppliers test module.

``make_supplier(session, **overrides)`` gives a Swedish manufacturer with a fresh, valid organisationsnummer
(and its VAT number) unless overridden; it flushes, never commits.
"""
from __future__ import annotations

import itertools

from suppliers.identifiers import luhn_check_digit, swedish_vat_number
from suppliers.models import Supplier, SupplierKind, VettingStatus

_serial = itertools.count(1)


def valid_organisation_number(serial: int | None = None) -> str:
    """A valid organisationsnummer (55xxxx-xxxx, an aktiebolag) that no other call returns in this run."""
    serial = next(_serial) if serial is None else serial
    first_nine = f"559{serial % 1_000_000:06d}"
    return f"{first_nine[:6]}-{first_nine[6:]}{luhn_check_digit(first_nine)}"


def make_supplier(session, **overrides) -> Supplier:
    """A supplier in the database (flushed). Pass ``country="DE"`` for a foreign one with a registration number."""
    serial = next(_serial)
    country = overrides.get("country", "SE")
    values: dict = {
        "legal_name": f"Leverantör {serial} AB",
        "country": country,
        "kind": SupplierKind.MANUFACTURER.value,
        "produces_in_sweden": False,
        "vetting_status": VettingStatus.NEW.value,
    }
    if country == "SE":
        number = overrides.get("organisation_number") or valid_organisation_number(serial)
        values["organisation_number"] = number
        values["vat_number"] = swedish_vat_number(number)
    else:
        values["legal_name"] = f"Supplier {serial} GmbH"
        values["foreign_registration_number"] = f"HRB {100000 + serial}"
    status = overrides.get("vetting_status")
    if isinstance(status, VettingStatus):
        overrides["vetting_status"] = status.value
    values.update(overrides)
    supplier = Supplier(**values)
    session.add(supplier)
    session.flush()
    return supplier


def make_approved_supplier(session, decided_by=None, **overrides) -> Supplier:
    """An approved supplier, as ``ensure_orderable`` wants it (no VettingDecision row: set directly)."""
    from app.db import utcnow

    return make_supplier(
        session,
        vetting_status=VettingStatus.APPROVED.value,
        vetting_reason=overrides.pop("vetting_reason", "Vetted in the test"),
        vetting_decided_by_id=getattr(decided_by, "id", None),
        vetting_decided_at=utcnow(),
        **overrides,
    )


def make_dialogue_entry(session, supplier=None, **overrides):
    """A dialogue entry (a meeting on 2026-02-23 unless overridden), flushed."""
    from datetime import date

    from suppliers.models import DialogueEntry, DialogueKind

    values: dict = {
        "supplier": supplier or make_supplier(session),
        "kind": DialogueKind.MEETING.value,
        "occurred_on": date(2026, 2, 23),
        "participants": "Anna Andersson (agency), Bo Berg (supplier)",
        "notes": "Capacity and certificates discussed.",
    }
    values.update(overrides)
    entry = DialogueEntry(**values)
    session.add(entry)
    session.flush()
    return entry


def make_follow_up_action(session, owner, entry=None, **overrides):
    """An open follow-up action of ``owner`` (due 2026-03-02 unless overridden), flushed; nobody is told."""
    from datetime import date

    from suppliers.models import FollowUpAction

    values: dict = {
        "dialogue_entry": entry or make_dialogue_entry(session),
        "description": "Send the test report for the FFP2 model.",
        "owner": owner,
        "due_on": date(2026, 3, 2),
    }
    values.update(overrides)
    action = FollowUpAction(**values)
    session.add(action)
    session.flush()
    return action


# A tiny but real PDF (header, one empty page, trailer); enough for the magic-byte check and a browser.
MINIMAL_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)
MINIMAL_PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 17


def catalogue_product(session, sku: str = "FFP2-CUP"):
    """A product of the starter catalogue by SKU."""
    from sqlalchemy import select

    from app.catalog.models import Product

    return session.scalar(select(Product).where(Product.sku == sku))


def make_supplier_product(session, supplier=None, product=None, **overrides):
    """A supplier's model of a catalogue product (FFP2-CUP unless given), flushed."""
    from suppliers.models import SupplierProduct

    values: dict = {
        "supplier": supplier or make_supplier(session),
        "product": product or catalogue_product(session),
        "model_name": f"Model {next(_serial)}",
    }
    values.update(overrides)
    model = SupplierProduct(**values)
    session.add(model)
    session.flush()
    return model


def make_certificate(session, model=None, **overrides):
    """An unverified EU type-examination certificate (EN 149 FFP2 NR, notified body 0598) valid 2025–2029."""
    from datetime import date

    from suppliers.models import Certificate, CertificateKind

    values: dict = {
        "supplier_product": model or make_supplier_product(session),
        "kind": CertificateKind.EU_TYPE_EXAMINATION.value,
        "standard": "EN 149:2001+A1:2009",
        "standard_class": "FFP2 NR",
        "ce_marked": True,
        "notified_body_number": "0598",
        "certificate_number": f"SGS-{next(_serial):05d}",
        "issued_by": "SGS Fimko Oy",
        "valid_from": date(2025, 1, 1),
        "valid_until": date(2029, 12, 31),
    }
    values.update(overrides)
    certificate = Certificate(**values)
    session.add(certificate)
    session.flush()
    return certificate


def make_offer(session, supplier=None, product=None, **overrides):
    """A current offer (SEK 4.50 per unit, valid 2025–2099) of FFP2-CUP unless overridden, flushed."""
    from datetime import date
    from decimal import Decimal

    from suppliers.models import Offer

    values: dict = {
        "supplier": supplier or make_supplier(session),
        "product": product or catalogue_product(session),
        "unit_price": Decimal("4.5000"),
        "currency": "SEK",
        "minimum_order_quantity": 10_000,
        "lead_time_days": 14,
        "capacity_per_week": 200_000,
        "valid_from": date(2025, 1, 1),
        "valid_until": date(2099, 12, 31),
    }
    values.update(overrides)
    offer = Offer(**values)
    session.add(offer)
    session.flush()
    return offer
