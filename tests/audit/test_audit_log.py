"""The audit log page: who changed what and when, before and after, within the viewer's scope."""
from __future__ import annotations

import re

from sqlalchemy import select

from app.audit.models import AuditEntry
from tests.auth.pages import page_text
from tests.conftest import PASSWORD, organisation

NEW_PASSWORD = "another long passphrase"


def _entries(session, table, key):
    return session.scalars(
        select(AuditEntry)
        .where(AuditEntry.table_name == table, AuditEntry.row_key == str(key))
        .order_by(AuditEntry.id)
    ).all()


def _edit(client, user, **changes):
    data = {
        "name": user.name,
        "email": user.email,
        "organisation": user.organisation.municipality_code or user.organisation.code,
        "roles": sorted(role.value for role in user.roles),
        "active": "y",
    }
    data.update(changes)
    return client.post(f"/auth/users/{user.id}/edit", data=data)


def _csv_rows(response) -> list[list[str]]:
    assert response.mimetype == "text/csv"
    lines = response.get_data(as_text=True).lstrip("\ufeff").strip().splitlines()
    return [line.split(";") for line in lines]


def test_a_user_edit_is_logged_with_its_actor_and_values_before_and_after(client, auth, users, session):
    admin = users.make("administrator", "SOS")
    user = users.make("reporter", "0180", name="Rut Rapportör")
    auth.login(admin)
    assert _edit(client, user, name="Rut Berg", organisation="0184", roles=["recipient"]).status_code == 302

    update = _entries(session, "users", user.id)[-1]
    assert update.action == "update"
    assert (update.actor_id, update.actor_label) == (admin.id, admin.email)
    assert update.before == {"name": "Rut Rapportör", "organisation_id": organisation("0180").id}
    assert update.after == {"name": "Rut Berg", "organisation_id": organisation("0184").id}

    removed = _entries(session, "user_roles", f"{user.id}/reporter")[-1]
    added = _entries(session, "user_roles", f"{user.id}/recipient")[-1]
    assert (removed.action, removed.before["role"], removed.after) == ("delete", "reporter", None)
    assert (added.action, added.before, added.after["role"]) == ("insert", None, "recipient")


def test_a_password_reset_is_logged_with_the_hash_redacted(client, auth, users, session):
    admin = users.make("administrator", "SOS")
    user = users.make("reporter", "0180")
    auth.login(admin)
    response = client.post(
        f"/auth/users/{user.id}/password",
        data={"new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD},
    )
    assert response.status_code == 302
    entry = _entries(session, "users", user.id)[-1]
    assert entry.before["password_hash"] == "***" and entry.after["password_hash"] == "***"
    assert "password_changed_at" in entry.after
    stored = [str(e.before) + str(e.after) for e in _entries(session, "users", user.id)]
    assert all("$argon2" not in text for text in stored)

    detail = client.get(f"/audit/{entry.id}").get_data(as_text=True)
    assert "$argon2" not in detail and "(hidden)" in detail


def test_the_audit_page_lists_the_newest_entry_first_with_a_link_to_its_detail(client, auth, users, session):
    admin = users.make("administrator", "SOS")
    user = users.make("reporter", "0180", name="Rut Rapportör")
    auth.login(admin)
    _edit(client, user, name="Rut Berg")
    newest = session.scalar(select(AuditEntry).order_by(AuditEntry.id.desc()))

    page = client.get("/audit/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    links = re.findall(r'href="/audit/(\d+)"', html)
    assert links[0] == str(newest.id)
    assert [int(i) for i in links] == sorted((int(i) for i in links), reverse=True)

    ascending = re.findall(
        r'href="/audit/(\d+)"', client.get("/audit/?sort=time&dir=asc").get_data(as_text=True)
    )
    assert [int(i) for i in ascending] == sorted(int(i) for i in ascending)


def test_the_entry_detail_shows_before_and_after_side_by_side(client, auth, users, session):
    admin = users.make("administrator", "SOS")
    user = users.make("reporter", "0180", name="Rut Rapportör")
    auth.login(admin)
    _edit(client, user, name="Rut Berg")
    entry = _entries(session, "users", user.id)[-1]
    page = client.get(f"/audit/{entry.id}")
    assert page.status_code == 200
    row = re.search(r'<th scope="row">name</th><td>(.*?)</td><td>(.*?)</td>', page.get_data(as_text=True))
    assert row.groups() == ("Rut Rapportör", "Rut Berg")
    assert admin.email in page_text(page)
    assert client.get("/audit/999999999").status_code == 404


def test_the_audit_log_filters_by_table_and_action_and_searches(client, auth, users, session):
    admin = users.make("administrator", "SOS")
    user = users.make("reporter", "0180")
    auth.login(admin)
    _edit(client, user, roles=["recipient"])

    rows = _csv_rows(client.get("/audit/?table=user_roles&action=delete&format=csv"))
    assert rows[0][:5] == ["Time", "Who", "Action", "Table", "Row"]
    assert [(r[1], r[2], r[3], r[4]) for r in rows[1:]] == [
        (admin.email, "Deleted", "user_roles", f"{user.id}/reporter")
    ]

    rows = _csv_rows(client.get(f"/audit/?q={user.id}/recipient&format=csv"))
    assert {r[4] for r in rows[1:]} == {f"{user.id}/recipient"}

    rows = _csv_rows(client.get(f"/audit/?q={admin.email.upper()}&format=csv"))
    assert rows[1:] and all(r[1] == admin.email for r in rows[1:])

    page = client.get("/audit/").get_data(as_text=True)
    assert '<option value="user_roles">' in page and '<option value="delete">' in page


def test_a_county_auditor_sees_only_entries_by_users_in_the_county(client, auth, users, session):
    inside = users.make("reporter", "0184")
    outside = users.make("reporter", "1480")
    for person in (inside, outside):
        session.info["actor"] = person
        person.locale = "en"
        session.commit()
    session.info["actor"] = None
    own_entry = _entries(session, "users", inside.id)[-1]
    foreign_entry = _entries(session, "users", outside.id)[-1]
    system_entry = _entries(session, "users", inside.id)[0]  # created by the test factory, no user
    assert own_entry.actor_id == inside.id and foreign_entry.actor_id == outside.id
    assert system_entry.actor_id is None

    auth.login(users.make("auditor", "LST-01"))
    rows = _csv_rows(client.get("/audit/?format=csv"))
    actors = {r[1] for r in rows[1:]}
    assert inside.email in actors
    assert outside.email not in actors and "system" not in actors
    assert client.get(f"/audit/{own_entry.id}").status_code == 200
    assert client.get(f"/audit/{foreign_entry.id}").status_code == 404
    assert client.get(f"/audit/{system_entry.id}").status_code == 404


def test_a_national_auditor_sees_every_entry(client, auth, users, session):
    outside = users.make("reporter", "1480")
    session.info["actor"] = outside
    outside.locale = "en"
    session.commit()
    session.info["actor"] = None
    foreign_entry = _entries(session, "users", outside.id)[-1]
    auth.login(users.make("auditor", "RK-S"))
    assert client.get(f"/audit/{foreign_entry.id}").status_code == 200
    assert client.get(f"/audit/{_entries(session, 'users', outside.id)[0].id}").status_code == 200


def test_roles_without_the_audit_permission_are_refused(client, auth, users):
    auth.login(users.make("national_coordinator", "SOS"))
    assert client.get("/audit/").status_code == 403


def test_the_audit_log_offers_no_way_to_change_it(app):
    methods = {
        method
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("audit.")
        for method in rule.methods
    }
    assert methods <= {"GET", "HEAD", "OPTIONS"}


def test_the_navigation_shows_the_audit_log_to_auditors(client, auth, users):
    auth.login(users.make("auditor", "RK-S"))
    assert 'href="/audit/"' in client.get("/").get_data(as_text=True)


def test_a_login_updates_last_login_at_while_login_attempts_stay_out_of_the_audit_log(
    client, auth, users, session
):
    # Login attempts are their own log; only the account's last_login_at change reaches the audit log, as
    # the user's own change.
    user = users.make("reporter", "0180")
    auth.login(user)
    entries = _entries(session, "users", user.id)
    assert entries[-1].action == "update" and set(entries[-1].after) == {"last_login_at"}
    assert (entries[-1].actor_id, entries[-1].actor_label) == (user.id, user.email)
    assert not session.scalars(select(AuditEntry).where(AuditEntry.table_name == "login_attempts")).all()
    assert PASSWORD not in str([e.after for e in entries])
