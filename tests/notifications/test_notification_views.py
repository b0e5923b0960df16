"""The notices page and the outbox pages, through HTTP."""
from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.notifications import services
from app.notifications.models import Notice, OutboxMessage, OutboxStatus


def _notify(user, subject, body="Body", link=None):
    notified = services.notify(db.session, user, subject, body, link)
    db.session.commit()
    return notified


def test_the_outbox_is_forbidden_to_users_without_the_permission(client, users, auth):
    cases = (("reporter", "0180"), ("county_coordinator", "LST-01"), ("national_coordinator", "SOS"))
    for roles, code in cases:
        auth.login(users.make(roles, code))
        assert client.get("/notifications/outbox").status_code == 403
        auth.logout()


def test_a_national_administrator_sees_every_message_and_its_content(client, users, auth):
    admin = users.make("administrator", "SOS")
    stockholm = users.make("reporter", "0180")
    goteborg = users.make("reporter", "1480")
    _notify(stockholm, "Lägesbild saknas för Stockholm")
    message = _notify(goteborg, "Leverans till Göteborg", "Bekräfta mottagandet av 2 000 visir.").message
    auth.login(admin)

    page = client.get("/notifications/outbox").get_data(as_text=True)
    detail = client.get(f"/notifications/outbox/{message.id}").get_data(as_text=True)

    assert "Lägesbild saknas för Stockholm" in page and "Leverans till Göteborg" in page
    assert "Bekräfta mottagandet av 2 000 visir." in detail and goteborg.email in detail


def test_a_county_administrator_sees_only_messages_to_users_in_the_county(client, users, auth):
    county_admin = users.make("administrator", "LST-14")
    inside = _notify(users.make("reporter", "1480"), "Till Göteborg").message
    outside = _notify(users.make("reporter", "0180"), "Till Stockholm").message
    auth.login(county_admin)

    page = client.get("/notifications/outbox").get_data(as_text=True)

    assert "Till Göteborg" in page and "Till Stockholm" not in page
    assert client.get(f"/notifications/outbox/{inside.id}").status_code == 200
    assert client.get(f"/notifications/outbox/{outside.id}").status_code == 404
    assert client.post(f"/notifications/outbox/{outside.id}/retry").status_code == 404


def test_the_outbox_filters_by_status_and_exports_csv(client, users, auth):
    admin = users.make("administrator", "SOS")
    user = users.make("reporter", "0180")
    held = _notify(user, "Hållet meddelande").message
    services.deliver_outbox(db.session, {"MAIL_SERVER": ""})
    _notify(user, "Köat meddelande")
    db.session.commit()
    auth.login(admin)

    only_held = client.get("/notifications/outbox?status=held").get_data(as_text=True)
    csv = client.get("/notifications/outbox?status=queued&format=csv")

    assert held.status == OutboxStatus.HELD
    assert "Hållet meddelande" in only_held and "Köat meddelande" not in only_held
    assert "No mail server is configured" in only_held
    assert csv.mimetype == "text/csv"
    text = csv.get_data(as_text=True)
    assert "Köat meddelande" in text and "Hållet meddelande" not in text and user.email in text


def test_retrying_a_held_message_queues_it_once_a_mail_server_is_configured(
    app, client, users, auth, monkeypatch
):
    admin = users.make("administrator", "SOS")
    message = _notify(users.make("reporter", "0180"), "Subject").message
    services.deliver_outbox(db.session, {"MAIL_SERVER": ""})
    db.session.commit()
    auth.login(admin)

    refused = client.post(f"/notifications/outbox/{message.id}/retry", follow_redirects=True)
    assert "No mail server is configured" in refused.get_data(as_text=True)
    assert db.session.get(OutboxMessage, message.id).status == OutboxStatus.HELD

    monkeypatch.setitem(app.config, "MAIL_SERVER", "smtp.example.se")
    response = client.post(f"/notifications/outbox/{message.id}/retry")
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(OutboxMessage, message.id).status == OutboxStatus.QUEUED


def test_the_notices_page_shows_only_the_users_own_notices(client, users, auth):
    me = users.make("reporter", "0180")
    colleague = users.make("reporter", "0180")
    _notify(me, "Din lägesbild är mottagen", link="/organisations/")
    _notify(colleague, "Kollegans notis")
    auth.login(me)

    page = client.get("/notifications/").get_data(as_text=True)

    assert "Din lägesbild är mottagen" in page and "Kollegans notis" not in page
    assert 'href="/organisations/"' in page
    assert 'aria-label="1 unread"' in page


def test_marking_a_notice_read_clears_it_from_the_unread_count(client, users, auth):
    me = users.make("reporter", "0180")
    first = _notify(me, "Första").notice
    _notify(me, "Andra")
    auth.login(me)

    assert client.post(f"/notifications/{first.id}/read").status_code == 302
    assert 'aria-label="1 unread"' in client.get("/notifications/").get_data(as_text=True)
    unread = client.get("/notifications/?state=unread").get_data(as_text=True)
    assert "Andra" in unread and "Första" not in unread

    client.post("/notifications/read-all")
    db.session.expire_all()
    assert db.session.scalar(select(Notice).where(Notice.user_id == me.id, Notice.read_at.is_(None))) is None
    assert "unread" not in client.get("/notifications/").get_data(as_text=True).split("<main", 1)[0]


def test_marking_someone_elses_notice_read_answers_404_and_changes_nothing(client, users, auth):
    me = users.make("reporter", "0180")
    theirs = _notify(users.make("reporter", "0180"), "Inte din").notice
    auth.login(me)

    assert client.post(f"/notifications/{theirs.id}/read").status_code == 404
    db.session.expire_all()
    assert db.session.get(Notice, theirs.id).read_at is None


def test_anonymous_visitors_are_sent_to_login(client):
    response = client.get("/notifications/")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_the_outbox_is_in_the_navigation_of_administrators_only(client, users, auth):
    auth.login(users.make("administrator", "SOS"))
    assert 'href="/notifications/outbox"' in client.get("/").get_data(as_text=True)
    auth.logout()
    auth.login(users.make("reporter", "0180"))
    assert 'href="/notifications/outbox"' not in client.get("/").get_data(as_text=True)
