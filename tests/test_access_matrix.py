"""The role × scope matrix: every registered route, every role, at every kind of organisation.

For each route the test checks that its view declares its access (require / login_required / public), that
anonymous users are sent to the login page, that roles without the permission get 403, that roles with it
get a working page for an object in their scope, and 404 for the same kind of object outside their scope.
API routes (access "api_token") take bearer tokens only: they answer 401 to anonymous users and cookie sessions.
A new route whose URL parameter this file does not know fails the test until a resolver is added below.
"""
from __future__ import annotations

from dataclasses import dataclass

import pytest
from flask import url_for
from sqlalchemy import select

from allocation.api import API_TOKEN
from app.auth.access import AUTHENTICATED, PUBLIC
from app.auth.roles import ROLE_ORGANISATION_KINDS, Role, permissions_of
from app.extensions import db
from app.organisations.models import OrganisationKind
from tests.conftest import PASSWORD, organisation

# One representative organisation per kind; every non-national one lies in Stockholm county (01) so that
# Göteborg (1480, county 14) is outside every non-national scope.
HOME_BY_KIND = {
    OrganisationKind.AGENCY: "SOS",
    OrganisationKind.GOVERNMENT: "RK-S",
    OrganisationKind.COUNTY_BOARD: "LST-01",
    OrganisationKind.REGION: "REG-01",
    OrganisationKind.MUNICIPALITY: "0180",
}
OUTSIDE = "1480"
# Routes whose POST would end the session or switch state the matrix relies on; they are exercised
# directly in their own tests.
SKIP_POST = {"auth.logout", "auth.login", "main.set_language"}

CASES = [
    (role, kind)
    for role in Role
    for kind in OrganisationKind
    if kind in ROLE_ORGANISATION_KINDS[role]
]


@dataclass
class World:
    """Objects the URL parameters point at: one set the acting user may see, one set outside its scope."""

    user: object
    outsider: object

    def resolve(self, name: str, in_scope: bool):
        """The value for URL parameter ``name``, or None when no out-of-scope object can exist for it."""
        owner = self.user if in_scope else self.outsider
        national = self.user.organisation.is_national
        if name == "organisation_id":
            if not in_scope and national:
                return None
            return owner.organisation_id
        if name == "user_id":
            if not in_scope and national:
                return None
            return owner.id
        if name == "product_id":
            from app.catalog.models import Product

            return db.session.scalar(select(Product.id).order_by(Product.id)) if in_scope else None
        if name == "job_id":
            from app.scheduling.registry import JOBS

            return sorted(JOBS)[0] if in_scope else None
        if name == "message_id":
            if not in_scope and national:
                return None
            return _message_for(owner)
        if name == "notice_id":
            # A notice is only ever its owner's: someone else's is out of scope for everyone.
            return _notice_for(owner)
        if name == "entry_id":
            if not in_scope and national:
                return None
            return _audit_entry_by(owner)
        if name == "fmt":
            # A file format (report template csv/xlsx); not an object, so nothing is out of scope.
            return "xlsx" if in_scope else None
        if name == "county_code":
            # National users see every county; the others their own (the outsider's, 14, is outside it).
            if national:
                return "01" if in_scope else None
            return owner.organisation.county_code
        if name == "category_id":
            from app.catalog.models import ProductCategory

            return db.session.scalar(select(ProductCategory.id).order_by(ProductCategory.id)) if in_scope else None
        if name in ("report_id", "version_id"):
            # A situation report (and its version) of an organisation in scope; the outsider's is outside.
            if not in_scope and national:
                return None
            report = _report_seen_by(owner)
            return report.id if name == "report_id" else report.versions[-1].id
        if name == "period_id":
            # Reporting periods are national: everyone sees them all.
            return _report_seen_by(self.user).period_id if in_scope else None
        if name == "token_id":
            # An API token of a reporting organisation in scope; the outsider's (Göteborg's) is outside.
            if not in_scope and national:
                return None
            return _token_of(_report_seen_by(owner).organisation_id)
        raise AssertionError(f"the access matrix has no resolver for URL parameter {name!r}")


def _message_for(user) -> int:
    from app.notifications.models import OutboxMessage

    message_id = db.session.scalar(select(OutboxMessage.id).where(OutboxMessage.user_id == user.id))
    assert message_id is not None, "the world fixture gives every user a notification"
    return message_id


def _notice_for(user) -> int:
    from app.notifications.models import Notice

    notice_id = db.session.scalar(select(Notice.id).where(Notice.user_id == user.id))
    assert notice_id is not None
    return notice_id


def _audit_entry_by(user) -> int:
    from app.audit.models import AuditEntry

    entry_id = db.session.scalar(
        select(AuditEntry.id).where(AuditEntry.actor_id == user.id).order_by(AuditEntry.id)
    )
    assert entry_id is not None, "the world fixture makes every user write something"
    return entry_id


def _report_seen_by(user):
    """A situation report the user may see, made on first use: its organisation's when it reports, else one
    of a municipality in its county (Stockholm for national users)."""
    from zoneinfo import ZoneInfo

    from allocation import reporting
    from allocation.models import SituationReport, SituationReportVersion
    from app.db import utcnow
    from app.organisations.models import Organisation

    home = user.organisation
    if not reporting.is_reporting_organisation(home):
        county = "01" if home.is_national else home.county_code
        home = db.session.scalar(
            select(Organisation)
            .where(Organisation.county_code == county, Organisation.municipality_code.is_not(None))
            .order_by(Organisation.municipality_code)
            .limit(1)
        )
    report = db.session.scalar(select(SituationReport).where(SituationReport.organisation_id == home.id))
    if report is None:
        reporting.open_periods(db.session, now=utcnow(), tz=ZoneInfo("Europe/Stockholm"))
        period = reporting.current_period(db.session, utcnow())
        report = SituationReport(organisation=home, period=period, branch="healthcare")
        report.versions = [SituationReportVersion(organisation_id=home.id, number=1, channel="form")]
        db.session.add(report)
        db.session.commit()
    return report


def _token_of(organisation_id: int) -> int:
    from allocation.models import ApiToken
    from allocation.tokens import hash_token, new_secret

    token_id = db.session.scalar(select(ApiToken.id).where(ApiToken.organisation_id == organisation_id))
    if token_id is None:
        secret = new_secret()
        token = ApiToken(organisation_id=organisation_id, name="Matrix", prefix=secret[:12], token_hash=hash_token(secret))
        db.session.add(token)
        db.session.commit()
        token_id = token.id
    return token_id


def _make_world(users, role: Role, kind: OrganisationKind) -> World:
    from app.notifications.services import notify

    user = users.make([str(role)], HOME_BY_KIND[kind])
    outsider = users.make(["reporter"], OUTSIDE)
    for person in (user, outsider):
        db.session.info["actor"] = person
        notify(db.session, person, "Matrix", "A message for the access matrix")
        person.locale = "sv"  # an audited write by the person themself
        db.session.commit()
    db.session.info["actor"] = None
    return World(user, outsider)


def _routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        yield rule


def _url(app, rule, values) -> str:
    with app.test_request_context():
        return url_for(rule.endpoint, **values)


def _method(rule) -> str:
    return "GET" if "GET" in rule.methods else "POST"


def test_every_route_declares_its_access(app):
    undeclared = [
        rule.endpoint for rule in _routes(app) if getattr(app.view_functions[rule.endpoint], "access", None) is None
    ]
    assert undeclared == [], f"views without require/login_required/public: {undeclared}"


def test_anonymous_users_are_sent_to_login_for_every_non_public_route(app, client, users):
    world = _make_world(users, Role.ADMINISTRATOR, OrganisationKind.AGENCY)
    problems = []
    for rule in _routes(app):
        access = app.view_functions[rule.endpoint].access
        if access == PUBLIC:
            continue
        values = {name: world.resolve(name, True) for name in rule.arguments}
        response = client.open(_url(app, rule, values), method=_method(rule))
        if access == API_TOKEN:
            # The API never redirects to a login page: it wants a bearer token.
            if response.status_code != 401:
                problems.append(f"{rule.endpoint}: {response.status_code}, expected 401")
            continue
        if response.status_code != 302 or "/auth/login" not in response.headers.get("Location", ""):
            problems.append(f"{rule.endpoint}: {response.status_code}")
    assert problems == []


@pytest.mark.parametrize(("role", "kind"), CASES, ids=[f"{r.value}@{k.value}" for r, k in CASES])
def test_each_role_gets_exactly_what_its_permissions_and_scope_allow(app, users, role, kind):
    world = _make_world(users, role, kind)
    granted = permissions_of([role])
    problems = []
    rules = sorted(_routes(app), key=lambda r: (_method(r) == "POST", r.endpoint))
    for rule in rules:
        access = app.view_functions[rule.endpoint].access
        method = _method(rule)
        if method == "POST" and rule.endpoint in SKIP_POST:
            continue
        client = app.test_client()
        login = client.post("/auth/login", data={"email": world.user.email, "password": PASSWORD})
        assert login.status_code == 302, "matrix user could not log in"
        allowed = access in (PUBLIC, AUTHENTICATED) or access in granted
        values = {name: world.resolve(name, True) for name in rule.arguments}
        response = client.open(_url(app, rule, values), method=method)
        if access == API_TOKEN:
            # The cookie session opens nothing in the API, whatever the role.
            if response.status_code != 401:
                problems.append(f"{rule.endpoint} {method}: expected 401 without a token, got {response.status_code}")
            continue
        if not allowed:
            if response.status_code != 403:
                problems.append(f"{rule.endpoint} {method}: expected 403, got {response.status_code}")
            continue
        if response.status_code in (403, 404) or response.status_code >= 500:
            problems.append(f"{rule.endpoint} {method} in scope: got {response.status_code}")
        if rule.arguments:
            outside = {name: world.resolve(name, False) for name in rule.arguments}
            if all(value is not None for value in outside.values()) and outside != values:
                response = client.open(_url(app, rule, outside), method=method)
                if response.status_code != 404:
                    problems.append(f"{rule.endpoint} {method} out of scope: expected 404, got {response.status_code}")
    assert problems == [], "\n".join(problems)


def test_the_matrix_covers_every_role_and_every_kind_of_scope():
    assert {role for role, _ in CASES} == set(Role)
    assert {kind for _, kind in CASES} == set(OrganisationKind)


def test_organisation_of_every_home_exists(app):
    for code in [*HOME_BY_KIND.values(), OUTSIDE]:
        assert organisation(code) is not None, code
