"""Suppliers' models and certificates: the standards per category, the certificate rules and verification."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from app.db import utcnow
from suppliers import services_certificates as services
from suppliers import standards
from suppliers.models import (
    Certificate,
    CertificateKind,
    Document,
    SupplierKind,
    SupplierProduct,
    VerificationStatus,
)
from suppliers.services_certificates import CertificateData, CertificateState, SupplierProductData, Upload
from tests.suppliers.factories import (
    MINIMAL_PDF,
    catalogue_product,
    make_certificate,
    make_supplier,
    make_supplier_product,
)

TODAY = date(2026, 3, 2)


def _count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def officer(users):
    return users.make("purchasing_officer", name="Olle Inköpare")


def _ffp2(**changes) -> CertificateData:
    values = {
        "kind": CertificateKind.EU_TYPE_EXAMINATION.value,
        "standard": "EN 149:2001+A1:2009",
        "standard_class": "FFP2 NR D",
        "ce_marked": True,
        "notified_body_number": "0598",
        "certificate_number": "SGS-123",
        "issued_by": "SGS Fimko Oy",
        "valid_from": date(2025, 6, 1),
        "valid_until": date(2030, 5, 31),
    }
    values.update(changes)
    return CertificateData(**values)


def _fields(refusal) -> dict:
    return {error.field: error.message for error in refusal.value.errors}


# --- the standards ------------------------------------------------------------------------------------------


def test_respirators_offer_every_ffp_class_of_en_149_and_nothing_else():
    choices = dict(standards.choices_for("respirators"))
    assert "EN 149:2001+A1:2009|FFP2 NR" in choices and "EN 149:2001+A1:2009|FFP3 R D" in choices
    assert len(choices) == 12
    assert all(value.startswith("EN 149") for value in choices)


def test_gloves_fit_en_455_and_en_iso_374_but_not_en_149():
    assert standards.fits("gloves", "EN 455-1:2020", None)
    assert standards.fits("gloves", "EN ISO 374-5:2016", "Bacteria, fungi and viruses (VIRUS)")
    assert not standards.fits("gloves", "EN 149:2001+A1:2009", "FFP2 NR")


def test_a_class_must_belong_to_its_standard_and_classless_standards_take_none():
    assert not standards.fits("surgical_masks", "EN 14683:2019+AC:2019", "FFP2 NR")
    assert not standards.fits("surgical_masks", "EN 14683:2019+AC:2019", None)
    assert standards.fits("hand_disinfectant", "EN 1500:2013", None)
    assert not standards.fits("hand_disinfectant", "EN 1500:2013", "Type IIR")


def test_a_category_the_module_does_not_know_may_name_any_standard():
    assert standards.standards_for("ventilators") == standards.STANDARDS


def test_a_choice_value_reads_back_as_standard_and_class():
    assert standards.parse_choice(standards.choice_value("EN 14683:2019+AC:2019", "Type IIR")) == (
        "EN 14683:2019+AC:2019",
        "Type IIR",
    )
    assert standards.parse_choice("EN 1500:2013|") == ("EN 1500:2013", None)


# --- product models -----------------------------------------------------------------------------------------


def test_a_model_is_registered_for_a_catalogue_product(session, officer):
    supplier = make_supplier(session)

    model = services.add_supplier_product(
        session, officer, supplier, SupplierProductData(catalogue_product(session).id, "  Aura 9320+ ")
    )

    assert model.id is not None and model.model_name == "Aura 9320+" and model.manufacturer_name is None


def test_a_distributor_must_name_the_manufacturer(session, officer):
    supplier = make_supplier(session, kind=SupplierKind.DISTRIBUTOR.value)

    with pytest.raises(services.Rejected) as refused:
        services.add_supplier_product(
            session, officer, supplier, SupplierProductData(catalogue_product(session).id, "X1")
        )

    assert "manufacturer_name" in _fields(refused)


def test_the_same_model_name_twice_for_one_product_is_refused_beside_the_name(session, officer):
    supplier = make_supplier(session)
    product = catalogue_product(session)
    make_supplier_product(session, supplier, product, model_name="M-100")

    with pytest.raises(services.Rejected) as refused:
        services.add_supplier_product(session, officer, supplier, SupplierProductData(product.id, "M-100"))

    assert "already has a model" in _fields(refused)["model_name"]
    assert _count(session, SupplierProduct) == 1


def test_only_suppliers_managers_register_models(session, users):
    coordinator = users.make("county_coordinator", "LST-01")

    with pytest.raises(services.NotAllowed):
        services.add_supplier_product(
            session,
            coordinator,
            make_supplier(session),
            SupplierProductData(catalogue_product(session).id, "X"),
        )


def test_a_model_with_certificates_keeps_its_product(session, officer):
    certificate = make_certificate(session)
    model = certificate.supplier_product

    with pytest.raises(services.Rejected) as refused:
        services.update_supplier_product(
            session,
            officer,
            model,
            SupplierProductData(catalogue_product(session, "IIR-LOOP").id, model.model_name),
        )

    assert "product_id" in _fields(refused)


# --- certificates -------------------------------------------------------------------------------------------


def test_a_respirator_certificate_is_recorded_with_its_file(session, officer):
    model = make_supplier_product(session)

    certificate = services.add_certificate(
        session,
        officer,
        model,
        _ffp2(notified_body_number=" 05 98 "),
        Upload(io.BytesIO(MINIMAL_PDF), "intyg.pdf"),
    )

    assert certificate.notified_body_number == "0598"
    assert certificate.verification_status == VerificationStatus.UNVERIFIED
    assert certificate.created_by == officer
    [document] = certificate.documents
    assert document.supplier == model.supplier and document.content_type == "application/pdf"


def test_an_eu_type_examination_of_a_respirator_needs_a_notified_body(session, officer):
    with pytest.raises(services.Rejected) as refused:
        services.add_certificate(
            session, officer, make_supplier_product(session), _ffp2(notified_body_number="")
        )

    assert "notified body" in _fields(refused)["notified_body_number"]


@pytest.mark.parametrize("number", ["598", "05981", "O598", "05-8"])
def test_a_notified_body_number_is_exactly_four_digits(session, officer, number):
    with pytest.raises(services.Rejected) as refused:
        services.add_certificate(
            session, officer, make_supplier_product(session), _ffp2(notified_body_number=number)
        )

    assert "four digits" in _fields(refused)["notified_body_number"]


def test_a_declaration_of_conformity_needs_no_notified_body(session, officer):
    data = _ffp2(
        kind=CertificateKind.DECLARATION_OF_CONFORMITY.value,
        notified_body_number=None,
        certificate_number=None,
    )

    certificate = services.add_certificate(session, officer, make_supplier_product(session), data)

    assert certificate.notified_body_number is None


def test_a_surgical_mask_certificate_does_not_need_a_notified_body(session, officer):
    model = make_supplier_product(session, product=catalogue_product(session, "IIR-LOOP"))
    data = _ffp2(standard="EN 14683:2019+AC:2019", standard_class="Type IIR", notified_body_number=None)

    assert services.add_certificate(session, officer, model, data).standard_class == "Type IIR"


def test_a_standard_that_does_not_fit_the_category_is_refused(session, officer):
    with pytest.raises(services.Rejected) as refused:
        services.add_certificate(
            session,
            officer,
            make_supplier_product(session),
            _ffp2(standard="EN 166:2001", standard_class="3"),
        )

    assert "fit the product's category" in _fields(refused)["standard"]


def test_validity_must_not_end_before_it_starts(session, officer):
    with pytest.raises(services.Rejected) as refused:
        services.add_certificate(
            session,
            officer,
            make_supplier_product(session),
            _ffp2(valid_from=TODAY, valid_until=TODAY - timedelta(days=1)),
        )

    assert "valid_until" in _fields(refused)


def test_an_eu_type_examination_is_valid_for_at_most_five_years(session, officer):
    with pytest.raises(services.Rejected) as refused:
        services.add_certificate(
            session,
            officer,
            make_supplier_product(session),
            _ffp2(valid_from=date(2025, 1, 1), valid_until=date(2030, 1, 2)),
        )

    assert "five years" in _fields(refused)["valid_until"]


def test_a_temporary_permit_is_for_equipment_without_ce_marking(session, officer):
    data = _ffp2(kind=CertificateKind.TEMPORARY_PERMIT.value, ce_marked=True, notified_body_number=None)

    with pytest.raises(services.Rejected) as refused:
        services.add_certificate(session, officer, make_supplier_product(session), data)

    assert "ce_marked" in _fields(refused)


def test_several_problems_are_reported_together(session, officer):
    data = _ffp2(kind="", standard="", notified_body_number="12", valid_until=date(2020, 1, 1))

    with pytest.raises(services.Rejected) as refused:
        services.add_certificate(session, officer, make_supplier_product(session), data)

    assert {"kind", "standard", "notified_body_number", "valid_until"} <= set(_fields(refused))


def test_a_refused_file_leaves_neither_certificate_nor_document(session, officer):
    model = make_supplier_product(session)
    session.commit()

    with pytest.raises(services.storage.UploadRejected):
        services.add_certificate(session, officer, model, _ffp2(), Upload(io.BytesIO(b"<html>"), "intyg.pdf"))
    assert not session.new  # refused before anything was added
    session.rollback()

    assert _count(session, Certificate) == 0 and _count(session, Document) == 0


def test_changing_a_verified_certificate_makes_it_unverified_again(session, officer):
    certificate = make_certificate(
        session,
        verification_status=VerificationStatus.VERIFIED.value,
        verified_by=officer,
        verification_note="NANDO",
    )

    services.update_certificate(session, officer, certificate, _ffp2(certificate_number="SGS-999"))

    assert certificate.verification_status == VerificationStatus.UNVERIFIED
    assert certificate.verified_by is None and certificate.verification_note is None


def test_saving_a_verified_certificate_unchanged_keeps_it_verified(session, officer):
    certificate = make_certificate(
        session, verification_status=VerificationStatus.VERIFIED.value, verified_by=officer
    )
    same = CertificateData(
        kind=certificate.kind,
        standard=certificate.standard,
        standard_class=certificate.standard_class,
        ce_marked=certificate.ce_marked,
        notified_body_number=certificate.notified_body_number,
        certificate_number=certificate.certificate_number,
        issued_by=certificate.issued_by,
        valid_from=certificate.valid_from,
        valid_until=certificate.valid_until,
    )

    services.update_certificate(session, officer, certificate, same)

    assert certificate.verification_status == VerificationStatus.VERIFIED


def test_a_new_end_date_earns_new_expiry_warnings(session, officer):
    certificate = make_certificate(session, expiry_warned_60_at=utcnow(), valid_from=date(2025, 6, 1))

    services.update_certificate(session, officer, certificate, _ffp2(valid_until=date(2030, 1, 31)))

    assert certificate.expiry_warned_60_at is None


def test_a_rejected_certificate_is_kept_as_it_was(session, officer):
    certificate = make_certificate(session, verification_status=VerificationStatus.REJECTED.value)

    with pytest.raises(services.Rejected, match="kept as it was"):
        services.update_certificate(session, officer, certificate, _ffp2())


# --- verification -------------------------------------------------------------------------------------------


def _with_document(session, officer, certificate):
    services.attach_document(
        session,
        officer,
        certificate.supplier_product.supplier,
        Upload(io.BytesIO(MINIMAL_PDF), "c.pdf"),
        certificate=certificate,
    )
    return certificate


def test_verifying_records_who_and_when(session, officer):
    certificate = _with_document(session, officer, make_certificate(session))
    moment = utcnow()

    services.record_verification(session, officer, certificate, "verified", "Checked in NANDO", now=moment)

    assert certificate.verification_status == VerificationStatus.VERIFIED
    assert certificate.verified_by == officer and certificate.verified_at == moment
    assert certificate.verification_note == "Checked in NANDO"


def test_a_certificate_without_a_document_cannot_be_verified(session, officer):
    with pytest.raises(services.Rejected) as refused:
        services.record_verification(session, officer, make_certificate(session), "verified", None)

    assert "Upload" in _fields(refused)["outcome"]


def test_rejecting_needs_a_note_saying_what_was_wrong(session, officer):
    with pytest.raises(services.Rejected) as refused:
        services.record_verification(session, officer, make_certificate(session), "rejected", "  ")

    assert "note" in _fields(refused)


def test_a_verified_certificate_can_later_be_rejected_as_a_forgery(session, officer):
    certificate = _with_document(session, officer, make_certificate(session))
    services.record_verification(session, officer, certificate, "verified", None)

    services.record_verification(
        session, officer, certificate, "rejected", "The notified body never issued it."
    )

    assert certificate.verification_status == VerificationStatus.REJECTED


def test_recording_the_same_outcome_twice_is_refused(session, officer):
    certificate = make_certificate(session, verification_status=VerificationStatus.REJECTED.value)

    with pytest.raises(services.Rejected, match="already"):
        services.record_verification(session, officer, certificate, "rejected", "again")


def test_only_suppliers_managers_verify(session, users):
    auditor = users.make("auditor")

    with pytest.raises(services.NotAllowed):
        services.record_verification(session, auditor, make_certificate(session), "rejected", "no")


# --- standing -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "state"),
    [
        ({"verification_status": "verified"}, CertificateState.VALID),
        ({}, CertificateState.UNVERIFIED),
        (
            {"verification_status": "verified", "valid_until": TODAY - timedelta(days=1)},
            CertificateState.EXPIRED,
        ),
        ({"valid_from": TODAY + timedelta(days=1)}, CertificateState.NOT_YET_VALID),
        ({"verification_status": "rejected"}, CertificateState.REJECTED),
        ({"verification_status": "verified", "valid_until": TODAY}, CertificateState.VALID),
    ],
)
def test_a_certificates_standing_follows_its_dates_and_verification(session, changes, state):
    assert services.certificate_state(make_certificate(session, **changes), TODAY) is state


def test_a_certificate_ending_within_sixty_days_expires_soon(session):
    assert services.expires_soon(make_certificate(session, valid_until=TODAY + timedelta(days=60)), TODAY)
    assert not services.expires_soon(make_certificate(session, valid_until=TODAY + timedelta(days=61)), TODAY)
    assert not services.expires_soon(make_certificate(session, valid_until=TODAY - timedelta(days=1)), TODAY)


def test_a_models_standing_is_its_best_conformity_certificate_not_a_test_report(session):
    model = make_supplier_product(session)
    make_certificate(session, model, kind=CertificateKind.TEST_REPORT.value, verification_status="verified")
    assert services.model_state(model, TODAY) is None

    make_certificate(session, model, verification_status="rejected")
    make_certificate(session, model)
    session.refresh(model)

    assert services.model_state(model, TODAY) is CertificateState.UNVERIFIED
