"""Approval of purchase orders: thresholds by amount and role, four eyes, who is told, and the rules' settings."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.auth.roles import Role
from app.errors import NotFoundError
from app.notifications.models import Notice
from orders import approval
from orders import services_orders as orders
from orders.approval import ApprovalError, RuleSpec
from orders.models import ApprovalRule, OrderStatus
from orders.services_orders import OrderError
from tests.orders.factories import create, line, make_order, make_user

TEN_MSEK_ORE = 10_000_000 * 100


def _notices(session, user) -> list[str]:
    return list(session.scalars(select(Notice.text).where(Notice.user_id == user.id).order_by(Notice.id)))


def _order_worth(session, responsible, sek: int, state=OrderStatus.SUBMITTED):
    """An order of exactly ``sek`` kronor: ``sek`` units at 1 SEK."""
    order = create(session, responsible, lines=[line(session, quantity=sek, unit_price="1")])
    if state == OrderStatus.SUBMITTED:
        orders.submit_order(session, responsible, order)
    return order


def test_the_default_rules_give_officers_and_leads_up_to_ten_msek_and_the_national_coordinator_above():
    rules = approval.default_rules()
    assert approval.approver_roles(rules, TEN_MSEK_ORE) == {
        Role.PURCHASING_OFFICER,
        Role.PURCHASING_LEAD,
        Role.NATIONAL_COORDINATOR,
    }
    assert approval.approver_roles(rules, TEN_MSEK_ORE + 1) == {Role.NATIONAL_COORDINATOR}
    assert approval.approval_limit(rules, 5) == TEN_MSEK_ORE
    assert approval.approval_limit(rules, TEN_MSEK_ORE + 1) is None


def test_a_second_officer_approves_an_order_of_exactly_ten_msek(session):
    responsible = make_user(session)
    order = _order_worth(session, responsible, 10_000_000)
    colleague = make_user(session, "purchasing_officer")
    orders.approve_order(session, colleague, order)
    assert order.status == OrderStatus.APPROVED and order.approved_by_id == colleague.id
    assert orders.approval_of(order)["value_ore"] == TEN_MSEK_ORE


def test_above_ten_msek_an_officer_is_refused_and_the_national_coordinator_approves(session):
    responsible = make_user(session)
    order = _order_worth(session, responsible, 10_000_001)
    with pytest.raises(OrderError, match="National coordinator"):
        orders.approve_order(session, make_user(session, "purchasing_lead"), order)
    orders.approve_order(session, make_user(session, "national_coordinator"), order)
    assert order.status == OrderStatus.APPROVED


def test_whoever_submitted_an_order_cannot_approve_it(session):
    responsible = make_user(session)
    order = create(session, responsible)
    submitter = make_user(session, "purchasing_lead")
    orders.submit_order(session, submitter, order)
    for person in (submitter, responsible):
        with pytest.raises(OrderError, match="four eyes"):
            orders.approve_order(session, person, order)


def test_whoever_last_edited_the_draft_cannot_approve_it(session):
    responsible = make_user(session)
    order = create(session, responsible)
    editor = make_user(session, "purchasing_lead")
    orders.update_draft(
        session,
        editor,
        order,
        supplier=order.supplier,
        currency="SEK",
        order_date=order.order_date,
        lines=[line(session, quantity=10_000)],
        deliveries=[
            orders.DeliveryInput(1, order.deliveries[0].due_on, 10_000, order.deliveries[0].destination)
        ],
    )
    orders.submit_order(session, responsible, order)
    with pytest.raises(OrderError, match="four eyes"):
        orders.approve_order(session, editor, order)


def test_an_officer_of_another_organisation_cannot_approve_a_regions_order(session):
    responsible = make_user(session, "purchasing_officer", "REG-01")
    order = make_order(session, OrderStatus.SUBMITTED, responsible=responsible, buyer_code="REG-01")
    with pytest.raises(NotFoundError):  # outside a municipality officer's scope: not even seen
        orders.approve_order(session, make_user(session, "purchasing_officer", "0180"), order)
    orders.approve_order(session, make_user(session, "purchasing_officer", "REG-01"), order)
    assert order.status == OrderStatus.APPROVED


def test_submitting_tells_the_buyers_own_approvers_and_no_one_else(session):
    responsible = make_user(session, "purchasing_officer", "REG-01")
    same_region = make_user(session, "purchasing_officer", "REG-01")
    agency_lead = make_user(session, "purchasing_lead")
    elsewhere = make_user(session, "purchasing_officer", "1480")
    order = make_order(session, OrderStatus.SUBMITTED, responsible=responsible, buyer_code="REG-01")
    subject = f"Purchase order {order.number} awaits your approval"
    assert subject in _notices(session, same_region)
    for person in (responsible, agency_lead, elsewhere):
        assert subject not in _notices(session, person)
    # The agency's lead may approve it all the same.
    assert agency_lead in approval.approvers_for(session, order, orders.order_value_ore(order))


def test_a_buyer_without_approvers_of_its_own_has_the_agencys_told(session):
    responsible = make_user(session, "purchasing_officer", "0180")
    agency_lead = make_user(session, "purchasing_lead")
    coordinator = make_user(session, "national_coordinator")
    order = make_order(session, OrderStatus.SUBMITTED, responsible=responsible, buyer_code="0180")
    subject = f"Purchase order {order.number} awaits your approval"
    for person in (agency_lead, coordinator):
        assert subject in _notices(session, person)


def test_only_the_national_coordinator_is_told_of_an_order_above_ten_msek(session):
    responsible = make_user(session)
    lead = make_user(session, "purchasing_lead")
    coordinator = make_user(session, "national_coordinator")
    order = _order_worth(session, responsible, 12_000_000)
    subject = f"Purchase order {order.number} awaits your approval"
    assert subject in _notices(session, coordinator)
    assert subject not in _notices(session, lead)


def test_the_responsible_officer_is_told_when_the_order_is_approved_or_returned(session):
    responsible = make_user(session)
    approver = make_user(session, "purchasing_lead")
    approved = make_order(session, OrderStatus.APPROVED, responsible=responsible, approver=approver)
    returned = make_order(session, OrderStatus.SUBMITTED, responsible=responsible)
    with pytest.raises(OrderError) as refused:
        orders.return_order(session, approver, returned, " ")
    assert refused.value.field == "reason"
    orders.return_order(session, approver, returned, "Split the deliveries per region")
    assert returned.status == OrderStatus.DRAFT and returned.submitted_by_id is None
    notices = _notices(session, responsible)
    assert f"Purchase order {approved.number} is approved" in notices
    assert f"Purchase order {returned.number} was returned" in notices
    body = session.scalar(
        select(Notice.body).where(Notice.user_id == responsible.id, Notice.text.like("%returned"))
    )
    assert "Split the deliveries per region" in body


def test_saved_rules_replace_the_defaults(session):
    coordinator = make_user(session, "national_coordinator")
    approval.replace_rules(
        session,
        coordinator,
        [
            RuleSpec(100_000 * 100, (Role.PURCHASING_OFFICER,)),
            RuleSpec(None, (Role.PURCHASING_LEAD, Role.NATIONAL_COORDINATOR)),
        ],
    )
    assert approval.current_rules(session) == [
        RuleSpec(100_000 * 100, (Role.PURCHASING_OFFICER,)),
        RuleSpec(None, (Role.PURCHASING_LEAD, Role.NATIONAL_COORDINATOR)),
    ]
    responsible = make_user(session)
    order = _order_worth(session, responsible, 200_000)
    with pytest.raises(OrderError, match="Purchasing lead"):
        orders.approve_order(session, make_user(session, "purchasing_officer"), order)
    orders.approve_order(session, make_user(session, "purchasing_lead"), order)
    # Saving again replaces them, row by row.
    approval.replace_rules(session, coordinator, approval.default_rules())
    assert len(session.scalars(select(ApprovalRule)).all()) == 2
    assert approval.current_rules(session) == approval.default_rules()


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ([RuleSpec(100, (Role.PURCHASING_OFFICER,))], "no limit"),
        ([RuleSpec(None, (Role.NATIONAL_COORDINATOR,)), RuleSpec(None, (Role.PURCHASING_LEAD,))], "no limit"),
        (
            [
                RuleSpec(100, (Role.PURCHASING_OFFICER,)),
                RuleSpec(100, (Role.PURCHASING_LEAD,)),
                RuleSpec(None, (Role.NATIONAL_COORDINATOR,)),
            ],
            "same limit",
        ),
        ([RuleSpec(None, ())], "at least one role"),
        ([RuleSpec(None, (Role.REPORTER,))], "approve orders"),
        ([RuleSpec(0, (Role.PURCHASING_OFFICER,)), RuleSpec(None, (Role.NATIONAL_COORDINATOR,))], "above 0"),
    ],
    ids=["no-unlimited", "two-unlimited", "same-limit", "no-roles", "role-without-permission", "zero-limit"],
)
def test_rules_that_would_leave_orders_without_an_approver_are_refused(session, rules, message):
    with pytest.raises(ApprovalError, match=message):
        approval.replace_rules(session, make_user(session, "national_coordinator"), rules)


def test_only_the_national_coordinator_changes_the_rules(session):
    with pytest.raises(ApprovalError, match="role"):
        approval.replace_rules(session, make_user(session, "purchasing_lead"), approval.default_rules())
