"""Authentication and user accounts: the rules. Services flush; the caller commits."""
from __future__ import annotations

import math
from datetime import timedelta

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.auth.models import LoginAttempt, User, UserRole
from app.auth.passwords import hash_password, password_problem, verify_password
from app.auth.roles import ROLE_ORGANISATION_KINDS, Role
from app.db import utcnow
from app.errors import DomainError
from app.organisations.models import Organisation


class AuthError(DomainError):
    """Login refused, password rules broken, or an account that cannot be created as asked."""


class AccountLocked(AuthError):
    pass


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def authenticate(
    session: Session, email: str, password: str, *, remote_addr: str | None, policy: dict
) -> User:
    """Check a login. Records the attempt and locks the account after too many failures.

    ``policy`` carries LOGIN_MAX_FAILURES, LOGIN_FAILURE_WINDOW_MINUTES and LOGIN_LOCK_MINUTES.
    Raises AccountLocked while locked (even with the right password) and AuthError on a wrong email or
    password, with one message for both so the form does not reveal which accounts exist.
    """
    email = normalise_email(email)
    now = utcnow()
    user = session.scalar(select(User).where(User.email == email))
    if user is not None and user.locked_until is not None and user.locked_until > now:
        session.add(LoginAttempt(email=email, user_id=user.id, succeeded=False, remote_addr=remote_addr))
        minutes = max(1, math.ceil((user.locked_until - now).total_seconds() / 60))
        raise AccountLocked(
            ngettext(
                "Too many failed logins. The account is locked for %(num)d more minute.",
                "Too many failed logins. The account is locked for %(num)d more minutes.",
                minutes,
            )
        )
    if user is None:
        # Spend the same time as a real check, so the response time does not reveal which accounts exist.
        hash_password(password)
    ok = user is not None and user.active and verify_password(user.password_hash, password)
    session.add(LoginAttempt(email=email, user_id=user.id if user else None, succeeded=ok, remote_addr=remote_addr))
    if not ok:
        if user is not None:
            session.flush()
            window_start = now - timedelta(minutes=policy["LOGIN_FAILURE_WINDOW_MINUTES"])
            last_success = session.scalar(
                select(func.max(LoginAttempt.attempted_at)).where(
                    LoginAttempt.user_id == user.id, LoginAttempt.succeeded.is_(True)
                )
            )
            if last_success is not None and last_success > window_start:
                window_start = last_success
            # A lock that has ended (expired, or lifted by an administrator) used up the failures before it;
            # without this one more typing error after an unlock would lock the account again at once.
            if user.locked_until is not None and user.locked_until > window_start:
                window_start = user.locked_until
            failures = session.scalar(
                select(func.count()).where(
                    LoginAttempt.user_id == user.id,
                    LoginAttempt.succeeded.is_(False),
                    LoginAttempt.attempted_at > window_start,
                )
            )
            if failures >= policy["LOGIN_MAX_FAILURES"]:
                user.locked_until = now + timedelta(minutes=policy["LOGIN_LOCK_MINUTES"])
                raise AccountLocked(
                    ngettext(
                        "Too many failed logins. The account is locked for %(num)d minute.",
                        "Too many failed logins. The account is locked for %(num)d minutes.",
                        policy["LOGIN_LOCK_MINUTES"],
                    )
                )
        raise AuthError(_("Wrong e-mail address or password."))
    user.locked_until = None
    user.last_login_at = now
    return user


def change_password(session: Session, user: User, current: str, new: str) -> None:
    """Raises AuthError with field ``current_password`` or ``new_password``."""
    if not verify_password(user.password_hash, current):
        raise AuthError(_("The current password is wrong."), field="current_password")
    if current == new:
        raise AuthError(_("The new password must differ from the current one."), field="new_password")
    set_password(user, new)


def set_password(user: User, new: str) -> None:
    problem = password_problem(new)
    if problem:
        raise AuthError(problem, field="new_password")
    user.password_hash = hash_password(new)
    user.password_changed_at = utcnow()


def check_roles_fit(organisation: Organisation, roles) -> None:
    """Raises AuthError (field ``roles``) for a role the organisation's kind cannot hold."""
    if not roles:
        raise AuthError(_("Choose at least one role."), field="roles")
    for role in roles:
        role = Role(role)
        if organisation.kind not in ROLE_ORGANISATION_KINDS[role]:
            raise AuthError(
                _("%(role)s cannot be held by someone at %(org)s.", role=role.label, org=organisation.name),
                field="roles",
            )


def create_user(
    session: Session, *, email: str, name: str, password: str, organisation: Organisation, roles
) -> User:
    """Create an account. Raises AuthError naming the field: email taken, weak password, unfit role."""
    email = normalise_email(email)
    if not email or "@" not in email:
        raise AuthError(_("Enter a valid e-mail address."), field="email")
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise AuthError(_("There is already an account with this e-mail address."), field="email")
    if not name.strip():
        raise AuthError(_("Enter the person's name."), field="name")
    check_roles_fit(organisation, roles)
    problem = password_problem(password)
    if problem:
        raise AuthError(problem, field="password")
    user = User(email=email, name=name.strip(), organisation=organisation, password_hash=hash_password(password))
    user.role_rows = [UserRole(role=str(Role(role))) for role in sorted(set(roles))]
    session.add(user)
    session.flush()
    return user
