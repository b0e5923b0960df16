"""Scheduled jobs for situation reports: open periods ahead of time, remind reporters, list missing reports.

Each reminder is sent once per period and organisation (ReminderSent), so a job that runs every 15 minutes,
or runs again after a failure, never sends it twice. Jobs run without a request: links are local paths.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta

from flask import current_app, has_request_context, url_for
from flask_babel import force_locale, format_datetime, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from allocation import reporting
from allocation.models import ReminderSent, ReportingPeriod
from app.auth.models import User, UserRole
from app.auth.roles import Role
from app.db import utcnow
from app.notifications.services import notify
from app.organisations.models import Organisation, OrganisationKind
from app.scheduling.registry import register_job
from app.timeutil import local_timezone

BEFORE_DEADLINE = "before_deadline"
AT_DEADLINE = "at_deadline"
MISSING_LIST = "missing_list"
REMINDER_LEAD = timedelta(hours=24)


def _link(endpoint: str, **values) -> str:
    """An absolute URL inside a request (for the e-mail); a local path in the job worker, which has none."""
    if has_request_context():
        return url_for(endpoint, _external=True, **values)
    adapter = current_app.url_map.bind(
        "localhost", script_name=current_app.config.get("APPLICATION_ROOT") or "/"
    )
    return adapter.build(endpoint, values)


def _when(moment: datetime) -> str:
    return format_datetime(moment, "EEE d MMM yyyy HH:mm")


def _users_with_role(session: Session, role: Role, organisation_ids: Iterable[int]) -> dict[int, list[User]]:
    """Active users holding ``role`` at each of the organisations, by organisation id."""
    ids = list(organisation_ids)
    if not ids:
        return {}
    found: dict[int, list[User]] = defaultdict(list)
    for user in session.scalars(
        select(User)
        .join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role == role.value, User.active.is_(True), User.organisation_id.in_(ids))
        .order_by(User.id)
    ):
        found[user.organisation_id].append(user)
    return found


def _already_sent(session: Session, period: ReportingPeriod, kind: str) -> set[int]:
    return set(
        session.scalars(
            select(ReminderSent.organisation_id).where(
                ReminderSent.period_id == period.id, ReminderSent.kind == kind
            )
        )
    )


def _in_locale_of(user: User):
    return force_locale(user.locale or current_app.config["BABEL_DEFAULT_LOCALE"])


def _remind_reporters(session: Session, period: ReportingPeriod, kind: str, now: datetime) -> str:
    """Notify every reporter of each organisation without a report for the period, once per organisation."""
    sent = _already_sent(session, period, kind)
    missing = [o for o in reporting.missing_reports(session, period) if o.id not in sent]
    reporters = _users_with_role(session, Role.REPORTER, [o.id for o in missing])
    link = _link("allocation.new_report", period_id=period.id)
    notices = organisations = 0
    for organisation in missing:
        recipients = reporters.get(organisation.id, [])
        if not recipients:
            continue  # nobody to remind yet; a reporter added before the next run still gets it
        for user in recipients:
            with _in_locale_of(user):
                deadline = _when(period.deadline_at)
                if kind == BEFORE_DEADLINE:
                    subject = _("Situation report due %(deadline)s", deadline=deadline)
                    body = _(
                        "%(organisation)s has not yet sent its situation report for the period due %(deadline)s. "
                        "Please report stock, consumption and need before the deadline.",
                        organisation=organisation.name,
                        deadline=deadline,
                    )
                else:
                    subject = _(
                        "Situation report missing: the deadline %(deadline)s has passed", deadline=deadline
                    )
                    body = _(
                        "%(organisation)s has not sent its situation report for the period due %(deadline)s. "
                        "A late report is still accepted until %(closes)s and is marked late.",
                        organisation=organisation.name,
                        deadline=deadline,
                        closes=_when(period.closes_at),
                    )
            notify(session, user, subject, body, link=link)
            notices += 1
        session.add(
            ReminderSent(period_id=period.id, organisation_id=organisation.id, kind=kind, sent_at=now)
        )
        organisations += 1
    session.flush()
    return _(
        "%(notices)s reminders to reporters of %(organisations)s organisations without a report.",
        notices=notices,
        organisations=organisations,
    )


def open_periods(session: Session, now: datetime | None = None) -> str:
    """Create the reporting periods due within the settings' days ahead (idempotent)."""
    created = reporting.open_periods(
        session, now=now or utcnow(), tz=local_timezone()
    )
    return ngettext("Opened %(num)d reporting period.", "Opened %(num)d reporting periods.", len(created))


def remind_before_deadline(session: Session, now: datetime | None = None) -> str:
    """Within 24 hours of the current period's deadline, remind organisations that have not reported."""
    now = now or utcnow()
    period = reporting.current_period(session, now)
    if period is None or not period.deadline_at - REMINDER_LEAD <= now < period.deadline_at:
        return _("No deadline within the next 24 hours.")
    return _remind_reporters(session, period, BEFORE_DEADLINE, now)


def remind_at_deadline(session: Session, now: datetime | None = None) -> str:
    """Once the deadline has passed, remind organisations still without a report while late ones are taken."""
    now = now or utcnow()
    period = reporting.latest_due_period(session, now)
    if period is None or not period.is_open(now):
        return _("No period past its deadline takes reports now.")
    return _remind_reporters(session, period, AT_DEADLINE, now)


def missing_report_lists(session: Session, now: datetime | None = None) -> str:
    """After the deadline, send each county coordinator one list of the county's organisations without a report.

    Sent once per period and county board; a county where everyone reported gets no list.
    """
    now = now or utcnow()
    period = reporting.latest_due_period(session, now)
    if period is None or now >= period.closes_at:
        return _("No period past its deadline is still running.")
    missing_by_county: dict[str, list[Organisation]] = defaultdict(list)
    for organisation in reporting.missing_reports(session, period):
        if organisation.county_code:
            missing_by_county[organisation.county_code].append(organisation)
    sent = _already_sent(session, period, MISSING_LIST)
    boards = [
        board
        for board in session.scalars(
            select(Organisation)
            .where(Organisation.kind == OrganisationKind.COUNTY_BOARD)
            .order_by(Organisation.county_code)
        )
        if board.id not in sent and missing_by_county.get(board.county_code)
    ]
    coordinators = _users_with_role(session, Role.COUNTY_COORDINATOR, [b.id for b in boards])
    link = _link("allocation.reports", period=period.id)
    lists = notices = 0
    for board in boards:
        recipients = coordinators.get(board.id, [])
        if not recipients:
            continue
        missing = missing_by_county[board.county_code]
        names = "\n".join(f"- {o.name} ({o.municipality_code or o.code})" for o in missing)
        for user in recipients:
            with _in_locale_of(user):
                deadline = _when(period.deadline_at)
                subject = ngettext(
                    "%(num)d organisation has not reported for the deadline %(deadline)s",
                    "%(num)d organisations have not reported for the deadline %(deadline)s",
                    len(missing),
                    deadline=deadline,
                )
                body = _(
                    "These organisations in %(county)s had sent no situation report when the deadline %(deadline)s "
                    "passed:\n\n%(names)s\n\nLate reports are accepted until %(closes)s.",
                    county=board.county.name if board.county is not None else board.name,
                    deadline=deadline,
                    names=names,
                    closes=_when(period.closes_at),
                )
            notify(session, user, subject, body, link=link)
            notices += 1
        session.add(
            ReminderSent(period_id=period.id, organisation_id=board.id, kind=MISSING_LIST, sent_at=now)
        )
        lists += 1
    session.flush()
    return _(
        "%(lists)s lists of missing reports to %(notices)s county coordinators.", lists=lists, notices=notices
    )


def register() -> None:
    """Register the situation report jobs; called from allocation.init_app."""
    register_job(
        "allocation.open_periods",
        open_periods,
        trigger="interval",
        hours=1,
        description=_l("Open the reporting periods due in the coming days"),
    )
    register_job(
        "allocation.remind_before_deadline",
        remind_before_deadline,
        trigger="interval",
        minutes=15,
        description=_l("Remind organisations that have not reported, 24 hours before the deadline"),
    )
    register_job(
        "allocation.remind_at_deadline",
        remind_at_deadline,
        trigger="interval",
        minutes=15,
        description=_l("Remind organisations that have not reported when the deadline has passed"),
    )
    register_job(
        "allocation.missing_report_lists",
        missing_report_lists,
        trigger="interval",
        minutes=15,
        description=_l("Send county coordinators the list of missing reports after the deadline"),
    )
    from allocation.services_shipments import remind_unconfirmed

    register_job(
        "allocation.remind_unconfirmed_shipments",
        remind_unconfirmed,
        trigger="interval",
        hours=1,
        description=_l("Remind recipients of shipments unconfirmed 3 days after delivery, and tell coordinators"),
    )
