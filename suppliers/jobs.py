"""Scheduled supplier jobs: certificate expiry warnings, overdue production milestones, due dialogue actions.

Each notice goes out once, recorded in the row's own ``*_at`` column in the same transaction, so a job that
runs every hour, or again after a failure, never sends it twice. A recorded notice is about the date it was
sent for: when that date moves later (a renewed certificate, a re-planned milestone, a postponed action) the
notice is due again for the new date. "Today" is the date in SAMORDNA_TIMEZONE (Europe/Stockholm).

Who is told:
- an expiring certificate: the user who registered it (while active and still managing suppliers), who
  knows the supplier and can ask for the renewal, and every active purchasing lead, who answers for what is
  bought under it. Nobody to tell leaves the warning unsent, so a lead appointed later still gets it.
- an overdue milestone: the project's responsible user, or the whole production team when the project has
  none (or that user is no longer active).
- a due follow-up action: its owner.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.auth.access import has_permission
from app.auth.models import User, UserRole
from app.auth.roles import Permission, Role
from app.db import utcnow
from app.notifications.services import in_language_of, notify, page_link
from app.scheduling.registry import register_job
from app.timeutil import local_date, when
from suppliers.models import (
    Certificate,
    CertificateKind,
    DialogueEntry,
    DialogueKind,
    FollowUpAction,
    Milestone,
    ProductionProject,
    ProductionStage,
    Supplier,
    SupplierProduct,
    VerificationStatus,
    VettingStatus,
)
from suppliers.services_dialogue import action_link, needs_reminder

# Days before valid_until that the two warnings are due, the later (shorter) one first.
WARNING_LEADS = (14, 60)
_WARNED_AT = {14: "expiry_warned_14_at", 60: "expiry_warned_60_at"}
# Office hours, local time: the first run of the day sends the day's notices; later runs catch up after an
# outage (the notices are idempotent) without waking anyone at midnight.
OFFICE_HOURS = "7-17"


def _moment(now: datetime | None, today: date | None) -> tuple[datetime, date]:
    now = now or utcnow()
    return now, today or local_date(now)


def _active_with_role(session: Session, role: Role) -> list[User]:
    return list(
        session.scalars(
            select(User)
            .join(UserRole, UserRole.user_id == User.id)
            .where(UserRole.role == role.value, User.active.is_(True))
            .order_by(User.id)
        )
    )


def _distinct(users) -> list[User]:
    seen: dict[int, User] = {}
    for user in users:
        if user is not None:
            seen.setdefault(user.id, user)
    return list(seen.values())


# --- certificates -------------------------------------------------------------------------------------------


def warning_due(certificate: Certificate, today: date) -> int | None:
    """Which expiry warning (14 or 60 days ahead) the certificate is due for today, or None.

    Only the nearest one: a certificate first seen 14 days or less ahead gets the 14-day warning and never
    the 60-day one. A warning recorded more than its lead before the present ``valid_until`` was about an
    earlier date (the certificate was renewed since), so it is due again.
    """
    if certificate.valid_until is None or certificate.verification_status == VerificationStatus.REJECTED:
        return None
    days_left = (certificate.valid_until - today).days
    if days_left < 0:
        return None
    for lead in WARNING_LEADS:
        if days_left <= lead:
            warned_at = getattr(certificate, _WARNED_AT[lead])
            sent = warned_at is not None and (certificate.valid_until - local_date(warned_at)).days <= lead
            return None if sent else lead
    return None


def _certificate_recipients(certificate: Certificate, leads: list[User]) -> list[User]:
    creator = certificate.created_by
    if creator is not None and not (creator.active and has_permission(creator, Permission.MANAGE_SUPPLIERS)):
        creator = None
    return _distinct([creator, *leads])


def _describe_certificate(certificate: Certificate) -> str:
    standard = " ".join(part for part in (certificate.standard, certificate.standard_class) if part)
    return f"{CertificateKind(certificate.kind).label}, {standard}"


def warn_expiring_certificates(
    session: Session, now: datetime | None = None, today: date | None = None
) -> str:
    """Warn of certificates expiring within 60 and within 14 days, once each; rejected ones are skipped,
    and so are those of rejected suppliers. Flushes only."""
    now, today = _moment(now, today)
    certificates = session.scalars(
        select(Certificate)
        .join(Certificate.supplier_product)
        .join(SupplierProduct.supplier)
        .where(
            Certificate.valid_until.between(today, today + timedelta(days=max(WARNING_LEADS))),
            Certificate.verification_status != VerificationStatus.REJECTED.value,
            Supplier.vetting_status != VettingStatus.REJECTED.value,
        )
        .options(
            selectinload(Certificate.supplier_product).selectinload(SupplierProduct.supplier),
            selectinload(Certificate.supplier_product).selectinload(SupplierProduct.product),
            selectinload(Certificate.created_by),
        )
        .order_by(Certificate.valid_until, Certificate.id)
    ).all()
    leads = _active_with_role(session, Role.PURCHASING_LEAD)
    warned = notices = 0
    for certificate in certificates:
        lead = warning_due(certificate, today)
        recipients = _certificate_recipients(certificate, leads) if lead else []
        if not recipients:
            continue
        model = certificate.supplier_product
        days = (certificate.valid_until - today).days
        for user in recipients:
            with in_language_of(user):
                names = {
                    "supplier": model.supplier.legal_name,
                    "model": model.model_name,
                    "product": model.product.name_in(str(get_locale())),
                    "certificate": _describe_certificate(certificate),
                    "date": when(certificate.valid_until),
                }
                if days == 0:
                    subject = _("Certificate expires today: %(supplier)s, %(model)s", **names)
                else:
                    subject = ngettext(
                        "Certificate expires in %(num)d day: %(supplier)s, %(model)s",
                        "Certificate expires in %(num)d days: %(supplier)s, %(model)s",
                        days,
                        **names,
                    )
                body = _(
                    "The %(certificate)s for %(model)s (%(product)s) from %(supplier)s is valid until "
                    "%(date)s. Ask the supplier for a renewed certificate and verify it before buying more "
                    "under it.",
                    **names,
                )
            link = page_link("suppliers.certificates", supplier_id=model.supplier_id)
            notify(session, user, subject, body, link=link)
            notices += 1
        setattr(certificate, _WARNED_AT[lead], now)
        warned += 1
    session.flush()
    return _(
        "%(notices)s expiry warnings about %(certificates)s certificates.",
        notices=notices,
        certificates=warned,
    )


# --- production milestones ----------------------------------------------------------------------------------


def milestone_notice_due(milestone: Milestone, today: date) -> bool:
    """Whether the milestone is overdue and nobody has been told since it was last planned.

    A notice recorded on or before the present planned date was about an earlier plan: it is due again.
    """
    if not milestone.is_overdue_on(today):
        return False
    notified = milestone.overdue_notified_at
    return notified is None or local_date(notified) <= milestone.planned_on


def notify_overdue_milestones(
    session: Session, now: datetime | None = None, today: date | None = None
) -> str:
    """Tell the responsible user (or the production team) of each milestone whose planned date has passed
    without an actual date, once per milestone; ended projects are left alone. Flushes only."""
    now, today = _moment(now, today)
    milestones = session.scalars(
        select(Milestone)
        .join(Milestone.project)
        .where(
            Milestone.actual_on.is_(None),
            Milestone.planned_on < today,
            ProductionProject.stage != ProductionStage.ENDED.value,
        )
        .options(
            selectinload(Milestone.project).selectinload(ProductionProject.supplier),
            selectinload(Milestone.project).selectinload(ProductionProject.product),
            selectinload(Milestone.project).selectinload(ProductionProject.responsible),
        )
        .order_by(Milestone.planned_on, Milestone.id)
    ).all()
    team: list[User] | None = None
    told = notices = 0
    for milestone in milestones:
        if not milestone_notice_due(milestone, today):
            continue
        project = milestone.project
        if project.responsible is not None and project.responsible.active:
            recipients = [project.responsible]
        else:
            if team is None:
                team = _active_with_role(session, Role.PRODUCTION_TEAM)
            recipients = team
        if not recipients:
            continue
        for user in recipients:
            with in_language_of(user):
                subject = _(
                    "Milestone overdue: %(milestone)s, %(project)s",
                    milestone=milestone.name,
                    project=project.name,
                )
                body = _(
                    "The milestone %(milestone)s of the production project %(project)s (%(supplier)s, "
                    "%(product)s) was planned for %(planned)s and has no actual date yet. Record the date it "
                    "was reached, or plan it anew.",
                    milestone=milestone.name,
                    project=project.name,
                    supplier=project.supplier.legal_name,
                    product=project.product.name_in(str(get_locale())),
                    planned=when(milestone.planned_on),
                )
            notify(session, user, subject, body, link=page_link("suppliers.project", project_id=project.id))
            notices += 1
        milestone.overdue_notified_at = now
        told += 1
    session.flush()
    return _("%(notices)s notices about %(milestones)s overdue milestones.", notices=notices, milestones=told)


# --- dialogue actions ---------------------------------------------------------------------------------------


def remind_due_actions(session: Session, now: datetime | None = None, today: date | None = None) -> str:
    """Remind each owner of follow-up actions due today or overdue and not done, once per action (again when
    its due date was moved later). An inactive owner is skipped until the action is given to someone else.
    Flushes only."""
    now, today = _moment(now, today)
    actions = session.scalars(
        select(FollowUpAction)
        .where(FollowUpAction.done_at.is_(None), FollowUpAction.due_on <= today)
        .options(
            selectinload(FollowUpAction.owner),
            selectinload(FollowUpAction.dialogue_entry).selectinload(DialogueEntry.supplier),
        )
        .order_by(FollowUpAction.due_on, FollowUpAction.id)
    ).all()
    reminded = skipped = 0
    for action in actions:
        if not needs_reminder(action, today):
            continue
        owner = action.owner
        if not owner.active:
            skipped += 1
            continue
        entry = action.dialogue_entry
        with in_language_of(owner):
            names = {"supplier": entry.supplier.legal_name, "due": when(action.due_on)}
            if action.due_on == today:
                subject = _("Follow-up action due today: %(supplier)s", **names)
            else:
                subject = _("Follow-up action overdue since %(due)s: %(supplier)s", **names)
            body = _(
                "Your follow-up action from the %(kind)s with %(supplier)s on %(date)s is due %(due)s:"
                "\n\n%(description)s\n\nMark it done in Samordna when it is.",
                kind=DialogueKind(entry.kind).label.lower(),
                date=when(entry.occurred_on),
                description=action.description,
                **names,
            )
        notify(session, owner, subject, body, link=action_link(action))
        action.reminded_at = now
        reminded += 1
    session.flush()
    summary = _("Reminded owners of %(num)s due follow-up actions.", num=reminded)
    if skipped:
        summary += " " + _(
            "%(num)s with an inactive owner were skipped; give them to someone else.", num=skipped
        )
    return summary


def register() -> None:
    """Register the supplier jobs; called from suppliers.init_app."""
    register_job(
        "suppliers.warn_expiring_certificates",
        warn_expiring_certificates,
        trigger="cron",
        hour=OFFICE_HOURS,
        minute=0,
        description=_l("Warn of certificates expiring within 60 and 14 days"),
    )
    register_job(
        "suppliers.notify_overdue_milestones",
        notify_overdue_milestones,
        trigger="cron",
        hour=OFFICE_HOURS,
        minute=5,
        description=_l("Tell production of milestones past their planned date"),
    )
    register_job(
        "suppliers.remind_due_actions",
        remind_due_actions,
        trigger="cron",
        hour=OFFICE_HOURS,
        minute=10,
        description=_l("Remind owners of follow-up actions that are due"),
    )
