"""The dialogue log and its follow-up actions: who may own and complete them, who is told, what is refused."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from app.notifications.models import Notice, OutboxMessage
from suppliers import services_dialogue as services
from suppliers.models import DialogueEntry, FollowUpAction
from suppliers.services_dialogue import ActionState, DialogueError
from tests.suppliers.factories import make_dialogue_entry, make_follow_up_action, make_supplier

TODAY = date(2026, 3, 2)


def _notices(session, user) -> list[Notice]:
    return list(session.scalars(select(Notice).where(Notice.user_id == user.id).order_by(Notice.id)))


def _count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def officer(users):
    return users.make("purchasing_officer", name="Olle Inköpare")


@pytest.fixture
def producer(users):
    return users.make("production_team", name="Pia Produktion")


def test_an_entry_is_logged_with_its_kind_date_participants_and_notes(session, officer):
    supplier = make_supplier(session)

    entry = services.record_entry(
        session,
        officer,
        supplier,
        kind="call",
        occurred_on=TODAY,
        participants="  Olle (agency), Kim (supplier) ",
        notes="Offered 200 000 FFP2 a week from May.\n",
        today=TODAY,
    )

    assert entry.id is not None and entry.created_by == officer and entry.supplier == supplier
    assert (entry.kind, entry.occurred_on) == ("call", TODAY)
    assert entry.participants == "Olle (agency), Kim (supplier)"
    assert entry.notes == "Offered 200 000 FFP2 a week from May."


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"kind": "fax"}, "kind"),
        ({"occurred_on": None}, "occurred_on"),
        ({"occurred_on": date(2026, 3, 3)}, "occurred_on"),
        ({"participants": "  "}, "participants"),
        ({"notes": ""}, "notes"),
    ],
)
def test_an_entry_without_what_the_log_needs_is_refused_and_nothing_is_written(
    session, officer, changes, field
):
    supplier = make_supplier(session)
    values = {
        "kind": "meeting",
        "occurred_on": TODAY,
        "participants": "Olle",
        "notes": "Met them.",
        **changes,
    }

    with pytest.raises(DialogueError) as refused:
        services.record_entry(session, officer, supplier, today=TODAY, **values)

    assert refused.value.field == field
    assert _count(session, DialogueEntry) == 0


def test_the_log_lists_entries_newest_first_and_the_later_recorded_first_on_the_same_day(session):
    supplier = make_supplier(session)
    old = make_dialogue_entry(session, supplier, occurred_on=date(2026, 1, 10))
    same_day_first = make_dialogue_entry(session, supplier, occurred_on=date(2026, 2, 1))
    same_day_second = make_dialogue_entry(session, supplier, occurred_on=date(2026, 2, 1))
    make_dialogue_entry(session, make_supplier(session))  # another supplier's

    assert services.entries_of(session, supplier) == [same_day_second, same_day_first, old]


def test_an_action_is_added_and_its_owner_is_told_with_a_link_to_it(session, officer, producer):
    entry = make_dialogue_entry(session)

    action = services.add_action(
        session,
        officer,
        entry,
        description=" Visit the factory ",
        owner=producer,
        due_on=date(2026, 3, 9),
        today=TODAY,
    )

    assert action.description == "Visit the factory" and action.owner == producer and action.done_at is None
    notices = _notices(session, producer)
    assert len(notices) == 1
    assert notices[0].text == f"Follow-up action for {entry.supplier.legal_name}, due 9 Mar 2026"
    assert "Olle Inköpare gave you a follow-up action from the meeting" in notices[0].body
    assert "Visit the factory" in notices[0].body
    assert notices[0].link == f"/suppliers/{entry.supplier_id}/dialogue#action-{action.id}"
    assert (
        session.scalar(select(OutboxMessage.to_address).where(OutboxMessage.user_id == producer.id))
        == producer.email
    )
    assert action.reminded_at is None  # not due yet: the job reminds on the day


def test_whoever_takes_an_action_themselves_is_not_sent_a_notice(session, officer):
    services.add_action(
        session,
        officer,
        make_dialogue_entry(session),
        description="Call back",
        owner=officer,
        due_on=date(2026, 3, 9),
        today=TODAY,
    )

    assert _notices(session, officer) == []


def test_an_action_given_when_it_is_already_due_counts_as_its_reminder(session, officer, producer):
    action = services.add_action(
        session,
        officer,
        make_dialogue_entry(session),
        description="Send the samples",
        owner=producer,
        due_on=TODAY,
        today=TODAY,
    )

    assert action.reminded_at is not None
    assert not services.needs_reminder(action, TODAY)


def test_the_owner_must_be_an_active_user_who_works_with_suppliers_production_or_vetting(
    session, officer, users
):
    entry = make_dialogue_entry(session)
    coordinator = users.make("national_coordinator")  # decides vetting: may own an action
    county = users.make("county_coordinator", "LST-01")
    retired = users.make("purchasing_lead")
    retired.active = False

    services.add_action(
        session, officer, entry, description="Decide", owner=coordinator, due_on=TODAY, today=TODAY
    )
    for owner in (county, retired, None):
        with pytest.raises(DialogueError) as refused:
            services.add_action(
                session, officer, entry, description="X", owner=owner, due_on=TODAY, today=TODAY
            )
        assert refused.value.field == "owner_id"
    assert [a.owner for a in entry.actions] == [coordinator]


def test_eligible_owners_are_the_active_users_with_a_role_that_works_with_suppliers(
    session, users, officer, producer
):
    coordinator = users.make("national_coordinator")
    lead = users.make("purchasing_lead")
    users.make("county_coordinator", "LST-01")
    users.make("auditor")
    users.make("reporter", "0180")
    retired = users.make("purchasing_officer", "REG-01")
    retired.active = False
    session.flush()

    owners = services.eligible_owners(session)

    assert {officer, producer, coordinator, lead} <= set(owners)
    assert all(services.can_own_actions(user) for user in owners) and retired not in owners
    assert [user.name for user in owners] == sorted(user.name for user in owners)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"description": " "}, "description"),
        ({"due_on": None}, "due_on"),
        ({"due_on": date(2026, 2, 22)}, "due_on"),  # the day before the meeting
    ],
)
def test_an_action_without_a_description_or_due_before_its_entry_is_refused(session, officer, changes, field):
    entry = make_dialogue_entry(session, occurred_on=date(2026, 2, 23))
    values = {"description": "Follow up", "owner": officer, "due_on": TODAY, **changes}

    with pytest.raises(DialogueError) as refused:
        services.add_action(session, officer, entry, today=TODAY, **values)

    assert refused.value.field == field
    assert _count(session, FollowUpAction) == 0


def test_marking_an_action_done_twice_keeps_who_did_it_first_and_when(session, officer, producer):
    action = make_follow_up_action(session, producer)

    services.complete_action(session, producer, action)
    first = (action.done_at, action.done_by)
    services.complete_action(session, officer, action)

    assert first[1] == producer and (action.done_at, action.done_by) == first
    assert services.action_state(action, TODAY) is ActionState.DONE


def test_only_the_owner_or_someone_who_manages_suppliers_may_mark_an_action_done(session, users, officer):
    owner = users.make("national_coordinator")  # owns it without managing suppliers
    other_coordinator = users.make("national_coordinator")
    auditor = users.make("auditor")
    action = make_follow_up_action(session, owner)

    for outsider in (other_coordinator, auditor):
        with pytest.raises(DialogueError):
            services.complete_action(session, outsider, action)
        with pytest.raises(DialogueError):
            services.reopen_action(session, outsider, action)
    assert action.done_at is None

    services.complete_action(session, owner, action)
    services.reopen_action(session, owner, action)
    services.complete_action(session, officer, action)  # a purchasing officer manages suppliers
    assert action.done_by == officer


def test_reopening_clears_done_and_tells_the_owner_when_someone_else_reopens_it(session, officer, producer):
    action = make_follow_up_action(session, producer)
    services.complete_action(session, producer, action)

    services.reopen_action(session, officer, action)
    services.reopen_action(session, officer, action)  # already open: nothing more happens

    assert action.done_at is None and action.done_by is None
    notices = _notices(session, producer)
    assert [n.text for n in notices] == [
        f"Follow-up action for {action.dialogue_entry.supplier.legal_name} opened again"
    ]


def test_a_new_owner_is_told_and_a_change_of_date_alone_tells_nobody(session, officer, producer, users):
    lead = users.make("purchasing_lead")
    action = make_follow_up_action(session, producer, due_on=date(2026, 3, 5))

    services.update_action(
        session,
        officer,
        action,
        description="Send the report",
        owner=producer,
        due_on=date(2026, 3, 6),
        today=TODAY,
    )
    assert _notices(session, producer) == []

    services.update_action(
        session,
        officer,
        action,
        description="Send the report",
        owner=lead,
        due_on=date(2026, 3, 6),
        today=TODAY,
    )
    assert (action.owner, action.due_on, action.description) == (lead, date(2026, 3, 6), "Send the report")
    assert len(_notices(session, lead)) == 1 and _notices(session, producer) == []


def test_a_done_action_cannot_be_changed_until_it_is_opened_again(session, officer, producer):
    action = make_follow_up_action(session, producer)
    services.complete_action(session, producer, action)

    with pytest.raises(DialogueError):
        services.update_action(
            session, officer, action, description="Other", owner=producer, due_on=TODAY, today=TODAY
        )
    assert action.description == "Send the test report for the FFP2 model."


def test_a_reminder_is_due_once_and_again_only_when_the_due_date_moves_later(session, producer):
    action = make_follow_up_action(session, producer, due_on=TODAY)
    assert not services.needs_reminder(action, date(2026, 3, 1))
    assert services.needs_reminder(action, TODAY)

    action.reminded_at = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)  # 07:00 in Stockholm, on the due date
    assert not services.needs_reminder(action, date(2026, 3, 4))

    action.due_on = date(2026, 3, 1)  # moved earlier: already reminded
    assert not services.needs_reminder(action, date(2026, 3, 4))

    action.due_on = date(2026, 3, 3)  # postponed after the reminder: reminded again on the new date
    assert not services.needs_reminder(action, TODAY)
    assert services.needs_reminder(action, date(2026, 3, 3))


def test_my_open_actions_are_mine_only_and_the_overdue_come_first(session, producer, officer):
    later = make_follow_up_action(session, producer, due_on=date(2026, 3, 20))
    overdue = make_follow_up_action(session, producer, due_on=date(2026, 2, 25))
    today = make_follow_up_action(session, producer, due_on=TODAY)
    done = make_follow_up_action(session, producer, due_on=date(2026, 2, 1))
    services.complete_action(session, producer, done)
    make_follow_up_action(session, officer, due_on=date(2026, 2, 1))

    mine = services.open_actions_of(session, producer)

    assert mine == [overdue, today, later]
    assert [services.action_state(a, TODAY) for a in mine] == [
        ActionState.OVERDUE,
        ActionState.DUE_TODAY,
        ActionState.OPEN,
    ]
