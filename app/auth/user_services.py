"""User administration: the rules an administrator works under. Services flush; the caller commits.

An administrator manages the accounts of the organisations in their own scope (the agency: everyone; a county
board: its county; a region or municipality: itself) and can never lock themself out.
"""
from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from app.auth.access import can_see_organisation, organisation_scope_filter
from app.auth.models import LoginAttempt, User, UserRole
from app.auth.roles import Role
from app.auth.services import AuthError, check_roles_fit, create_user, normalise_email, set_password
from app.db import utcnow
from app.errors import NotFoundError
from app.organisations.models import Organisation


def organisation_by_code(session: Session, code: str) -> Organisation | None:
    """The organisation with this code (SOS, LST-01, REG-01) or kommunkod (0180), any letter case.

    Only the first word counts, so "0180 Stockholm" as picked from a suggestion list works too.
    """
    words = (code or "").split()
    if not words:
        return None
    wanted = words[0].upper()
    return session.scalar(
        select(Organisation).where(
            or_(func.upper(Organisation.code) == wanted, Organisation.municipality_code == wanted)
        )
    )


def organisations_in_scope(session: Session, admin: User) -> list[Organisation]:
    """The organisations the administrator may place users in, by county and code."""
    return list(
        session.scalars(
            select(Organisation)
            .where(organisation_scope_filter(admin))
            .order_by(Organisation.county_code.is_(None).desc(), Organisation.county_code, Organisation.code)
        )
    )


def resolve_organisation(session: Session, admin: User, code: str) -> Organisation:
    """The organisation for a code typed by the administrator.

    Raises AuthError (field ``organisation``) when no organisation has the code or it is outside the
    administrator's scope; both answer the same so the form does not reveal what lies outside it.
    """
    organisation = organisation_by_code(session, code)
    if organisation is None or not can_see_organisation(admin, organisation):
        raise AuthError(
            _(
                "No organisation with code %(code)s in your area. Use SOS, LST-01, REG-01 or a kommunkod "
                "such as 0180.",
                code=(code or "").strip() or "—",
            ),
            field="organisation",
        )
    return organisation


def ensure_manageable(admin: User, user: User | None) -> User:
    """The user, if the administrator's scope covers their organisation. Raises NotFoundError otherwise."""
    if user is None or not can_see_organisation(admin, user.organisation):
        raise NotFoundError(_("There is no such user in your area."))
    return user


def _check_email_free(session: Session, email: str, *, other_than: User | None = None) -> str:
    email = normalise_email(email)
    if not email or "@" not in email:
        raise AuthError(_("Enter a valid e-mail address."), field="email")
    stmt = select(User.id).where(func.lower(User.email) == email)
    if other_than is not None:
        stmt = stmt.where(User.id != other_than.id)
    if session.scalar(stmt) is not None:
        raise AuthError(_("There is already an account with this e-mail address."), field="email")
    return email


def admin_create_user(
    session: Session,
    admin: User,
    *,
    email: str,
    name: str,
    organisation_code: str,
    roles,
    password: str,
) -> User:
    """Create an account at an organisation in the administrator's scope.

    Raises AuthError naming the field: ``organisation`` unknown or out of scope, ``email`` invalid or taken
    (whatever its letter case), ``name`` empty, ``roles`` none or unfit for the organisation's kind,
    ``password`` too weak.
    """
    organisation = resolve_organisation(session, admin, organisation_code)
    _check_email_free(session, email)
    return create_user(
        session, email=email, name=name, password=password, organisation=organisation, roles=list(roles)
    )


def update_user(
    session: Session,
    admin: User,
    user: User,
    *,
    name: str,
    email: str,
    organisation_code: str,
    roles,
    active: bool,
) -> User:
    """Change an account's name, e-mail, organisation, roles and whether it is active.

    Role rows are added and removed one by one, so the audit log shows exactly which role came or went.
    Raises NotFoundError for a user outside the administrator's scope and AuthError naming the field:
    ``name`` empty, ``email`` invalid or taken, ``organisation`` unknown or out of scope, ``roles`` none or
    unfit, ``active``/``roles``/``organisation`` when administrators would deactivate themselves, drop their
    own administrator role or move to another organisation (each could shut them out of what they manage).
    """
    ensure_manageable(admin, user)
    if not (name or "").strip():
        raise AuthError(_("Enter the person's name."), field="name")
    email = _check_email_free(session, email, other_than=user)
    organisation = resolve_organisation(session, admin, organisation_code)
    wanted = {Role(role) for role in roles}
    check_roles_fit(organisation, wanted)
    if user.id == admin.id:
        if not active:
            raise AuthError(_("You cannot deactivate your own account."), field="active")
        if Role.ADMINISTRATOR not in wanted:
            raise AuthError(_("You cannot remove your own administrator role."), field="roles")
        if organisation.id != user.organisation_id:
            # Moving would change the very scope the administrator manages; often to one without a way back.
            raise AuthError(
                _("You cannot move your own account to another organisation; ask another administrator."),
                field="organisation",
            )

    user.name = name.strip()
    user.email = email
    if user.organisation_id != organisation.id:
        user.organisation = organisation
    user.active = bool(active)
    for row in [row for row in user.role_rows if Role(row.role) not in wanted]:
        user.role_rows.remove(row)
    held = user.roles
    for role in sorted(wanted - held):
        user.role_rows.append(UserRole(role=str(role)))
    session.flush()
    return user


def reset_password(session: Session, admin: User, user: User, new_password: str) -> None:
    """Give the user a new password chosen by the administrator, and lift any login lock.

    Administrators change their own password on the ordinary password page, which asks for the current one.
    Raises NotFoundError out of scope, AuthError (field ``new_password``) for one's own account or a weak
    password.
    """
    ensure_manageable(admin, user)
    if user.id == admin.id:
        raise AuthError(
            _("Change your own password on the Password page; it asks for your current password."),
            field="new_password",
        )
    set_password(user, new_password)
    _lift_lock(user)
    session.flush()


def unlock_user(session: Session, admin: User, user: User) -> bool:
    """End a login lock now. Returns False when the account was not locked.

    Raises NotFoundError for a user outside the administrator's scope.
    """
    ensure_manageable(admin, user)
    if not is_locked(user):
        return False
    _lift_lock(user)
    session.flush()
    return True


def _lift_lock(user: User) -> None:
    # locked_until becomes the moment the lock ended: the failures before it have been paid for, and the login
    # check counts failures only after it (a cleared lock would otherwise return at the next typing error).
    if is_locked(user):
        user.locked_until = utcnow()


def is_locked(user: User) -> bool:
    return user.locked_until is not None and user.locked_until > utcnow()


def recent_login_attempts(session: Session, user: User, limit: int = 20) -> list[LoginAttempt]:
    """The newest login attempts for the account, including those typed with its e-mail address."""
    return list(
        session.scalars(
            select(LoginAttempt)
            .where(or_(LoginAttempt.user_id == user.id, LoginAttempt.email == user.email))
            .order_by(LoginAttempt.attempted_at.desc(), LoginAttempt.id.desc())
            .limit(limit)
        )
    )
