"""What the start page shows: the user's scope in numbers and the pages their roles use most."""
from __future__ import annotations

from dataclasses import dataclass, field

from flask import url_for
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.auth.access import Scope, has_permission, organisation_scope_filter, scope_of
from app.auth.roles import Permission
from app.organisations.models import Organisation, OrganisationKind


@dataclass
class Dashboard:
    scope: Scope
    scope_label: str
    counts: list[tuple[str, int]]
    population: int
    links: list[tuple[str, str]] = field(default_factory=list)


def dashboard_for(session: Session, user) -> Dashboard:
    in_scope = organisation_scope_filter(user)
    municipalities = session.scalar(
        select(func.count()).where(in_scope, Organisation.municipality_code.is_not(None))
    )
    regions = session.scalar(select(func.count()).where(in_scope, Organisation.kind == OrganisationKind.REGION))
    boards = session.scalar(
        select(func.count()).where(in_scope, Organisation.kind == OrganisationKind.COUNTY_BOARD)
    )
    population = session.scalar(
        select(func.coalesce(func.sum(Organisation.population), 0)).where(
            in_scope, Organisation.municipality_code.is_not(None)
        )
    )
    scope = scope_of(user)
    labels = {
        Scope.NATIONAL: _("All of Sweden"),
        Scope.COUNTY: user.organisation.county.name if user.organisation.county else "",
        Scope.OWN: user.organisation.name,
    }
    links = [(_("Your organisation"), url_for("organisations.detail", organisation_id=user.organisation_id))]
    if has_permission(user, Permission.VIEW_ORGANISATIONS) and scope is not Scope.OWN:
        links.append((_("Organisations"), url_for("organisations.index")))
    links.append((_("Product catalogue"), url_for("catalog.index")))
    if has_permission(user, Permission.MANAGE_USERS):
        links.append((_("Users"), url_for("auth.users")))
    if has_permission(user, Permission.VIEW_OUTBOX):
        links.append((_("Outbox"), url_for("notifications.outbox")))
    if has_permission(user, Permission.VIEW_JOBS):
        links.append((_("Scheduled jobs"), url_for("scheduling.index")))
    if has_permission(user, Permission.VIEW_AUDIT_LOG):
        links.append((_("Audit log"), url_for("audit.index")))
    return Dashboard(
        scope=scope,
        scope_label=labels[scope],
        counts=[(_("Municipalities"), municipalities), (_("Regions"), regions), (_("County boards"), boards)],
        population=population or 0,
        links=links,
    )
