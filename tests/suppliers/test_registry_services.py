"""The registry's rules: identity and duplicates, contacts and addresses, the checklist and vetting decisions."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.errors import DomainError
from app.notifications.models import Notice
from suppliers import services
from suppliers.models import SupplierContact, VettingCheckItem, VettingDecision, VettingStatus
from suppliers.performance import DeliveryOutcome, performance_from, supplier_performance
from tests.suppliers.factories import make_approved_supplier, make_supplier, valid_organisation_number


def _data(**overrides) -> services.SupplierData:
    values = {"legal_name": "Mölnlycke Skyddsutrustning AB", "country": "SE", "kind": "manufacturer",
              "organisation_number": valid_organisation_number()}
    values.update(overrides)
    return services.SupplierData(**values)


def _field_error(call) -> tuple[str | None, str]:
    with pytest.raises(DomainError) as caught:
        call()
    return caught.value.field, caught.value.message


@pytest.fixture
def officer(users):
    return users.make("purchasing_officer")


@pytest.fixture
def lead(users):
    return users.make("purchasing_lead")


def test_a_swedish_supplier_is_registered_as_new_with_a_normalised_organisationsnummer(session, officer):
    number = valid_organisation_number()
    supplier = services.create_supplier(
        session, officer,
        _data(organisation_number=number.replace("-", ""), vat_number=f"se{number.replace('-', '')}01",
              website="www.example.se", produces_in_sweden=True),
    )
    assert supplier.organisation_number == number
    assert supplier.vat_number == f"SE{number.replace('-', '')}01"
    assert supplier.website == "https://www.example.se"
    assert supplier.status == VettingStatus.NEW
    assert supplier.created_by_id == officer.id
    assert supplier.produces_in_sweden is True


def test_a_swedish_supplier_needs_a_valid_organisationsnummer(session, officer):
    assert _field_error(lambda: services.create_supplier(session, officer, _data(organisation_number="")))[0] == (
        "organisation_number"
    )
    field, message = _field_error(
        lambda: services.create_supplier(session, officer, _data(organisation_number="212000-0143"))
    )
    assert field == "organisation_number" and "check digit" in message


def test_a_foreign_supplier_needs_its_registration_number_and_not_an_organisationsnummer(session, officer):
    field, message = _field_error(
        lambda: services.create_supplier(session, officer, _data(country="DE", organisation_number=None))
    )
    assert field == "foreign_registration_number" and "Germany" in message
    supplier = services.create_supplier(
        session, officer,
        _data(country="de", organisation_number=None, foreign_registration_number=" HRB  12345 ",
              vat_number="DE123456789"),
    )
    assert (supplier.country, supplier.foreign_registration_number, supplier.vat_number) == (
        "DE", "HRB 12345", "DE123456789"
    )
    assert supplier.identifier == "DE HRB 12345"


def test_the_vat_number_of_a_swedish_supplier_must_match_its_organisationsnummer(session, officer):
    field, message = _field_error(
        lambda: services.create_supplier(
            session, officer, _data(organisation_number="212000-0142", vat_number="SE202100548901")
        )
    )
    assert field == "vat_number" and "SE212000014201" in message


def test_an_eu_suppliers_vat_number_starts_with_its_country_code(session, officer):
    field, _ = _field_error(
        lambda: services.create_supplier(
            session, officer,
            _data(country="FR", organisation_number=None, foreign_registration_number="552 100 554",
                  vat_number="DE123456789"),
        )
    )
    assert field == "vat_number"


def test_a_second_supplier_with_the_same_organisationsnummer_is_refused_by_name(session, officer):
    first = make_supplier(session, legal_name="Svensk Skyddsmask AB")
    field, message = _field_error(
        lambda: services.create_supplier(
            session, officer, _data(organisation_number=first.organisation_number.replace("-", ""))
        )
    )
    assert field == "organisation_number"
    assert "Svensk Skyddsmask AB" in message and first.organisation_number in message


def test_the_same_registration_number_is_a_duplicate_in_one_country_but_not_in_another(session, officer):
    make_supplier(session, country="DE", foreign_registration_number="HRB 777", legal_name="Maskenwerk GmbH")
    field, message = _field_error(
        lambda: services.create_supplier(
            session, officer, _data(country="DE", organisation_number=None, foreign_registration_number="HRB 777")
        )
    )
    assert field == "foreign_registration_number" and "Maskenwerk GmbH" in message
    other = services.create_supplier(
        session, officer, _data(country="AT", organisation_number=None, foreign_registration_number="HRB 777")
    )
    assert other.id is not None


def test_editing_a_supplier_keeps_its_own_numbers_and_refuses_another_suppliers(session, officer):
    supplier = make_supplier(session)
    other = make_supplier(session)
    services.update_supplier(
        session, officer, supplier,
        _data(legal_name="Nytt Namn AB", organisation_number=supplier.organisation_number),
    )
    assert supplier.legal_name == "Nytt Namn AB"
    field, _ = _field_error(
        lambda: services.update_supplier(
            session, officer, supplier, _data(organisation_number=other.organisation_number)
        )
    )
    assert field == "organisation_number"


@pytest.mark.parametrize("website", ["javascript:alert(1)", "ftp://example.se", "not a site"])
def test_a_website_must_be_a_web_address(session, officer, website):
    assert _field_error(lambda: services.create_supplier(session, officer, _data(website=website)))[0] == "website"


def test_only_one_contact_is_primary_and_a_contact_needs_a_way_to_be_reached(session, officer):
    supplier = make_supplier(session)
    first = services.add_contact(
        session, officer, supplier, services.ContactData(name="Anna Berg", email="Anna@Example.se", is_primary=True)
    )
    second = services.add_contact(
        session, officer, supplier, services.ContactData(name="Erik Lind", phone="+46 8 123 45", is_primary=True)
    )
    assert first.email == "anna@example.se"
    assert (first.is_primary, second.is_primary) == (False, True)
    field, _ = _field_error(
        lambda: services.add_contact(session, officer, supplier, services.ContactData(name="Nobody"))
    )
    assert field == "email"
    services.remove_contact(session, officer, first)
    assert session.scalar(select(func.count()).select_from(SupplierContact)
                          .where(SupplierContact.supplier_id == supplier.id)) == 1


def test_a_swedish_address_gets_a_five_digit_postal_code(session, officer):
    supplier = make_supplier(session)
    address = services.add_address(
        session, officer, supplier,
        services.AddressData(kind="visiting", street="Drottninggatan 1", postal_code="11151", city="Stockholm",
                             country="SE"),
    )
    assert address.postal_code == "111 51"
    field, _ = _field_error(
        lambda: services.update_address(
            session, officer, address,
            services.AddressData(kind="visiting", street="Drottninggatan 1", postal_code="1115", city="Stockholm",
                                 country="SE"),
        )
    )
    assert field == "postal_code"


def _tick_all(session, user, supplier, but=()):
    for item in VettingCheckItem:
        if item not in but:
            services.record_check(session, user, supplier, item.value, done=True, note=f"{item.value} checked")


def test_a_tick_records_who_checked_and_needs_a_note(session, officer):
    supplier = make_supplier(session)
    field, _ = _field_error(
        lambda: services.record_check(session, officer, supplier, "references", done=True, note=" ")
    )
    assert field == "note"
    check = services.record_check(session, officer, supplier, "references", done=True, note="Region Skåne, 2020")
    assert (check.done, check.checked_by_id, check.note) == (True, officer.id, "Region Skåne, 2020")
    assert check.checked_at is not None
    assert [row.item for row in services.checklist(supplier) if row.done] == [VettingCheckItem.REFERENCES]


def test_approval_needs_the_whole_checklist_and_names_what_is_missing(session, officer, lead):
    supplier = make_supplier(session)
    services.decide_vetting(session, lead, supplier, "under_review", "Offer of FFP2 masks")
    _tick_all(session, officer, supplier, but=(VettingCheckItem.SAMPLES_TESTED, VettingCheckItem.SANCTIONS_LISTS))
    field, message = _field_error(
        lambda: services.decide_vetting(session, lead, supplier, "approved", "Looks fine")
    )
    assert field == "to_status"
    assert "Samples tested" in message and "Sanctions lists checked" in message
    assert "References" not in message
    assert supplier.status == VettingStatus.UNDER_REVIEW


def test_an_approval_is_stored_on_the_supplier_and_in_the_history(session, officer, lead):
    supplier = make_supplier(session)
    services.decide_vetting(session, lead, supplier, "under_review", "Offer of FFP2 masks")
    _tick_all(session, officer, supplier)
    decision = services.decide_vetting(session, lead, supplier, "approved", "All checks passed")
    assert (decision.from_status, decision.to_status, decision.decided_by_id) == ("under_review", "approved", lead.id)
    assert supplier.is_approved
    assert (supplier.vetting_reason, supplier.vetting_decided_by_id) == ("All checks passed", lead.id)
    assert supplier.vetting_decided_at == decision.decided_at
    session.expire(supplier)
    assert [d.to_status for d in supplier.vetting_decisions] == ["approved", "under_review"]


@pytest.mark.parametrize(
    ("path", "refused"),
    [
        ([], "approved"),  # new → approved skips the review
        ([], "suspended"),
        (["under_review"], "suspended"),
        (["rejected"], "approved"),
        (["rejected"], "suspended"),
    ],
)
def test_only_the_allowed_moves_between_statuses_are_possible(session, officer, lead, path, refused):
    supplier = make_supplier(session)
    _tick_all(session, officer, supplier)
    for status in path:
        services.decide_vetting(session, lead, supplier, status, "step")
    field, message = _field_error(lambda: services.decide_vetting(session, lead, supplier, refused, "try"))
    assert field == "to_status" and "cannot be made" in message


def test_a_suspended_supplier_can_be_reviewed_again_and_reinstated(session, officer, lead):
    supplier = make_supplier(session)
    _tick_all(session, officer, supplier)
    for status in ["under_review", "approved", "suspended", "under_review", "approved", "suspended", "approved"]:
        services.decide_vetting(session, lead, supplier, status, f"to {status}")
    assert supplier.is_approved
    assert len(session.scalars(select(VettingDecision).where(VettingDecision.supplier_id == supplier.id)).all()) == 7


def test_a_decision_needs_a_reason_and_a_decider(session, users, officer, lead):
    supplier = make_supplier(session)
    assert _field_error(lambda: services.decide_vetting(session, lead, supplier, "under_review", "  "))[0] == "reason"
    coordinator = users.make("national_coordinator")
    services.decide_vetting(session, coordinator, supplier, "under_review", "Coordinator starts the review")
    with pytest.raises(DomainError):
        services.decide_vetting(session, officer, supplier, "rejected", "Officers do not decide")
    assert supplier.status == VettingStatus.UNDER_REVIEW


def test_a_decision_notifies_the_creator_and_the_purchasing_leads_but_not_the_decider(session, users, officer, lead):
    other_lead = users.make("purchasing_lead")
    supplier = make_supplier(session, created_by_id=officer.id)
    services.decide_vetting(session, lead, supplier, "rejected", "On the EU sanctions list", link="/suppliers/1/vetting")
    notified = {n.user_id: n for n in session.scalars(select(Notice).where(Notice.text.contains(supplier.legal_name)))}
    assert set(notified) == {officer.id, other_lead.id}
    assert "On the EU sanctions list" in notified[officer.id].body
    assert notified[officer.id].link == "/suppliers/1/vetting"


def test_an_approved_suppliers_ticks_cannot_be_taken_back(session, officer):
    supplier = make_approved_supplier(session)
    _tick_all(session, officer, supplier)
    assert _field_error(
        lambda: services.record_check(session, officer, supplier, "references", done=False, note=None)
    )[0] == "done"
    services.record_check(session, officer, supplier, "references", done=True, note="Updated note")


def test_only_approved_suppliers_are_orderable_and_the_refusal_gives_the_reason(session, lead):
    services.ensure_orderable(make_approved_supplier(session))
    new = make_supplier(session, legal_name="Ny Leverantör AB")
    field, message = _field_error(lambda: services.ensure_orderable(new))
    assert field == "supplier_id" and "Ny Leverantör AB" in message and "new" in message
    suspended = make_supplier(session, vetting_status="suspended", vetting_reason="Counterfeit certificates")
    assert "Counterfeit certificates" in _field_error(lambda: services.ensure_orderable(suspended))[1]


def test_performance_is_empty_until_deliveries_are_received(session):
    assert not supplier_performance(session, make_supplier(session)).has_deliveries


def test_performance_counts_on_time_exact_and_rejected_deliveries():
    from datetime import date
    from decimal import Decimal

    result = performance_from([
        DeliveryOutcome(date(2020, 4, 1), date(2020, 4, 1), 1000, 1000, 50),
        DeliveryOutcome(date(2020, 4, 8), date(2020, 4, 10), 1000, 900, 0),
    ])
    assert (result.deliveries, result.on_time_rate, result.quantity_accuracy) == (2, Decimal("0.5"), Decimal("0.5"))
    assert result.rejection_rate == Decimal(50) / Decimal(1900)
