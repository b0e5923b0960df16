"""Requests for national allocation: sending one prefilled from the remaining need, changing, withdrawing and
declining it, the national coordinator's queue, and its lines as claims in an allocation round."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from allocation import services_requests as requests
from allocation import services_rounds as rounds
from allocation.models_distribution import RequestStatus, RoundStatus
from allocation.services_requests import LineInput, RequestError
from app.errors import NotFoundError
from app.notifications.models import Notice
from tests.allocation.requests_factories import send, transfer
from tests.allocation.rounds_factories import category, open_county_round, release, report
from tests.conftest import organisation


@pytest.fixture
def board(users):
    return users.make("county_coordinator", "LST-01")


@pytest.fixture
def coordinator(users):
    return users.make("national_coordinator", "SOS")


def notices(session, user) -> list[Notice]:
    return list(session.scalars(select(Notice).where(Notice.user_id == user.id).order_by(Notice.id)))


def lines_of(request_) -> dict[str, int]:
    return {line.organisation.municipality_code or line.organisation.code: line.quantity for line in request_.lines}


def respirators(session) -> int:
    return category(session, "respirators").id


# --- sending ----------------------------------------------------------------------------------------------------


def test_a_county_coordinator_sends_a_numbered_request_and_the_national_coordinators_are_told(
    session, board, coordinator
):
    sent = send(session, board, {"0114": 400, "0180": 1200})

    assert re.fullmatch(r"BN-\d{4}-0001", sent.reference)
    assert sent.county_code == "01" and sent.status == RequestStatus.SUBMITTED and sent.submitted_by_id == board.id
    assert lines_of(sent) == {"0114": 400, "0180": 1200}
    assert send(session, board, {"0115": 10}).reference.endswith("-0002")
    [notice, _second] = notices(session, coordinator)
    assert notice.text == f"Request for national allocation {sent.reference} from Stockholms län"
    assert "1,600 Respirators (FFP2/FFP3)" in notice.body and "Redistribution in the county fell short" in notice.body
    assert notice.link.endswith(f"/need/requests/{sent.id}")
    assert notices(session, board) == []  # the sender is not told of its own request


def test_the_request_is_prefilled_with_the_registered_need_less_what_agreed_redistribution_brings(
    session, users, period, board
):
    report(session, users, period, "0180", stock=100, consumption_7d=700, need=1000)
    report(session, users, period, "0114", stock=0, consumption_7d=70, need=500)
    report(session, users, period, "0117", stock=5000, consumption_7d=70, need=0)
    report(session, users, period, "1480", stock=0, consumption_7d=70, need=900)  # another county
    reported_at = {row.organisation.municipality_code: row.figures.reported_at
                   for row in requests.remaining_need_rows(session, "01", [respirators(session)])}
    transfer(session, board, "0117", "0180", 240)  # agreed, on its way
    transfer(session, board, "0117", "0180", 480, confirmed_at=reported_at["0180"] - timedelta(hours=1))  # reported
    transfer(session, board, "0117", "0114", 240, confirmed_at=reported_at["0114"] + timedelta(minutes=5), accepted=200)
    transfer(session, board, "0117", "0114", 100, status="draft")  # not agreed: brings nothing yet
    transfer(session, board, "0117", "0180", 999, status="cancelled")

    rows = requests.remaining_need_rows(session, "01", [respirators(session)])

    by_code = {row.organisation.municipality_code or row.organisation.code: row.figures for row in rows}
    assert (by_code["0180"].registered, by_code["0180"].incoming, by_code["0180"].remaining) == (1000, 240, 760)
    assert (by_code["0114"].registered, by_code["0114"].incoming, by_code["0114"].remaining) == (500, 200, 300)
    assert by_code["0117"].remaining == 0
    # Every region and municipality of the county is a row (those without a report at zero), none outside it;
    # those with need or transfers first.
    assert "1480" not in by_code
    assert [row.organisation.name for row in rows[:3]] == ["Stockholm", "Upplands Väsby", "Region Stockholm"]
    assert len(rows) == len(requests.county_organisations(session, "01")) == 27


def test_a_request_needs_a_justification_and_a_line_for_an_organisation_of_the_county(session, board):
    ffp = respirators(session)

    def attempt(lines, justification="Fell short"):
        with pytest.raises(RequestError) as refused:
            requests.create_request(session, board, lines=lines, justification=justification)
        return refused.value.field

    assert attempt([LineInput(organisation("0114").id, ffp, 10)], justification="  ") == "justification"
    assert attempt([LineInput(organisation("0114").id, ffp, 0), LineInput(organisation("0180").id, ffp, None)]) == "lines"
    assert attempt([LineInput(organisation("1480").id, ffp, 10)]) == "lines"
    assert attempt([LineInput(organisation("LST-01").id, ffp, 10)]) == "lines"
    assert attempt([LineInput(organisation("0114").id, ffp, -3)]) == "lines"
    assert attempt([LineInput(organisation("0114").id, ffp, 10), LineInput(organisation("0114").id, ffp, 5)]) == "lines"


def test_only_a_county_coordinator_sends_a_request_for_its_county(session, users, coordinator):
    line = [LineInput(organisation("0114").id, respirators(session), 10)]
    for user in (coordinator, users.make("reporter", "0114")):
        with pytest.raises(RequestError, match="Only a county coordinator"):
            requests.create_request(session, user, lines=line, justification="Fell short")


def test_the_request_may_follow_a_proposal_of_the_county_but_not_another_countys_or_a_cancelled_one(session, users, board):
    own = transfer(session, board, "0117", "0180", 240).proposal
    cancelled = transfer(session, board, "0117", "0180", 240, status="cancelled").proposal
    other = transfer(session, users.make("county_coordinator", "LST-14"), "1481", "1480", 240, county="14").proposal

    assert send(session, board, {"0114": 10}, proposal=own).proposal_id == own.id
    for proposal in (cancelled, other):
        with pytest.raises(RequestError) as refused:
            send(session, board, {"0115": 10}, proposal=proposal)
        assert refused.value.field == "proposal_id"


def test_an_organisations_need_of_a_category_waits_in_one_request_of_the_county_only(session, board):
    first = send(session, board, {"0114": 400})

    with pytest.raises(RequestError, match=f"{first.reference} already asks for Respirators"):
        send(session, board, {"0180": 100, "0114": 50})
    assert send(session, board, {"0114": 50}, category_code="gloves").status == RequestStatus.SUBMITTED


# --- changing, withdrawing, declining ----------------------------------------------------------------------------


def test_a_waiting_request_is_changed_in_place(session, board):
    sent = send(session, board, {"0114": 400, "0180": 1200})
    kept = {line.organisation.municipality_code: line.id for line in sent.lines}
    ffp = respirators(session)

    requests.update_request(
        session, board, sent, justification="Updated after Tuesday's meeting",
        lines=[LineInput(organisation("0114").id, ffp, 300), LineInput(organisation("0115").id, ffp, 80),
               LineInput(organisation("0180").id, ffp, 0)],
    )
    session.commit()

    assert lines_of(sent) == {"0114": 300, "0115": 80} and sent.justification == "Updated after Tuesday's meeting"
    assert {line.organisation.municipality_code: line.id for line in sent.lines}["0114"] == kept["0114"]


def test_only_the_countys_coordinators_change_or_withdraw_its_requests(session, users, board):
    sent = send(session, board, {"0114": 400})
    other = users.make("county_coordinator", "LST-14")

    with pytest.raises(RequestError, match="Only the county's own"):
        requests.update_request(session, other, sent, lines=[], justification="Mine now")
    with pytest.raises(RequestError, match="Only the county's own"):
        requests.withdraw_request(session, other, sent, "Not needed")
    assert not requests.may_change(other, sent) and requests.may_change(board, sent)


def test_the_county_withdraws_a_waiting_request_with_a_reason_and_the_national_coordinators_are_told(
    session, board, coordinator
):
    sent = send(session, board, {"0114": 400})

    with pytest.raises(RequestError) as refused:
        requests.withdraw_request(session, board, sent, " ")
    assert refused.value.field == "reason"
    requests.withdraw_request(session, board, sent, "A delivery of our own arrived")
    session.commit()

    assert sent.status == RequestStatus.WITHDRAWN and sent.answer == "A delivery of our own arrived"
    assert notices(session, coordinator)[-1].text == f"Request {sent.reference} withdrawn by Stockholms län"
    assert requests.open_requests(session) == []
    with pytest.raises(RequestError, match="withdrawn"):
        requests.update_request(session, board, sent, lines=[], justification="Again")


def test_the_national_coordinator_declines_a_request_with_an_answer_the_county_is_sent(
    session, users, board, coordinator
):
    sent = send(session, board, {"0114": 400})
    colleague = users.make("county_coordinator", "LST-01")

    with pytest.raises(RequestError, match="Only the national coordinator"):
        requests.decline_request(session, board, sent, "No")
    with pytest.raises(RequestError) as refused:
        requests.decline_request(session, coordinator, sent, "")
    assert refused.value.field == "answer"
    requests.decline_request(session, coordinator, sent, "The national stock of FFP2 is empty until week 14.")
    session.commit()

    assert sent.status == RequestStatus.DECLINED and sent.answer.startswith("The national stock")
    for person in (board, colleague):
        [notice] = notices(session, person)
        assert notice.text == f"Request {sent.reference} declined"
        assert "empty until week 14" in notice.body and notice.link.endswith(f"/need/requests/{sent.id}")
    with pytest.raises(RequestError, match="declined"):
        requests.decline_request(session, coordinator, sent, "Again")


# --- the queue and who reads what ---------------------------------------------------------------------------------


def test_the_queue_holds_the_waiting_requests_oldest_first_and_filters_by_category(
    session, users, board, coordinator
):
    first = send(session, board, {"0114": 400})
    gloves = send(session, board, {"0114": 900}, category_code="gloves")
    uppsala = send(session, users.make("county_coordinator", "LST-03"), {"0380": 300})
    requests.decline_request(session, coordinator, gloves, "No gloves to share out")
    later = send(session, board, {"0180": 50}, category_code="gloves")
    first.submitted_at, uppsala.submitted_at = later.submitted_at - timedelta(days=2), later.submitted_at - timedelta(days=3)
    session.commit()

    assert requests.open_requests(session) == [uppsala, first, later]
    assert requests.open_requests(session, category_ids=[category(session, "gloves").id]) == [later]
    assert requests.age_days(uppsala, now=later.submitted_at) == 3


def test_national_scope_reads_every_request_a_county_its_own_and_a_municipality_those_it_is_on(session, users, board):
    sent = send(session, board, {"0114": 400})

    for reader in (users.make("auditor", "RK-S"), users.make("national_coordinator"), board,
                   users.make("recipient", "0114")):
        assert requests.get_request(session, reader, sent.id) is sent
    for outsider in (users.make("county_coordinator", "LST-14"), users.make("recipient", "0180")):
        with pytest.raises(NotFoundError):
            requests.get_request(session, outsider, sent.id)


# --- allocation rounds --------------------------------------------------------------------------------------------


def test_included_in_a_round_a_requests_lines_replace_the_registered_need_and_the_county_is_told(
    session, users, period, board, coordinator
):
    report(session, users, period, "0114", stock=70, consumption_7d=70, need=200)
    report(session, users, period, "0115", stock=0, consumption_7d=35, need=100)
    sent = send(session, board, {"0114": 40, "0117": 60})
    release(session, "FFP2-CUP", 500)

    round_ = open_county_round(session, coordinator, quantity=200, requests=[sent])
    session.commit()

    assert sent.status == RequestStatus.IN_ROUND and sent.round_id == round_.id
    ffp = respirators(session)
    assert requests.request_claims(session, round_) == {(organisation("0114").id, ffp): 40,
                                                       (organisation("0117").id, ffp): 60}
    need = {line.recipient.municipality_code: line.need for line in round_.lines}
    assert need == {"0114": 40, "0115": 100, "0117": 60}  # 0117 has no report: the request alone is its claim
    [notice] = notices(session, board)
    assert notice.text == f"Request {sent.reference} included in an allocation round"
    assert requests.open_requests(session) == []
    assert not requests.may_change(board, sent)
    with pytest.raises(RequestError, match="included in an allocation round"):
        requests.withdraw_request(session, board, sent, "Changed our mind")


def test_a_request_goes_only_into_a_national_draft_round_that_shares_out_its_category(
    session, users, board, coordinator
):
    release(session, "FFP2-CUP", 500)
    release(session, "GLV-NIT-M", 5000)
    sent = send(session, board, {"0114": 40})
    gloves = send(session, board, {"0114": 900}, category_code="gloves")
    round_ = open_county_round(session, coordinator, quantity=200, requests=[sent])

    with pytest.raises(RequestError, match="none of the round's products meets"):
        requests.attach_to_round(session, coordinator, gloves, round_)
    with pytest.raises(RequestError, match="is included in an allocation round"):
        requests.attach_to_round(session, coordinator, sent, round_)
    with pytest.raises(RequestError, match="Only the national coordinator"):
        requests.attach_to_round(session, board, gloves, round_)
    rounds.cancel_round(session, coordinator, round_, "Wrong warehouse")
    with pytest.raises(RequestError, match="while it is a draft"):
        requests.attach_to_round(session, coordinator, gloves, round_)


def test_two_requests_in_a_round_never_claim_the_same_organisation_and_category(session, users, board, coordinator):
    release(session, "FFP2-CUP", 500)
    first = send(session, board, {"0114": 40})
    round_ = open_county_round(session, coordinator, quantity=200, requests=[first])
    second = send(session, board, {"0114": 70, "0180": 30})  # the first no longer waits: a new request is fine

    with pytest.raises(RequestError, match="another request in the round already claims"):
        requests.attach_to_round(session, coordinator, second, round_)


def test_cancelling_the_round_sends_the_request_back_to_the_queue_where_the_county_may_change_it(
    session, board, coordinator
):
    release(session, "FFP2-CUP", 500)
    sent = send(session, board, {"0114": 40})
    round_ = open_county_round(session, coordinator, quantity=200, requests=[sent])

    rounds.cancel_round(session, coordinator, round_, "Wrong warehouse")
    session.commit()

    assert sent.status == RequestStatus.SUBMITTED and sent.round_id is None
    assert requests.open_requests(session) == [sent] and requests.may_change(board, sent)


def test_when_the_round_is_decided_its_requests_are_answered_and_the_county_is_sent_the_decision(
    session, users, period, board, coordinator
):
    report(session, users, period, "0115", stock=0, consumption_7d=35, need=100)
    sent = send(session, board, {"0114": 40})
    release(session, "FFP2-CUP", 500)
    round_ = open_county_round(session, coordinator, quantity=200, requests=[sent])
    round_.status, round_.number = RoundStatus.DECIDED.value, "2026-0042"

    answered = requests.mark_answered(session, round_)
    session.commit()

    assert answered == [sent] and sent.status == RequestStatus.ANSWERED
    notice = notices(session, board)[-1]
    assert notice.text == f"Request {sent.reference} answered by allocation decision 2026-0042"
    assert notice.link.endswith(f"/need/rounds/{round_.id}")
    assert requests.mark_answered(session, round_) == []  # once only
    assert len(notices(session, board)) == 2
    allocated = requests.allocated_by_line(session, sent)
    assert allocated == {sent.lines[0].id: next(line.quantity for line in round_.lines
                                                if line.national_request_line_id == sent.lines[0].id)}


def test_deciding_a_round_answers_the_requests_in_it(session, board, coordinator):
    release(session, "FFP2-CUP", 500)
    sent = send(session, board, {"0114": 40})
    round_ = open_county_round(session, coordinator, quantity=200, requests=[sent])

    rounds.decide_round(session, coordinator, round_)
    session.commit()

    assert sent.status == RequestStatus.ANSWERED and round_.status == RoundStatus.DECIDED
    assert requests.request_claims(session, round_) == {(organisation("0114").id, respirators(session)): 40}
