"""The catalogue's rules for adding and changing products, checked in the service layer."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import func, select

from app.audit.models import AuditEntry
from app.catalog import services
from app.catalog.models import Product, ProductCategory, prevailing_unit
from app.catalog.services import CatalogNotAllowed, ProductData, ProductRejected, product_problems


def _category(session, code: str) -> ProductCategory:
    return session.scalar(select(ProductCategory).where(ProductCategory.code == code))


def _product(session, sku: str) -> Product:
    return session.scalar(select(Product).where(Product.sku == sku))


def _data(session, **changes) -> ProductData:
    data = ProductData(
        sku="FFP2-FOLD-S",
        category_id=_category(session, "respirators").id,
        name_sv="Andningsskydd FFP2, vikbart, liten storlek",
        name_en="Respirator FFP2, fold-flat, small size",
        standard="EN 149:2001+A1:2009 FFP2 NR",
        regime="ppe",
        unit_of_issue="piece",
        pack_size=400,
        inner_pack_size=20,
        variant="S",
    )
    return replace(data, **changes)


def _fields(error: ProductRejected) -> set[str]:
    return {e.field for e in error.errors}


def _product_count(session) -> int:
    return session.scalar(select(func.count()).select_from(Product))


def test_an_administrator_adds_a_product_and_the_write_is_audited(session, users):
    admin = users.make(["administrator"], "SOS")
    session.info["actor"] = admin

    product = services.create_product(session, admin, _data(session, sku=" ffp2-fold-s "))

    assert product.id is not None
    assert (product.sku, product.category.code, product.pack_size) == ("FFP2-FOLD-S", "respirators", 400)
    entry = session.scalar(
        select(AuditEntry).where(AuditEntry.table_name == "products", AuditEntry.row_key == str(product.id))
    )
    assert (entry.action, entry.actor_id, entry.after["pack_size"]) == ("insert", admin.id, 400)


@pytest.mark.parametrize("role", ["national_coordinator", "purchasing_officer", "auditor"])
def test_roles_without_catalogue_management_may_not_add_products(session, users, role):
    actor = users.make([role], "SOS")
    before = _product_count(session)
    with pytest.raises(CatalogNotAllowed) as raised:
        services.create_product(session, actor, _data(session))
    assert raised.value.status_code == 403
    assert _product_count(session) == before


def test_an_article_number_another_product_has_is_refused_whatever_its_case(session, users):
    admin = users.make(["administrator"], "SOS")
    with pytest.raises(ProductRejected) as raised:
        services.create_product(session, admin, _data(session, sku="ffp2-cup"))
    assert _fields(raised.value) == {"sku"}
    assert "FFP2-CUP" in raised.value.message


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"pack_size": 0}, "pack_size"),
        ({"pack_size": -20}, "pack_size"),
        ({"pack_size": None}, "pack_size"),
        ({"pack_size": True}, "pack_size"),
        ({"pack_size": 2_000_000}, "pack_size"),
        ({"inner_pack_size": 0}, "inner_pack_size"),
        ({"inner_pack_size": 30}, "inner_pack_size"),
        ({"category_id": 987654}, "category_id"),
        ({"category_id": None}, "category_id"),
        ({"regime": "cosmetic"}, "regime"),
        ({"unit_of_issue": "litre"}, "unit_of_issue"),
        ({"name_sv": "   "}, "name_sv"),
        ({"name_en": ""}, "name_en"),
        ({"standard": ""}, "standard"),
        ({"sku": "FFP2 FOLD"}, "sku"),
        ({"sku": "X" * 33}, "sku"),
    ],
)
def test_a_product_breaking_a_rule_is_refused_naming_the_field_and_nothing_is_added(
    session, users, changes, field
):
    admin = users.make(["administrator"], "SOS")
    before = _product_count(session)
    with pytest.raises(ProductRejected) as raised:
        services.create_product(session, admin, _data(session, **changes))
    assert _fields(raised.value) == {field}
    assert _product_count(session) == before


def test_every_broken_rule_is_reported_at_once(session):
    data = _data(session, sku="FFP2-CUP", pack_size=0, name_en="").normalised()
    assert {p.field for p in product_problems(data)} == {"pack_size", "name_en"}


def test_a_product_keeps_its_own_article_number_when_edited(session, users):
    admin = users.make(["administrator"], "SOS")
    product = _product(session, "IIR-LOOP")
    changed = replace(ProductData.of(product), pack_size=3000, inner_pack_size=50, active=False)

    services.update_product(session, admin, product, changed)
    session.commit()

    product = _product(session, "IIR-LOOP")
    assert (product.pack_size, product.active) == (3000, False)


def test_editing_moves_a_product_to_another_category(session, users):
    admin = users.make(["administrator"], "SOS")
    product = _product(session, "APRON-PE")
    eye = _category(session, "eye_protection")

    services.update_product(session, admin, product, replace(ProductData.of(product), category_id=eye.id))

    assert product.category is eye and product.category_id == eye.id


def test_editing_to_another_products_article_number_is_refused_and_changes_nothing(session, users):
    admin = users.make(["administrator"], "SOS")
    product = _product(session, "IIR-TIE")
    with pytest.raises(ProductRejected) as raised:
        services.update_product(session, admin, product, replace(ProductData.of(product), sku="IIR-LOOP"))
    assert _fields(raised.value) == {"sku"}
    assert product.sku == "IIR-TIE"


@pytest.fixture
def stale_sku_check(monkeypatch):
    """The first uniqueness check misses, as if another administrator saved the SKU just before us."""
    real = services._sku_taken
    calls = []

    def stale_first_check(session_, sku, product):
        calls.append(sku)
        return False if len(calls) == 1 else real(session_, sku, product)

    monkeypatch.setattr(services, "_sku_taken", stale_first_check)
    return calls


def test_a_new_product_with_an_article_number_saved_since_the_check_is_refused_not_crashed(
    session, users, stale_sku_check
):
    admin = users.make(["administrator"], "SOS")
    before = _product_count(session)
    with pytest.raises(ProductRejected) as raised:
        services.create_product(session, admin, _data(session, sku="FFP2-CUP"))
    assert _fields(raised.value) == {"sku"}
    assert len(stale_sku_check) == 2
    assert _product_count(session) == before


def test_an_edit_to_an_article_number_saved_since_the_check_is_refused_and_undone(
    session, users, stale_sku_check
):
    admin = users.make(["administrator"], "SOS")
    product = _product(session, "IIR-TIE")
    changed = replace(ProductData.of(product), sku="IIR-LOOP", pack_size=600)
    with pytest.raises(ProductRejected) as raised:
        services.update_product(session, admin, product, changed)
    assert _fields(raised.value) == {"sku"}
    assert (product.sku, product.pack_size) == ("IIR-TIE", 1000)
    session.commit()
    assert _product(session, "IIR-TIE").pack_size == 1000


def test_reporting_units_in_one_query_are_each_categorys_own_counting_active_products_only(session):
    respirators = _category(session, "respirators")
    for number in range(5):  # outnumber the category's products, but withdrawn
        session.add(
            Product(sku=f"OLD-BOX-{number}", category=respirators, name_sv="Låda", name_en="Box", standard="-",
                    regime="ppe", unit_of_issue="box", pack_size=1, active=False)
        )
    empty = ProductCategory(code="not_stocked_yet", name_sv="Tom", name_en="Empty", standard="-")
    session.add(empty)
    session.flush()
    categories = session.scalars(select(ProductCategory)).all()

    units = services.reporting_units(session, [category.id for category in categories])

    assert units == {category.id: category.reporting_unit for category in categories}
    assert (units[respirators.id], units[empty.id]) == ("piece", "piece")


def test_a_tie_between_units_goes_the_same_way_whatever_the_order_of_the_products():
    # Ties go to the alphabetically first unit, not to a set's order, which varies with the hash seed.
    tied = ["roll", "pair", "litre", "kit", "piece", "box", "bottle", "pack"]
    assert prevailing_unit(tied) == prevailing_unit(tied[::-1]) == "bottle"
    assert prevailing_unit(["pair", "box", "pair", "box"]) == "box"
    assert prevailing_unit(["box", "pair", "box", "pair"]) == "box"
    assert prevailing_unit(["pair", "box", "pair"]) == "pair"
    assert prevailing_unit([]) == "piece"
