"""Logging in and out, and the lock after repeated failures (5 failures in 15 minutes lock for 15 minutes)."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.auth.models import LoginAttempt
from app.db import utcnow
from tests.auth.pages import form_message
from tests.conftest import PASSWORD

WRONG = "not the right password"


def _fail(auth, user, times: int):
    return [auth.login(user, WRONG) for _ in range(times)]


def _attempts(session, user) -> list[LoginAttempt]:
    return session.scalars(
        select(LoginAttempt).where(LoginAttempt.user_id == user.id).order_by(LoginAttempt.id)
    ).all()


def _move_back(session, user, minutes: int) -> None:
    """Pretend the account's attempts and lock happened ``minutes`` earlier."""
    for attempt in _attempts(session, user):
        attempt.attempted_at = attempt.attempted_at - timedelta(minutes=minutes)
    if user.locked_until is not None:
        user.locked_until = user.locked_until - timedelta(minutes=minutes)
    session.commit()


def test_the_right_password_logs_in_and_leads_to_the_start_page(client, auth, users, session):
    user = users.make("reporter", "0180")
    response = auth.login(user)
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert client.get("/").status_code == 200
    assert user.last_login_at is not None
    assert [a.succeeded for a in _attempts(session, user)] == [True]


def test_the_email_address_is_matched_whatever_its_letter_case_and_spaces(auth, users):
    user = users.make("reporter", "0180")
    assert auth.login(f"  {user.email.upper()} ").status_code == 302


def test_an_unknown_address_and_a_wrong_password_get_one_and_the_same_message(auth, users, session):
    user = users.make("reporter", "0180")
    wrong_password = auth.login(user, WRONG)
    unknown_address = auth.login("nobody@nowhere.test", PASSWORD)
    assert wrong_password.status_code == unknown_address.status_code == 422
    assert (
        form_message(wrong_password) == form_message(unknown_address) == "Wrong e-mail address or password."
    )
    # Both attempts are recorded; the unknown one with no user.
    emails = session.scalars(select(LoginAttempt.email).where(LoginAttempt.succeeded.is_(False))).all()
    assert {"nobody@nowhere.test", user.email} <= set(emails)


def test_an_inactive_account_cannot_log_in_and_is_told_nothing_more(auth, users, session):
    user = users.make("reporter", "0180")
    user.active = False
    session.commit()
    response = auth.login(user)
    assert response.status_code == 422
    assert form_message(response) == "Wrong e-mail address or password."


def test_a_deactivated_user_is_logged_out_at_the_next_request(client, auth, users, session):
    user = users.make("reporter", "0180")
    auth.login(user)
    assert client.get("/").status_code == 200
    user.active = False
    session.commit()
    response = client.get("/")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_five_failures_lock_the_account_even_against_the_right_password(auth, users, session):
    user = users.make("reporter", "0180")
    responses = _fail(auth, user, 5)
    assert [form_message(r) for r in responses[:4]] == ["Wrong e-mail address or password."] * 4
    assert "locked for 15 minutes" in form_message(responses[4])
    locked_for = user.locked_until - utcnow()
    assert timedelta(minutes=14) < locked_for <= timedelta(minutes=15)

    right = auth.login(user, PASSWORD)
    assert right.status_code == 422
    assert "locked" in form_message(right)
    assert _attempts(session, user)[-1].succeeded is False


def test_four_failures_do_not_lock(auth, users):
    user = users.make("reporter", "0180")
    _fail(auth, user, 4)
    assert user.locked_until is None
    assert auth.login(user).status_code == 302


def test_the_lock_expires_after_fifteen_minutes(auth, users, session):
    user = users.make("reporter", "0180")
    _fail(auth, user, 5)
    _move_back(session, user, 14)
    assert "locked for 1 more minute." in form_message(auth.login(user))
    _move_back(session, user, 2)
    assert auth.login(user).status_code == 302
    assert user.locked_until is None


def test_attempts_refused_during_a_lock_do_not_count_once_it_has_ended(auth, users, session):
    user = users.make("reporter", "0180")
    _fail(auth, user, 5)
    _move_back(session, user, 10)
    for _ in range(4):  # refused unchecked while locked: the password was never tried
        assert "locked" in form_message(auth.login(user, WRONG))
    _move_back(session, user, 6)  # the lock ended a minute ago; those four are six minutes old
    response = auth.login(user, WRONG)
    assert form_message(response) == "Wrong e-mail address or password."
    assert auth.login(user).status_code == 302


def test_failures_older_than_fifteen_minutes_do_not_count(auth, users, session):
    user = users.make("reporter", "0180")
    _fail(auth, user, 4)
    _move_back(session, user, 16)
    _fail(auth, user, 4)
    assert user.locked_until is None
    assert "locked" in form_message(auth.login(user, WRONG))


def test_a_successful_login_starts_the_count_again(client, auth, users):
    user = users.make("reporter", "0180")
    _fail(auth, user, 4)
    assert auth.login(user).status_code == 302
    auth.logout()
    responses = _fail(auth, user, 4)
    assert all("locked" not in form_message(r) for r in responses)
    assert user.locked_until is None
    assert "locked" in form_message(auth.login(user, WRONG))


def test_failures_against_one_account_do_not_lock_another(auth, users):
    victim, bystander = users.make("reporter", "0180"), users.make("reporter", "0180")
    _fail(auth, victim, 5)
    assert auth.login(bystander).status_code == 302


def test_logout_needs_a_post_and_ends_the_session(client, auth, users):
    auth.login(users.make("reporter", "0180"))
    assert client.get("/auth/logout").status_code == 405
    assert client.get("/").status_code == 200
    response = auth.logout()
    assert response.status_code == 302 and response.headers["Location"].endswith("/auth/login")
    after = client.get("/")
    assert after.status_code == 302 and "/auth/login" in after.headers["Location"]


def test_login_returns_to_the_page_asked_for_but_never_to_another_site(auth, client, users):
    user = users.make("reporter", "0180")
    response = client.post(
        "/auth/login?next=/organisations/", data={"email": user.email, "password": PASSWORD}
    )
    assert response.headers["Location"] == "/organisations/"
    auth.logout()
    for target in ("//evil.example/", "https://evil.example/"):
        response = client.post(f"/auth/login?next={target}", data={"email": user.email, "password": PASSWORD})
        assert response.headers["Location"] == "/"
        auth.logout()


def test_a_logged_in_user_visiting_the_login_page_goes_to_the_start_page(client, auth, users):
    auth.login(users.make("reporter", "0180"))
    response = client.get("/auth/login")
    assert response.status_code == 302 and response.headers["Location"] == "/"


def test_a_login_form_without_a_password_is_shown_again_with_the_error_beside_it(client):
    from tests.auth.pages import error_beside

    response = client.post("/auth/login", data={"email": "someone@test.se", "password": ""})
    assert response.status_code == 422
    assert error_beside(response, "password") == "Enter your password."


def test_an_unknown_address_costs_a_password_hash_like_a_known_one(auth, users, monkeypatch):
    # Otherwise the quick answer for unknown addresses would tell which accounts exist.
    from app.auth import passwords, services

    calls = []
    real = passwords.hash_password
    monkeypatch.setattr(services, "hash_password", lambda password: calls.append(password) or real(password))
    auth.login("nobody@nowhere.test", WRONG)
    assert calls == [WRONG]
