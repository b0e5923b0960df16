"""The products-and-certificates pages, uploads and downloads, verification and the certificate list."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.timeutil import local_today
from suppliers import storage
from suppliers.models import Certificate, Document, SupplierProduct, VerificationStatus
from suppliers.services_certificates import Upload, attach_document
from tests.suppliers.factories import (
    MINIMAL_PDF,
    MINIMAL_PNG,
    catalogue_product,
    make_certificate,
    make_supplier,
    make_supplier_product,
)


def _count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def officer(users):
    return users.make("purchasing_officer", name="Olle Inköpare")


@pytest.fixture
def model(session):
    supplier = make_supplier(session, legal_name="Mask i Borås AB")
    model = make_supplier_product(session, supplier, model_name="BM-2020")
    session.commit()
    return model


def _certificate_form(**changes) -> dict:
    return {
        "kind": "eu_type_examination",
        "standard": "EN 149:2001+A1:2009|FFP2 NR",
        "ce_marked": "y",
        "notified_body_number": "0598",
        "certificate_number": "SGS-2020-77",
        "issued_by": "SGS Fimko Oy",
        "valid_from": "2025-06-01",
        "valid_until": "2030-05-31",
        **changes,
    }


def _document(session, officer, certificate, content=MINIMAL_PDF, name="intyg.pdf") -> Document:
    document = attach_document(
        session,
        officer,
        certificate.supplier_product.supplier,
        Upload(io.BytesIO(content), name),
        certificate=certificate,
    )
    session.commit()
    return document


# --- the supplier's products page ---------------------------------------------------------------------------


def test_readers_see_models_and_standing_but_not_certificate_numbers_or_files(
    client, auth, users, session, officer, model
):
    certificate = make_certificate(session, model, certificate_number="SECRET-NO-1")
    _document(session, officer, certificate)
    auth.login(users.make("county_coordinator", "LST-01"))

    page = client.get(f"/suppliers/{model.supplier_id}/products").get_data(as_text=True)

    assert "BM-2020" in page and "EN 149:2001+A1:2009 FFP2 NR" in page and "Valid, not verified" in page
    assert "SECRET-NO-1" not in page and "/suppliers/documents/" not in page
    assert "Add a certificate" not in page


def test_buyers_see_numbers_and_document_links(client, auth, session, officer, model):
    certificate = make_certificate(session, model, certificate_number="SGS-1")
    document = _document(session, officer, certificate)
    auth.login(officer)

    page = client.get(f"/suppliers/certificates/{certificate.id}").get_data(as_text=True)

    assert "SGS-1" in page and f"/suppliers/documents/{document.id}" in page and document.sha256 in page


def test_an_officer_registers_a_model_and_its_certificate_with_the_file(
    client, auth, session, officer, model
):
    auth.login(officer)
    response = client.post(
        f"/suppliers/{model.supplier_id}/products/new",
        data={"product_id": catalogue_product(session, "FFP3-FOLD").id, "model_name": "BM-3000"},
    )
    assert response.status_code == 302
    new_model = session.scalar(select(SupplierProduct).where(SupplierProduct.model_name == "BM-3000"))

    response = client.post(
        f"/suppliers/models/{new_model.id}/certificates/new",
        data=_certificate_form(
            standard="EN 149:2001+A1:2009|FFP3 NR D", file=(io.BytesIO(MINIMAL_PDF), "EU-typintyg.pdf")
        ),
        content_type="multipart/form-data",
    )

    assert response.status_code == 302
    certificate = session.scalar(select(Certificate).where(Certificate.supplier_product_id == new_model.id))
    assert certificate.standard_class == "FFP3 NR D" and certificate.created_by == officer
    [document] = certificate.documents
    assert document.filename == "EU-typintyg.pdf" and document.uploaded_by == officer
    assert storage.path_of(document.storage_key).read_bytes() == MINIMAL_PDF


def test_the_certificate_form_offers_only_the_standards_of_the_products_category(
    client, auth, officer, model
):
    auth.login(officer)

    page = client.get(f"/suppliers/models/{model.id}/certificates/new").get_data(as_text=True)

    assert "EN 149:2001+A1:2009 – FFP2 NR D" in page
    assert "EN 14683" not in page and "EN 166" not in page


def test_a_bad_certificate_is_shown_again_with_errors_beside_the_fields_and_nothing_saved(
    app, client, auth, session, officer, model
):
    auth.login(officer)
    files_before = {p for p in storage.upload_dir().rglob("*")} if storage.upload_dir().exists() else set()

    response = client.post(
        f"/suppliers/models/{model.id}/certificates/new",
        data=_certificate_form(
            notified_body_number="598", valid_until="2020-01-01", file=(io.BytesIO(MINIMAL_PDF), "intyg.pdf")
        ),
        content_type="multipart/form-data",
    )

    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="notified_body_number-error"' in page and "exactly four digits" in page
    assert 'id="valid_until-error"' in page
    assert _count(session, Certificate) == 0 and _count(session, Document) == 0
    files_after = {p for p in storage.upload_dir().rglob("*")} if storage.upload_dir().exists() else set()
    assert files_after == files_before


def test_a_file_that_is_not_a_pdf_or_image_is_refused_beside_the_file_field(
    client, auth, session, officer, model
):
    auth.login(officer)

    response = client.post(
        f"/suppliers/models/{model.id}/certificates/new",
        data=_certificate_form(file=(io.BytesIO(b"<html><script>alert(1)</script>"), "intyg.pdf")),
        content_type="multipart/form-data",
    )

    assert response.status_code == 422
    assert 'id="file-error"' in response.get_data(as_text=True)
    assert _count(session, Certificate) == 0


@pytest.mark.parametrize("csrf", [False, True], ids=["in-the-view", "in-the-csrf-check"])
def test_a_request_over_the_servers_limit_gets_a_clear_message_not_a_bare_413(
    app, client, auth, officer, model, monkeypatch, csrf
):
    auth.login(officer)
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 2048)
    # With CSRF protection on, as in production, the body is read (and refused) before the view runs.
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", csrf)

    response = client.post(
        f"/suppliers/models/{model.id}/certificates/new",
        data=_certificate_form(file=(io.BytesIO(MINIMAL_PDF + b"0" * 4096), "big.pdf")),
        content_type="multipart/form-data",
    )

    page = response.get_data(as_text=True)
    assert response.status_code == 413
    assert "The file is too large" in page and "larger than 2 kB" in page and "Nothing was saved" in page


def test_a_file_over_the_upload_limit_is_refused_beside_the_field(
    app, client, auth, session, officer, model, monkeypatch
):
    auth.login(officer)
    # Small sizes: the test client spools bodies over 500 kB to a temporary file it never closes.
    monkeypatch.setitem(app.config, "SAMORDNA_MAX_UPLOAD_BYTES", 200 * 1024)
    certificate = make_certificate(session, model)
    session.commit()

    response = client.post(
        f"/suppliers/certificates/{certificate.id}/documents",
        data={"file": (io.BytesIO(MINIMAL_PDF + b"0" * 200 * 1024), "big.pdf")},
        content_type="multipart/form-data",
    )

    assert response.status_code == 422
    assert "larger than 200 kB" in response.get_data(as_text=True)
    assert _count(session, Document) == 0


def test_only_suppliers_managers_reach_the_forms(client, auth, users, model):
    auth.login(users.make("auditor"))

    assert client.get(f"/suppliers/models/{model.id}/certificates/new").status_code == 403
    assert client.post(f"/suppliers/{model.supplier_id}/products/new", data={}).status_code == 403


def test_editing_a_verified_certificate_returns_it_to_not_verified(client, auth, session, officer, model):
    certificate = make_certificate(session, model, verification_status="verified", verified_by=officer)
    session.commit()
    auth.login(officer)

    form = client.get(f"/suppliers/certificates/{certificate.id}/edit").get_data(as_text=True)
    assert '<option selected value="EN 149:2001+A1:2009|FFP2 NR">' in form
    response = client.post(
        f"/suppliers/certificates/{certificate.id}/edit",
        data=_certificate_form(
            valid_from="2025-01-01", valid_until="2029-12-31", certificate_number="SGS-NEW"
        ),
        follow_redirects=True,
    )

    assert "no longer marked verified" in response.get_data(as_text=True)
    session.refresh(certificate)
    assert certificate.certificate_number == "SGS-NEW" and certificate.verification_status == "unverified"


# --- verification -------------------------------------------------------------------------------------------


def test_an_officer_verifies_a_certificate_after_checking_it(client, auth, session, officer, model):
    certificate = make_certificate(session, model)
    _document(session, officer, certificate)
    auth.login(officer)

    response = client.post(
        f"/suppliers/certificates/{certificate.id}/verification",
        data={"outcome": "verified", "note": "Found in NANDO, number and model match."},
    )

    assert response.status_code == 302
    session.refresh(certificate)
    assert (
        certificate.verification_status == VerificationStatus.VERIFIED and certificate.verified_by == officer
    )


def test_a_rejection_without_a_note_is_refused_beside_the_note(client, auth, session, officer, model):
    certificate = make_certificate(session, model)
    session.commit()
    auth.login(officer)

    response = client.post(
        f"/suppliers/certificates/{certificate.id}/verification", data={"outcome": "rejected"}
    )

    assert response.status_code == 422
    assert 'id="note-error"' in response.get_data(as_text=True)
    session.refresh(certificate)
    assert certificate.verification_status == VerificationStatus.UNVERIFIED


# --- downloads ----------------------------------------------------------------------------------------------


def test_a_pdf_opens_in_the_browser_with_nosniff(client, auth, session, officer, model):
    document = _document(session, officer, make_certificate(session, model), name="Intyg för FFP2.pdf")
    auth.login(officer)

    response = client.get(f"/suppliers/documents/{document.id}")

    assert response.status_code == 200 and response.data == MINIMAL_PDF
    assert response.mimetype == "application/pdf"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("inline") and "filename*=UTF-8''Intyg%20f%C3%B6r%20FFP2.pdf" in disposition
    assert "no-store" in response.headers["Cache-Control"]


def test_an_image_is_always_downloaded_as_an_attachment(client, auth, users, session, officer, model):
    document = _document(
        session, officer, make_certificate(session, model), content=MINIMAL_PNG, name="scan.html"
    )
    auth.login(users.make("auditor"))

    response = client.get(f"/suppliers/documents/{document.id}")

    assert response.status_code == 200 and response.mimetype == "image/png"
    assert (
        response.headers["Content-Disposition"].startswith("attachment")
        and "scan.png" in response.headers["Content-Disposition"]
    )
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_roles_without_supplier_documents_cannot_download(client, auth, users, session, officer, model):
    document = _document(session, officer, make_certificate(session, model))
    auth.login(users.make("county_coordinator", "LST-01"))

    assert client.get(f"/suppliers/documents/{document.id}").status_code == 403


def test_a_missing_document_or_file_answers_404(client, auth, session, officer, model):
    document = _document(session, officer, make_certificate(session, model))
    storage.path_of(document.storage_key).unlink()
    auth.login(officer)

    assert client.get(f"/suppliers/documents/{document.id}").status_code == 404
    assert client.get(f"/suppliers/documents/{document.id + 1000}").status_code == 404


def test_a_file_changed_on_disk_is_not_handed_out(client, auth, session, officer, model):
    document = _document(session, officer, make_certificate(session, model))
    storage.path_of(document.storage_key).write_bytes(MINIMAL_PDF.replace(b"200 200", b"300 300"))
    auth.login(officer)

    response = client.get(f"/suppliers/documents/{document.id}")

    assert response.status_code == 500 and b"%PDF" not in response.data


def test_a_supplier_document_is_uploaded_on_the_products_page(client, auth, session, officer, model):
    auth.login(officer)

    response = client.post(
        f"/suppliers/{model.supplier_id}/documents",
        data={"file": (io.BytesIO(MINIMAL_PNG), "bolagsverket.png"), "title": "Registreringsbevis"},
        content_type="multipart/form-data",
        follow_redirects=True,
    )

    assert response.status_code == 200 and "Registreringsbevis" in response.get_data(as_text=True)
    document = session.scalars(select(Document)).one()
    assert document.certificate_id is None and document.content_type == "image/png"


# --- all certificates ---------------------------------------------------------------------------------------


@pytest.fixture
def spread(session, officer):
    """Certificates in every standing, for the list's filters."""
    today = local_today()
    gloves = make_supplier_product(
        session, product=catalogue_product(session, "GLV-NIT-M"), model_name="Glove-1"
    )
    rows = {
        "expiring": make_certificate(session, valid_until=today + timedelta(days=30)),
        "later": make_certificate(
            session, valid_until=today + timedelta(days=400), verification_status="verified"
        ),
        "expired": make_certificate(
            session, valid_from=today - timedelta(days=900), valid_until=today - timedelta(days=1)
        ),
        "rejected": make_certificate(
            session, valid_until=today + timedelta(days=10), verification_status="rejected"
        ),
        "gloves": make_certificate(
            session,
            gloves,
            kind="declaration_of_conformity",
            standard="EN 455-1:2020",
            standard_class=None,
            notified_body_number=None,
            valid_until=today + timedelta(days=200),
            verification_status="verified",
        ),
    }
    session.commit()
    return rows


def _listed(client, query: str) -> set[int]:
    response = client.get(f"/suppliers/certificates/?format=csv&{query}")
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff")), delimiter=";"))
    return {row["Model"] for row in rows}


def test_the_list_filters_expiring_expired_unverified_standard_and_category(client, auth, officer, spread):
    auth.login(officer)
    name = {key: cert.supplier_product.model_name for key, cert in spread.items()}

    assert _listed(client, "status=expiring") == {name["expiring"]}
    assert _listed(client, "status=expired") == {name["expired"]}
    assert _listed(client, "status=unverified") == {name["expiring"], name["expired"]}
    assert _listed(client, "standard=EN+455-1:2020") == {name["gloves"]}
    assert _listed(client, "category=respirators") == {
        name[k] for k in ("expiring", "later", "expired", "rejected")
    }


def test_the_list_hides_certificate_numbers_from_roles_that_do_not_see_documents(client, auth, users, spread):
    auth.login(users.make("county_coordinator", "LST-01"))

    header = client.get("/suppliers/certificates/?format=csv").get_data(as_text=True).splitlines()[0]

    assert "Certificate number" not in header and "Standing today" in header


def test_buyers_find_certificate_numbers_in_the_list(client, auth, officer, spread):
    auth.login(officer)

    page = client.get("/suppliers/certificates/?status=expiring").get_data(as_text=True)

    assert spread["expiring"].certificate_number in page and "Expiring within 60 days" in page


def test_the_list_exports_xlsx(client, auth, officer, spread):
    auth.login(officer)

    response = client.get("/suppliers/certificates/?format=xlsx")

    assert response.status_code == 200 and response.data[:2] == b"PK"
