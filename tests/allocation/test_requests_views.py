"""The pages of requests for national allocation: the queue and the county's list, sending one prefilled
from the remaining need, a request's page, changing, withdrawing and declining."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from allocation.models_distribution import NationalRequest, RequestStatus
from app.listing import XLSX_MIMETYPE
from tests.allocation.requests_factories import send, transfer
from tests.allocation.rounds_factories import category, report
from tests.conftest import organisation


@pytest.fixture
def board(users):
    return users.make("county_coordinator", "LST-01")


@pytest.fixture
def coordinator(users):
    return users.make("national_coordinator", "SOS")


def form_lines(rows: list[tuple[int, int, object]]) -> dict[str, object]:
    data = {}
    for index, (organisation_id, category_id, quantity) in enumerate(rows):
        data[f"lines-{index}-organisation_id"] = organisation_id
        data[f"lines-{index}-category_id"] = category_id
        data[f"lines-{index}-quantity"] = quantity
    return data


def test_the_national_coordinator_sees_the_waiting_requests_oldest_first(session, users, client, auth, board,
                                                                       coordinator):
    newer = send(session, board, {"0114": 400, "0180": 1200})
    older = send(session, users.make("county_coordinator", "LST-03"), {"0380": 300}, category_code="gloves")
    older.submitted_at = newer.submitted_at - timedelta(days=4)
    declined = send(session, board, {"0115": 10}, category_code="gowns_aprons")
    declined.status = RequestStatus.DECLINED.value
    session.commit()
    auth.login(coordinator)

    first = client.get("/need/requests/")
    assert first.status_code == 302 and first.headers["Location"].endswith("/need/requests/?status=submitted")
    html = client.get("/need/requests/?status=submitted").text

    assert html.index(older.reference) < html.index(newer.reference) and declined.reference not in html
    assert "Uppsala län" in html and "Examination and protective gloves" in html and "1,600" in html
    assert declined.reference in client.get("/need/requests/?status=").text  # "All"


def test_the_queue_exports_as_csv_and_xlsx(session, client, auth, board, coordinator):
    sent = send(session, board, {"0114": 400, "0180": 1200})
    auth.login(coordinator)

    csv = client.get("/need/requests/?status=submitted&format=csv")
    xlsx = client.get("/need/requests/?status=submitted&format=xlsx")

    assert csv.mimetype == "text/csv"
    header, row = csv.text.lstrip("\ufeff").splitlines()
    assert header.startswith("Request;County;Categories;Units requested;Organisations;Status")
    assert row.startswith(f"{sent.reference};Stockholms län;Respirators (FFP2/FFP3);1600;2;Submitted")
    assert xlsx.mimetype == XLSX_MIMETYPE and xlsx.data[:2] == b"PK"


def test_a_county_sees_its_own_requests_and_their_status_but_not_another_countys(session, users, client, auth, board):
    own = send(session, board, {"0114": 400})
    other = send(session, users.make("county_coordinator", "LST-14"), {"1480": 300})
    auth.login(board)

    html = client.get("/need/requests/").text

    assert own.reference in html and "Submitted" in html and other.reference not in html
    assert 'href="/need/requests/new"' in html
    assert client.get(f"/need/requests/{other.id}").status_code == 404
    assert client.get(f"/need/requests/{own.id}").status_code == 200


def test_a_municipality_sees_the_requests_it_is_on(session, users, client, auth, board):
    sent = send(session, board, {"0114": 400})
    auth.login(users.make("recipient", "0114"))
    assert sent.reference in client.get("/need/requests/").text
    auth.logout()
    auth.login(users.make("recipient", "0180"))
    assert client.get(f"/need/requests/{sent.id}").status_code == 404


def test_the_county_coordinator_sends_a_request_prefilled_with_the_remaining_need(
    session, users, period, client, auth, board, coordinator
):
    report(session, users, period, "0180", stock=100, consumption_7d=700, need=1000)
    transfer(session, board, "0117", "0180", 240)
    ffp = category(session, "respirators").id
    auth.login(board)

    page = client.get(f"/need/requests/new?category={ffp}")
    assert page.status_code == 200
    row = re.search(r"<td>Stockholm<input.*?</tr>", page.text, re.DOTALL).group(0)
    assert re.findall(r'<td class="num">([\d,]+)</td>', row) == ["1,000", "240", "760"]
    assert 'value="760"' in row

    stockholm, vasby = organisation("0180").id, organisation("0114").id
    response = client.post(
        f"/need/requests/new?category={ffp}",
        data={"justification": "The logistics meeting could not cover Stockholm", "proposal_id": "",
              **form_lines([(stockholm, ffp, "760"), (vasby, ffp, "")])},
    )

    sent = session.scalar(select(NationalRequest))
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/need/requests/{sent.id}")
    assert [(line.organisation_id, line.quantity) for line in sent.lines] == [(stockholm, 760)]
    detail = client.get(f"/need/requests/{sent.id}").text
    assert sent.reference in detail and "The logistics meeting could not cover Stockholm" in detail
    assert "Change the request" in detail and "Withdraw the request" in detail and "Decline" not in detail


def test_a_request_without_justification_or_lines_is_shown_again_with_the_errors(session, client, auth, board):
    ffp = category(session, "respirators").id
    auth.login(board)

    response = client.post(f"/need/requests/new?category={ffp}",
                           data={"justification": "", **form_lines([(organisation("0114").id, ffp, "abc")])})
    assert response.status_code == 422
    assert "Say why the county cannot cover the need." in response.text and "Enter a whole number" in response.text

    response = client.post(f"/need/requests/new?category={ffp}",
                           data={"justification": "Short", **form_lines([(organisation("0114").id, ffp, "0")])})
    assert response.status_code == 422 and "Enter the remaining need of at least one organisation." in response.text
    assert session.scalar(select(NationalRequest)) is None


def test_only_county_coordinators_find_the_form_to_send_a_request(client, auth, users, coordinator):
    auth.login(coordinator)
    assert client.get("/need/requests/new").status_code == 403
    assert 'href="/need/requests/new"' not in client.get("/need/requests/?status=").text


def test_the_county_changes_its_waiting_request(session, client, auth, board):
    sent = send(session, board, {"0114": 400})
    ffp = category(session, "respirators").id
    auth.login(board)

    page = client.get(f"/need/requests/{sent.id}/edit")
    assert page.status_code == 200 and 'value="400"' in page.text

    response = client.post(
        f"/need/requests/{sent.id}/edit?category={ffp}",
        data={"justification": "Updated", **form_lines([(organisation("0114").id, ffp, "350"),
                                                        (organisation("0115").id, ffp, "20")])},
    )

    assert response.status_code == 302
    session.refresh(sent)
    assert sorted(line.quantity for line in sent.lines) == [20, 350] and sent.justification == "Updated"


def test_the_national_coordinator_declines_a_request_from_its_page(session, client, auth, board, coordinator):
    sent = send(session, board, {"0114": 400})
    auth.login(coordinator)
    page = client.get(f"/need/requests/{sent.id}").text
    assert "Decline the request" in page and "Change the request" not in page

    refused = client.post(f"/need/requests/{sent.id}/decline", data={"answer": ""})
    assert refused.status_code == 422 and "Give the county an answer." in refused.text
    done = client.post(f"/need/requests/{sent.id}/decline", data={"answer": "Nothing to share out until week 14"})

    assert done.status_code == 302
    session.refresh(sent)
    assert sent.status == RequestStatus.DECLINED
    page = client.get(f"/need/requests/{sent.id}").text
    assert "Declined" in page and "Nothing to share out until week 14" in page and "Decline the request" not in page


def test_a_county_coordinator_cannot_decline(session, client, auth, board):
    sent = send(session, board, {"0114": 400})
    auth.login(board)
    assert client.post(f"/need/requests/{sent.id}/decline", data={"answer": "No"}).status_code == 403


def test_the_county_withdraws_its_request_from_its_page(session, client, auth, board):
    sent = send(session, board, {"0114": 400})
    auth.login(board)

    refused = client.post(f"/need/requests/{sent.id}/withdraw", data={"reason": ""})
    assert refused.status_code == 422 and "Give the reason for withdrawing the request." in refused.text
    done = client.post(f"/need/requests/{sent.id}/withdraw", data={"reason": "Our own order arrived"})

    assert done.status_code == 302
    page = client.get(f"/need/requests/{sent.id}").text
    assert "Withdrawn" in page and "Reason for withdrawal" in page and "Our own order arrived" in page
    assert client.get(f"/need/requests/{sent.id}/edit").status_code == 302  # no longer changed


def test_national_requests_is_in_the_navigation_of_coordinators(client, auth, board):
    auth.login(board)
    html = client.get("/need/requests/").text
    assert re.search(r'<a href="/need/requests/" aria-current="page">National requests</a>', html)
