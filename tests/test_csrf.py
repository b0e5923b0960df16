"""CSRF protection covers every form: each POST route refuses a request without the token."""
from __future__ import annotations

import re

import pytest
from flask import url_for

from allocation.api import API_TOKEN
from app import create_app
from app.extensions import db
from tests.conftest import PASSWORD


@pytest.fixture
def protected_app(app):
    """A second app on the same database with CSRF protection on, as in production."""
    protected = create_app({**{k: app.config[k] for k in ("TESTING", "SECRET_KEY", "SQLALCHEMY_DATABASE_URI",
                                                           "PASSWORD_HASH_FAST", "BABEL_DEFAULT_LOCALE")},
                            "INSTANCE_PATH": app.instance_path, "WTF_CSRF_ENABLED": True})
    yield protected
    with protected.app_context():
        db.engine.dispose()


def _token(page: str) -> str:
    return re.search(r'name="csrf_token"[^>]*?value="([^"]+)"', page).group(1)


def _post_urls(app):
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            # The API authenticates by bearer token, never by cookie, so CSRF does not apply there.
            if "POST" in rule.methods and getattr(app.view_functions[rule.endpoint], "access", None) != API_TOKEN:
                # The CSRF check runs before the view, so any well-formed URL of the route will do.
                values = {name: 1 if rule._converters[name].regex == r"\d+" else "x" for name in rule.arguments}
                yield rule.endpoint, url_for(rule.endpoint, **values)


def test_every_post_route_refuses_a_request_without_the_csrf_token(protected_app, users):
    admin = users.make("administrator", "SOS")
    client = protected_app.test_client()
    token = _token(client.get("/auth/login").get_data(as_text=True))
    assert client.post("/auth/login", data={"email": admin.email, "password": PASSWORD, "csrf_token": token}).status_code == 302
    urls = list(_post_urls(protected_app))
    assert len(urls) >= 10
    accepted = [(endpoint, client.post(url, data={}).status_code) for endpoint, url in urls]
    assert [(endpoint, status) for endpoint, status in accepted if status != 400] == []


def test_a_post_with_the_token_gets_through(protected_app, users):
    admin = users.make("administrator", "SOS")
    client = protected_app.test_client()
    token = _token(client.get("/auth/login").get_data(as_text=True))
    client.post("/auth/login", data={"email": admin.email, "password": PASSWORD, "csrf_token": token})
    page = client.get("/").get_data(as_text=True)
    response = client.post("/language", data={"locale": "sv", "next": "/", "csrf_token": _token(page)})
    assert response.status_code == 302


def test_the_api_refuses_a_cookie_session_without_a_bearer_token(protected_app, users):
    admin = users.make("administrator", "SOS")
    client = protected_app.test_client()
    token = _token(client.get("/auth/login").get_data(as_text=True))
    client.post("/auth/login", data={"email": admin.email, "password": PASSWORD, "csrf_token": token})
    assert client.post("/api/v1/reports", json={}).status_code == 401
