"""The top navigation marks exactly one entry as the current page: the section the page belongs to."""

import re

from app.main import active_url

NAV = ["/suppliers/", "/suppliers/production/", "/suppliers/actions/", "/catalog/"]


def test_the_longest_matching_navigation_prefix_is_the_active_one():
    assert active_url("/suppliers/production/", NAV) == "/suppliers/production/"
    assert active_url("/suppliers/production/capacity", NAV) == "/suppliers/production/"
    assert active_url("/suppliers/12/vetting", NAV) == "/suppliers/"
    assert active_url("/suppliers/", NAV) == "/suppliers/"


def test_no_entry_is_active_outside_every_section_and_the_start_page_is_not_a_prefix_of_everything():
    assert active_url("/organisations/", NAV) is None
    assert active_url("/catalog/", [*NAV, "/"]) == "/catalog/"
    assert active_url("/", [*NAV, "/"]) == "/"


def test_on_a_production_page_only_domestic_production_is_marked_as_the_current_page(client, auth, users):
    auth.login(users.make("production_team"))

    html = client.get("/suppliers/production/").text

    current = re.findall(r'<a href="([^"]+)" aria-current="page">([^<]+)</a>', html)
    assert current == [("/suppliers/production/", "Domestic production")]
    on_registry = re.findall(r'<a href="([^"]+)" aria-current="page">', client.get("/suppliers/").text)
    assert on_registry == ["/suppliers/"]
