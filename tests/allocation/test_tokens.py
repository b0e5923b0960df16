"""API tokens: shown once, stored only as a hash, scoped to organisations, revocable."""
from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from allocation import tokens
from allocation.models import ApiToken
from app.audit.models import AuditEntry
from app.db import utcnow
from app.errors import NotFoundError
from tests.conftest import organisation

SECRET = re.compile(r"smd_[A-Za-z0-9_-]{43}")


def _count(session) -> int:
    return session.scalar(select(func.count()).select_from(ApiToken))


def _issue(session, user, code="0180", name="Stock system"):
    issued = tokens.create_token(session, user, organisation=organisation(code), name=name)
    session.commit()
    return issued


def test_a_secret_has_the_visible_prefix_and_a_sha256_fingerprint():
    secret = tokens.new_secret()
    assert SECRET.fullmatch(secret)
    assert re.fullmatch(r"[0-9a-f]{64}", tokens.hash_token(secret))
    assert tokens.new_secret() != secret


def test_a_new_token_is_shown_once_in_the_answer_and_the_database_holds_only_its_hash(app, client, auth, session, users):
    auth.login(users.make("reporter", "0180"))
    response = client.post("/need/tokens", data={"name": "Care records system"})
    assert response.status_code == 201 and "Location" not in response.headers
    assert response.headers["Cache-Control"] == "no-store"
    secrets_shown = SECRET.findall(response.get_data(as_text=True))
    assert len(secrets_shown) == 1
    secret = secrets_shown[0]

    token = session.scalar(select(ApiToken))
    assert token.token_hash == tokens.hash_token(secret) and token.prefix == secret[:12]
    assert token.organisation.municipality_code == "0180" and token.name == "Care records system"
    stored = json.dumps([str(getattr(token, column.key)) for column in ApiToken.__table__.columns])
    assert secret not in stored
    audit = json.dumps([entry.after for entry in session.scalars(select(AuditEntry).where(AuditEntry.table_name == "api_tokens"))])
    assert secret not in audit and token.token_hash not in audit and '"token_hash": "***"' in audit
    # Nor is it in the session cookie (where a flash message would have put it).
    cookie = client.get_cookie("session")
    if cookie is not None:
        assert secret not in json.dumps(app.session_interface.get_signing_serializer(app).loads(cookie.value))

    listed = client.get("/need/tokens").get_data(as_text=True)
    assert secret not in listed and f"{secret[:12]}…" in listed and "<td>Care records system</td>" in listed


def test_a_reporter_gets_tokens_for_its_own_organisation_whatever_it_posts(client, auth, session, users):
    auth.login(users.make("reporter", "0180"))
    page = client.get("/need/tokens").get_data(as_text=True)
    assert 'name="organisation_id"' not in page
    response = client.post("/need/tokens", data={"name": "Stock", "organisation_id": str(organisation("1480").id)})
    assert response.status_code == 201
    assert session.scalar(select(ApiToken)).organisation_id == organisation("0180").id


def test_a_county_administrator_chooses_among_its_countys_organisations_only(client, auth, session, users):
    auth.login(users.make("administrator", "LST-01"))
    page = client.get("/need/tokens").get_data(as_text=True)
    assert f'value="{organisation("0180").id}"' in page and f'value="{organisation("REG-01").id}"' in page
    assert f'value="{organisation("1480").id}"' not in page and f'value="{organisation("LST-01").id}"' not in page

    outside = client.post("/need/tokens", data={"name": "Stock", "organisation_id": str(organisation("1480").id)})
    assert outside.status_code == 422 and _count(session) == 0
    inside = client.post("/need/tokens", data={"name": "Stock", "organisation_id": str(organisation("0180").id)})
    assert inside.status_code == 201 and session.scalar(select(ApiToken)).organisation_id == organisation("0180").id


def test_organisations_that_do_not_report_get_no_token(session, users):
    admin = users.make("administrator", "SOS")
    with pytest.raises(tokens.TokenError) as error:
        tokens.create_token(session, admin, organisation=organisation("LST-01"), name="Stock")
    assert error.value.field == "organisation_id" and _count(session) == 0


def test_a_token_outside_the_users_scope_cannot_be_created(session, users):
    reporter = users.make("reporter", "0180")
    with pytest.raises(NotFoundError):
        tokens.create_token(session, reporter, organisation=organisation("1480"), name="Stock")


def test_roles_without_token_management_cannot_create_tokens(client, auth, session, users):
    coordinator = users.make("county_coordinator", "LST-01")
    with pytest.raises(tokens.TokenNotAllowed):
        tokens.create_token(session, coordinator, organisation=organisation("0180"), name="Stock")
    auth.login(coordinator)
    assert client.get("/need/tokens").status_code == 403
    assert client.post("/need/tokens", data={"name": "Stock"}).status_code == 403


def test_a_token_needs_a_name_not_used_by_another_active_token(client, auth, session, users):
    reporter = users.make("reporter", "0180")
    auth.login(reporter)
    blank = client.post("/need/tokens", data={"name": "  "})
    assert blank.status_code == 422 and "Name the token" in blank.get_data(as_text=True)
    first = _issue(session, reporter, name="Stock")
    taken = client.post("/need/tokens", data={"name": "Stock"})
    assert taken.status_code == 422 and "already has an active token named Stock" in taken.get_data(as_text=True)
    tokens.revoke_token(session, reporter, first.token)
    session.commit()
    assert client.post("/need/tokens", data={"name": "Stock"}).status_code == 201
    assert _count(session) == 2


def test_revoking_a_token_stops_it_and_keeps_it_listed(client, auth, session, users):
    reporter = users.make("reporter", "0180")
    issued = _issue(session, reporter)
    assert tokens.authenticate(session, issued.secret) is not None
    auth.login(reporter)
    response = client.post(f"/need/tokens/{issued.token.id}/revoke")
    assert response.status_code == 302 and response.headers["Location"].endswith("/need/tokens")
    session.expire_all()
    assert issued.token.revoked_at is not None
    assert tokens.authenticate(session, issued.secret) is None
    page = client.get("/need/tokens").get_data(as_text=True)
    assert "Revoked" in page and "<td>Stock system</td>" in page
    assert "<td>Stock system</td>" not in client.get("/need/tokens?state=active").get_data(as_text=True)


def test_revoking_twice_says_it_was_already_revoked(client, auth, session, users):
    reporter = users.make("reporter", "0180")
    issued = _issue(session, reporter)
    auth.login(reporter)
    client.post(f"/need/tokens/{issued.token.id}/revoke")
    again = client.post(f"/need/tokens/{issued.token.id}/revoke", follow_redirects=True)
    assert "was already revoked" in again.get_data(as_text=True)


def test_another_countys_token_is_not_found(client, auth, session, users):
    issued = _issue(session, users.make("reporter", "1480"), code="1480")
    auth.login(users.make("administrator", "LST-01"))
    assert client.post(f"/need/tokens/{issued.token.id}/revoke").status_code == 404
    assert client.post("/need/tokens/999999/revoke").status_code == 404
    session.expire_all()
    assert issued.token.revoked_at is None
    assert "<td>Stock system</td>" not in client.get("/need/tokens").get_data(as_text=True)


def test_a_national_administrator_sees_and_revokes_every_organisations_tokens(client, auth, session, users):
    issued = _issue(session, users.make("reporter", "1480"), code="1480")
    auth.login(users.make("administrator", "SOS"))
    assert "<td>Stock system</td>" in client.get("/need/tokens").get_data(as_text=True)
    assert client.post(f"/need/tokens/{issued.token.id}/revoke").status_code == 302


def test_the_token_list_exports_as_csv_without_secrets(client, auth, session, users):
    reporter = users.make("reporter", "0180")
    issued = _issue(session, reporter)
    auth.login(reporter)
    response = client.get("/need/tokens?format=csv")
    assert response.mimetype == "text/csv"
    text = response.get_data(as_text=True)
    assert "Stock system" in text and issued.secret not in text and issued.token.token_hash not in text


def test_last_use_is_noted_to_the_minute(session, users):
    issued = _issue(session, users.make("reporter", "0180"))
    now = utcnow()
    tokens.authenticate(session, issued.secret, now=now)
    tokens.authenticate(session, issued.secret, now=now + timedelta(seconds=30))
    assert issued.token.last_used_at == now
    tokens.authenticate(session, issued.secret, now=now + timedelta(minutes=2))
    assert issued.token.last_used_at == now + timedelta(minutes=2)


@pytest.mark.parametrize("sent", ["", "Bearer", "smd_short", "x" * 300, "smd_" + "a" * 300])
def test_anything_but_an_issued_token_authenticates_nothing(session, users, sent):
    _issue(session, users.make("reporter", "0180"))
    assert tokens.authenticate(session, sent) is None
