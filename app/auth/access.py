"""The one access policy: what a user may do (permissions by role) and see (scope by organisation).

Every view is wrapped by :func:`require` (or marked :func:`public`); the route matrix test in
``tests/test_access_matrix.py`` fails for any registered route that is neither. Objects outside a user's
scope answer 404 so their existence is not revealed.
"""
from __future__ import annotations

from enum import StrEnum
from functools import wraps

from flask import abort
from flask_login import current_user
from sqlalchemy import ColumnElement, false, true

from app.auth.roles import Permission, permissions_of
from app.organisations.models import Organisation, OrganisationKind


class Scope(StrEnum):
    NATIONAL = "national"  # the agency and the government offices see all of Sweden
    COUNTY = "county"  # a county board sees its county
    OWN = "own"  # a region or municipality sees itself


def scope_of(user) -> Scope:
    kind = user.organisation.kind
    if kind in (OrganisationKind.AGENCY, OrganisationKind.GOVERNMENT):
        return Scope.NATIONAL
    if kind == OrganisationKind.COUNTY_BOARD:
        return Scope.COUNTY
    return Scope.OWN


def has_permission(user, permission: Permission) -> bool:
    return bool(user and user.is_authenticated and permission in permissions_of(user.roles))


def organisation_scope_filter(user) -> ColumnElement[bool]:
    """A WHERE clause on Organisation limiting rows to those the user may see."""
    scope = scope_of(user)
    if scope is Scope.NATIONAL:
        return true()
    if scope is Scope.COUNTY:
        if user.organisation.county_code is None:
            return false()
        return Organisation.county_code == user.organisation.county_code
    return Organisation.id == user.organisation_id


def can_see_organisation(user, organisation: Organisation) -> bool:
    scope = scope_of(user)
    if scope is Scope.NATIONAL:
        return True
    if scope is Scope.COUNTY:
        return (
            organisation.county_code is not None
            and organisation.county_code == user.organisation.county_code
        )
    return organisation.id == user.organisation_id


def ensure_visible(user, organisation: Organisation | None) -> Organisation:
    """Return the organisation, or answer 404 when it is missing or outside the user's scope."""
    if organisation is None or not can_see_organisation(user, organisation):
        abort(404)
    return organisation


def require(permission: Permission, *, national: bool = False):
    """Login required, then the permission; anonymous users go to login, others without it get 403.

    ``national=True`` also asks for national scope: a role held at a region or municipality too (a purchasing
    officer) gets 403 where only the agency acts, e.g. for Sweden in EU joint procurement.
    """

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                from app.extensions import login_manager

                return login_manager.unauthorized()
            if not has_permission(current_user, permission):
                abort(403)
            if national and scope_of(current_user) is not Scope.NATIONAL:
                abort(403)
            return view(*args, **kwargs)

        wrapped.access = permission
        wrapped.national = national
        return wrapped

    return decorator


AUTHENTICATED = "authenticated"


def login_required(view):
    """Any logged-in user (e.g. their own password or notices); recorded for the route matrix."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user.is_authenticated:
            from app.extensions import login_manager

            return login_manager.unauthorized()
        return view(*args, **kwargs)

    wrapped.access = AUTHENTICATED
    return wrapped


PUBLIC = "public"


def public(view):
    """Open to everyone, logged in or not (login page, language switch, health check)."""
    view.access = PUBLIC
    return view
