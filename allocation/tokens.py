"""API tokens: one organisation's key to the situation report API, shown once, stored only as a hash.

A token reads ``smd_`` followed by 43 random URL-safe characters. The first twelve characters are kept as
``prefix`` so people can tell their tokens apart; the whole token is kept only as its SHA-256 hash, so the
database (and the audit log, which redacts ``token_hash``) never holds anything that opens the API.
Services flush; the caller commits.
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import ColumnElement, Select, and_, select
from sqlalchemy.orm import Session

from allocation.models import ApiToken
from allocation.reporting import is_reporting_organisation, reporting_organisations_filter
from app.auth.access import can_see_organisation, organisation_scope_filter
from app.auth.roles import Permission, permissions_of
from app.db import utcnow
from app.errors import DomainError, NotFoundError
from app.organisations.models import Organisation

TOKEN_PREFIX = "smd_"
VISIBLE_CHARACTERS = len(TOKEN_PREFIX) + 8
MAX_NAME = 100
# A token sent with more than this is no token of ours; refused before it is hashed.
MAX_TOKEN_LENGTH = 200
# last_used_at is a "when was this last seen" for people, not a request log: writing it on every call
# would add a row write (and an audit entry) to each API request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class TokenError(DomainError):
    """An API token cannot be created or revoked as asked."""


class TokenNotAllowed(TokenError):
    """The acting user's roles do not include managing API tokens."""

    status_code = 403


@dataclass(frozen=True)
class IssuedToken:
    """A token just created and the full secret, which exists only here and is shown once."""

    token: ApiToken
    secret: str


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def new_secret() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_organisations_filter(user) -> ColumnElement[bool]:
    """The organisations the user may hold tokens for: reporting organisations within the user's scope.

    A reporter's scope is its own region or municipality; an administrator's is its own organisation, its
    county (county board) or the whole country (national agency).
    """
    return and_(reporting_organisations_filter(), organisation_scope_filter(user))


def tokens_visible_to(user) -> Select:
    """Every token (active or revoked) of the organisations the user may manage tokens for."""
    return select(ApiToken).join(ApiToken.organisation).where(token_organisations_filter(user))


def _check_manages_tokens(user) -> None:
    if user is None or Permission.MANAGE_API_TOKENS not in permissions_of(getattr(user, "roles", ())):
        raise TokenNotAllowed(_("Your role cannot manage API tokens."))


def _check_organisation(user, organisation: Organisation | None) -> Organisation:
    if organisation is None or not can_see_organisation(user, organisation):
        raise NotFoundError(_("No such organisation."))
    if not is_reporting_organisation(organisation):
        raise TokenError(
            _("Only regions and municipalities submit situation reports, so only they get API tokens."),
            field="organisation_id",
        )
    return organisation


def create_token(
    session: Session, user, *, organisation: Organisation | None, name: str, now: datetime | None = None
) -> IssuedToken:
    """Issue a new token for an organisation. Flushes; the caller commits and shows ``secret`` once.

    Raises TokenNotAllowed for a role that cannot manage tokens, NotFoundError for an organisation outside
    the user's scope, TokenError (field ``organisation_id``) for an organisation that does not report and
    TokenError (field ``name``) for a missing or too long name or one an active token of the organisation
    already has.
    """
    _check_manages_tokens(user)
    organisation = _check_organisation(user, organisation)
    name = (name or "").strip()
    if not name:
        raise TokenError(_("Name the token after the system that will use it."), field="name")
    if len(name) > MAX_NAME:
        raise TokenError(_("Use at most %(count)s characters.", count=MAX_NAME), field="name")
    taken = session.scalar(
        select(ApiToken.id).where(
            ApiToken.organisation_id == organisation.id, ApiToken.name == name, ApiToken.revoked_at.is_(None)
        )
    )
    if taken is not None:
        raise TokenError(
            _("%(organisation)s already has an active token named %(name)s.", organisation=organisation.name, name=name),
            field="name",
        )
    secret = new_secret()
    token = ApiToken(
        organisation=organisation,
        name=name,
        prefix=secret[:VISIBLE_CHARACTERS],
        token_hash=hash_token(secret),
        created_by_id=user.id,
        created_at=now or utcnow(),
    )
    session.add(token)
    session.flush()
    return IssuedToken(token, secret)


def revoke_token(session: Session, user, token: ApiToken | None, *, now: datetime | None = None) -> ApiToken:
    """Revoke a token: from now on it opens nothing. It is kept, so reports sent with it still name it.

    Raises TokenNotAllowed for a role that cannot manage tokens, NotFoundError for a token that does not
    exist or belongs to an organisation outside the user's scope, TokenError for one already revoked.
    """
    _check_manages_tokens(user)
    if token is None or not can_see_organisation(user, token.organisation):
        raise NotFoundError(_("No such API token."))
    if token.revoked_at is not None:
        raise TokenError(_("The token %(name)s was already revoked.", name=token.name))
    token.revoked_at = now or utcnow()
    session.flush()
    return token


def authenticate(session: Session, secret: str | None, *, now: datetime | None = None) -> ApiToken | None:
    """The active token matching ``secret``, or None. Notes when it was used (to the minute). Flushes.

    The lookup is by the hash on a unique index: the secret itself is never compared, so the time taken
    tells nothing about how much of a guess was right.
    """
    if not secret or not secret.startswith(TOKEN_PREFIX) or len(secret) > MAX_TOKEN_LENGTH:
        return None
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(secret)))
    if token is None or token.revoked_at is not None:
        return None
    now = now or utcnow()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        token.last_used_at = now
        session.flush()
    return token


def actor_label(token: ApiToken) -> str:
    """How the audit log names writes made with a token (it has no user)."""
    return f"api-token:{token.id} {token.prefix}… ({token.organisation.code})"
