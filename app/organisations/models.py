"""Sweden's organisations: the national agency, county boards, regions and municipalities."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, utcnow


class OrganisationKind(StrEnum):
    AGENCY = "agency"  # Socialstyrelsen, the national agency
    GOVERNMENT = "government"  # Regeringskansliet, Socialdepartementet: reads situation reports
    COUNTY_BOARD = "county_board"  # länsstyrelse
    REGION = "region"  # region (healthcare)
    MUNICIPALITY = "municipality"  # kommun


class County(Base):
    """A county (län), identified by its two-digit länskod."""

    __tablename__ = "counties"

    code: Mapped[str] = mapped_column(String(2), primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    residence_city: Mapped[str] = mapped_column(String(80))

    organisations: Mapped[list[Organisation]] = relationship(back_populates="county")


class Organisation(Base):
    """One organisation that reports, buys, receives or coordinates.

    Region Gotland is one organisation that is both a region and a municipality: its kind is ``region`` and it
    carries the municipality code 0980, so it counts among the 21 regions and the 290 municipalities alike.
    """

    __tablename__ = "organisations"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('agency', 'government', 'county_board', 'region', 'municipality')", name="kind"
        ),
        CheckConstraint(
            "kind != 'municipality' OR municipality_code IS NOT NULL", name="municipality_has_code"
        ),
        CheckConstraint("population IS NULL OR population >= 0", name="population_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    kind: Mapped[str] = mapped_column(String(20), index=True)
    name: Mapped[str] = mapped_column(String(120))
    county_code: Mapped[str | None] = mapped_column(ForeignKey("counties.code"), index=True)
    municipality_code: Mapped[str | None] = mapped_column(String(4), unique=True)
    population: Mapped[int | None] = mapped_column(Integer)
    seat: Mapped[str | None] = mapped_column(String(80))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    organisation_number: Mapped[str | None] = mapped_column(String(11))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    county: Mapped[County | None] = relationship(back_populates="organisations")

    @property
    def is_municipality(self) -> bool:
        return self.municipality_code is not None

    @property
    def is_region(self) -> bool:
        return self.kind == OrganisationKind.REGION

    @property
    def is_national(self) -> bool:
        return self.kind in (OrganisationKind.AGENCY, OrganisationKind.GOVERNMENT)

    def __repr__(self) -> str:
        return f"<Organisation {self.code} {self.name}>"
