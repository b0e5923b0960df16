"""Organisation pages show each user exactly their scope."""
from __future__ import annotations

from tests.conftest import organisation


def test_a_municipal_reporter_sees_only_its_own_municipality_in_the_list(client, auth, users):
    auth.login(users.make("reporter", "0180"))
    page = client.get("/organisations/")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Stockholm" in text and "Göteborg" not in text and "Solna" not in text
    assert "1–1 of 1" in text or "1–1 av 1" in text


def test_a_municipal_reporter_gets_404_for_another_municipality(client, auth, users):
    auth.login(users.make("reporter", "0180"))
    assert client.get(f"/organisations/{organisation('0180').id}").status_code == 200
    assert client.get(f"/organisations/{organisation('0184').id}").status_code == 404
    assert client.get("/organisations/999999").status_code == 404


def test_a_county_coordinator_sees_its_county_and_nothing_else(client, auth, users):
    auth.login(users.make("county_coordinator", "LST-01"))
    text = client.get("/organisations/?per_page=500&q=").get_data(as_text=True)
    assert "Solna" in text
    assert client.get(f"/organisations/{organisation('0184').id}").status_code == 200
    assert client.get(f"/organisations/{organisation('1480').id}").status_code == 404
    board = client.get(f"/organisations/{organisation('LST-01').id}").get_data(as_text=True)
    assert "Södertälje" in board  # the county's municipalities are listed on the board's page


def test_the_agency_sees_all_of_sweden_and_can_filter_by_county_and_kind(client, auth, users):
    auth.login(users.make("national_coordinator", "SOS"))
    text = client.get("/organisations/?county=14&kind=municipality").get_data(as_text=True)
    assert "of 49" in text or "av 49" in text
    export = client.get("/organisations/?county=14&kind=municipality&format=csv").get_data(as_text=True)
    assert "1480;Göteborg" in export and "0180;Stockholm" not in export
    assert client.get(f"/organisations/{organisation('1480').id}").status_code == 200


def test_the_organisation_list_searches_and_exports_csv(client, auth, users):
    auth.login(users.make("national_coordinator", "SOS"))
    text = client.get("/organisations/?q=sundsvall").get_data(as_text=True)
    assert "Sundsvall" in text and "Göteborg" not in text
    export = client.get("/organisations/?kind=municipality&format=csv")
    assert export.mimetype == "text/csv"
    lines = export.get_data(as_text=True).lstrip("\ufeff").strip().splitlines()
    assert len(lines) == 291  # the header and 290 municipalities
    assert any(line.startswith("0980;Region Gotland") for line in lines)


def test_sorting_by_population_descending_puts_stockholm_first(client, auth, users):
    auth.login(users.make("national_coordinator", "SOS"))
    export = client.get("/organisations/?kind=municipality&sort=population&dir=desc&format=csv")
    first = export.get_data(as_text=True).lstrip("\ufeff").splitlines()[1]
    assert first.startswith("0180;Stockholm")


def test_region_and_county_board_population_is_the_sum_of_the_county(client, auth, users, session):
    from sqlalchemy import func, select

    from app.organisations.models import Organisation

    auth.login(users.make("national_coordinator", "SOS"))
    total = session.scalar(
        select(func.sum(Organisation.population)).where(
            Organisation.county_code == "03", Organisation.municipality_code.is_not(None)
        )
    )
    from babel.numbers import format_decimal

    page = client.get(f"/organisations/{organisation('REG-03').id}").get_data(as_text=True)
    assert format_decimal(total, locale="sv") in page or format_decimal(total, locale="en") in page
