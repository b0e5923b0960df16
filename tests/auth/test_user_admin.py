"""Administrators manage the users of the organisations in their scope, and cannot lock themselves out."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.auth.models import LoginAttempt, User
from app.auth.roles import Role
from app.db import utcnow
from tests.auth.pages import error_beside, page_text
from tests.conftest import PASSWORD, organisation

INITIAL = "a first passphrase to change"


def _user_by_email(session, email):
    return session.scalar(select(User).where(User.email == email))


def _count(session) -> int:
    return session.scalar(select(func.count()).select_from(User))


def _new(client, **fields):
    data = {
        "name": "Nora Ny",
        "email": "nora.ny@stockholm.se",
        "organisation": "0180",
        "roles": ["reporter"],
        "password": INITIAL,
    }
    data.update(fields)
    return client.post("/auth/users/new", data=data)


def _status_badge(response) -> str:
    return re.search(
        r'<h1>.*?<span class="badge [^"]*">(.*?)</span>', response.get_data(as_text=True), re.DOTALL
    ).group(1)


def _edit_data(user, **changes):
    data = {
        "name": user.name,
        "email": user.email,
        "organisation": user.organisation.municipality_code or user.organisation.code,
        "roles": sorted(role.value for role in user.roles),
        "active": "y" if user.active else "",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value != ""}


@pytest.fixture
def national_admin(users, auth):
    admin = users.make("administrator", "SOS")
    auth.login(admin)
    return admin


@pytest.fixture
def county_admin(users, auth):
    admin = users.make("administrator", "LST-01")
    auth.login(admin)
    return admin


# --- list ---------------------------------------------------------------------------------------------------


def test_roles_without_user_management_are_refused(client, auth, users):
    auth.login(users.make("national_coordinator", "SOS"))
    assert client.get("/auth/users").status_code == 403
    assert client.get("/auth/users/new").status_code == 403


def test_a_county_administrator_lists_only_users_in_their_county(client, county_admin, users):
    users.make("reporter", "0184", name="Solveig Solna")
    users.make("reporter", "1480", name="Göran Göteborg")
    users.make("national_coordinator", "SOS", name="Nils Nationell")
    text = page_text(client.get("/auth/users"))
    assert "Solveig Solna" in text
    assert "Göran Göteborg" not in text and "Nils Nationell" not in text


def test_a_municipal_administrator_lists_only_their_own_municipality(client, auth, users):
    auth.login(users.make("administrator", "0180"))
    users.make("reporter", "0180", name="Stina Stockholm")
    users.make("reporter", "0184", name="Solveig Solna")
    text = page_text(client.get("/auth/users"))
    assert "Stina Stockholm" in text and "Solveig Solna" not in text


def test_the_national_administrator_searches_filters_and_exports_users(
    client, national_admin, users, session
):
    users.make("reporter", "1480", name="Göran Göteborg")
    users.make(["reporter", "recipient"], "0180", name="Stina Stockholm")
    users.make("county_coordinator", "LST-14", name="Lina Länsstyrelsen")
    inactive = users.make("recipient", "0180", name="Inga Inaktiv")
    inactive.active = False
    session.commit()

    text = page_text(client.get("/auth/users?q=göran"))
    assert "Göran Göteborg" in text and "Stina Stockholm" not in text
    text = page_text(client.get(f"/auth/users?q={national_admin.email.upper()}"))
    assert national_admin.name in text and "Göran Göteborg" not in text

    text = page_text(client.get("/auth/users?county=14"))
    assert "Göran Göteborg" in text and "Lina Länsstyrelsen" in text and "Stina Stockholm" not in text
    text = page_text(client.get("/auth/users?county=14&kind=county_board"))
    assert "Lina Länsstyrelsen" in text and "Göran Göteborg" not in text
    text = page_text(client.get("/auth/users?role=recipient"))
    assert "Stina Stockholm" in text and "Inga Inaktiv" in text and "Göran Göteborg" not in text
    text = page_text(client.get("/auth/users?role=recipient&status=inactive"))
    assert "Inga Inaktiv" in text and "Stina Stockholm" not in text

    export = client.get("/auth/users?county=01&sort=name&dir=desc&format=csv")
    assert export.mimetype == "text/csv"
    lines = export.get_data(as_text=True).lstrip("\ufeff").strip().splitlines()
    assert lines[0].startswith("Name;E-mail address;Organisation;Roles;Status")
    names = [line.split(";")[0] for line in lines[1:]]
    assert names == sorted(names, reverse=True)
    assert "Stina Stockholm" in names and "Göran Göteborg" not in names
    assert any(line.startswith("Stina Stockholm;") and "Recipient, Reporter" in line for line in lines)


def test_locked_accounts_can_be_listed(client, national_admin, users, session):
    locked = users.make("reporter", "0180", name="Lasse Låst")
    users.make("reporter", "0180", name="Olle Olåst")
    locked.locked_until = utcnow() + timedelta(minutes=10)
    session.commit()
    text = page_text(client.get("/auth/users?status=locked"))
    assert "Lasse Låst" in text and "Olle Olåst" not in text


# --- create -------------------------------------------------------------------------------------------------


def test_an_administrator_creates_an_account_who_can_then_log_in(app, client, national_admin, session):
    response = _new(client, roles=["reporter", "recipient"], email="Nora.Ny@Stockholm.se")
    assert response.status_code == 302
    user = _user_by_email(session, "nora.ny@stockholm.se")
    assert response.headers["Location"] == f"/auth/users/{user.id}"
    assert user.organisation == organisation("0180")
    assert user.roles == {Role.REPORTER, Role.RECIPIENT}
    assert user.password_hash.startswith("$argon2id$")
    other = app.test_client()
    assert other.post("/auth/login", data={"email": user.email, "password": INITIAL}).status_code == 302


def test_the_create_form_offers_the_organisations_in_scope_as_suggestions(client, county_admin):
    page = client.get("/auth/users/new").get_data(as_text=True)
    assert 'list="organisation-options"' in page
    assert '<option value="0184">Solna</option>' in page
    assert '<option value="LST-01">' in page and '<option value="REG-01">' in page
    assert '<option value="1480">' not in page and '<option value="SOS">' not in page
    assert 'type="checkbox"' in page and 'value="county_coordinator"' in page


def test_organisation_codes_are_accepted_in_any_case_and_with_the_name_after_them(
    client, national_admin, session
):
    assert (
        _new(client, email="a@lst.se", organisation="lst-01", roles=["county_coordinator"]).status_code == 302
    )
    assert _user_by_email(session, "a@lst.se").organisation == organisation("LST-01")
    assert _new(client, email="b@gotland.se", organisation="0980 Region Gotland").status_code == 302
    assert _user_by_email(session, "b@gotland.se").organisation == organisation("REG-09")


def test_an_unknown_organisation_code_is_refused_beside_the_field(client, national_admin, session):
    before = _count(session)
    response = _new(client, organisation="9999")
    assert response.status_code == 422
    assert "No organisation with code 9999 in your area" in error_beside(response, "organisation")
    assert _count(session) == before


def test_a_county_administrator_cannot_place_a_user_outside_the_county(client, county_admin, session):
    before = _count(session)
    response = _new(client, organisation="1480")
    assert response.status_code == 422
    assert "No organisation with code 1480 in your area" in error_beside(response, "organisation")
    assert _count(session) == before
    assert _new(client, organisation="0184").status_code == 302


def test_an_email_address_in_use_is_refused_whatever_its_case(client, national_admin, users, session):
    existing = users.make("reporter", "0180")
    before = _count(session)
    response = _new(client, email=existing.email.upper())
    assert response.status_code == 422
    assert error_beside(response, "email") == "There is already an account with this e-mail address."
    assert _count(session) == before


def test_a_role_the_organisation_cannot_hold_is_refused_beside_the_roles(client, national_admin, session):
    before = _count(session)
    response = _new(client, roles=["reporter", "national_coordinator"])
    assert response.status_code == 422
    assert error_beside(response, "roles") == "National coordinator cannot be held by someone at Stockholm."
    assert _count(session) == before


def test_at_least_one_role_is_needed(client, national_admin, session):
    before = _count(session)
    response = _new(client, roles=[])
    assert response.status_code == 422
    assert error_beside(response, "roles") == "Choose at least one role."
    assert _count(session) == before


def test_a_weak_initial_password_is_refused_beside_the_field(client, national_admin, session):
    before = _count(session)
    response = _new(client, password="tooshort")
    assert response.status_code == 422
    assert error_beside(response, "password") == "The password must be at least 12 characters long."
    assert _count(session) == before


def test_a_refused_form_keeps_what_was_typed(client, national_admin):
    page = _new(client, organisation="9999", name="Nora Ny").get_data(as_text=True)
    assert 'value="Nora Ny"' in page and 'value="9999"' in page
    assert re.search(r'<input checked[^>]*value="reporter"', page)
    assert not re.search(r'<input checked[^>]*value="recipient"', page)


# --- edit ---------------------------------------------------------------------------------------------------


def test_an_administrator_edits_name_email_organisation_roles_and_active(
    client, national_admin, users, session
):
    user = users.make("reporter", "0180")
    page = client.get(f"/auth/users/{user.id}/edit")
    assert page.status_code == 200 and f'value="{user.email}"' in page.get_data(as_text=True)
    response = client.post(
        f"/auth/users/{user.id}/edit",
        data=_edit_data(
            user, name="Ny Namnsson", email="ny@solna.se", organisation="0184", roles=["recipient"], active=""
        ),
    )
    assert response.status_code == 302
    session.expire_all()
    user = session.get(User, user.id)
    assert (user.name, user.email, user.organisation, user.roles, user.active) == (
        "Ny Namnsson",
        "ny@solna.se",
        organisation("0184"),
        {Role.RECIPIENT},
        False,
    )


def test_an_edit_that_breaks_a_rule_changes_nothing(client, national_admin, users, session):
    user = users.make("reporter", "0180")
    other = users.make("reporter", "0180")
    response = client.post(
        f"/auth/users/{user.id}/edit", data=_edit_data(user, email=other.email, name="Changed")
    )
    assert response.status_code == 422
    assert error_beside(response, "email") == "There is already an account with this e-mail address."
    response = client.post(
        f"/auth/users/{user.id}/edit", data=_edit_data(user, organisation="SOS", name="Changed")
    )
    assert response.status_code == 422
    assert "cannot be held by someone at Socialstyrelsen" in error_beside(response, "roles")
    session.expire_all()
    assert session.get(User, user.id).name != "Changed"
    assert session.get(User, user.id).organisation == organisation("0180")


def test_an_administrator_cannot_deactivate_themself(client, national_admin, session):
    response = client.post(
        f"/auth/users/{national_admin.id}/edit", data=_edit_data(national_admin, active="")
    )
    assert response.status_code == 422
    assert error_beside(response, "active") == "You cannot deactivate your own account."
    session.expire_all()
    assert session.get(User, national_admin.id).active is True


def test_an_administrator_cannot_remove_their_own_administrator_role(client, national_admin, session):
    response = client.post(
        f"/auth/users/{national_admin.id}/edit",
        data=_edit_data(national_admin, roles=["national_coordinator"]),
    )
    assert response.status_code == 422
    assert error_beside(response, "roles") == "You cannot remove your own administrator role."
    session.expire_all()
    assert session.get(User, national_admin.id).roles == {Role.ADMINISTRATOR}


def test_an_administrator_cannot_move_themself_to_another_organisation(client, county_admin, session):
    response = client.post(
        f"/auth/users/{county_admin.id}/edit", data=_edit_data(county_admin, organisation="0180")
    )
    assert response.status_code == 422
    assert "cannot move your own account" in error_beside(response, "organisation")
    session.expire_all()
    assert session.get(User, county_admin.id).organisation == organisation("LST-01")


def test_an_administrator_may_add_roles_to_themself_and_rename_themself(client, national_admin, session):
    response = client.post(
        f"/auth/users/{national_admin.id}/edit",
        data=_edit_data(national_admin, name="Alva Admin", roles=["administrator", "auditor"]),
    )
    assert response.status_code == 302
    session.expire_all()
    me = session.get(User, national_admin.id)
    assert me.name == "Alva Admin" and me.roles == {Role.ADMINISTRATOR, Role.AUDITOR}


def test_another_administrator_can_be_deactivated(client, national_admin, users, session):
    colleague = users.make("administrator", "SOS")
    response = client.post(f"/auth/users/{colleague.id}/edit", data=_edit_data(colleague, active=""))
    assert response.status_code == 302
    session.expire_all()
    assert session.get(User, colleague.id).active is False


# --- scope --------------------------------------------------------------------------------------------------


def test_users_outside_the_administrators_scope_answer_404_everywhere(client, county_admin, users, session):
    outsider = users.make("reporter", "1480")
    outsider.locked_until = utcnow() + timedelta(minutes=10)
    session.commit()
    base = f"/auth/users/{outsider.id}"
    assert client.get(base).status_code == 404
    assert client.get(f"{base}/edit").status_code == 404
    assert client.post(f"{base}/edit", data=_edit_data(outsider, name="Hijacked")).status_code == 404
    assert client.get(f"{base}/password").status_code == 404
    assert (
        client.post(
            f"{base}/password", data={"new_password": INITIAL, "confirm_password": INITIAL}
        ).status_code
        == 404
    )
    assert client.post(f"{base}/unlock").status_code == 404
    assert client.get("/auth/users/999999").status_code == 404
    session.expire_all()
    outsider = session.get(User, outsider.id)
    assert outsider.name != "Hijacked" and outsider.locked_until > utcnow()


def test_a_county_administrator_cannot_move_a_user_out_of_the_county(client, county_admin, users, session):
    user = users.make("reporter", "0184")
    response = client.post(f"/auth/users/{user.id}/edit", data=_edit_data(user, organisation="1480"))
    assert response.status_code == 422
    assert "in your area" in error_beside(response, "organisation")
    session.expire_all()
    assert session.get(User, user.id).organisation == organisation("0184")


# --- password reset and unlock ------------------------------------------------------------------------------


def test_an_administrator_sets_a_new_password_which_also_lifts_a_lock(
    app, client, national_admin, users, session
):
    user = users.make("reporter", "0180")
    user.locked_until = utcnow() + timedelta(minutes=10)
    session.commit()
    response = client.post(
        f"/auth/users/{user.id}/password", data={"new_password": INITIAL, "confirm_password": INITIAL}
    )
    assert response.status_code == 302
    other = app.test_client()
    assert other.post("/auth/login", data={"email": user.email, "password": PASSWORD}).status_code == 422
    assert other.post("/auth/login", data={"email": user.email, "password": INITIAL}).status_code == 302


def test_a_new_password_from_the_administrator_follows_the_password_rules(client, national_admin, users):
    user = users.make("reporter", "0180")
    before = user.password_hash
    response = client.post(
        f"/auth/users/{user.id}/password", data={"new_password": "short", "confirm_password": "short"}
    )
    assert response.status_code == 422
    assert error_beside(response, "new_password") == "The password must be at least 12 characters long."
    response = client.post(
        f"/auth/users/{user.id}/password", data={"new_password": INITIAL, "confirm_password": INITIAL + "x"}
    )
    assert error_beside(response, "confirm_password") == "The two new passwords differ."
    assert user.password_hash == before


def test_an_administrator_changes_their_own_password_only_on_the_password_page(client, national_admin):
    before = national_admin.password_hash
    response = client.post(
        f"/auth/users/{national_admin.id}/password",
        data={"new_password": INITIAL, "confirm_password": INITIAL},
    )
    assert response.status_code == 422
    assert "Password page" in error_beside(response, "new_password")
    assert national_admin.password_hash == before


def test_unlocking_lets_the_user_in_and_one_more_typing_error_does_not_lock_again(
    app, client, national_admin, users, session
):
    user = users.make("reporter", "0180")
    other = app.test_client()
    for _ in range(5):
        other.post("/auth/login", data={"email": user.email, "password": "wrong password"})
    assert user.locked_until > utcnow()
    assert _status_badge(client.get(f"/auth/users/{user.id}")) == "Locked"

    assert client.post(f"/auth/users/{user.id}/unlock").status_code == 302
    assert user.locked_until <= utcnow()
    assert _status_badge(client.get(f"/auth/users/{user.id}")) == "Active"
    assert (
        other.post("/auth/login", data={"email": user.email, "password": "wrong password"}).status_code == 422
    )
    assert other.post("/auth/login", data={"email": user.email, "password": PASSWORD}).status_code == 302


def test_unlocking_an_account_that_is_not_locked_changes_nothing(client, national_admin, users):
    user = users.make("reporter", "0180")
    response = client.post(f"/auth/users/{user.id}/unlock", follow_redirects=True)
    assert "The account was not locked." in page_text(response)
    assert user.locked_until is None


def test_unlock_needs_a_post(client, national_admin, users):
    user = users.make("reporter", "0180")
    assert client.get(f"/auth/users/{user.id}/unlock").status_code == 405


# --- detail -------------------------------------------------------------------------------------------------


def test_the_detail_page_shows_login_attempts_and_the_accounts_audit_entries(
    app, client, national_admin, users, session
):
    user = users.make("reporter", "0180", name="Rut Rapportör")
    other = app.test_client()
    other.post("/auth/login", data={"email": user.email, "password": "wrong password"})
    other.post("/auth/login", data={"email": user.email, "password": PASSWORD})
    client.post(
        f"/auth/users/{user.id}/edit",
        data=_edit_data(user, name="Rut Rapportör-Berg", roles=["reporter", "recipient"]),
    )

    page = client.get(f"/auth/users/{user.id}")
    assert page.status_code == 200
    text = page_text(page)
    assert "Recent login attempts" in text
    assert text.count("Succeeded") == 1 and text.count("Failed") == 1
    assert session.scalar(select(func.count()).where(LoginAttempt.user_id == user.id)) == 2
    assert "Changes to this account" in text
    assert national_admin.email in text  # who made the edit
    html = page.get_data(as_text=True)
    assert "/audit/" in html  # entries link to the audit log


def test_the_navigation_and_start_page_link_to_users_for_administrators_only(client, auth, users):
    auth.login(users.make("administrator", "SOS"))
    assert 'href="/auth/users"' in client.get("/").get_data(as_text=True)
    auth.logout()
    auth.login(users.make("reporter", "0180"))
    assert 'href="/auth/users"' not in client.get("/").get_data(as_text=True)


def test_the_services_themselves_refuse_users_outside_the_administrators_scope(session, users):
    from app.auth import user_services
    from app.errors import NotFoundError

    admin = users.make("administrator", "LST-01")
    outsider = users.make("reporter", "1480")
    with pytest.raises(NotFoundError):
        user_services.update_user(
            session,
            admin,
            outsider,
            name="X",
            email=outsider.email,
            organisation_code="1480",
            roles=["reporter"],
            active=True,
        )
    with pytest.raises(NotFoundError):
        user_services.reset_password(session, admin, outsider, INITIAL)
    with pytest.raises(NotFoundError):
        user_services.unlock_user(session, admin, outsider)
