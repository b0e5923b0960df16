"""The OCDS 1.1 (Open Contracting Data Standard) release package of EU joint procurement.

One release per tender: the tender with one item per lot (``relatedLot``; the official schema the tests validate
against has no ``tender.lots``, so lots are carried by their items), one award per framework contractor (its
maximum quantity at its unit price) and one contract per framework contract. Parties: the national agency as
buyer and publisher, the European Commission (DG SANTE) as procuring entity, which runs JPA tenders on the
member states' behalf, and every contractor as supplier.

Decided here:
- ``ocid`` is the configured prefix (``SAMORDNA_OCDS_PREFIX``, e.g. "ocds-samordna-") and the tender's id, so it
  stays the same when a reference is corrected; ``tender.id`` is the tender's reference.
- A contract refers to one award (``awardID`` is one value): a framework contract's is the award of the
  contractor ranked first; its description lists the cascade. A framework contract without contractors has
  nothing awarded and is left out until it has one.
- The release ``id`` is the ``ocid`` and a digest of the release's content, so a changed tender gets a new
  release id and an unchanged one keeps it; the release ``date`` is the tender's last change.
- Dates without a time (signing, validity) are midnight in Europe/Stockholm; times are RFC 3339.
- Amounts are JSON numbers: prices have at most four decimals, and a Decimal of up to 15 significant digits is
  written exactly (Python prints the shortest form that reads back as the same number).
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import UTC, date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

from babel import Locale
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.organisations.models import Organisation
from orders.models import FrameworkContract, FrameworkContractor, Tender, TenderLot
from orders.services_eu import TenderStage, tender_stage
from suppliers.models import Supplier

OCDS_VERSION = "1.1"
# Lots are carried by items' relatedLot, a field of the lots extension.
EXTENSIONS = ["https://raw.githubusercontent.com/open-contracting-extensions/ocds_lots_extension/v1.1.5/extension.json"]
COMMISSION = {
    "id": "eu-commission-dg-sante",
    "name": "European Commission, Directorate-General for Health and Food Safety (DG SANTE)",
    "address": {"locality": "Brussels", "countryName": "Belgium"},
    "roles": ["procuringEntity"],
}
# Organisation identifier schemes (org-id.guide): Swedish organisationsnummer are in Bolagsverket's register.
SWEDISH_SCHEME = "SE-BLV"
TENDER_STATUS = {
    TenderStage.PLANNED: "planned",
    TenderStage.OPEN: "active",
    TenderStage.EVALUATION: "active",
    TenderStage.AWARDED: "complete",
}


def amount(value: Decimal) -> int | float:
    """A Decimal as a JSON number (see the module docstring on exactness)."""
    value = Decimal(value)
    if value == value.to_integral_value():
        return int(value)
    return float(value)


def value(amount_: Decimal, currency: str) -> dict:
    return {"amount": amount(amount_), "currency": currency}


def rfc3339(moment: datetime) -> str:
    if moment.tzinfo is None:  # SQLite gives back naive UTC
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def day_start(day: date, tz: ZoneInfo) -> str:
    """A calendar day as the RFC 3339 time it starts at in ``tz``."""
    return datetime.combine(day, time(0), tzinfo=tz).isoformat(timespec="seconds")


def _compact(mapping: dict) -> dict:
    """Drop keys whose value is None or empty, as OCDS prefers absent fields to nulls."""
    return {key: item for key, item in mapping.items() if item not in (None, "", [], {})}


def organisation_party(organisation: Organisation, roles: list[str]) -> dict:
    if organisation.organisation_number:
        digits = organisation.organisation_number.replace("-", "")
        party_id = f"{SWEDISH_SCHEME}-{digits}"
        identifier = {"scheme": SWEDISH_SCHEME, "id": digits, "legalName": organisation.name}
    else:
        party_id = f"samordna-organisation-{organisation.code}"
        identifier = {"legalName": organisation.name}
    return {
        "id": party_id,
        "name": organisation.name,
        "identifier": identifier,
        "address": {"countryName": "Sweden"},
        "roles": roles,
    }


def supplier_party(supplier: Supplier) -> dict:
    if supplier.organisation_number:
        digits = supplier.organisation_number.replace("-", "")
        party_id = f"{SWEDISH_SCHEME}-{digits}"
        identifier = {"scheme": SWEDISH_SCHEME, "id": digits, "legalName": supplier.legal_name}
    else:
        party_id = f"samordna-supplier-{supplier.id}"
        identifier = {"id": supplier.foreign_registration_number, "legalName": supplier.legal_name}
    return {
        "id": party_id,
        "name": supplier.legal_name,
        "identifier": _compact(identifier),
        "address": {"countryName": Locale("en").territories.get(supplier.country, supplier.country)},
        "roles": ["supplier"],
    }


def _reference(party: dict) -> dict:
    return {"id": party["id"], "name": party["name"]}


def _lot_description(lot: TenderLot) -> str:
    return "\n\n".join(part for part in (lot.title, lot.specification) if part)


def _unit(lot: TenderLot) -> dict | None:
    return {"name": lot.product.unit_of_issue} if lot.product is not None else None


def lot_item(lot: TenderLot, quantity: int | None = None) -> dict:
    """An item standing for the lot (what Sweden declared, or what an award or contract covers)."""
    return _compact(
        {
            "id": f"lot-{lot.number}",
            "description": _lot_description(lot),
            "quantity": lot.declared_quantity if quantity is None else quantity,
            "unit": _unit(lot),
            "relatedLot": str(lot.number),
        }
    )


def award_id(framework: FrameworkContract, supplier: dict) -> str:
    return f"{framework.reference}/{supplier['id']}"


def _award(framework: FrameworkContract, contractor: FrameworkContractor, supplier: dict, tender: Tender,
           tz: ZoneInfo) -> dict:
    lot = framework.lot
    item = lot_item(lot, contractor.max_quantity)
    unit = dict(item.get("unit") or {})
    unit["value"] = value(contractor.unit_price, contractor.currency)
    item["unit"] = unit
    signed = framework.signed_on or tender.awarded_on
    return _compact(
        {
            "id": award_id(framework, supplier),
            "title": f"{framework.reference} – {lot.title}",
            "description": f"Rank {contractor.rank} in the cascade of framework contract {framework.reference}",
            "status": "active",
            "date": day_start(signed, tz) if signed else None,
            "value": value(contractor.unit_price * contractor.max_quantity, contractor.currency),
            "suppliers": [_reference(supplier)],
            "items": [item],
            "contractPeriod": {
                "startDate": day_start(framework.valid_from, tz),
                "endDate": day_start(framework.valid_until, tz),
            },
        }
    )


def _contract_status(framework: FrameworkContract, today: date) -> str:
    if today < framework.valid_from:
        return "pending"
    if today > framework.valid_until:
        return "terminated"
    return "active"


def _contract(framework: FrameworkContract, awards: list[tuple[FrameworkContractor, dict]], today: date,
              tz: ZoneInfo) -> dict:
    first_supplier = awards[0][1]
    currencies = {contractor.currency for contractor, _party in awards}
    maximum = None
    if len(currencies) == 1:
        total = sum((c.unit_price * c.max_quantity for c, _party in awards), Decimal(0))
        maximum = value(total, currencies.pop())
    cascade = "; ".join(f"{contractor.rank}. {party['name']}" for contractor, party in awards)
    return _compact(
        {
            "id": framework.reference,
            "awardID": award_id(framework, first_supplier),
            "title": f"{framework.reference} – {framework.lot.title}",
            "description": f"Cascade: {cascade}",
            "status": _contract_status(framework, today),
            "period": {
                "startDate": day_start(framework.valid_from, tz),
                "endDate": day_start(framework.valid_until, tz),
            },
            "dateSigned": day_start(framework.signed_on, tz) if framework.signed_on else None,
            "value": maximum,
            "items": [lot_item(framework.lot, sum(c.max_quantity for c, _party in awards))],
        }
    )


def tender_release(tender: Tender, *, prefix: str, buyer: Organisation, today: date, tz: ZoneInfo) -> dict:
    """The OCDS release of one tender (see the module docstring)."""
    buyer_party = organisation_party(buyer, ["buyer"])
    parties = {buyer_party["id"]: buyer_party, COMMISSION["id"]: COMMISSION}
    awards, contracts = [], []
    for lot in tender.lots:
        for framework in lot.framework_contracts:
            awarded = []
            for contractor in sorted(framework.contractors, key=lambda c: c.rank):
                party = parties.setdefault(*_keyed(supplier_party(contractor.supplier)))
                awarded.append((contractor, party))
                awards.append(_award(framework, contractor, party, tender, tz))
            if awarded:
                contracts.append(_contract(framework, awarded, today, tz))
    stage = tender_stage(tender, today)
    ocid = f"{prefix}{tender.id}"
    release = {
        "ocid": ocid,
        "date": rfc3339(tender.updated_at),
        "tag": ["tender", *(["award"] if awards else []), *(["contract"] if contracts else [])],
        "initiationType": "tender",
        "parties": list(parties.values()),
        "buyer": _reference(buyer_party),
        "tender": _compact(
            {
                "id": tender.reference,
                "title": tender.name,
                "description": tender.description,
                "status": TENDER_STATUS[stage],
                "procuringEntity": _reference(COMMISSION),
                "items": [lot_item(lot) for lot in tender.lots],
                "procurementMethod": "open",
                "mainProcurementCategory": "goods",
                "datePublished": day_start(tender.published_on, tz) if tender.published_on else None,
                "tenderPeriod": _compact(
                    {
                        "startDate": day_start(tender.published_on, tz) if tender.published_on else None,
                        "endDate": day_start(tender.closing_on, tz) if tender.closing_on else None,
                    }
                ),
                "awardPeriod": {"endDate": day_start(tender.awarded_on, tz)} if tender.awarded_on else None,
            }
        ),
        "awards": awards,
        "contracts": contracts,
    }
    release = _compact(release)
    digest = hashlib.sha256(json.dumps(release, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:16]
    return {"ocid": ocid, "id": f"{ocid}-{digest}", **release}


def _keyed(party: dict) -> tuple[str, dict]:
    return party["id"], party


def tenders_for_export(session: Session) -> Iterable[Tender]:
    return session.scalars(
        select(Tender)
        .order_by(Tender.id)
        .options(
            selectinload(Tender.lots).selectinload(TenderLot.product),
            selectinload(Tender.lots)
            .selectinload(TenderLot.framework_contracts)
            .selectinload(FrameworkContract.contractors)
            .selectinload(FrameworkContractor.supplier),
        )
    )


def release_package(
    session: Session, *, uri: str, prefix: str, publisher: Organisation, now: datetime, tz: ZoneInfo
) -> dict:
    """Every tender's release in one OCDS 1.1 release package; ``publishedDate`` is the last change among them
    (``now`` when there are none), as the standard asks of a package generated on demand."""
    today = now.astimezone(tz).date()
    tenders = list(tenders_for_export(session))
    releases = [tender_release(t, prefix=prefix, buyer=publisher, today=today, tz=tz) for t in tenders]
    published = max((t.updated_at for t in tenders), default=now, key=lambda moment: rfc3339(moment))
    return {
        "uri": uri,
        "version": OCDS_VERSION,
        "extensions": EXTENSIONS,
        "publishedDate": rfc3339(published),
        "publisher": _compact(
            {
                "name": publisher.name,
                "scheme": SWEDISH_SCHEME if publisher.organisation_number else None,
                "uid": publisher.organisation_number.replace("-", "") if publisher.organisation_number else None,
            }
        ),
        "releases": releases,
    }
