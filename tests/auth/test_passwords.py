"""Passwords: stored as Argon2id hashes; the user changes their own under clear rules."""
from __future__ import annotations

from app.auth.passwords import hash_password, password_problem, verify_password
from tests.auth.pages import error_beside
from tests.conftest import PASSWORD

NEW = "a brand new passphrase"


def _change(client, current=PASSWORD, new=NEW, confirm=None):
    return client.post(
        "/auth/password",
        data={
            "current_password": current,
            "new_password": new,
            "confirm_password": new if confirm is None else confirm,
        },
    )


def test_the_stored_password_is_an_argon2id_hash_not_the_password(users):
    user = users.make("reporter", "0180")
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash


def test_the_real_hash_parameters_are_used_outside_tests(app, monkeypatch):
    monkeypatch.setitem(app.config, "PASSWORD_HASH_FAST", False)
    with app.app_context():
        hashed = hash_password(PASSWORD)
    assert hashed.startswith("$argon2id$") and "m=65536" in hashed
    assert verify_password(hashed, PASSWORD) and not verify_password(hashed, PASSWORD + "x")


def test_a_damaged_hash_never_verifies():
    assert verify_password("not a hash", PASSWORD) is False


def test_length_beats_composition_rules(app):
    with app.test_request_context():
        assert password_problem("Short1!") is not None
        assert password_problem("aaaaaaaaaaaaaaaa") is not None  # long but repetitive
        assert password_problem(" leading space ok?") is not None
        assert password_problem("all lower case words") is None


def test_a_user_changes_their_password_and_logs_in_with_the_new_one(client, auth, users):
    user = users.make("reporter", "0180")
    auth.login(user)
    response = _change(client)
    assert response.status_code == 302
    assert user.password_changed_at is not None
    auth.logout()
    assert auth.login(user, PASSWORD).status_code == 422
    assert auth.login(user, NEW).status_code == 302


def test_a_wrong_current_password_changes_nothing_and_says_so_beside_the_field(client, auth, users):
    user = users.make("reporter", "0180")
    auth.login(user)
    before = user.password_hash
    response = _change(client, current="not my password")
    assert response.status_code == 422
    assert error_beside(response, "current_password") == "The current password is wrong."
    assert user.password_hash == before and user.password_changed_at is None


def test_a_too_short_new_password_is_refused_beside_the_field(client, auth, users):
    user = users.make("reporter", "0180")
    auth.login(user)
    before = user.password_hash
    response = _change(client, new="short pw")
    assert response.status_code == 422
    assert error_beside(response, "new_password") == "The password must be at least 12 characters long."
    assert user.password_hash == before


def test_two_different_new_passwords_are_refused_beside_the_repeat_field(client, auth, users):
    user = users.make("reporter", "0180")
    auth.login(user)
    before = user.password_hash
    response = _change(client, confirm=NEW + " typo")
    assert response.status_code == 422
    assert error_beside(response, "confirm_password") == "The two new passwords differ."
    assert user.password_hash == before


def test_the_new_password_must_differ_from_the_current_one(client, auth, users):
    user = users.make("reporter", "0180")
    auth.login(user)
    response = _change(client, new=PASSWORD)
    assert response.status_code == 422
    assert error_beside(response, "new_password") == "The new password must differ from the current one."


def test_the_password_page_needs_a_login(client):
    response = client.get("/auth/password")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
