"""`flask users create`: the first administrator, and clear refusals that create nothing."""
from __future__ import annotations

from sqlalchemy import func, select

from app.auth.models import User
from app.auth.roles import Role
from tests.conftest import PASSWORD, organisation


def _create(runner, *args):
    return runner.invoke(args=["users", "create", *args])


def _count(session) -> int:
    return session.scalar(select(func.count()).select_from(User))


def test_the_first_administrator_is_created_at_the_agency_by_default(runner, session, auth):
    result = _create(
        runner, "--email", "Admin@Socialstyrelsen.se", "--name", "Alva Admin", "--password", PASSWORD
    )
    assert result.exit_code == 0, result.output
    assert "Created admin@socialstyrelsen.se at Socialstyrelsen with roles: administrator" in result.output
    user = session.scalar(select(User).where(User.email == "admin@socialstyrelsen.se"))
    assert user.organisation.code == "SOS" and user.roles == {Role.ADMINISTRATOR}
    assert user.password_hash.startswith("$argon2id$")
    assert auth.login(user).status_code == 302


def test_an_account_is_created_at_a_municipality_by_kommunkod_with_several_roles(runner, session):
    result = _create(
        runner,
        "--email",
        "rapportor@stockholm.se",
        "--name",
        "Rasmus",
        "--organisation",
        "0180",
        "--role",
        "reporter",
        "--role",
        "recipient",
        "--password",
        PASSWORD,
    )
    assert result.exit_code == 0, result.output
    user = session.scalar(select(User).where(User.email == "rapportor@stockholm.se"))
    assert user.organisation == organisation("0180")
    assert user.roles == {Role.REPORTER, Role.RECIPIENT}


def test_an_unknown_organisation_is_reported_and_nothing_is_created(runner, session):
    before = _count(session)
    result = _create(
        runner, "--email", "x@test.se", "--name", "X", "--organisation", "9999", "--password", PASSWORD
    )
    assert result.exit_code == 2
    assert "--organisation" in result.output and "no organisation with code '9999'" in result.output
    assert _count(session) == before


def test_a_weak_password_is_reported_and_nothing_is_created(runner, session):
    before = _count(session)
    result = _create(runner, "--email", "x@test.se", "--name", "X", "--password", "short")
    assert result.exit_code == 2
    assert "--password" in result.output and "at least 12 characters" in result.output
    assert _count(session) == before


def test_a_taken_email_address_is_reported_whatever_its_case_and_nothing_is_created(runner, session, users):
    existing = users.make("administrator", "SOS")
    before = _count(session)
    result = _create(runner, "--email", existing.email.upper(), "--name", "Twin", "--password", PASSWORD)
    assert result.exit_code == 2
    assert "--email" in result.output and "already an account with this e-mail address" in result.output
    assert _count(session) == before


def test_a_role_the_organisation_cannot_hold_is_reported_against_the_role_option(runner, session):
    before = _count(session)
    result = _create(
        runner,
        "--email",
        "x@test.se",
        "--name",
        "X",
        "--organisation",
        "SOS",
        "--role",
        "reporter",
        "--password",
        PASSWORD,
    )
    assert result.exit_code == 2
    assert (
        "--role" in result.output and "Reporter cannot be held by someone at Socialstyrelsen" in result.output
    )
    assert _count(session) == before


def test_the_password_is_prompted_for_when_not_given(runner, session):
    result = runner.invoke(
        args=["users", "create", "--email", "prompted@test.se", "--name", "P"],
        input=f"{PASSWORD}\n{PASSWORD}\n",
    )
    assert result.exit_code == 0, result.output
    assert session.scalar(select(User).where(User.email == "prompted@test.se")) is not None
