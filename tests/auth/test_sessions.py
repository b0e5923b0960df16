"""The session cookie's flags and CSRF protection on forms."""
from __future__ import annotations

import re

import pytest

from app import create_app
from tests.conftest import PASSWORD


def _session_cookie(response) -> str:
    cookies = [value for value in response.headers.getlist("Set-Cookie") if value.startswith("session=")]
    assert cookies, "the response sets no session cookie"
    return cookies[-1]


def test_the_session_cookie_is_httponly_and_samesite_lax_but_not_secure_over_http(client, users):
    user = users.make("reporter", "0180")
    response = client.post("/auth/login", data={"email": user.email, "password": PASSWORD})
    cookie = _session_cookie(response)
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie


def test_the_session_cookie_is_secure_when_the_request_came_over_https(client, users):
    user = users.make("reporter", "0180")
    response = client.post(
        "/auth/login", data={"email": user.email, "password": PASSWORD}, base_url="https://localhost"
    )
    assert response.status_code == 302
    cookie = _session_cookie(response)
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_a_new_session_is_started_at_login(client, users):
    user = users.make("reporter", "0180")
    with client.session_transaction() as before:
        before["planted"] = "by someone else"
    client.post("/auth/login", data={"email": user.email, "password": PASSWORD})
    with client.session_transaction() as after:
        assert "planted" not in after and after.get("_user_id") == str(user.id)


@pytest.fixture
def csrf_app(app):
    """A second app on the same database with CSRF protection on, as in production."""
    protected = create_app(
        {
            "TESTING": True,
            "INSTANCE_PATH": app.instance_path,
            "SECRET_KEY": "test-secret",
            "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
            "WTF_CSRF_ENABLED": True,
            "PASSWORD_HASH_FAST": True,
            "BABEL_DEFAULT_LOCALE": "en",
        }
    )
    yield protected
    from app.extensions import db

    with protected.app_context():
        db.engine.dispose()


def test_a_login_post_without_the_csrf_token_is_refused(csrf_app):
    client = csrf_app.test_client()
    response = client.post("/auth/login", data={"email": "someone@test.se", "password": PASSWORD})
    assert response.status_code == 400


def test_forms_carry_the_token_and_a_post_with_it_passes(csrf_app):
    client = csrf_app.test_client()
    page = client.get("/auth/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    assert client.post("/auth/logout").status_code == 400
    response = client.post("/auth/logout", data={"csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"].endswith("/auth/login")
