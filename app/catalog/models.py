"""The product catalogue: categories of protective equipment and sampling material, and their products."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, utcnow


class RegulatoryRegime(StrEnum):
    """The EU rules a product is placed on the market under: who surveys it and what a buyer checks."""

    PPE = "ppe"  # personlig skyddsutrustning, Regulation (EU) 2016/425; Arbetsmiljöverket
    MEDICAL_DEVICE = "medical_device"  # medicinteknisk produkt, MDR (EU) 2017/745; Läkemedelsverket
    BIOCIDE = "biocide"  # biocidprodukt, BPR (EU) 528/2012; Kemikalieinspektionen
    IVD = "ivd"  # in vitro-diagnostik, IVDR (EU) 2017/746; Läkemedelsverket

    @property
    def label(self) -> str:
        return str(REGIME_LABELS[self])

    @property
    def legal_basis(self) -> str:
        return str(REGIME_LEGAL_BASIS[self])


REGIME_LABELS = {
    RegulatoryRegime.PPE: _l("Personal protective equipment"),
    RegulatoryRegime.MEDICAL_DEVICE: _l("Medical device"),
    RegulatoryRegime.BIOCIDE: _l("Biocidal product"),
    RegulatoryRegime.IVD: _l("In vitro diagnostic"),
}

REGIME_LEGAL_BASIS = {
    RegulatoryRegime.PPE: _l("Regulation (EU) 2016/425 on personal protective equipment"),
    RegulatoryRegime.MEDICAL_DEVICE: _l("Regulation (EU) 2017/745 on medical devices (MDR)"),
    RegulatoryRegime.BIOCIDE: _l("Regulation (EU) 528/2012 on biocidal products (BPR)"),
    RegulatoryRegime.IVD: _l("Regulation (EU) 2017/746 on in vitro diagnostic medical devices (IVDR)"),
}


class UnitOfIssue(StrEnum):
    """The unit stock is counted, requested and allocated in."""

    PIECE = "piece"
    PAIR = "pair"
    BOTTLE = "bottle"
    KIT = "kit"
    BOX = "box"

    @property
    def label(self) -> str:
        return str(UNIT_LABELS[self])


UNIT_LABELS = {
    UnitOfIssue.PIECE: _l("piece"),
    UnitOfIssue.PAIR: _l("pair"),
    UnitOfIssue.BOTTLE: _l("bottle"),
    UnitOfIssue.KIT: _l("kit"),
    UnitOfIssue.BOX: _l("box"),
}

MAX_PACK_SIZE = 1_000_000


def _in(values) -> str:
    return ", ".join(f"'{value}'" for value in values)


class ProductCategory(Base):
    """A product category, e.g. respirators (andningsskydd); need and stock are reported per category."""

    __tablename__ = "product_categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name_sv: Mapped[str] = mapped_column(String(120))
    name_en: Mapped[str] = mapped_column(String(120))
    standard: Mapped[str] = mapped_column(String(200))
    description_sv: Mapped[str] = mapped_column(Text, default="")
    description_en: Mapped[str] = mapped_column(Text, default="")
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    products: Mapped[list[Product]] = relationship(back_populates="category", order_by="Product.sku")

    def name_in(self, locale: str) -> str:
        return self.name_en if str(locale).startswith("en") else self.name_sv

    @property
    def reporting_unit(self) -> str:
        """The unit need and stock are counted in: the unit of issue most of its active products use."""
        return prevailing_unit([p.unit_of_issue for p in self.products if p.active])

    def description_in(self, locale: str) -> str:
        return self.description_en if str(locale).startswith("en") else self.description_sv

    def __repr__(self) -> str:
        return f"<ProductCategory {self.code}>"


def prevailing_unit(units: list[str]) -> str:
    """The unit most of a category's active products are issued in (their ``units``); "piece" when none.

    A tie goes to the unit first in alphabetical order: never to the order of a set, which differs between
    processes (string hashing), so that every worker counts a category in the same unit.
    """
    return max(sorted(set(units)), key=units.count) if units else "piece"


class Product(Base):
    """One product as it is requested and allocated: a category, a unit of issue and a carton size.

    ``pack_size`` is the number of units of issue in one carton (transportkartong), the smallest quantity the
    national stock ships; ``inner_pack_size``, when given, is the units in one inner box or dispenser and
    divides ``pack_size``.
    """

    __tablename__ = "products"
    __table_args__ = (
        CheckConstraint("pack_size > 0", name="pack_size_positive"),
        CheckConstraint(
            "inner_pack_size IS NULL OR (inner_pack_size > 0 AND pack_size % inner_pack_size = 0)",
            name="inner_pack_size_divides_pack_size",
        ),
        CheckConstraint(f"regime IN ({_in(RegulatoryRegime)})", name="regime"),
        CheckConstraint(f"unit_of_issue IN ({_in(UnitOfIssue)})", name="unit_of_issue"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(String(32), unique=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("product_categories.id"), index=True)
    name_sv: Mapped[str] = mapped_column(String(160))
    name_en: Mapped[str] = mapped_column(String(160))
    standard: Mapped[str] = mapped_column(String(200))
    regime: Mapped[str] = mapped_column(String(20), index=True)
    unit_of_issue: Mapped[str] = mapped_column(String(16))
    pack_size: Mapped[int] = mapped_column(Integer)
    inner_pack_size: Mapped[int | None] = mapped_column(Integer)
    variant: Mapped[str | None] = mapped_column(String(40))
    active: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    category: Mapped[ProductCategory] = relationship(back_populates="products", lazy="joined")

    @property
    def regulatory_regime(self) -> RegulatoryRegime:
        return RegulatoryRegime(self.regime)

    @property
    def unit(self) -> UnitOfIssue:
        return UnitOfIssue(self.unit_of_issue)

    @property
    def is_medical_device(self) -> bool:
        return self.regime == RegulatoryRegime.MEDICAL_DEVICE

    @property
    def is_ppe(self) -> bool:
        return self.regime == RegulatoryRegime.PPE

    def name_in(self, locale: str) -> str:
        name = self.name_en if str(locale).startswith("en") else self.name_sv
        return f"{name} ({self.variant})" if self.variant else name

    def __repr__(self) -> str:
        return f"<Product {self.sku}>"
