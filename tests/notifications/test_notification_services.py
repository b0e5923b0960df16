"""Notices, the outbox and its delivery: the rules, without HTTP."""
from __future__ import annotations

from datetime import timedelta

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from app.db import utcnow
from app.errors import ConflictError, NotFoundError
from app.notifications import services
from app.notifications.jobs import deliver_outbox_job
from app.notifications.models import Notice, OutboxMessage, OutboxStatus
from app.scheduling.registry import JOBS

NO_MAIL = {"MAIL_SERVER": ""}


def test_notify_creates_an_unread_notice_and_a_queued_message(session, users):
    user = users.make("reporter", "1480")

    notice, message = services.notify(
        session, user, "Ny tilldelning", "Göteborg får 10 000 munskydd.", "/stock/1"
    )

    assert session.get(Notice, notice.id).user_id == user.id
    assert notice.text == "Ny tilldelning" and notice.link == "/stock/1" and notice.read_at is None
    stored = session.get(OutboxMessage, message.id)
    assert stored.status == OutboxStatus.QUEUED
    assert stored.user_id == user.id and stored.to_address == user.email
    assert stored.body == "Göteborg får 10 000 munskydd." and stored.attempts == 0
    assert services.unread_count(session, user) == 1


def test_an_absolute_link_is_written_into_the_email(session, users):
    user = users.make("reporter", "0180")

    _, message = services.notify(session, user, "Leverans", "Bekräfta leveransen.", "https://samordna.se/d/7")

    assert message.body == "Bekräfta leveransen.\n\nhttps://samordna.se/d/7"


@pytest.mark.parametrize(
    "link", ["javascript:alert(1)", "//evil.example/x", "data:text/html,hi", "ftp://x/y", "/a b"]
)
def test_notify_refuses_links_that_are_not_local_paths_or_web_addresses(session, users, link):
    user = users.make("reporter", "0180")

    with pytest.raises(services.NotificationError) as raised:
        services.notify(session, user, "Subject", "Body", link)

    assert raised.value.field == "link"
    assert session.scalar(select(Notice).where(Notice.user_id == user.id)) is None


def test_a_subject_is_one_line_and_may_not_be_empty(session, users):
    user = users.make("reporter", "0180")

    with pytest.raises(services.NotificationError):
        services.notify(session, user, "  \n ", "Body")
    notice, message = services.notify(session, user, "Två\r\nrader", "Body")

    assert notice.text == message.subject == "Två rader"


def test_an_inactive_user_gets_the_notice_but_no_email(session, users):
    user = users.make("reporter", "0180")
    user.active = False

    notice, message = services.notify(session, user, "Subject", "Body")

    assert notice.id is not None and message is None
    assert session.scalar(select(OutboxMessage).where(OutboxMessage.user_id == user.id)) is None


def test_delivery_without_a_mail_server_holds_the_messages(session, users, fake_smtp):
    user = users.make("reporter", "0180")
    _, message = services.notify(session, user, "Subject", "Body")

    result = services.deliver_outbox(session, NO_MAIL)

    assert message.status == OutboxStatus.HELD and message.attempts == 0
    assert result.held >= 1 and result.sent == 0
    assert fake_smtp.connections == []
    # Held messages wait for an administrator; the next run does not touch them.
    assert message not in services.due_messages(session, utcnow())


def test_delivery_sends_through_smtp_with_starttls_and_login(session, users, fake_smtp, mail_config):
    user = users.make("reporter", "1480", name="Åsa Öberg")
    _, message = services.notify(
        session, user, "Ny tilldelning till Göteborg", "Munskydd typ IIR: 10 000 st."
    )

    result = services.deliver_outbox(session, mail_config)

    assert message.status == OutboxStatus.SENT and message.sent_at is not None
    assert message.attempts == 1 and message.last_error is None
    assert result.sent >= 1 and result.failed == 0
    [connection] = fake_smtp.connections
    assert (connection.host, connection.port) == ("smtp.example.se", 587)
    assert connection.tls and connection.credentials == ("samordna", "hemligt") and connection.closed
    [email] = [m for m in connection.sent if m["To"] == user.email]
    assert email["Subject"] == "Ny tilldelning till Göteborg"
    assert email["From"] == "Samordna <noreply@samordna.example.se>"
    assert email.get_content().strip() == "Munskydd typ IIR: 10 000 st."
    assert email["Message-ID"].endswith("@samordna.example.se>")


def test_no_tls_and_no_login_unless_configured(session, users, fake_smtp, mail_config):
    user = users.make("reporter", "0180")
    services.notify(session, user, "Subject", "Body")

    services.deliver_outbox(session, dict(mail_config, MAIL_USE_TLS=False, MAIL_USERNAME=""))

    [connection] = fake_smtp.connections
    assert not connection.tls and connection.credentials is None


def test_a_refused_recipient_fails_with_the_error_and_the_others_are_sent(
    session, users, fake_smtp, mail_config
):
    refused = users.make("reporter", "0180")
    accepted = users.make("reporter", "1480")
    _, bad = services.notify(session, refused, "Subject", "Body")
    _, good = services.notify(session, accepted, "Subject", "Body")
    fake_smtp.refuse = {refused.email}

    result = services.deliver_outbox(session, mail_config)

    assert bad.status == OutboxStatus.FAILED and bad.attempts == 1
    assert "SMTPRecipientsRefused" in bad.last_error and "No such user" in bad.last_error
    assert bad.next_attempt_at is not None and bad.next_attempt_at > utcnow()
    assert good.status == OutboxStatus.SENT
    assert result.failed == 1 and result.sent >= 1


def test_an_unreachable_server_fails_every_due_message(session, users, fake_smtp, mail_config):
    user = users.make("reporter", "0180")
    messages = [services.notify(session, user, f"Subject {n}", "Body").message for n in range(3)]
    fake_smtp.fail_connect = ConnectionRefusedError(111, "Connection refused")

    services.deliver_outbox(session, mail_config)

    assert all(m.status == OutboxStatus.FAILED and m.attempts == 1 for m in messages)
    assert all("Connection refused" in m.last_error for m in messages)


def test_a_dropped_connection_leaves_the_rest_for_the_next_run(session, users, fake_smtp, mail_config):
    user = users.make("reporter", "0180")
    first, second, third = (services.notify(session, user, f"Subject {n}", "Body").message for n in range(3))
    fake_smtp.disconnect_after = 1

    services.deliver_outbox(session, mail_config)

    assert first.status == OutboxStatus.SENT
    assert second.status == OutboxStatus.FAILED and "SMTPServerDisconnected" in second.last_error
    assert third.status == OutboxStatus.QUEUED and third.attempts == 0


def test_a_failed_message_is_retried_after_back_off_and_given_up_after_five_attempts(
    session, users, fake_smtp, mail_config
):
    user = users.make("reporter", "0180")
    _, message = services.notify(session, user, "Subject", "Body")
    fake_smtp.refuse = {user.email}

    services.deliver_outbox(session, mail_config)
    services.deliver_outbox(session, mail_config)
    assert message.attempts == 1, "not tried again before its back-off has passed"

    for expected in range(2, services.MAX_ATTEMPTS + 1):
        message.next_attempt_at = utcnow() - timedelta(seconds=1)
        services.deliver_outbox(session, mail_config)
        assert message.attempts == expected
    assert message.status == OutboxStatus.FAILED and message.next_attempt_at is None

    fake_smtp.refuse = set()
    services.deliver_outbox(session, mail_config)
    assert message.attempts == services.MAX_ATTEMPTS and message.status == OutboxStatus.FAILED


def test_retry_queues_a_held_message_again_once_a_mail_server_is_configured(session, users, mail_config):
    admin = users.make("administrator", "SOS")
    user = users.make("reporter", "0180")
    _, message = services.notify(session, user, "Subject", "Body")
    services.deliver_outbox(session, NO_MAIL)

    with pytest.raises(services.NotificationError):
        services.retry_message(session, admin, message.id, NO_MAIL)
    assert message.status == OutboxStatus.HELD

    services.retry_message(session, admin, message.id, mail_config)
    assert message.status == OutboxStatus.QUEUED and message.attempts == 0

    with pytest.raises(ConflictError):
        services.retry_message(session, admin, message.id, mail_config)


def test_retry_of_a_message_outside_the_administrators_scope_is_not_found(session, users, mail_config):
    county_admin = users.make("administrator", "LST-01")
    user = users.make("reporter", "1480")
    _, message = services.notify(session, user, "Subject", "Body")
    message.status = OutboxStatus.FAILED.value

    with pytest.raises(NotFoundError):
        services.retry_message(session, county_admin, message.id, mail_config)
    assert message.status == OutboxStatus.FAILED


def test_mark_read_only_for_the_notices_owner(session, users):
    owner = users.make("reporter", "0180")
    other = users.make("reporter", "0180")
    notice = services.notify(session, owner, "Subject", "Body").notice

    with pytest.raises(NotFoundError):
        services.mark_read(session, other, notice)
    assert notice.read_at is None

    services.mark_read(session, owner, notice)
    assert notice.read_at is not None
    assert services.unread_count(session, owner) == 0


def test_mark_all_read_touches_only_the_users_own_notices(session, users):
    owner = users.make("reporter", "0180")
    other = users.make("reporter", "0180")
    for n in range(3):
        services.notify(session, owner, f"Subject {n}", "Body")
    services.notify(session, other, "Subject", "Body")

    assert services.mark_all_read(session, owner) == 3

    assert services.unread_count(session, owner) == 0
    assert services.unread_count(session, other) == 1


def test_the_delivery_job_runs_every_minute_and_reports_what_it_did(app, session, users):
    spec = JOBS["notifications.deliver_outbox"]
    assert spec.trigger == "interval" and spec.trigger_args == {"minutes": 1}
    user = users.make("reporter", "0180")
    _, message = services.notify(session, user, "Subject", "Body")

    # The worker runs jobs in an app context in the default locale; the test app has no MAIL_SERVER.
    with force_locale("en"):
        summary = spec.func(session)

    assert spec.func is deliver_outbox_job
    assert message.status == OutboxStatus.HELD
    assert "held" in summary
