"""Roles, permissions and which organisations may hold which role."""
from __future__ import annotations

from enum import StrEnum

from flask_babel import lazy_gettext as _l

from app.organisations.models import OrganisationKind


class Role(StrEnum):
    NATIONAL_COORDINATOR = "national_coordinator"
    PURCHASING_OFFICER = "purchasing_officer"
    PRODUCTION_TEAM = "production_team"
    COUNTY_COORDINATOR = "county_coordinator"
    REPORTER = "reporter"
    RECIPIENT = "recipient"
    AUDITOR = "auditor"
    ADMINISTRATOR = "administrator"

    @property
    def label(self) -> str:
        return str(ROLE_LABELS[self])


ROLE_LABELS = {
    Role.NATIONAL_COORDINATOR: _l("National coordinator"),
    Role.PURCHASING_OFFICER: _l("Purchasing officer"),
    Role.PRODUCTION_TEAM: _l("Production team"),
    Role.COUNTY_COORDINATOR: _l("County coordinator"),
    Role.REPORTER: _l("Reporter"),
    Role.RECIPIENT: _l("Recipient"),
    Role.AUDITOR: _l("Auditor (read-only)"),
    Role.ADMINISTRATOR: _l("Administrator"),
}


class Permission(StrEnum):
    VIEW_ORGANISATIONS = "view_organisations"
    VIEW_CATALOG = "view_catalog"
    MANAGE_CATALOG = "manage_catalog"
    MANAGE_USERS = "manage_users"
    VIEW_OUTBOX = "view_outbox"
    VIEW_JOBS = "view_jobs"
    RUN_JOBS = "run_jobs"
    VIEW_AUDIT_LOG = "view_audit_log"
    VIEW_NEED = "view_need"
    SUBMIT_REPORTS = "submit_reports"
    MANAGE_REPORTING = "manage_reporting"
    MANAGE_API_TOKENS = "manage_api_tokens"


_EVERYONE = frozenset({Permission.VIEW_ORGANISATIONS, Permission.VIEW_CATALOG, Permission.VIEW_NEED})

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.NATIONAL_COORDINATOR: _EVERYONE | {Permission.VIEW_JOBS, Permission.MANAGE_REPORTING},
    Role.PURCHASING_OFFICER: _EVERYONE,
    Role.PRODUCTION_TEAM: _EVERYONE,
    Role.COUNTY_COORDINATOR: _EVERYONE,
    Role.REPORTER: _EVERYONE | {Permission.SUBMIT_REPORTS, Permission.MANAGE_API_TOKENS},
    Role.RECIPIENT: _EVERYONE,
    Role.AUDITOR: _EVERYONE | {Permission.VIEW_JOBS, Permission.VIEW_AUDIT_LOG},
    Role.ADMINISTRATOR: _EVERYONE
    | {
        Permission.MANAGE_CATALOG,
        Permission.MANAGE_USERS,
        Permission.VIEW_OUTBOX,
        Permission.VIEW_JOBS,
        Permission.RUN_JOBS,
        Permission.VIEW_AUDIT_LOG,
        Permission.MANAGE_API_TOKENS,
    },
}

# The organisations whose staff may hold each role: a municipality cannot appoint a national coordinator.
ROLE_ORGANISATION_KINDS: dict[Role, frozenset[OrganisationKind]] = {
    Role.NATIONAL_COORDINATOR: frozenset({OrganisationKind.AGENCY}),
    Role.PURCHASING_OFFICER: frozenset(
        {OrganisationKind.AGENCY, OrganisationKind.REGION, OrganisationKind.MUNICIPALITY}
    ),
    Role.PRODUCTION_TEAM: frozenset({OrganisationKind.AGENCY}),
    Role.COUNTY_COORDINATOR: frozenset({OrganisationKind.COUNTY_BOARD}),
    Role.REPORTER: frozenset({OrganisationKind.REGION, OrganisationKind.MUNICIPALITY}),
    Role.RECIPIENT: frozenset({OrganisationKind.REGION, OrganisationKind.MUNICIPALITY}),
    Role.AUDITOR: frozenset(OrganisationKind),
    Role.ADMINISTRATOR: frozenset(OrganisationKind),
}


def permissions_of(roles) -> frozenset[Permission]:
    granted: set[Permission] = set()
    for role in roles:
        granted |= ROLE_PERMISSIONS[Role(role)]
    return frozenset(granted)
