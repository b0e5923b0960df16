"""The catalogue pages: everyone reads, administrators add and edit, bad input is shown beside its field."""

from __future__ import annotations

import csv
import io
import re

import pytest
from sqlalchemy import func, select

from app.audit.models import AuditEntry
from app.catalog.models import Product, ProductCategory


def _category(session, code: str) -> ProductCategory:
    return session.scalar(select(ProductCategory).where(ProductCategory.code == code))


def _product(session, sku: str) -> Product:
    return session.scalar(select(Product).where(Product.sku == sku))


def _product_count(session) -> int:
    return session.scalar(select(func.count()).select_from(Product))


def _field_error(html: str, field: str) -> str | None:
    match = re.search(rf'<p class="error" id="{field}-error">(.*?)</p>', html, re.DOTALL)
    return match.group(1).strip() if match else None


def _form(session, **changes) -> dict:
    form = {
        "sku": "GOWN-ISO-XL",
        "category_id": str(_category(session, "gowns_aprons").id),
        "name_sv": "Skyddsrock, vätskeavvisande, lång ärm, engångs, XL",
        "name_en": "Isolation gown, fluid-resistant, long sleeves, single use, XL",
        "variant": "XL",
        "standard": "EN 14126:2003 type PB [6]-B",
        "regime": "ppe",
        "unit_of_issue": "piece",
        "pack_size": "100",
        "inner_pack_size": "10",
        "active": "y",
    }
    form.update(changes)
    return {key: value for key, value in form.items() if value is not None}


def _edit_form(product: Product, **changes) -> dict:
    form = {
        "sku": product.sku,
        "category_id": str(product.category_id),
        "name_sv": product.name_sv,
        "name_en": product.name_en,
        "variant": product.variant or "",
        "standard": product.standard,
        "regime": product.regime,
        "unit_of_issue": product.unit_of_issue,
        "pack_size": str(product.pack_size),
        "inner_pack_size": str(product.inner_pack_size or ""),
        "active": "y" if product.active else None,
    }
    form.update(changes)
    return {key: value for key, value in form.items() if value is not None}


def _csv_rows(response) -> list[dict]:
    text = response.get_data(as_text=True).lstrip("\ufeff")
    return list(csv.DictReader(io.StringIO(text), delimiter=";"))


@pytest.fixture
def admin(users, auth):
    user = users.make(["administrator"], "SOS")
    auth.login(user)
    return user


@pytest.fixture
def reporter(users, auth):
    user = users.make(["reporter"], "0180")
    auth.login(user)
    return user


# Adding and editing -----------------------------------------------------------------------------------------


def test_an_administrator_adds_a_product_and_the_addition_is_audited(client, session, admin):
    response = client.post("/catalog/products/new", data=_form(session))

    product = _product(session, "GOWN-ISO-XL")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/catalog/products/{product.id}")
    assert (product.category.code, product.pack_size, product.inner_pack_size, product.variant) == (
        "gowns_aprons",
        100,
        10,
        "XL",
    )
    entry = session.scalar(
        select(AuditEntry).where(AuditEntry.table_name == "products", AuditEntry.row_key == str(product.id))
    )
    assert (entry.action, entry.actor_id, entry.after["sku"]) == ("insert", admin.id, "GOWN-ISO-XL")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "GOWN-ISO-XL" in page and "EN 14126:2003 type PB [6]-B" in page


def test_an_administrator_edits_a_product_and_the_change_is_audited(client, session, admin):
    product = _product(session, "HANDDES-500")
    response = client.post(
        f"/catalog/products/{product.id}/edit", data=_edit_form(product, pack_size="20", active=None)
    )

    assert response.status_code == 302
    session.expire_all()
    product = _product(session, "HANDDES-500")
    assert (product.pack_size, product.active) == (20, False)
    entry = session.scalar(
        select(AuditEntry)
        .where(
            AuditEntry.table_name == "products",
            AuditEntry.row_key == str(product.id),
            AuditEntry.action == "update",
        )
        .order_by(AuditEntry.id.desc())
    )
    assert entry.actor_id == admin.id
    assert (entry.before["pack_size"], entry.after["pack_size"]) == (12, 20)
    assert (entry.before["active"], entry.after["active"]) == (True, False)


def test_the_edit_form_shows_the_products_current_values(client, session, admin):
    product = _product(session, "GLV-NIT-M")
    html = client.get(f"/catalog/products/{product.id}/edit").get_data(as_text=True)
    assert 'value="GLV-NIT-M"' in html and 'value="1000"' in html and 'value="100"' in html


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_user_without_catalogue_management_gets_403_on_new_and_edit_and_nothing_changes(
    client, session, reporter, method
):
    product = _product(session, "FFP2-CUP")
    before = _product_count(session)

    new = client.open("/catalog/products/new", method=method, data=_form(session))
    edit = client.open(
        f"/catalog/products/{product.id}/edit", method=method, data=_edit_form(product, pack_size="1")
    )

    assert (new.status_code, edit.status_code) == (403, 403)
    session.expire_all()
    assert _product_count(session) == before
    assert _product(session, "FFP2-CUP").pack_size == 240


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"pack_size": "0"}, "pack_size", "The pack size must be a whole number above 0."),
        ({"pack_size": "-5"}, "pack_size", "The pack size must be a whole number above 0."),
        ({"pack_size": "many"}, "pack_size", "Enter a whole number, for example 200."),
        ({"pack_size": "12.5"}, "pack_size", "Enter a whole number, for example 200."),
        ({"pack_size": ""}, "pack_size", "Enter the number of units per carton."),
        ({"inner_pack_size": "30"}, "inner_pack_size", "A carton holds whole inner packs"),
        ({"sku": "gown-iso"}, "sku", "Another product already has the article number GOWN-ISO."),
        ({"sku": "GOWN ISO"}, "sku", "Use only letters A–Z, digits"),
        ({"name_sv": ""}, "name_sv", "Enter the Swedish name."),
        ({"name_en": "   "}, "name_en", "Enter the English name."),
        ({"standard": None}, "standard", "Enter the standard the product meets."),
        # WTForms' own message, in WTForms' Swedish since the page is in Swedish.
        ({"regime": "cosmetic"}, "regime", "Not a valid choice"),
        ({"category_id": "999999"}, "category_id", "Not a valid choice"),
    ],
)
def test_bad_input_on_the_new_form_is_shown_beside_its_field_with_422_and_adds_nothing(
    client, session, admin, changes, field, message
):
    before = _product_count(session)
    response = client.post("/catalog/products/new", data=_form(session, **changes))

    assert response.status_code == 422
    error = _field_error(response.get_data(as_text=True), field)
    assert error is not None and message in error
    assert _product_count(session) == before
    assert _product(session, "GOWN-ISO-XL") is None


def test_several_rule_breaches_are_all_shown_at_once(client, session, admin):
    response = client.post("/catalog/products/new", data=_form(session, sku="FFP2-CUP", pack_size="0"))
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "FFP2-CUP" in _field_error(html, "sku") and _field_error(html, "pack_size")


def test_bad_input_on_the_edit_form_is_shown_beside_its_field_with_422_and_changes_nothing(
    client, session, admin
):
    product = _product(session, "IIR-TIE")
    audit_before = session.scalar(select(func.count()).select_from(AuditEntry))

    response = client.post(
        f"/catalog/products/{product.id}/edit", data=_edit_form(product, sku="IIR-LOOP", pack_size="0")
    )

    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "IIR-LOOP" in _field_error(html, "sku")
    assert "above 0" in _field_error(html, "pack_size")
    session.expire_all()
    product = _product(session, "IIR-TIE")
    assert (product.sku, product.pack_size) == ("IIR-TIE", 1000)
    assert session.scalar(select(func.count()).select_from(AuditEntry)) == audit_before


def test_a_product_that_does_not_exist_answers_404(client, admin):
    assert client.get("/catalog/products/999999").status_code == 404
    assert client.get("/catalog/products/999999/edit").status_code == 404


# Reading ----------------------------------------------------------------------------------------------------


def test_every_role_with_the_catalogue_reads_the_list_and_a_product_but_sees_no_edit_links(
    client, session, reporter
):
    product = _product(session, "SAMPLE-NP")
    listing = client.get("/catalog/").get_data(as_text=True)
    detail = client.get(f"/catalog/products/{product.id}")

    assert "SAMPLE-NP" in listing and "/catalog/products/new" not in listing
    assert detail.status_code == 200
    html = detail.get_data(as_text=True)
    assert "CLSI M40-A2" in html and f"/catalog/products/{product.id}/edit" not in html


def test_an_administrator_sees_the_add_and_edit_links(client, session, admin):
    product = _product(session, "SAMPLE-NP")
    assert "/catalog/products/new" in client.get("/catalog/").get_data(as_text=True)
    assert f"/catalog/products/{product.id}/edit" in client.get(f"/catalog/products/{product.id}").get_data(
        as_text=True
    )


def test_the_product_page_says_whether_it_is_a_medical_device_or_ppe_and_how_it_is_packed(
    client, session, reporter
):
    client.post("/language", data={"locale": "en"})
    product = _product(session, "IIR-LOOP")
    html = client.get(f"/catalog/products/{product.id}").get_data(as_text=True)
    facts = dict(re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", html))
    assert facts["Medical device"] == "Yes" and facts["Personal protective equipment"] == "No"
    assert facts["Unit of issue"] == "piece"
    assert facts["Pack size (units per carton)"] == "2,000"
    assert facts["Units per inner box"] == "50" and facts["Inner boxes per carton"] == "40"
    assert "EN 14683:2019+AC:2019 type IIR" in facts["Standard"]


def test_names_are_shown_in_the_language_of_the_page(client, session, reporter):
    client.post("/language", data={"locale": "sv"})
    swedish = client.get("/catalog/?q=HANDDES-500").get_data(as_text=True)
    client.post("/language", data={"locale": "en"})
    english = client.get("/catalog/?q=HANDDES-500").get_data(as_text=True)

    assert "Handdesinfektion, etanol 80 %, 500 ml pumpflaska" in swedish
    assert "Hand disinfectant, ethanol 80 %, 500 ml pump bottle" not in swedish
    assert "Hand disinfectant, ethanol 80 %, 500 ml pump bottle" in english


def test_the_index_lists_every_category_with_its_standard_and_a_link_to_its_products(
    client, session, reporter
):
    html = client.get("/catalog/").get_data(as_text=True)
    for category in session.scalars(select(ProductCategory)):
        assert f"/catalog/?category={category.code}" in html
        assert category.standard in html


def _skus(client, query: str) -> list[str]:
    return [row["Article number"] for row in _csv_rows(client.get(f"/catalog/?format=csv&{query}"))]


def test_search_finds_products_by_article_number_and_by_either_name(client, reporter):
    assert sorted(_skus(client, "q=ffp3")) == ["FFP3-FOLD", "FFP3-FOLD-V"]
    assert _skus(client, "q=pumpflaska") == ["HANDDES-500"]
    assert _skus(client, "q=pocket bottle") == ["HANDDES-100"]


def test_filters_narrow_the_list_by_category_regime_and_status(client, session, reporter):
    gloves = _skus(client, "category=gloves")
    assert set(gloves) == {
        p.sku
        for p in session.scalars(
            select(Product).join(Product.category).where(ProductCategory.code == "gloves")
        )
    }
    assert set(_skus(client, "category=gloves&regime=ppe")) == {"GLV-NIT-LONG-M", "GLV-NIT-LONG-L"}
    assert set(_skus(client, "regime=ivd")) == {"SAMPLE-NP", "SAMPLE-SELF"}

    _product(session, "II-LOOP").active = False
    session.commit()
    assert _skus(client, "active=no") == ["II-LOOP"]
    assert "II-LOOP" not in _skus(client, "active=yes")


def test_the_list_sorts_by_the_chosen_column_in_either_direction(client, reporter):
    by_size = _csv_rows(client.get("/catalog/?format=csv&sort=pack_size&dir=desc"))
    sizes = [int(row["Units per carton"]) for row in by_size]
    assert sizes == sorted(sizes, reverse=True) and sizes[0] == 2000
    ascending = _skus(client, "sort=sku&dir=asc")
    assert ascending == sorted(ascending)
    html = client.get("/catalog/?sort=pack_size&dir=asc").get_data(as_text=True)
    assert html.index("HANDDES-500") < html.index("IIR-LOOP")


def test_the_csv_export_has_one_row_per_matching_product_with_readable_values(client, session, reporter):
    client.post("/language", data={"locale": "en"})
    response = client.get("/catalog/?format=csv&category=hand_disinfectant")

    assert response.mimetype == "text/csv"
    assert "product-catalogue.csv" in response.headers["Content-Disposition"]
    rows = {row["Article number"]: row for row in _csv_rows(response)}
    assert set(rows) == {"HANDDES-500", "HANDDES-100"}
    assert rows["HANDDES-500"]["Regulatory regime"] == "Biocidal product"
    assert rows["HANDDES-500"]["Unit of issue"] == "bottle"
    assert rows["HANDDES-500"]["Units per carton"] == "12"
    assert rows["HANDDES-500"]["Category"] == "Hand disinfectant"
    assert rows["HANDDES-500"]["Active"] == "Yes"


def test_the_catalogue_is_in_the_top_navigation_for_every_reader(client, reporter):
    html = client.get("/").get_data(as_text=True)
    assert 'href="/catalog/"' in html
