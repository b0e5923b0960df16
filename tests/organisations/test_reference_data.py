"""The organisation registry holds Sweden's real organisations, loaded idempotently."""
from __future__ import annotations

import shutil

import pytest
from sqlalchemy import func, select

from app.organisations.models import County, Organisation, OrganisationKind
from app.organisations.services import DATA_DIR, load_reference_data, read_rows
from tests.conftest import organisation


def _count(session, *where):
    return session.scalar(select(func.count()).select_from(Organisation).where(*where))


def test_there_are_exactly_290_municipalities_21_regions_and_21_county_boards(session):
    assert _count(session, Organisation.municipality_code.is_not(None)) == 290
    assert _count(session, Organisation.kind == OrganisationKind.REGION) == 21
    assert _count(session, Organisation.kind == OrganisationKind.COUNTY_BOARD) == 21
    assert _count(session, Organisation.kind == OrganisationKind.AGENCY) == 1
    assert session.scalar(select(func.count()).select_from(County)) == 21


def test_every_municipality_lies_in_the_county_its_code_names(session):
    municipalities = session.scalars(select(Organisation).where(Organisation.municipality_code.is_not(None)))
    for municipality in municipalities:
        assert municipality.county_code == municipality.municipality_code[:2], municipality.name


def test_every_county_has_one_board_and_one_region(session):
    for county in session.scalars(select(County)):
        kinds = sorted(o.kind for o in county.organisations if o.kind in ("county_board", "region"))
        assert kinds == ["county_board", "region"], county.name


def test_region_gotland_is_both_the_region_and_the_municipality_0980(session):
    gotland = organisation("0980")
    assert gotland.kind == OrganisationKind.REGION
    assert gotland.code == "REG-09"
    assert gotland.name == "Region Gotland"
    assert gotland.is_region and gotland.is_municipality
    assert gotland.seat == "Visby"
    assert _count(session, Organisation.county_code == "09") == 2  # the county board and Region Gotland


def test_known_municipalities_have_their_real_codes_counties_and_seats(session):
    assert organisation("0180").name == "Stockholm"
    assert organisation("1480").name == "Göteborg"
    assert organisation("2281").name == "Sundsvall"
    assert organisation("1480").county.name == "Västra Götalands län"
    assert organisation("0114").name == "Upplands Väsby"
    assert organisation("2584").name == "Kiruna"


def test_populations_add_up_to_sweden_and_coordinates_lie_in_sweden(session):
    total = session.scalar(select(func.sum(Organisation.population)).where(Organisation.municipality_code.is_not(None)))
    assert 10_300_000 < total < 10_700_000
    for municipality in session.scalars(select(Organisation).where(Organisation.municipality_code.is_not(None))):
        assert municipality.population > 2_000, municipality.name
        assert 55.3 <= municipality.latitude <= 69.1 and 10.9 <= municipality.longitude <= 24.2, municipality.name
    # Stockholm is the largest municipality; Kiruna lies far north of Malmö.
    assert organisation("0180").population == session.scalar(select(func.max(Organisation.population)))
    assert organisation("2584").latitude > organisation("1280").latitude + 10


def test_the_data_files_name_their_source_and_year():
    head = (DATA_DIR / "municipalities.csv").read_text(encoding="utf-8").splitlines()[:6]
    comments = " ".join(line for line in head if line.startswith("#"))
    assert "SCB" in comments
    assert any(str(year) in comments for year in range(2019, 2027))


def test_loading_again_changes_nothing(session):
    before = _count(session)
    result = load_reference_data(session)
    assert result.created == 0 and result.updated == 0
    assert _count(session) == before


def test_loading_updates_a_changed_population(session, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(DATA_DIR, data)
    path = data / "municipalities.csv"
    text = path.read_text(encoding="utf-8")
    row = next(r for r in read_rows(path) if r["municipality_code"] == "2281")
    path.write_text(text.replace(f"2281,Sundsvall,{row['seat']},{row['population']},",
                                 f"2281,Sundsvall,{row['seat']},{int(row['population']) + 7},"), encoding="utf-8")
    result = load_reference_data(session, data)
    assert result.updated == 1 and result.created == 0
    assert organisation("2281").population == int(row["population"]) + 7


def test_a_file_with_a_municipality_in_no_county_is_refused_before_anything_is_written(session, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(DATA_DIR, data)
    path = data / "municipalities.csv"
    path.write_text(path.read_text(encoding="utf-8").replace("\n2281,", "\n9981,"), encoding="utf-8")
    population = organisation("0180").population
    with pytest.raises(ValueError, match="9981"):
        load_reference_data(session, data)
    assert organisation("0180").population == population


def test_the_load_command_is_idempotent(runner):
    result = runner.invoke(args=["organisations", "load"])
    assert result.exit_code == 0, result.output
    assert "0 created, 0 updated" in result.output
