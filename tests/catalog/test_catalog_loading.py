"""Loading the starter catalogue: the categories and products the issue asks for, idempotently."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from app.audit.models import AuditEntry
from app.catalog.models import Product, ProductCategory, RegulatoryRegime, UnitOfIssue
from app.catalog.services import DATA_FILE, load_catalog

REQUIRED_CATEGORIES = {
    "respirators",
    "surgical_masks",
    "eye_protection",
    "gloves",
    "gowns_aprons",
    "hand_disinfectant",
    "sampling",
}


def _products(session) -> dict[str, Product]:
    return {p.sku: p for p in session.scalars(select(Product))}


def _catalogue_audit_count(session) -> int:
    return session.scalar(
        select(func.count()).where(AuditEntry.table_name.in_(["products", "product_categories"]))
    )


def _write(tmp_path, document) -> object:
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def _starter() -> dict:
    return json.loads(DATA_FILE.read_text(encoding="utf-8"))


def test_the_starter_catalogue_has_every_category_the_issue_names(session):
    categories = {c.code: c for c in session.scalars(select(ProductCategory))}
    assert REQUIRED_CATEGORIES <= set(categories)
    assert categories["respirators"].name_sv.startswith("Andningsskydd")
    assert "EN 149" in categories["respirators"].standard
    assert "EN 14683" in categories["surgical_masks"].standard
    assert "EN 166" in categories["eye_protection"].standard
    assert "EN 455" in categories["gloves"].standard and "EN ISO 374" in categories["gloves"].standard
    assert (
        "EN 14126" in categories["gowns_aprons"].standard
        and "EN 13795" in categories["gowns_aprons"].standard
    )


def test_the_starter_catalogue_has_the_products_the_issue_names_with_real_pack_sizes(session):
    products = _products(session)
    by_category: dict[str, list[Product]] = {}
    for product in products.values():
        by_category.setdefault(product.category.code, []).append(product)
    assert set(by_category) == REQUIRED_CATEGORIES
    assert len(products) >= 20

    respirators = by_category["respirators"]
    assert any("FFP2" in p.standard for p in respirators) and any("FFP3" in p.standard for p in respirators)
    assert all(p.regime == RegulatoryRegime.PPE and "EN 149" in p.standard for p in respirators)

    iir = products["IIR-LOOP"]
    assert (iir.regime, iir.inner_pack_size, iir.pack_size) == (RegulatoryRegime.MEDICAL_DEVICE, 50, 2000)
    assert "IIR" in iir.standard and "EN 14683" in iir.standard

    assert all("EN 166" in p.standard for p in by_category["eye_protection"])

    exam_gloves = [
        p for p in by_category["gloves"] if p.sku.startswith("GLV-NIT-") and "EN 455" in p.standard
    ]
    assert {p.variant for p in exam_gloves} == {"S", "M", "L", "XL"}
    assert {(p.inner_pack_size, p.pack_size, p.unit_of_issue) for p in exam_gloves} == {(100, 1000, "piece")}
    # Gloves can be either regime, so the regime is per product.
    assert {p.regime for p in by_category["gloves"]} == {
        RegulatoryRegime.MEDICAL_DEVICE,
        RegulatoryRegime.PPE,
    }

    gown_standards = " ".join(p.standard for p in by_category["gowns_aprons"])
    assert "EN 14126" in gown_standards and "EN 13795" in gown_standards
    assert any("apron" in p.name_en.lower() for p in by_category["gowns_aprons"])

    bottle = products["HANDDES-500"]
    assert (bottle.regime, bottle.unit_of_issue, bottle.pack_size) == (RegulatoryRegime.BIOCIDE, "bottle", 12)

    kit = products["SAMPLE-NP"]
    assert (kit.regime, kit.unit_of_issue, kit.pack_size) == (RegulatoryRegime.IVD, "kit", 50)


def test_every_starter_product_has_a_unit_a_carton_size_a_standard_and_a_regime(session):
    for product in _products(session).values():
        assert product.unit_of_issue in set(UnitOfIssue), product.sku
        assert product.pack_size > 0, product.sku
        assert product.inner_pack_size is None or product.pack_size % product.inner_pack_size == 0, (
            product.sku
        )
        assert product.standard and product.name_sv and product.name_en, product.sku
        assert product.regime in set(RegulatoryRegime), product.sku
        assert product.active


def test_the_starter_file_says_where_its_figures_come_from():
    document = _starter()
    assert document["source"].strip() and document["note"].strip()


def test_loading_again_changes_nothing_and_writes_no_audit_entries(session):
    before = _catalogue_audit_count(session)
    result = load_catalog(session)
    session.commit()
    assert (result.categories.created, result.categories.updated) == (0, 0)
    assert (result.products.created, result.products.updated) == (0, 0)
    assert result.products.unchanged == len(_starter()["products"])
    assert result.categories.unchanged == len(_starter()["categories"])
    assert _catalogue_audit_count(session) == before


def test_loading_restores_the_files_figures_and_leaves_products_added_in_the_ui_alone(session):
    products = _products(session)
    products["FFP2-CUP"].pack_size = 480
    gloves = session.scalar(select(ProductCategory).where(ProductCategory.code == "gloves"))
    session.add(
        Product(
            sku="GLV-VINYL-M",
            category=gloves,
            name_sv="Undersökningshandske vinyl",
            name_en="Examination glove, vinyl",
            standard="EN 455-1:2020",
            regime="medical_device",
            unit_of_issue="piece",
            pack_size=1000,
            variant="M",
        )
    )
    session.commit()

    result = load_catalog(session)
    session.commit()

    assert result.products.updated == 1 and result.products.created == 0
    products = _products(session)
    assert products["FFP2-CUP"].pack_size == 240
    assert products["GLV-VINYL-M"].pack_size == 1000


def test_a_file_with_a_bad_product_is_refused_before_anything_is_written(session, tmp_path):
    document = _starter()
    document["categories"].append(
        {
            "code": "ventilators",
            "name_sv": "Ventilatorer",
            "name_en": "Ventilators",
            "standard": "ISO 80601-2-12",
        }
    )
    document["products"][0]["pack_size"] = 0
    document["products"].append(dict(document["products"][1]))  # the same SKU twice
    document["products"].append(dict(document["products"][2], sku="NEW-1", category="no_such_category"))
    document["products"].append(dict(document["products"][3], sku="NEW-2", regime="cosmetic"))
    path = _write(tmp_path, document)

    with pytest.raises(ValueError) as raised:
        load_catalog(session, path)

    message = str(raised.value)
    assert "products[0] (FFP2-CUP): pack_size" in message
    assert "SKU appears twice" in message
    assert "unknown category 'no_such_category'" in message
    assert "(NEW-2): regime" in message
    assert session.scalar(select(ProductCategory).where(ProductCategory.code == "ventilators")) is None
    assert _products(session)["FFP2-CUP"].pack_size == 240


@pytest.mark.parametrize(
    "content",
    ["not json at all", "[]", json.dumps({"categories": [], "products": []}), json.dumps({"source": "x"})],
    ids=["unparseable", "not-an-object", "no-source-no-categories", "no-categories"],
)
def test_a_malformed_file_is_refused_with_a_value_error(session, tmp_path, content):
    path = tmp_path / "catalog.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError):
        load_catalog(session, path)


def test_the_load_command_commits_as_cli_and_reports_counts(session, runner, tmp_path):
    document = _starter()
    document["products"].append(
        {
            "sku": "FFP2-FOLD-XS",
            "category": "respirators",
            "name_sv": "Andningsskydd FFP2, vikbart, liten storlek",
            "name_en": "Respirator FFP2, fold-flat, small size",
            "standard": "EN 149:2001+A1:2009 FFP2 NR",
            "regime": "ppe",
            "unit_of_issue": "piece",
            "inner_pack_size": 20,
            "pack_size": 400,
            "variant": "S",
        }
    )
    result = runner.invoke(args=["catalog", "load", "--file", str(_write(tmp_path, document))])

    assert result.exit_code == 0, result.output
    assert "Categories: 0 created, 0 updated, 7 unchanged" in result.output
    assert f"Products: 1 created, 0 updated, {len(document['products']) - 1} unchanged" in result.output
    product = _products(session)["FFP2-FOLD-XS"]
    entry = session.scalar(
        select(AuditEntry).where(AuditEntry.table_name == "products", AuditEntry.row_key == str(product.id))
    )
    assert (entry.action, entry.actor_label) == ("insert", "cli")


def test_the_load_command_reports_a_bad_file_and_fails(runner, tmp_path):
    result = runner.invoke(args=["catalog", "load", "--file", str(_write(tmp_path, {"source": "x"}))])
    assert result.exit_code != 0
    assert "'categories' must be a non-empty list" in result.output


def test_loading_moves_a_product_back_to_the_category_the_file_gives(session):
    product = _products(session)["APRON-PE"]
    product.category = session.scalar(select(ProductCategory).where(ProductCategory.code == "eye_protection"))
    session.commit()

    result = load_catalog(session)

    assert result.products.updated == 1
    assert product.category.code == "gowns_aprons"
    session.commit()
    assert _products(session)["APRON-PE"].category.code == "gowns_aprons"
