"""The cached tables of the national and county overviews: never stale, never another reader's view."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from allocation import overview_cache, reporting
from allocation.overview_cache import FragmentCache
from app.catalog.models import ProductCategory
from tests.allocation.test_overviews import during, login_as, row_of, submit
from tests.conftest import organisation


@pytest.fixture
def cache(app, monkeypatch):
    """The overview cache switched on (tests run with it off) and empty."""
    monkeypatch.setitem(app.config, "NEED_OVERVIEW_CACHE", True)
    fragments = overview_cache.fragments()
    fragments.clear()
    yield fragments
    fragments.clear()


@pytest.fixture
def reported(session, users, previous_period):
    """Stockholm 10 days (amber) and Upplands Väsby 30 days (green) in county 01; Göteborg 1 day (red) in 14."""
    at = during(previous_period)
    submit(session, users, previous_period, "0180", stock=1000, consumption=700, now=at)
    submit(session, users, previous_period, "0114", stock=3000, consumption=700, now=at)
    submit(session, users, previous_period, "1480", stock=100, consumption=700, now=at)
    return previous_period


def tables_of(html: str) -> str:
    """The part of an overview page that comes from the cache: its tables, to the end of the content."""
    return html[html.index("<table"):html.index("</main>")]


def test_a_repeated_overview_is_served_from_the_cache(client, auth, users, reported, cache):
    login_as(auth, users, "national_coordinator", "SOS")
    first = client.get("/need/overview/national").get_data(as_text=True)
    second = client.get("/need/overview/national").get_data(as_text=True)
    assert (cache.misses, cache.hits) == (1, 1)
    assert tables_of(first) == tables_of(second)
    assert "Stock 4,000" in row_of(second, "Stockholms län")


def test_a_correction_shows_on_the_cached_overviews_at_once(client, auth, session, users, reported, cache):
    login_as(auth, users, "national_coordinator", "SOS")
    assert "Stock 4,000" in row_of(client.get("/need/overview/national").get_data(as_text=True), "Stockholms län")
    assert "10.0 d" in row_of(client.get("/need/overview/county/01").get_data(as_text=True), "Stockholm")

    # Submitted at the same moment as the first version: only the new report lines tell the two apart.
    submit(session, users, reported, "0180", stock=7000, consumption=700, now=during(reported))

    national = client.get("/need/overview/national").get_data(as_text=True)
    assert "Stock 10,000" in row_of(national, "Stockholms län")
    county = client.get("/need/overview/county/01").get_data(as_text=True)
    stockholm = row_of(county, "Stockholm")
    assert "70.0 d" in stockholm and "badge-green" in stockholm
    assert cache.hits == 0


def test_a_first_report_takes_the_organisation_off_the_cached_missing_list(client, auth, session, users, reported, cache):
    login_as(auth, users, "county_coordinator", "LST-01")
    html = client.get("/need/overview/county/01").get_data(as_text=True)
    assert ">Vallentuna</a>" in html[html.index('id="missing-heading"'):]
    covered = re.search(r"(\d+) of (\d+)", row_of(html, "Stockholms län in all"))

    submit(session, users, reported, "0115", stock=700, consumption=700, now=during(reported))

    html = client.get("/need/overview/county/01").get_data(as_text=True)
    assert ">Vallentuna</a>" not in html[html.index('id="missing-heading"'):]
    assert "7.0 d" in row_of(html, "Vallentuna")
    assert f"{int(covered[1]) + 1} of {covered[2]}" in row_of(html, "Stockholms län in all")


def test_a_late_report_for_the_due_period_counts_though_newer_figures_stay(
    client, auth, session, users, reported, period, cache
):
    """Vallentuna reported for the coming period first: its late report for the due one changes no figures
    (the current state keeps the newer period's) but does change who has reported."""
    submit(session, users, period, "0115", stock=700, consumption=700)
    login_as(auth, users, "county_coordinator", "LST-01")
    html = client.get("/need/overview/county/01").get_data(as_text=True)
    assert ">Vallentuna</a>" in html[html.index('id="missing-heading"'):]

    submit(session, users, reported, "0115", stock=1, consumption=700, now=during(reported))

    html = client.get("/need/overview/county/01").get_data(as_text=True)
    assert ">Vallentuna</a>" not in html[html.index('id="missing-heading"'):]
    assert "7.0 d" in row_of(html, "Vallentuna")


def test_changed_thresholds_recolour_the_cached_overview(client, auth, session, users, reported, cache):
    login_as(auth, users, "county_coordinator", "LST-01")
    assert "badge-amber" in row_of(client.get("/need/overview/county/01").get_data(as_text=True), "Stockholm")

    settings = reporting.get_settings(session)
    settings.red_days, settings.amber_days = 11, 20
    session.commit()

    html = client.get("/need/overview/county/01").get_data(as_text=True)
    assert "badge-red" in row_of(html, "Stockholm")
    assert "badge-green" in row_of(html, "Upplands Väsby")


def test_fewer_categories_asked_for_give_the_cached_overview_fewer_columns(client, auth, session, users, reported, cache):
    login_as(auth, users, "county_coordinator", "LST-01")
    before = client.get("/need/overview/county/01").get_data(as_text=True)
    settings = reporting.get_settings(session)
    settings.categories = list(session.scalars(select(ProductCategory).order_by(ProductCategory.sort_order)))[:2]
    session.commit()

    after = client.get("/need/overview/county/01").get_data(as_text=True)
    headings = re.compile(r'<th scope="col" class="num"><a href="/need/overview/category/')
    assert len(headings.findall(after)) == 2 < len(headings.findall(before))


def test_a_renamed_organisation_shows_on_the_cached_overview(client, auth, session, users, reported, cache):
    login_as(auth, users, "county_coordinator", "LST-01")
    client.get("/need/overview/county/01")
    organisation("0114").name = "Upplands Väsby kommun"
    session.commit()
    assert "30.0 d" in row_of(client.get("/need/overview/county/01").get_data(as_text=True), "Upplands Väsby kommun")


def test_a_renamed_category_shows_on_the_cached_overview(client, auth, session, users, reported, cache):
    login_as(auth, users, "county_coordinator", "LST-01")
    client.get("/need/overview/county/01")
    category = reported.categories[0]
    category.name_en = "Respirators of every kind"
    session.commit()
    html = client.get("/need/overview/county/01").get_data(as_text=True)
    assert f'<a href="/need/overview/category/{category.id}">Respirators of every kind</a>' in html


def test_the_cached_tables_are_in_the_readers_language(client, auth, users, reported, cache):
    login_as(auth, users, "national_coordinator", "SOS")
    english = client.get("/need/overview/national").get_data(as_text=True)
    assert '<h2 id="counties-heading">Counties</h2>' in english and "Stock 4,000" in english

    client.post("/language", data={"locale": "sv", "next": "/"})
    swedish = client.get("/need/overview/national").get_data(as_text=True)
    assert '<h2 id="counties-heading">Län</h2>' in swedish
    assert re.search(r"Lager 4\s000", row_of(swedish, "Stockholms län"))  # a non-breaking space groups digits
    assert "Counties" not in swedish and "Stock 4,000" not in swedish

    client.post("/language", data={"locale": "en", "next": "/"})
    assert tables_of(client.get("/need/overview/national").get_data(as_text=True)) == tables_of(english)
    assert cache.hits == 1


def test_one_countys_cached_table_is_never_served_for_another(client, auth, users, reported, cache):
    login_as(auth, users, "national_coordinator", "SOS")
    stockholm = client.get("/need/overview/county/01").get_data(as_text=True)
    gothenburg = client.get("/need/overview/county/14").get_data(as_text=True)
    assert "1.0 d" in row_of(gothenburg, "Göteborg")
    assert "Upplands Väsby" not in gothenburg and "Göteborg" not in stockholm
    assert tables_of(client.get("/need/overview/county/01").get_data(as_text=True)) == tables_of(stockholm)
    assert (cache.misses, cache.hits) == (2, 1)


def test_each_scenario_has_its_own_cached_tables(client, auth, users, reported, cache):
    login_as(auth, users, "county_coordinator", "LST-01")
    assert "10.0 d" in row_of(client.get("/need/overview/county/01").get_data(as_text=True), "Stockholm")
    scenario = client.get("/need/overview/county/01?scenario=2").get_data(as_text=True)
    assert "5.0 d" in row_of(scenario, "Stockholm")
    assert f"/need/overview/organisation/{organisation('0180').id}?scenario=2" in scenario
    assert "10.0 d" in row_of(client.get("/need/overview/county/01").get_data(as_text=True), "Stockholm")
    assert (cache.misses, cache.hits) == (2, 1)


def test_readers_share_the_cached_tables_but_each_page_is_their_own(client, auth, users, reported, cache):
    first = users.make("national_coordinator", "SOS", name="Astrid Första")
    second = users.make("national_coordinator", "SOS", name="Bertil Andra")
    auth.login(first)
    assert "Astrid Första" in client.get("/need/overview/national").get_data(as_text=True)
    auth.logout()
    auth.login(second)
    html = client.get("/need/overview/national").get_data(as_text=True)
    assert cache.hits == 1
    assert "Bertil Andra" in html and "Astrid Första" not in html


def test_exports_are_not_taken_from_the_cache(client, auth, session, users, reported, cache):
    login_as(auth, users, "county_coordinator", "LST-01")
    client.get("/need/overview/county/01")
    csv = client.get("/need/overview/county/01?format=csv").get_data(as_text=True)
    assert "Stockholm" in csv and len(cache) == 1 and cache.hits == 0


def test_the_fragment_cache_keeps_its_size_and_one_value_per_key():
    cache: FragmentCache[str] = FragmentCache(size=2)
    built = []

    def build(value):
        def make():
            built.append(value)
            return value
        return make

    assert cache.get("a", 1, build("a1")) == "a1"
    assert cache.get("a", 1, build("never")) == "a1"
    assert cache.get("a", 2, build("a2")) == "a2"  # a new token replaces the value, no second entry
    assert len(cache) == 1
    cache.get("b", 1, build("b1"))
    cache.get("a", 2, build("never"))  # a is now the most recently used
    cache.get("c", 1, build("c1"))  # evicts b
    assert len(cache) == 2
    assert cache.get("b", 1, build("b1 again")) == "b1 again"
    assert built == ["a1", "a2", "b1", "c1", "b1 again"]
    assert (cache.hits, cache.misses) == (2, 5)
