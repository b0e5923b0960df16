"""Supplier jobs: certificate expiry warnings, overdue milestones and due actions, each sent once."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from app.catalog.models import Product
from app.notifications.models import Notice
from app.scheduling import runner
from app.scheduling.models import JobOutcome
from app.scheduling.registry import JOBS
from suppliers import jobs
from suppliers.models import (
    Certificate,
    CertificateKind,
    Milestone,
    ProductionProject,
    ProductionStage,
    SupplierProduct,
    VerificationStatus,
    VettingStatus,
)
from tests.suppliers.factories import make_follow_up_action, make_supplier

# 07:00 in Stockholm (CET) on Monday 2 March 2026.
MORNING = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
TODAY = date(2026, 3, 2)


def _on(day: date) -> datetime:
    """07:00 Stockholm time on ``day`` (winter time)."""
    return datetime(day.year, day.month, day.day, 6, 0, tzinfo=UTC)


def _notices(session, user) -> list[Notice]:
    return list(session.scalars(select(Notice).where(Notice.user_id == user.id).order_by(Notice.id)))


def _product(session) -> Product:
    return session.scalar(select(Product).order_by(Product.id))


def _certificate(session, creator=None, supplier=None, **overrides) -> Certificate:
    model = SupplierProduct(
        supplier=supplier or make_supplier(session, legal_name="Mask AB"),
        product=_product(session),
        model_name=f"FFP2 NR {overrides.pop('model', 'M-1')}",
    )
    values = {
        "supplier_product": model,
        "kind": CertificateKind.EU_TYPE_EXAMINATION.value,
        "standard": "EN 149:2001+A1:2009",
        "standard_class": "FFP2 NR",
        "notified_body_number": "0598",
        "valid_from": date(2021, 1, 1),
        "valid_until": TODAY + timedelta(days=60),
        "created_by": creator,
        **overrides,
    }
    certificate = Certificate(**values)
    session.add(certificate)
    session.flush()
    return certificate


def _milestone(session, responsible=None, **overrides) -> Milestone:
    project = ProductionProject(
        supplier=make_supplier(session, legal_name="Svensk Mask AB", produces_in_sweden=True),
        product=_product(session),
        name="Munskydd från Borås",
        stage=overrides.pop("stage", ProductionStage.RAMP_UP.value),
        responsible=responsible,
    )
    values = {
        "project": project,
        "name": "CE certificate issued",
        "planned_on": date(2026, 2, 27),
        **overrides,
    }
    milestone = Milestone(**values)
    session.add(milestone)
    session.flush()
    return milestone


@pytest.fixture
def lead(users):
    return users.make("purchasing_lead", name="Lena Inköpschef")


@pytest.fixture
def officer(users):
    return users.make("purchasing_officer", name="Olle Inköpare")


def test_the_jobs_run_every_hour_of_the_office_day_at_their_own_minute(app):
    for job_id, minute in (
        ("suppliers.warn_expiring_certificates", 0),
        ("suppliers.notify_overdue_milestones", 5),
        ("suppliers.remind_due_actions", 10),
    ):
        spec = JOBS[job_id]
        assert spec.trigger == "cron" and spec.trigger_args == {"hour": "7-17", "minute": minute}


# --- certificates -------------------------------------------------------------------------------------------


def test_a_certificate_is_warned_of_60_and_then_14_days_ahead_once_each(session, officer, lead):
    certificate = _certificate(session, creator=officer, valid_until=date(2026, 5, 1))  # 60 days ahead

    first = jobs.warn_expiring_certificates(session, now=MORNING)
    jobs.warn_expiring_certificates(session, now=MORNING + timedelta(hours=1))
    jobs.warn_expiring_certificates(session, now=_on(date(2026, 4, 16)))  # 15 days ahead: nothing new
    assert first == "2 expiry warnings about 1 certificates."
    assert certificate.expiry_warned_60_at == MORNING and certificate.expiry_warned_14_at is None

    jobs.warn_expiring_certificates(session, now=_on(date(2026, 4, 17)))  # 14 days ahead
    jobs.warn_expiring_certificates(session, now=_on(date(2026, 4, 18)))

    for user in (officer, lead):
        assert [n.text for n in _notices(session, user)] == [
            "Certificate expires in 60 days: Mask AB, FFP2 NR M-1",
            "Certificate expires in 14 days: Mask AB, FFP2 NR M-1",
        ]
    body = _notices(session, lead)[0].body
    assert "EU type-examination certificate, EN 149:2001+A1:2009 FFP2 NR" in body and "1 May 2026" in body
    assert (
        _notices(session, lead)[0].link == f"/suppliers/{certificate.supplier_product.supplier_id}/products"
    )
    assert certificate.expiry_warned_14_at == _on(date(2026, 4, 17))


def test_a_certificate_first_seen_within_14_days_gets_only_the_14_day_warning(session, lead):
    certificate = _certificate(session, valid_until=TODAY + timedelta(days=10))

    jobs.warn_expiring_certificates(session, now=MORNING)
    jobs.warn_expiring_certificates(session, now=MORNING + timedelta(days=1))

    assert [n.text for n in _notices(session, lead)] == [
        "Certificate expires in 10 days: Mask AB, FFP2 NR M-1"
    ]
    assert certificate.expiry_warned_60_at is None and certificate.expiry_warned_14_at == MORNING


def test_certificates_that_are_rejected_expired_far_off_or_of_rejected_suppliers_are_not_warned_of(
    session, lead
):
    rejected = _certificate(session, verification_status=VerificationStatus.REJECTED.value, model="A")
    expired = _certificate(session, valid_until=TODAY - timedelta(days=1), model="B")
    far_off = _certificate(session, valid_until=TODAY + timedelta(days=61), model="C")
    open_ended = _certificate(session, valid_until=None, model="D")
    refused_supplier = make_supplier(session, vetting_status=VettingStatus.REJECTED)
    of_rejected_supplier = _certificate(session, supplier=refused_supplier, model="E")
    expires_today = _certificate(session, valid_until=TODAY, model="F")

    summary = jobs.warn_expiring_certificates(session, now=MORNING)

    assert summary == "1 expiry warnings about 1 certificates."
    assert [n.text for n in _notices(session, lead)] == ["Certificate expires today: Mask AB, FFP2 NR F"]
    for certificate in (rejected, expired, far_off, open_ended, of_rejected_supplier):
        assert certificate.expiry_warned_60_at is None and certificate.expiry_warned_14_at is None
    assert expires_today.expiry_warned_14_at == MORNING


def test_the_creator_is_warned_only_while_active_and_managing_suppliers(session, users, lead):
    retired = users.make("purchasing_officer", name="Gone")
    retired.active = False
    moved = users.make("auditor")  # no longer manages suppliers
    _certificate(session, creator=retired, model="A")
    _certificate(session, creator=moved, model="B")

    jobs.warn_expiring_certificates(session, now=MORNING)

    assert _notices(session, retired) == [] and _notices(session, moved) == []
    assert len(_notices(session, lead)) == 2


def test_a_warning_with_nobody_to_tell_waits_for_someone_to_tell(session, users):
    certificate = _certificate(session)

    assert jobs.warn_expiring_certificates(session, now=MORNING) == "0 expiry warnings about 0 certificates."
    assert certificate.expiry_warned_60_at is None

    lead = users.make("purchasing_lead")
    jobs.warn_expiring_certificates(session, now=MORNING + timedelta(hours=1))
    assert len(_notices(session, lead)) == 1


def test_a_renewed_certificate_is_warned_of_again_before_its_new_date(session, lead):
    certificate = _certificate(session, valid_until=TODAY + timedelta(days=14))
    jobs.warn_expiring_certificates(session, now=MORNING)

    certificate.valid_until = date(2027, 3, 1)  # renewed for a year
    jobs.warn_expiring_certificates(session, now=MORNING + timedelta(days=1))
    jobs.warn_expiring_certificates(session, now=_on(date(2026, 12, 31)))  # 60 days before the new date

    assert [n.text for n in _notices(session, lead)] == [
        "Certificate expires in 14 days: Mask AB, FFP2 NR M-1",
        "Certificate expires in 60 days: Mask AB, FFP2 NR M-1",
    ]


# --- milestones ---------------------------------------------------------------------------------------------


def test_an_overdue_milestone_is_reported_once_to_the_projects_responsible_user(session, users):
    responsible = users.make("production_team", name="Pia Produktion")
    colleague = users.make("production_team")
    milestone = _milestone(session, responsible=responsible)

    summary = jobs.notify_overdue_milestones(session, now=MORNING)
    jobs.notify_overdue_milestones(session, now=MORNING + timedelta(days=1))

    assert summary == "1 notices about 1 overdue milestones."
    notices = _notices(session, responsible)
    assert [n.text for n in notices] == ["Milestone overdue: CE certificate issued, Munskydd från Borås"]
    assert "(Svensk Mask AB, " in notices[0].body and "planned for 27 Feb 2026" in notices[0].body
    assert notices[0].link == f"/suppliers/production/{milestone.project_id}"
    assert _notices(session, colleague) == []
    assert milestone.overdue_notified_at == MORNING


def test_without_an_active_responsible_user_the_production_team_is_told(session, users):
    team = [users.make("production_team"), users.make("production_team")]
    retired = users.make("production_team")
    retired.active = False
    _milestone(session, responsible=retired)

    jobs.notify_overdue_milestones(session, now=MORNING)

    assert [len(_notices(session, user)) for user in team] == [1, 1]
    assert _notices(session, retired) == []


def test_milestones_reached_not_yet_due_or_of_ended_projects_are_not_reported(session, users):
    responsible = users.make("production_team")
    reached = _milestone(session, responsible=responsible, actual_on=date(2026, 2, 28))
    due_today = _milestone(session, responsible=responsible, planned_on=TODAY)
    ended = _milestone(session, responsible=responsible, stage=ProductionStage.ENDED.value)

    assert jobs.notify_overdue_milestones(session, now=MORNING) == "0 notices about 0 overdue milestones."
    assert _notices(session, responsible) == []
    assert all(m.overdue_notified_at is None for m in (reached, due_today, ended))


def test_a_milestone_planned_anew_is_reported_again_when_the_new_date_passes(session, users):
    responsible = users.make("production_team")
    milestone = _milestone(session, responsible=responsible)
    jobs.notify_overdue_milestones(session, now=MORNING)

    milestone.planned_on = date(2026, 3, 9)
    jobs.notify_overdue_milestones(session, now=_on(date(2026, 3, 9)))  # not yet overdue
    jobs.notify_overdue_milestones(session, now=_on(date(2026, 3, 10)))
    jobs.notify_overdue_milestones(session, now=_on(date(2026, 3, 11)))

    assert len(_notices(session, responsible)) == 2
    assert milestone.overdue_notified_at == _on(date(2026, 3, 10))


# --- dialogue actions ---------------------------------------------------------------------------------------


def test_owners_are_reminded_once_of_actions_due_today_or_overdue(session, users, officer):
    producer = users.make("production_team")
    due_today = make_follow_up_action(session, producer, due_on=TODAY)
    overdue = make_follow_up_action(session, producer, due_on=date(2026, 2, 26))
    later = make_follow_up_action(session, producer, due_on=date(2026, 3, 3))
    done = make_follow_up_action(session, officer, due_on=date(2026, 2, 26), done_at=MORNING, done_by=officer)

    summary = jobs.remind_due_actions(session, now=MORNING)
    jobs.remind_due_actions(session, now=MORNING + timedelta(hours=1))

    assert summary == "Reminded owners of 2 due follow-up actions."
    supplier = due_today.dialogue_entry.supplier.legal_name
    notices = _notices(session, producer)
    assert [n.text for n in notices] == [
        f"Follow-up action overdue since 26 Feb 2026: {overdue.dialogue_entry.supplier.legal_name}",
        f"Follow-up action due today: {supplier}",
    ]
    assert "Send the test report for the FFP2 model." in notices[1].body
    assert (
        notices[1].link == f"/suppliers/{due_today.dialogue_entry.supplier_id}/dialogue#action-{due_today.id}"
    )
    assert later.reminded_at is None and done.reminded_at is None and _notices(session, officer) == []


def test_a_postponed_action_is_reminded_again_on_its_new_date(session, users):
    producer = users.make("production_team")
    action = make_follow_up_action(session, producer, due_on=TODAY)
    jobs.remind_due_actions(session, now=MORNING)

    action.due_on = date(2026, 3, 4)
    jobs.remind_due_actions(session, now=_on(date(2026, 3, 3)))
    jobs.remind_due_actions(session, now=_on(date(2026, 3, 4)))

    assert len(_notices(session, producer)) == 2


def test_today_is_the_date_in_stockholm_not_in_utc(session, users):
    producer = users.make("production_team")
    make_follow_up_action(session, producer, due_on=TODAY)

    jobs.remind_due_actions(session, now=datetime(2026, 3, 1, 22, 30, tzinfo=UTC))  # 23:30 on 1 March
    assert _notices(session, producer) == []
    jobs.remind_due_actions(session, now=datetime(2026, 3, 1, 23, 30, tzinfo=UTC))  # 00:30 on 2 March
    assert len(_notices(session, producer)) == 1


def test_actions_of_an_inactive_owner_wait_for_a_new_owner_and_are_counted(session, users):
    retired = users.make("production_team")
    retired.active = False
    action = make_follow_up_action(session, retired, due_on=TODAY)

    summary = jobs.remind_due_actions(session, now=MORNING)

    assert summary == (
        "Reminded owners of 0 due follow-up actions. "
        "1 with an inactive owner were skipped; give them to someone else."
    )
    assert action.reminded_at is None and _notices(session, retired) == []


def test_the_scheduler_runs_a_supplier_job_and_commits_what_it_recorded(app, session, users):
    producer = users.make("production_team")
    action = make_follow_up_action(session, producer, due_on=date(2020, 1, 1))
    session.commit()

    run = runner.run_job(app, "suppliers.remind_due_actions", triggered_by="test")
    second = runner.run_job(app, "suppliers.remind_due_actions", triggered_by="test")

    assert (
        run.job_outcome is JobOutcome.SUCCEEDED
        and run.summary == "Reminded owners of 1 due follow-up actions."
    )
    assert second.summary == "Reminded owners of 0 due follow-up actions."
    session.expire_all()
    assert session.get(type(action), action.id).reminded_at is not None
    assert len(_notices(session, producer)) == 1
