"""The access policy's scope rules, checked directly."""
from __future__ import annotations

from sqlalchemy import func, select

from app.auth.access import Scope, can_see_organisation, organisation_scope_filter, scope_of
from app.organisations.models import Organisation
from tests.conftest import organisation


def _visible(session, user):
    return session.scalar(select(func.count()).select_from(Organisation).where(organisation_scope_filter(user)))


def test_the_agency_and_government_offices_see_every_organisation(session, users):
    for code in ("SOS", "RK-S"):
        user = users.make("auditor", code)
        assert scope_of(user) is Scope.NATIONAL
        assert _visible(session, user) == session.scalar(select(func.count()).select_from(Organisation))


def test_a_county_board_sees_its_county_board_region_and_municipalities(session, users):
    user = users.make("county_coordinator", "LST-14")
    assert scope_of(user) is Scope.COUNTY
    assert _visible(session, user) == 49 + 2
    assert can_see_organisation(user, organisation("1480"))
    assert not can_see_organisation(user, organisation("0180"))
    assert not can_see_organisation(user, organisation("SOS"))


def test_a_region_and_a_municipality_see_only_themselves(session, users):
    region = users.make("reporter", "REG-01")
    municipality = users.make("reporter", "0180")
    for user in (region, municipality):
        assert scope_of(user) is Scope.OWN
        assert _visible(session, user) == 1
    assert not can_see_organisation(region, organisation("0180"))
    assert not can_see_organisation(municipality, organisation("REG-01"))


def test_region_gotland_sees_itself_as_region_and_municipality(session, users):
    user = users.make("reporter", "0980")
    assert _visible(session, user) == 1
    assert can_see_organisation(user, organisation("REG-09"))
