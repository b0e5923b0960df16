"""The dialogue log page and the follow-up actions page, through the browser's eyes (the test client)."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from app.notifications.models import Notice
from app.timeutil import local_today
from suppliers.models import DialogueEntry, FollowUpAction
from tests.suppliers.factories import make_dialogue_entry, make_follow_up_action, make_supplier


def _count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def officer(users):
    return users.make("purchasing_officer", name="Olle Inköpare")


@pytest.fixture
def producer(users):
    return users.make("production_team", name="Pia Produktion")


@pytest.fixture
def supplier(session):
    supplier = make_supplier(session, legal_name="Mask i Borås AB")
    session.commit()
    return supplier


def _entry_form(**changes) -> dict:
    return {
        "kind": "call",
        "occurred_on": local_today().isoformat(),
        "participants": "Olle (agency), Kim (supplier)",
        "notes": "They can deliver 200 000 FFP2 a week from May.",
        **changes,
    }


def test_readers_see_the_log_newest_first_with_actions_but_no_forms(
    client, auth, users, session, supplier, producer
):
    old = make_dialogue_entry(session, supplier, occurred_on=date(2026, 1, 12), notes="First contact.")
    new = make_dialogue_entry(session, supplier, occurred_on=date(2026, 2, 20), notes="Samples agreed.")
    make_follow_up_action(
        session, producer, entry=old, description="Test the samples", due_on=date(2026, 1, 20)
    )
    session.commit()
    auth.login(users.make("county_coordinator", "LST-01"))

    response = client.get(f"/suppliers/{supplier.id}/dialogue")

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert page.index("Samples agreed.") < page.index("First contact.")
    assert f'id="entry-{new.id}"' in page and "Test the samples" in page and "Pia Produktion" in page
    assert "Overdue" in page
    assert "Log a meeting, call, e-mail or site visit" not in page and "Mark done" not in page


def test_an_unknown_supplier_has_no_dialogue_page(client, auth, officer):
    auth.login(officer)

    assert client.get("/suppliers/999999/dialogue").status_code == 404


def test_a_purchasing_officer_logs_a_call_with_an_action_and_its_owner_is_told(
    client, auth, session, supplier, officer, producer
):
    auth.login(officer)
    due = local_today() + timedelta(days=7)

    response = client.post(
        f"/suppliers/{supplier.id}/dialogue/entries",
        data=_entry_form(
            action_description="Visit the factory", action_owner_id=producer.id, action_due_on=due
        ),
    )

    entry = session.scalar(select(DialogueEntry).where(DialogueEntry.supplier_id == supplier.id))
    action = entry.actions[0]
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/suppliers/{supplier.id}/dialogue#entry-{entry.id}")
    assert (entry.kind, entry.created_by, action.owner, action.due_on) == ("call", officer, producer, due)
    notice = session.scalar(select(Notice).where(Notice.user_id == producer.id))
    assert notice.text.startswith("Follow-up action for Mask i Borås AB")
    # Sent from a request: the link is absolute, so the e-mail carries it.
    assert notice.link == f"http://localhost/suppliers/{supplier.id}/dialogue#action-{action.id}"


def test_an_entry_dated_in_the_future_comes_back_with_the_error_beside_the_date_and_nothing_saved(
    client, auth, session, supplier, officer, producer
):
    auth.login(officer)
    tomorrow = local_today() + timedelta(days=1)

    response = client.post(
        f"/suppliers/{supplier.id}/dialogue/entries",
        data=_entry_form(
            occurred_on=tomorrow, action_description="X", action_owner_id=producer.id, action_due_on=tomorrow
        ),
    )

    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="occurred_on-error"' in page and "cannot be after today" in page
    assert _count(session, DialogueEntry) == 0 and _count(session, FollowUpAction) == 0


def test_an_action_due_before_the_entry_is_refused_beside_the_actions_date_and_the_entry_is_not_saved(
    client, auth, session, supplier, officer, producer
):
    auth.login(officer)
    day = local_today()

    response = client.post(
        f"/suppliers/{supplier.id}/dialogue/entries",
        data=_entry_form(
            occurred_on=day,
            action_description="Call back",
            action_owner_id=producer.id,
            action_due_on=day - timedelta(days=1),
        ),
    )

    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="action_due_on-error"' in page and "cannot be due before the call" in page
    assert _count(session, DialogueEntry) == 0
    assert session.scalar(select(func.count()).select_from(Notice).where(Notice.user_id == producer.id)) == 0


def test_an_action_half_filled_in_is_sent_back(client, auth, session, supplier, officer, producer):
    auth.login(officer)

    response = client.post(
        f"/suppliers/{supplier.id}/dialogue/entries", data=_entry_form(action_owner_id=producer.id)
    )

    assert response.status_code == 422
    assert "Describe the action, or leave its owner and due date empty." in response.get_data(as_text=True)
    assert _count(session, DialogueEntry) == 0


def test_readers_may_not_log_entries_or_add_actions(client, auth, session, users, supplier, producer):
    entry = make_dialogue_entry(session, supplier)
    session.commit()
    auth.login(users.make("national_coordinator"))

    assert client.post(f"/suppliers/{supplier.id}/dialogue/entries", data=_entry_form()).status_code == 403
    assert client.post(f"/suppliers/dialogue/{entry.id}/actions", data={}).status_code == 403
    assert _count(session, DialogueEntry) == 1


def test_an_action_is_added_to_an_entry_later(client, auth, session, supplier, officer, producer):
    entry = make_dialogue_entry(session, supplier, occurred_on=local_today())
    session.commit()
    auth.login(officer)
    prefix = f"entry-{entry.id}-"

    refused = client.post(
        f"/suppliers/dialogue/{entry.id}/actions",
        data={
            f"{prefix}description": "Ask for the test report",
            f"{prefix}due_on": local_today().isoformat(),
        },
    )
    assert refused.status_code == 422
    assert f'id="{prefix}owner_id-error"' in refused.get_data(as_text=True)

    response = client.post(
        f"/suppliers/dialogue/{entry.id}/actions",
        data={
            f"{prefix}description": "Ask for the test report",
            f"{prefix}owner_id": producer.id,
            f"{prefix}due_on": local_today().isoformat(),
        },
    )

    action = session.scalar(select(FollowUpAction).where(FollowUpAction.dialogue_entry_id == entry.id))
    assert response.status_code == 302 and response.headers["Location"].endswith(f"#action-{action.id}")
    assert action.description == "Ask for the test report" and action.owner == producer


def test_the_owner_marks_an_action_done_and_opens_it_again(client, auth, session, users, producer):
    owner = users.make("national_coordinator", name="Sara Samordnare")  # owns it without managing suppliers
    action = make_follow_up_action(session, owner)
    session.commit()
    auth.login(owner)

    response = client.post(f"/suppliers/actions/{action.id}/done", data={"next": "/suppliers/actions/"})
    client.post(f"/suppliers/actions/{action.id}/done", data={"next": "/suppliers/actions/"})

    assert response.status_code == 302 and response.headers["Location"] == "/suppliers/actions/"
    session.refresh(action)
    assert action.done_by == owner and action.done_at is not None

    reopened = client.post(f"/suppliers/actions/{action.id}/reopen", data={"next": "//evil.example/"})
    assert reopened.headers["Location"].endswith(
        f"/suppliers/{action.dialogue_entry.supplier_id}/dialogue#action-{action.id}"
    )
    session.refresh(action)
    assert action.done_at is None


def test_someone_who_neither_owns_nor_manages_gets_a_message_and_the_action_stays_open(
    client, auth, session, users, producer
):
    action = make_follow_up_action(session, producer)
    session.commit()
    auth.login(users.make("county_coordinator", "LST-01"))

    response = client.post(f"/suppliers/actions/{action.id}/done", follow_redirects=True)

    assert (
        "Only the owner of the action, or someone who manages suppliers, can do that."
        in response.get_data(as_text=True)
    )
    session.refresh(action)
    assert action.done_at is None


def test_a_manager_changes_the_owner_and_due_date_of_an_action(
    client, auth, session, users, officer, producer
):
    lead = users.make("purchasing_lead", name="Lena Inköpschef")
    action = make_follow_up_action(session, producer, due_on=local_today())
    session.commit()
    auth.login(officer)

    form = client.get(f"/suppliers/actions/{action.id}/edit")
    assert form.status_code == 200 and "Send the test report for the FFP2 model." in form.get_data(
        as_text=True
    )

    refused = client.post(
        f"/suppliers/actions/{action.id}/edit",
        data={"description": "", "owner_id": lead.id, "due_on": local_today().isoformat()},
    )
    assert refused.status_code == 422
    session.refresh(action)
    assert action.owner == producer

    later = local_today() + timedelta(days=14)
    response = client.post(
        f"/suppliers/actions/{action.id}/edit",
        data={"description": "Send the new test report", "owner_id": lead.id, "due_on": later.isoformat()},
    )

    assert response.status_code == 302
    session.refresh(action)
    assert (action.owner, action.due_on, action.description) == (lead, later, "Send the new test report")
    assert session.scalar(select(func.count()).select_from(Notice).where(Notice.user_id == lead.id)) == 1


def test_the_actions_page_shows_my_open_actions_overdue_first(client, auth, session, producer, officer):
    today = local_today()
    make_follow_up_action(session, producer, description="Later one", due_on=today + timedelta(days=3))
    make_follow_up_action(session, producer, description="Overdue one", due_on=today - timedelta(days=3))
    make_follow_up_action(session, officer, description="Someone else's")
    session.commit()
    auth.login(producer)

    page = client.get("/suppliers/actions/").get_data(as_text=True)

    mine = page[page.index("My open actions") : page.index("All open actions")]
    assert mine.index("Overdue one") < mine.index("Later one") and "Someone else's" not in mine
    assert (
        "Someone else&#39;s" in page[page.index("All open actions") :]
    )  # the production team manages suppliers


def test_readers_see_only_their_own_actions_and_no_list_of_everyones(client, auth, session, users, producer):
    coordinator = users.make("national_coordinator")
    make_follow_up_action(session, coordinator, description="Decide on vetting")
    make_follow_up_action(session, producer, description="Visit the factory")
    session.commit()
    auth.login(coordinator)

    page = client.get("/suppliers/actions/").get_data(as_text=True)
    exported = client.get("/suppliers/actions/?format=csv").get_data(as_text=True)

    assert "Decide on vetting" in page and "Visit the factory" not in page and "All open actions" not in page
    assert "Decide on vetting" in exported and "Visit the factory" not in exported


def test_managers_filter_all_open_actions_and_export_them(client, auth, session, users, officer, producer):
    lead = users.make("purchasing_lead")
    today = local_today()
    first = make_supplier(session, legal_name="Alfa Skydd AB")
    overdue = make_follow_up_action(
        session,
        producer,
        entry=make_dialogue_entry(session, first),
        description="Overdue",
        due_on=today - timedelta(days=1),
    )
    make_follow_up_action(session, lead, description="Not yet", due_on=today + timedelta(days=5))
    done = make_follow_up_action(
        session, producer, description="Already done", due_on=today - timedelta(days=9)
    )
    done.done_at, done.done_by = done.dialogue_entry.created_at, producer
    session.commit()
    auth.login(officer)

    by_owner = client.get(f"/suppliers/actions/?owner={producer.id}").get_data(as_text=True)
    listed = by_owner[by_owner.index("All open actions") :]
    assert "Overdue" in listed and "Not yet" not in listed and "Already done" not in listed

    exported = client.get(f"/suppliers/actions/?format=csv&overdue=yes&supplier={first.id}")
    rows = list(csv.reader(io.StringIO(exported.get_data(as_text=True).lstrip("\ufeff")), delimiter=";"))
    assert exported.headers["Content-Disposition"] == 'attachment; filename="follow-up-actions.csv"'
    assert rows[0] == ["Due", "State", "Action", "Supplier", "Owner", "From"]
    assert rows[1:] == [
        [
            overdue.due_on.isoformat(),
            "Overdue",
            "Overdue",
            "Alfa Skydd AB",
            "Pia Produktion",
            f"Meeting {overdue.dialogue_entry.occurred_on.isoformat()}",
        ]
    ]


def test_the_open_actions_export_as_xlsx(client, auth, session, officer, producer):
    from openpyxl import load_workbook

    make_follow_up_action(session, producer, description="Visit the factory")
    session.commit()
    auth.login(officer)

    response = client.get("/suppliers/actions/?format=xlsx")

    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data)).active
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert values[0][:3] == ["Due", "State", "Action"] and values[1][2] == "Visit the factory"
