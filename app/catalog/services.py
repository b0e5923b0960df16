"""The catalogue's rules: loading the starter catalogue, adding and changing products. Services only flush."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from pathlib import Path

from flask_babel import force_locale, format_decimal
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.auth.roles import Permission, permissions_of
from app.catalog.models import (
    MAX_PACK_SIZE,
    Product,
    ProductCategory,
    RegulatoryRegime,
    UnitOfIssue,
    prevailing_unit,
)
from app.config import babel_locale
from app.errors import DomainError

DATA_FILE = Path(__file__).resolve().parent / "data" / "catalog.json"

SKU_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9._-]*$")
CATEGORY_CODE_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
MAX_LENGTHS = {"sku": 32, "name_sv": 160, "name_en": 160, "standard": 200, "variant": 40}


class CatalogError(DomainError):
    """A product or category breaks a rule of the catalogue."""


class CatalogNotAllowed(CatalogError):
    """The acting user's roles do not include managing the catalogue."""

    status_code = 403


class ProductRejected(CatalogError):
    """One or more fields of a product break the rules; ``errors`` holds one CatalogError per problem."""

    def __init__(self, errors: list[CatalogError]):
        super().__init__(errors[0].message, field=errors[0].field)
        self.errors = errors


@dataclass(frozen=True)
class ProductData:
    """What an administrator (or the starter file) says about a product, before the rules are checked."""

    sku: str
    category_id: int | None
    name_sv: str
    name_en: str
    standard: str
    regime: str
    unit_of_issue: str
    pack_size: int | None
    inner_pack_size: int | None = None
    variant: str | None = None
    active: bool = True

    def normalised(self) -> ProductData:
        """Surrounding blanks removed, the SKU upper-cased, an empty variant as None."""
        return ProductData(
            sku=(self.sku or "").strip().upper(),
            category_id=self.category_id,
            name_sv=(self.name_sv or "").strip(),
            name_en=(self.name_en or "").strip(),
            standard=(self.standard or "").strip(),
            regime=(self.regime or "").strip(),
            unit_of_issue=(self.unit_of_issue or "").strip(),
            pack_size=self.pack_size,
            inner_pack_size=self.inner_pack_size,
            variant=(self.variant or "").strip() or None,
            active=bool(self.active),
        )

    @classmethod
    def of(cls, product: Product) -> ProductData:
        return cls(**{f.name: getattr(product, f.name) for f in fields(cls)})


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _too_large(field_name: str) -> CatalogError:
    return CatalogError(_("At most %(max)s units.", max=format_decimal(MAX_PACK_SIZE)), field=field_name)


def product_problems(data: ProductData) -> list[CatalogError]:
    """The rules a product must meet on its own, without looking at the database. ``data`` is normalised."""
    problems: list[CatalogError] = []
    if not data.sku:
        problems.append(CatalogError(_("Enter the article number (SKU)."), field="sku"))
    elif not SKU_PATTERN.match(data.sku):
        problems.append(
            CatalogError(
                _("Use only letters A–Z, digits, hyphen, dot and underscore in the article number."),
                field="sku",
            )
        )
    for name, message in (
        ("name_sv", _("Enter the Swedish name.")),
        ("name_en", _("Enter the English name.")),
        ("standard", _("Enter the standard the product meets.")),
    ):
        if not getattr(data, name):
            problems.append(CatalogError(message, field=name))
    for name, limit in MAX_LENGTHS.items():
        value = getattr(data, name)
        if value and len(value) > limit:
            problems.append(CatalogError(_("At most %(n)s characters.", n=limit), field=name))
    if data.category_id is None:
        problems.append(CatalogError(_("Choose a category."), field="category_id"))
    if data.regime not in set(RegulatoryRegime):
        problems.append(CatalogError(_("Choose a regulatory regime."), field="regime"))
    if data.unit_of_issue not in set(UnitOfIssue):
        problems.append(CatalogError(_("Choose a unit of issue."), field="unit_of_issue"))
    pack_ok = _is_int(data.pack_size) and 0 < data.pack_size <= MAX_PACK_SIZE
    if not _is_int(data.pack_size) or data.pack_size <= 0:
        problems.append(CatalogError(_("The pack size must be a whole number above 0."), field="pack_size"))
    elif data.pack_size > MAX_PACK_SIZE:
        problems.append(_too_large("pack_size"))
    if data.inner_pack_size is not None:
        if not _is_int(data.inner_pack_size) or data.inner_pack_size <= 0:
            problems.append(
                CatalogError(
                    _("The inner pack size must be a whole number above 0."), field="inner_pack_size"
                )
            )
        elif data.inner_pack_size > MAX_PACK_SIZE:
            problems.append(_too_large("inner_pack_size"))
        elif pack_ok and data.pack_size % data.inner_pack_size != 0:
            problems.append(
                CatalogError(
                    _(
                        "A carton holds whole inner packs: %(pack)s is not a multiple of %(inner)s.",
                        pack=data.pack_size,
                        inner=data.inner_pack_size,
                    ),
                    field="inner_pack_size",
                )
            )
    return problems


def _sku_taken(session: Session, sku: str, product: Product | None) -> bool:
    stmt = select(Product.id).where(func.upper(Product.sku) == sku)
    if product is not None and product.id is not None:
        stmt = stmt.where(Product.id != product.id)
    return session.scalar(stmt.limit(1)) is not None


def _duplicate_sku(sku: str) -> CatalogError:
    return CatalogError(_("Another product already has the article number %(sku)s.", sku=sku), field="sku")


def _checked(
    session: Session, actor, data: ProductData, product: Product | None
) -> tuple[ProductData, ProductCategory]:
    if actor is None or Permission.MANAGE_CATALOG not in permissions_of(getattr(actor, "roles", ())):
        raise CatalogNotAllowed(_("Your role does not allow changing the product catalogue."))
    data = data.normalised()
    problems = product_problems(data)
    category = session.get(ProductCategory, data.category_id) if data.category_id is not None else None
    if data.category_id is not None and category is None:
        problems.append(CatalogError(_("Choose a category."), field="category_id"))
    if data.sku and not any(p.field == "sku" for p in problems) and _sku_taken(session, data.sku, product):
        problems.append(_duplicate_sku(data.sku))
    if problems:
        raise ProductRejected(problems)
    return data, category


@contextmanager
def _saved_guarding_sku(session: Session, sku: str, product: Product | None):
    """Make the block's changes and flush them in a savepoint, so that a product saved with the same SKU since
    our check (another administrator, a moment earlier) is reported beside the field instead of failing."""
    try:
        with session.begin_nested():
            yield
            session.flush()
    except IntegrityError:
        # The savepoint's rollback undid the block's changes, so this query cannot flush them again.
        if _sku_taken(session, sku, product):
            raise ProductRejected([_duplicate_sku(sku)]) from None
        raise


def create_product(session: Session, actor, data: ProductData) -> Product:
    """Add a product to the catalogue. Flushes; the caller commits.

    Raises CatalogNotAllowed when ``actor`` may not manage the catalogue and ProductRejected (one error per
    field) for a missing or malformed field, an unknown category or regime, a pack size that is not a
    positive whole number, or an article number (SKU) another product already has. Nothing is added when it
    raises.
    """
    data, category = _checked(session, actor, data, None)
    with _saved_guarding_sku(session, data.sku, None):
        product = Product(**{f.name: getattr(data, f.name) for f in fields(ProductData)})
        session.add(product)
        product.category = category
    return product


def update_product(session: Session, actor, product: Product, data: ProductData) -> Product:
    """Change a product. Flushes; the caller commits. Raises as :func:`create_product`; the product is left
    as it was when it raises."""
    data, category = _checked(session, actor, data, product)
    with _saved_guarding_sku(session, data.sku, product):
        for f in fields(ProductData):
            value = getattr(data, f.name)
            if getattr(product, f.name) != value:
                setattr(product, f.name, value)
        if product.category is not category:
            product.category = category
    return product


def ordered_categories(session: Session) -> list[ProductCategory]:
    return list(
        session.scalars(select(ProductCategory).order_by(ProductCategory.sort_order, ProductCategory.code))
    )


def active_product_counts(session: Session) -> dict[int, int]:
    """Active products per category id."""
    rows = session.execute(
        select(Product.category_id, func.count())
        .where(Product.active.is_(True))
        .group_by(Product.category_id)
    )
    return {category_id: count for category_id, count in rows}


def reporting_units(session: Session, category_ids: Iterable[int]) -> dict[int, str]:
    """Each category's reporting unit (as ``ProductCategory.reporting_unit``) by id, from one query.

    Reads only the products' units: for a page of several categories, loading their products to count them
    costs more than the rest of its queries.
    """
    ids = list(category_ids)
    units: dict[int, list[str]] = {category_id: [] for category_id in ids}
    rows = session.execute(
        select(Product.category_id, Product.unit_of_issue)
        .where(Product.active.is_(True), Product.category_id.in_(ids))
        .order_by(Product.sku)  # the order the relationship gives, so that ties go the same way
    )
    for category_id, unit in rows:
        units[category_id].append(unit)
    return {category_id: prevailing_unit(found) for category_id, found in units.items()}


# Loading the starter catalogue ------------------------------------------------------------------------


@dataclass
class LoadCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def __str__(self) -> str:
        return f"{self.created} created, {self.updated} updated, {self.unchanged} unchanged"


@dataclass
class CatalogLoadResult:
    categories: LoadCounts = field(default_factory=LoadCounts)
    products: LoadCounts = field(default_factory=LoadCounts)


_CATEGORY_TEXT = ("name_sv", "name_en", "standard", "description_sv", "description_en")
_PRODUCT_KEYS = {
    "sku",
    "category",
    "name_sv",
    "name_en",
    "standard",
    "regime",
    "unit_of_issue",
    "pack_size",
    "inner_pack_size",
    "variant",
    "active",
}


def _read_catalog_file(path: Path) -> dict:
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{path}: cannot be read as JSON: {error}") from None
    if not isinstance(document, dict):
        raise ValueError(f"{path}: the top level must be an object")
    return document


def _validated_categories(document: dict) -> tuple[list[dict], list[str]]:
    problems: list[str] = []
    categories = document.get("categories")
    if not isinstance(categories, list) or not categories:
        return [], ["'categories' must be a non-empty list"]
    seen: set[str] = set()
    clean = []
    for index, raw in enumerate(categories):
        where = f"categories[{index}]"
        if not isinstance(raw, dict):
            problems.append(f"{where}: must be an object")
            continue
        code = raw.get("code")
        if not isinstance(code, str) or not CATEGORY_CODE_PATTERN.match(code):
            problems.append(f"{where}: 'code' must be lower-case letters, digits and underscores")
            continue
        if code in seen:
            problems.append(f"{where}: category code {code!r} appears twice")
        seen.add(code)
        values = {"code": code}
        for key in _CATEGORY_TEXT:
            value = raw.get(key, "")
            if not isinstance(value, str) or (
                key in ("name_sv", "name_en", "standard") and not value.strip()
            ):
                problems.append(f"{where} ({code}): '{key}' must be a non-empty text")
                value = ""
            values[key] = value.strip()
        sort_order = raw.get("sort_order", 0)
        if not _is_int(sort_order):
            problems.append(f"{where} ({code}): 'sort_order' must be a whole number")
            sort_order = 0
        values["sort_order"] = sort_order
        clean.append(values)
    return clean, problems


def _validated_products(
    document: dict, category_codes: set[str]
) -> tuple[list[tuple[str, ProductData]], list[str]]:
    problems: list[str] = []
    products = document.get("products")
    if not isinstance(products, list):
        return [], ["'products' must be a list"]
    seen: set[str] = set()
    clean = []
    for index, raw in enumerate(products):
        where = f"products[{index}]"
        if not isinstance(raw, dict):
            problems.append(f"{where}: must be an object")
            continue
        unknown = set(raw) - _PRODUCT_KEYS
        if unknown:
            problems.append(f"{where}: unknown keys {', '.join(sorted(unknown))}")
        texts = {
            key: raw.get(key)
            for key in ("sku", "name_sv", "name_en", "standard", "regime", "unit_of_issue", "variant")
        }
        bad_text = [key for key, value in texts.items() if value is not None and not isinstance(value, str)]
        if bad_text:
            problems.append(f"{where}: {', '.join(bad_text)} must be text")
            continue
        data = ProductData(
            sku=texts["sku"],
            category_id=0,  # resolved from the category code once categories are written
            name_sv=texts["name_sv"],
            name_en=texts["name_en"],
            standard=texts["standard"],
            regime=texts["regime"],
            unit_of_issue=texts["unit_of_issue"],
            pack_size=raw.get("pack_size"),
            inner_pack_size=raw.get("inner_pack_size"),
            variant=texts["variant"],
            active=raw.get("active", True),
        ).normalised()
        label = f"{where} ({data.sku or 'no SKU'})"
        if not isinstance(raw.get("active", True), bool):
            problems.append(f"{label}: 'active' must be true or false")
        for problem in product_problems(data):
            problems.append(f"{label}: {problem.field}: {problem.message}")
        if data.sku in seen:
            problems.append(f"{label}: SKU appears twice")
        seen.add(data.sku)
        code = raw.get("category")
        if code not in category_codes:
            problems.append(f"{label}: unknown category {code!r}")
        clean.append((code, data))
    return clean, problems


def _apply(row, values: dict, counts: LoadCounts) -> None:
    changed = False
    for key, value in values.items():
        if getattr(row, key) != value:
            setattr(row, key, value)
            changed = True
    if changed:
        counts.updated += 1
    else:
        counts.unchanged += 1


def load_catalog(session: Session, path: Path = DATA_FILE) -> CatalogLoadResult:
    """Create or update the categories (by code) and products (by SKU) of the starter catalogue file.

    Safe to run again: a second run reports everything unchanged. Products not in the file (added in the UI)
    are left alone. Raises ValueError listing every problem when the file is unreadable or breaks the rules,
    before anything is written. Flushes; the caller commits.
    """
    document = _read_catalog_file(path)
    problems = []
    if not isinstance(document.get("source"), str) or not document["source"].strip():
        problems.append("'source' must say where the figures come from")
    categories, category_problems = _validated_categories(document)
    existing_codes = set(session.scalars(select(ProductCategory.code)))
    # The file's problems go to whoever runs the load (a CLI, a deploy script): in English, whatever the UI's
    # language, and without asking a request for the user's locale.
    with force_locale(babel_locale("en")):
        products, products_problems = _validated_products(
            document, existing_codes | {c["code"] for c in categories}
        )
    problems += category_problems + products_problems
    if problems:
        raise ValueError(f"{path}: " + "; ".join(problems))

    result = CatalogLoadResult()
    by_code = {c.code: c for c in session.scalars(select(ProductCategory))}
    for values in categories:
        row = by_code.get(values["code"])
        if row is None:
            row = by_code[values["code"]] = ProductCategory(**values)
            session.add(row)
            result.categories.created += 1
        else:
            _apply(row, values, result.categories)
    session.flush()

    by_sku = {p.sku: p for p in session.scalars(select(Product))}
    for code, data in products:
        values = {f.name: getattr(data, f.name) for f in fields(ProductData) if f.name != "category_id"}
        row = by_sku.get(data.sku)
        if row is None:
            row = Product(**values)
            session.add(row)
            row.category = by_code[code]
            result.products.created += 1
        else:
            _apply(row, {**values, "category": by_code[code]}, result.products)
    session.flush()
    return result
