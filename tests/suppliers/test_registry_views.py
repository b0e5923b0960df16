"""The registry pages: list, search, filters, exports, create and edit with messages beside the fields,
contacts and addresses, the vetting page, and who may do what."""
from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from app.catalog.models import Product
from suppliers.models import Supplier, SupplierAddress, SupplierContact, SupplierProduct, VettingCheckItem
from tests.suppliers.factories import make_supplier, valid_organisation_number


def _csv_rows(response) -> list[dict]:
    assert response.status_code == 200
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff")), delimiter=";"))


def _names(client, query: str) -> list[str]:
    return [row["Name"] for row in _csv_rows(client.get(f"/suppliers/?format=csv&{query}"))]


def _count(session, model, **where) -> int:
    stmt = select(func.count()).select_from(model)
    for name, value in where.items():
        stmt = stmt.where(getattr(model, name) == value)
    return session.scalar(stmt)


@pytest.fixture
def officer(users, auth):
    user = users.make("purchasing_officer")
    auth.login(user)
    return user


@pytest.fixture
def registry(session):
    """Three suppliers that differ in every filterable respect."""
    swedish = make_supplier(session, legal_name="Alfa Skydd AB", produces_in_sweden=True)
    session.add(SupplierContact(supplier=swedish, name="Karin Ek", email="karin@alfa.se", is_primary=True))
    german = make_supplier(session, country="DE", legal_name="Beta Masken GmbH", kind="distributor",
                           vetting_status="approved", vat_number="DE123456789")
    chinese = make_supplier(session, country="CN", legal_name="Gamma Trading Ltd", kind="broker",
                            vetting_status="rejected")
    product = session.scalar(select(Product).order_by(Product.id))
    session.add(SupplierProduct(supplier=german, product=product, model_name="BM-2"))
    session.commit()
    return {"swedish": swedish, "german": german, "chinese": chinese, "category_id": product.category_id}


def test_everyone_reads_the_list_and_finds_the_nav_entry(client, users, auth, registry):
    auth.login(users.make("reporter", "0180"))
    page = client.get("/suppliers/")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'href="/suppliers/"' in text and "Alfa Skydd AB" in text
    assert "Register a supplier" not in text


def test_the_list_searches_names_numbers_vat_and_contacts(client, officer, registry):
    number = registry["swedish"].organisation_number
    assert _names(client, "q=beta") == ["Beta Masken GmbH"]
    assert _names(client, f"q={number.replace('-', '')}") == ["Alfa Skydd AB"]
    assert _names(client, f"q={number}") == ["Alfa Skydd AB"]
    assert _names(client, "q=de 123") == ["Beta Masken GmbH"]
    assert _names(client, "q=karin@alfa") == ["Alfa Skydd AB"]


def test_the_list_filters_by_kind_country_status_domestic_production_and_category(client, officer, registry):
    assert _names(client, "kind=broker") == ["Gamma Trading Ltd"]
    assert _names(client, "country=DE") == ["Beta Masken GmbH"]
    assert _names(client, "status=rejected") == ["Gamma Trading Ltd"]
    assert _names(client, "sweden=yes") == ["Alfa Skydd AB"]
    assert _names(client, f"category={registry['category_id']}") == ["Beta Masken GmbH"]


def test_the_list_sorts_and_pages(client, officer, registry, session):
    assert _names(client, "sort=name&dir=desc")[:3] == ["Gamma Trading Ltd", "Beta Masken GmbH", "Alfa Skydd AB"]
    for n in range(55):
        make_supplier(session, legal_name=f"Zeta {n:02d} AB")
    session.commit()
    second = client.get("/suppliers/?page=2&q=zeta").get_data(as_text=True)
    assert "Zeta 54 AB" in second and "Zeta 00 AB" not in second


def test_the_list_exports_to_xlsx_with_the_same_filters(client, officer, registry):
    response = client.get("/suppliers/?format=xlsx&country=DE")
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert 'filename="suppliers.xlsx"' in response.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(response.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "Name" and [r[0] for r in rows[1:]] == ["Beta Masken GmbH"]
    assert rows[1][6] == "Approved"


def test_registering_a_swedish_supplier_goes_to_its_overview(client, officer, session):
    number = valid_organisation_number()
    response = client.post("/suppliers/new", data={
        "legal_name": "Norrlands Munskydd AB", "country": "SE", "organisation_number": number.replace("-", ""),
        "vat_number": f"SE{number.replace('-', '')}01", "kind": "manufacturer", "produces_in_sweden": "y",
        "website": "norrmask.se", "notes": "Met at the industry day",
    })
    supplier = session.scalar(select(Supplier).where(Supplier.organisation_number == number))
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/suppliers/{supplier.id}")
    page = client.get(f"/suppliers/{supplier.id}").get_data(as_text=True)
    assert "Norrlands Munskydd AB" in page and number in page and "https://norrmask.se" in page
    assert "No deliveries received yet" in page
    assert "Products and certificates" in page and f"/suppliers/{supplier.id}/vetting" in page


def test_an_invalid_organisationsnummer_is_refused_beside_the_field_and_nothing_is_saved(client, officer, session):
    before = _count(session, Supplier)
    response = client.post("/suppliers/new", data={
        "legal_name": "Fel AB", "country": "SE", "organisation_number": "556677-8890", "kind": "manufacturer",
    })
    text = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="organisation_number-error"' in text and "check digit" in text
    assert _count(session, Supplier) == before


def test_a_duplicate_is_refused_with_the_existing_suppliers_name(client, officer, session):
    existing = make_supplier(session, legal_name="Redan Här AB")
    session.commit()
    response = client.post("/suppliers/new", data={
        "legal_name": "Kopia AB", "country": "SE", "organisation_number": existing.organisation_number,
        "kind": "distributor",
    })
    assert response.status_code == 422
    assert "Redan Här AB is already registered" in response.get_data(as_text=True)
    assert _count(session, Supplier, legal_name="Kopia AB") == 0


def test_a_failed_edit_leaves_the_supplier_as_it_was(client, officer, session):
    supplier = make_supplier(session, legal_name="Orörd AB")
    session.commit()
    response = client.post(f"/suppliers/{supplier.id}/edit", data={
        "legal_name": "Ändrad AB", "country": "SE", "organisation_number": supplier.organisation_number,
        "vat_number": "SE999999999901", "kind": "manufacturer",
    })
    assert response.status_code == 422 and 'id="vat_number-error"' in response.get_data(as_text=True)
    session.expire_all()
    assert session.get(Supplier, supplier.id).legal_name == "Orörd AB"
    response = client.post(f"/suppliers/{supplier.id}/edit", data={
        "legal_name": "Ändrad AB", "country": "SE", "organisation_number": supplier.organisation_number,
        "kind": "broker",
    })
    assert response.status_code == 302
    session.expire_all()
    assert (session.get(Supplier, supplier.id).legal_name, session.get(Supplier, supplier.id).kind) == (
        "Ändrad AB", "broker"
    )


def test_contacts_are_added_edited_and_removed(client, officer, session):
    supplier = make_supplier(session)
    session.commit()
    assert client.post(f"/suppliers/{supplier.id}/contacts/new", data={"name": "Sara Nord"}).status_code == 422
    assert client.post(f"/suppliers/{supplier.id}/contacts/new",
                       data={"name": "Sara Nord", "email": "sara@nord.se"}).status_code == 302
    contact = session.scalar(select(SupplierContact).where(SupplierContact.supplier_id == supplier.id))
    client.post(f"/suppliers/{supplier.id}/contacts/{contact.id}/edit",
                data={"name": "Sara Nordin", "email": "sara@nord.se", "phone": "070-123 45 67"})
    session.expire_all()
    assert (contact.name, contact.phone) == ("Sara Nordin", "070-123 45 67")
    assert "Sara Nordin" in client.get(f"/suppliers/{supplier.id}").get_data(as_text=True)
    assert client.post(f"/suppliers/{supplier.id}/contacts/{contact.id}/remove").status_code == 302
    assert _count(session, SupplierContact, supplier_id=supplier.id) == 0


def test_a_contact_of_another_supplier_is_not_found_through_this_one(client, officer, session):
    one, other = make_supplier(session), make_supplier(session)
    contact = SupplierContact(supplier=other, name="Annan", email="a@b.se")
    session.add(contact)
    session.commit()
    assert client.post(f"/suppliers/{one.id}/contacts/{contact.id}/remove").status_code == 404
    assert _count(session, SupplierContact, supplier_id=other.id) == 1


def test_addresses_are_added_edited_and_removed(client, officer, session):
    supplier = make_supplier(session)
    session.commit()
    form = {"kind": "visiting", "street": "Storgatan 1", "postal_code": "85230", "city": "Sundsvall", "country": "SE"}
    assert client.post(f"/suppliers/{supplier.id}/addresses/new", data=form).status_code == 302
    address = session.scalar(select(SupplierAddress).where(SupplierAddress.supplier_id == supplier.id))
    assert address.postal_code == "852 30"
    bad = client.post(f"/suppliers/{supplier.id}/addresses/{address.id}/edit", data={**form, "postal_code": "8"})
    assert bad.status_code == 422 and 'id="postal_code-error"' in bad.get_data(as_text=True)
    client.post(f"/suppliers/{supplier.id}/addresses/{address.id}/edit", data={**form, "kind": "warehouse"})
    session.expire_all()
    assert address.kind == "warehouse"
    client.post(f"/suppliers/{supplier.id}/addresses/{address.id}/remove")
    assert _count(session, SupplierAddress, supplier_id=supplier.id) == 0


def test_readers_cannot_edit(client, users, auth, session):
    supplier = make_supplier(session)
    session.commit()
    auth.login(users.make("auditor"))
    assert client.get(f"/suppliers/{supplier.id}/edit").status_code == 403
    assert client.post(f"/suppliers/{supplier.id}/vetting/checks", data={"item": "references"}).status_code == 403
    page = client.get(f"/suppliers/{supplier.id}").get_data(as_text=True)
    assert "Edit the supplier" not in page


def _tick(client, supplier, item, note="Checked"):
    return client.post(f"/suppliers/{supplier.id}/vetting/checks",
                       data={"item": item, f"{item}-done": "y", f"{item}-note": note})


def test_the_checklist_is_ticked_with_a_note_and_shows_who_ticked_it(client, officer, session):
    supplier = make_supplier(session)
    session.commit()
    refused = _tick(client, supplier, "references", note="")
    assert refused.status_code == 422 and 'id="references-note-error"' in refused.get_data(as_text=True)
    assert _tick(client, supplier, "references", note="Region Skåne bought 2020").status_code == 302
    page = client.get(f"/suppliers/{supplier.id}/vetting").get_data(as_text=True)
    assert "Region Skåne bought 2020" in page and officer.name in page


def test_a_purchasing_lead_decides_and_the_history_shows_it(client, users, auth, session):
    officer = users.make("purchasing_officer")
    supplier = make_supplier(session, created_by_id=officer.id)
    session.commit()
    lead = users.make("purchasing_lead")
    auth.login(lead)
    response = client.post(f"/suppliers/{supplier.id}/vetting/decisions",
                           data={"to_status": "under_review", "reason": "Offer of 2 million FFP2"})
    assert response.status_code == 302
    page = client.get(f"/suppliers/{supplier.id}/vetting").get_data(as_text=True)
    assert "Offer of 2 million FFP2" in page and lead.name in page
    refused = client.post(f"/suppliers/{supplier.id}/vetting/decisions",
                          data={"to_status": "approved", "reason": "Good"})
    text = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "still missing" in text and "Samples tested" in text
    session.expire_all()
    assert session.get(Supplier, supplier.id).vetting_status == "under_review"


def test_an_approval_after_a_complete_checklist_makes_the_supplier_approved(client, users, auth, session):
    supplier = make_supplier(session, vetting_status="under_review")
    session.commit()
    auth.login(users.make("production_team"))
    for item in VettingCheckItem:
        assert _tick(client, supplier, item.value).status_code == 302
    auth.logout()
    auth.login(users.make("national_coordinator"))
    response = client.post(f"/suppliers/{supplier.id}/vetting/decisions",
                           data={"to_status": "approved", "reason": "All five checks passed"})
    assert response.status_code == 302
    session.expire_all()
    approved = session.get(Supplier, supplier.id)
    assert approved.is_approved and approved.vetting_reason == "All five checks passed"
    assert "All five checks passed" in client.get(f"/suppliers/{supplier.id}").get_data(as_text=True)


def test_a_purchasing_officer_cannot_decide(client, officer, session):
    supplier = make_supplier(session)
    session.commit()
    response = client.post(f"/suppliers/{supplier.id}/vetting/decisions",
                           data={"to_status": "under_review", "reason": "I would like to"})
    assert response.status_code == 403
    assert "A national coordinator or a purchasing lead decides" in client.get(
        f"/suppliers/{supplier.id}/vetting").get_data(as_text=True)


def test_an_unknown_supplier_is_not_found(client, officer):
    assert client.get("/suppliers/999999").status_code == 404
    assert client.get("/suppliers/999999/vetting").status_code == 404
