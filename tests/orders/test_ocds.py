"""The OCDS release package of EU joint procurement, validated against the official OCDS 1.1 schemas.

The schemas are reference data outside the project (``../shared/ocds/`` from the project root); where they are
absent (a user's machine) the validating tests are skipped.
"""
from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
from jsonschema import Draft4Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4
from sqlalchemy import select

from app.organisations.models import Organisation
from orders import ocds
from tests.orders.factories_eu import make_contractor, make_framework, make_lot, make_tender
from tests.suppliers.factories import make_approved_supplier

OCDS_SCHEMAS = Path(__file__).resolve().parents[2].parent / "shared" / "ocds"
TZ = ZoneInfo("Europe/Stockholm")


@pytest.fixture(scope="module")
def validator() -> Draft4Validator:
    package_path = OCDS_SCHEMAS / "release-package-schema.json"
    release_path = OCDS_SCHEMAS / "dereferenced-release-schema.json"
    if not (package_path.exists() and release_path.exists()):
        pytest.skip(f"the official OCDS schemas are not at {OCDS_SCHEMAS} (reference data outside the project)")
    package_schema = json.loads(package_path.read_text(encoding="utf-8"))
    release_schema = json.loads(release_path.read_text(encoding="utf-8"))
    # The package schema refers to the release schema by its URL; resolve it locally, never over the network.
    registry = Registry().with_resource(
        release_schema["id"], Resource.from_contents(release_schema, default_specification=DRAFT4)
    )
    Draft4Validator.check_schema(package_schema)
    return Draft4Validator(package_schema, registry=registry, format_checker=Draft4Validator.FORMAT_CHECKER)


def _problems(validator: Draft4Validator, package: dict) -> list[str]:
    return [f"{'/'.join(map(str, error.absolute_path))}: {error.message}" for error in validator.iter_errors(package)]


@pytest.fixture
def world(session):
    """An awarded tender with two lots: lot 1 with a framework contract and two contractors in cascade (one
    Swedish, one German, prices in EUR), lot 2 without a product or contract; and a tender not yet published."""
    tender = make_tender(session, reference="SANTE/C3/2020/015", name="Eye and respiratory protection")
    lot = make_lot(session, tender, title="Respirators FFP2", declared_quantity=1_000_000)
    make_lot(session, tender, sku=None, title="Goggles, visors, face shields", declared_quantity=50_000,
             category_id=_category(session, "eye_protection"))
    framework = make_framework(session, lot, reference="FWC-2020-015-L1")
    swedish = make_approved_supplier(session, legal_name="Mölnlycke Skydd AB")
    german = make_approved_supplier(session, country="DE", legal_name="Atemschutz Werke GmbH")
    make_contractor(session, framework, supplier=german, max_quantity=400_000, unit_price=Decimal("0.4512"))
    make_contractor(session, framework, supplier=swedish, max_quantity=600_000, unit_price=Decimal("0.52"))
    make_tender(session, reference="SANTE/2026/003", name="Gowns", published_on=date(2027, 1, 10),
                closing_on=None, awarded_on=None, description=None)
    session.commit()
    return {"tender": tender, "framework": framework, "swedish": swedish, "german": german}


def _category(session, code: str) -> int:
    from app.catalog.models import ProductCategory

    return session.scalar(select(ProductCategory.id).where(ProductCategory.code == code))


def _package(session, **changes) -> dict:
    agency = session.scalar(select(Organisation).where(Organisation.code == "SOS"))
    values = {
        "uri": "https://samordna.example.se/orders/eu/ocds.json",
        "prefix": "ocds-samordna-",
        "publisher": agency,
        "now": datetime(2026, 3, 10, 9, 30, tzinfo=TZ),
        "tz": TZ,
    }
    values.update(changes)
    return ocds.release_package(session, **values)


def _release(package: dict, reference: str) -> dict:
    return next(release for release in package["releases"] if release["tender"]["id"] == reference)


def test_the_exported_release_package_is_valid_ocds(client, auth, users, world, validator):
    auth.login(users.make("purchasing_officer", "SOS"))

    response = client.get("/orders/eu/ocds.json")

    assert response.status_code == 200 and response.mimetype == "application/json"
    package = response.get_json()
    assert _problems(validator, package) == []
    assert package["version"] == "1.1" and len(package["releases"]) == 2
    assert urlsplit(package["uri"]).scheme in ("http", "https") and package["uri"].endswith("/orders/eu/ocds.json")


def test_the_schema_check_is_not_vacuous(session, world, validator):
    package = _package(session)
    release = package["releases"][0]
    del release["ocid"]
    release["date"] = "10 March 2026"
    release["awards"][0]["value"]["amount"] = "0.45"
    release["tender"]["status"] = "open"

    problems = _problems(validator, package)

    assert any("'ocid' is a required property" in p for p in problems)
    assert any("is not a 'date-time'" in p for p in problems)
    assert any("is not of type 'number', 'null'" in p for p in problems)
    assert any("'open' is not one of" in p for p in problems)


def test_a_tender_release_has_items_per_lot_awards_per_contractor_and_a_contract_per_framework(session, world):
    release = _release(_package(session), "SANTE/C3/2020/015")

    tender = release["tender"]
    assert tender["title"] == "Eye and respiratory protection" and tender["status"] == "complete"
    assert [(i["id"], i["relatedLot"], i["quantity"]) for i in tender["items"]] == [
        ("lot-1", "1", 1_000_000), ("lot-2", "2", 50_000)
    ]
    assert tender["items"][0]["unit"] == {"name": "piece"} and "EN 149" in tender["items"][0]["description"]
    assert [a["suppliers"][0]["name"] for a in release["awards"]] == ["Atemschutz Werke GmbH", "Mölnlycke Skydd AB"]
    first = release["awards"][0]
    assert first["value"] == {"amount": 180_480, "currency": "EUR"}  # 400 000 × 0.4512
    assert first["items"][0]["unit"]["value"] == {"amount": 0.4512, "currency": "EUR"}
    assert first["items"][0]["quantity"] == 400_000 and first["items"][0]["relatedLot"] == "1"
    [contract] = release["contracts"]
    assert contract["id"] == "FWC-2020-015-L1" and contract["awardID"] == first["id"]
    assert contract["value"] == {"amount": 492_480, "currency": "EUR"} and contract["status"] == "active"
    assert contract["items"][0]["quantity"] == 1_000_000
    assert release["tag"] == ["tender", "award", "contract"]


def test_parties_name_the_agency_as_buyer_the_commission_and_every_supplier(session, world):
    release = _release(_package(session), "SANTE/C3/2020/015")

    roles = {party["name"]: party["roles"] for party in release["parties"]}
    assert roles["Socialstyrelsen"] == ["buyer"] and release["buyer"]["name"] == "Socialstyrelsen"
    assert roles[ocds.COMMISSION["name"]] == ["procuringEntity"]
    assert roles["Mölnlycke Skydd AB"] == ["supplier"] and roles["Atemschutz Werke GmbH"] == ["supplier"]
    swedish = next(p for p in release["parties"] if p["name"] == "Mölnlycke Skydd AB")
    digits = world["swedish"].organisation_number.replace("-", "")
    assert swedish["identifier"] == {"scheme": "SE-BLV", "id": digits, "legalName": "Mölnlycke Skydd AB"}
    party_ids = {party["id"] for party in release["parties"]}
    assert {a["suppliers"][0]["id"] for a in release["awards"]} <= party_ids


def test_ocids_carry_the_configured_prefix(client, auth, users, app, world, monkeypatch):
    monkeypatch.setitem(app.config, "SAMORDNA_OCDS_PREFIX", "ocds-a1b2c3-")
    auth.login(users.make("purchasing_lead", "SOS"))

    package = client.get("/orders/eu/ocds.json").get_json()

    ocids = [r["ocid"] for r in package["releases"]]
    assert f"ocds-a1b2c3-{world['tender'].id}" in ocids and all(o.startswith("ocds-a1b2c3-") for o in ocids)
    assert all(r["id"].startswith(r["ocid"] + "-") for r in package["releases"])


def test_dates_are_rfc_3339_with_the_swedish_day_boundary(session, world):
    release = _release(_package(session), "SANTE/C3/2020/015")

    assert release["tender"]["tenderPeriod"] == {
        "startDate": "2026-02-02T00:00:00+01:00", "endDate": "2026-02-20T00:00:00+01:00"
    }
    assert release["contracts"][0]["period"]["endDate"] == "2027-02-28T00:00:00+01:00"
    assert release["date"].endswith("Z")


def test_a_tender_not_yet_published_is_planned_with_nothing_awarded(session, world):
    release = _release(_package(session), "SANTE/2026/003")

    assert release["tender"]["status"] == "planned" and release["tag"] == ["tender"]
    assert "awards" not in release and "contracts" not in release and "items" not in release["tender"]


def test_the_release_id_changes_with_the_tender_and_stays_when_nothing_changed(session, world):
    before = _release(_package(session), "SANTE/C3/2020/015")["id"]
    assert _release(_package(session), "SANTE/C3/2020/015")["id"] == before

    world["framework"].contractors[0].max_quantity = 450_000
    session.flush()

    assert _release(_package(session), "SANTE/C3/2020/015")["id"] != before


def test_an_empty_package_is_still_published_now(session):
    package = _package(session)

    assert package["releases"] == [] and package["publishedDate"] == "2026-03-10T08:30:00Z"


def test_the_export_needs_a_login(client):
    response = client.get("/orders/eu/ocds.json")

    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
