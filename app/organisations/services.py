"""Loading and reading the organisation registry."""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.organisations.models import County, Organisation, OrganisationKind

DATA_DIR = Path(__file__).resolve().parent / "data"

AGENCY_CODE = "SOS"
GOVERNMENT_CODE = "RK-S"

# Region Gotland carries out the municipality's tasks too: one organisation, two roles.
REGION_IS_MUNICIPALITY = {"09": "0980"}

_NATIONAL = (
    {
        "code": AGENCY_CODE,
        "kind": OrganisationKind.AGENCY,
        "name": "Socialstyrelsen",
        "seat": "Stockholm",
        "latitude": 59.3326,
        "longitude": 18.0163,
    },
    {
        "code": GOVERNMENT_CODE,
        "kind": OrganisationKind.GOVERNMENT,
        "name": "Regeringskansliet, Socialdepartementet",
        "seat": "Stockholm",
        "latitude": 59.3307,
        "longitude": 18.0654,
    },
)


def county_board_code(county_code: str) -> str:
    return f"LST-{county_code}"


def region_code(county_code: str) -> str:
    return f"REG-{county_code}"


def read_rows(path: Path) -> list[dict]:
    """A CSV whose leading '#' lines name its sources; they are skipped."""
    with path.open(encoding="utf-8", newline="") as handle:
        lines = [line for line in handle if not line.startswith("#")]
    return list(csv.DictReader(lines))


@dataclass
class LoadResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


def _upsert(session: Session, existing: dict, result: LoadResult, model, key: str, values: dict):
    row = existing.get(values[key])
    if row is None:
        row = model(**values)
        session.add(row)
        result.created += 1
        return row
    changed = False
    for field, value in values.items():
        if getattr(row, field) != value:
            setattr(row, field, value)
            changed = True
    if changed:
        result.updated += 1
    else:
        result.unchanged += 1
    return row


def load_reference_data(session: Session, data_dir: Path = DATA_DIR) -> LoadResult:
    """Create or update every county and organisation from the data files. Safe to run again.

    Raises ValueError when a file breaks the invariants (290 municipalities, codes within known counties),
    before anything is written.
    """
    counties = read_rows(data_dir / "counties.csv")
    municipalities = read_rows(data_dir / "municipalities.csv")
    county_codes = {row["county_code"] for row in counties}
    if len(counties) != 21 or len(county_codes) != 21:
        raise ValueError(f"counties.csv must list 21 distinct counties, found {len(county_codes)}")
    codes = [row["municipality_code"] for row in municipalities]
    if len(codes) != 290 or len(set(codes)) != 290:
        raise ValueError(f"municipalities.csv must list 290 distinct municipalities, found {len(set(codes))}")
    strays = sorted(code for code in codes if code[:2] not in county_codes)
    if strays:
        raise ValueError(f"municipality codes outside every county: {', '.join(strays)}")

    result = LoadResult()
    existing_counties = {c.code: c for c in session.scalars(select(County))}
    for row in counties:
        _upsert(
            session,
            existing_counties,
            result,
            County,
            "code",
            {"code": row["county_code"], "name": row["county_name"], "residence_city": row["residence_city"]},
        )
    session.flush()

    existing = {o.code: o for o in session.scalars(select(Organisation))}
    for values in _NATIONAL:
        _upsert(session, existing, result, Organisation, "code", dict(values, kind=str(values["kind"])))
    by_code = {row["municipality_code"]: row for row in municipalities}
    for row in counties:
        cc = row["county_code"]
        coordinates = {"latitude": float(row["latitude"]), "longitude": float(row["longitude"])}
        _upsert(
            session,
            existing,
            result,
            Organisation,
            "code",
            {
                "code": county_board_code(cc),
                "kind": str(OrganisationKind.COUNTY_BOARD),
                "name": row["county_board_name"],
                "county_code": cc,
                "seat": row["residence_city"],
                **coordinates,
            },
        )
        region = {
            "code": region_code(cc),
            "kind": str(OrganisationKind.REGION),
            "name": row["region_name"],
            "county_code": cc,
            "seat": row["residence_city"],
            "municipality_code": None,
            "population": None,
            **coordinates,
        }
        if cc in REGION_IS_MUNICIPALITY:
            municipality = by_code[REGION_IS_MUNICIPALITY[cc]]
            region.update(_municipality_values(municipality))
            region.pop("code")
            region.update(code=region_code(cc), kind=str(OrganisationKind.REGION), name=row["region_name"])
        _upsert(session, existing, result, Organisation, "code", region)
    for code, row in by_code.items():
        if code in REGION_IS_MUNICIPALITY.values():
            continue
        values = _municipality_values(row)
        values.update(code=code, kind=str(OrganisationKind.MUNICIPALITY))
        _upsert(session, existing, result, Organisation, "code", values)
    session.flush()
    return result


def _municipality_values(row: dict) -> dict:
    return {
        "name": row["name"],
        "county_code": row["municipality_code"][:2],
        "municipality_code": row["municipality_code"],
        "population": int(row["population"]),
        "seat": row["seat"],
        "latitude": float(row["latitude"]),
        "longitude": float(row["longitude"]),
    }


def display_name(organisation: Organisation) -> str:
    """Municipalities are called "X kommun" in Swedish; the registry keeps the bare name."""
    if organisation.kind == OrganisationKind.MUNICIPALITY:
        return f"{organisation.name} kommun"
    return organisation.name


def population_of(session: Session, organisation: Organisation) -> int | None:
    """A municipality's own population; a region's or county board's is its county's, derived."""
    if organisation.kind in (OrganisationKind.REGION, OrganisationKind.COUNTY_BOARD):
        return session.scalar(
            select(func.coalesce(func.sum(Organisation.population), 0)).where(
                Organisation.county_code == organisation.county_code,
                Organisation.municipality_code.is_not(None),
            )
        )
    if organisation.is_national:
        return session.scalar(
            select(func.coalesce(func.sum(Organisation.population), 0)).where(
                Organisation.municipality_code.is_not(None)
            )
        )
    return organisation.population


def county_members(session: Session, organisation: Organisation, scope_filter) -> list[Organisation]:
    """The other organisations of a county board's or region's county that the viewer may see."""
    if organisation.county_code is None or organisation.kind not in (
        OrganisationKind.COUNTY_BOARD,
        OrganisationKind.REGION,
    ):
        return []
    return list(
        session.scalars(
            select(Organisation)
            .where(
                Organisation.county_code == organisation.county_code,
                Organisation.id != organisation.id,
                scope_filter,
            )
            .order_by(Organisation.kind, Organisation.code)
        )
    )
