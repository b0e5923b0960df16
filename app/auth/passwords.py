"""Password hashing with Argon2id, and the rules a new password must meet."""
from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app, has_app_context

MIN_LENGTH = 12


def _hasher() -> PasswordHasher:
    if has_app_context() and current_app.config.get("PASSWORD_HASH_FAST"):
        # Tests only: the real parameters cost ~50 ms a hash, which a suite with hundreds of logins feels.
        return PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    return PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def password_problem(password: str) -> str | None:
    """Why the password is not acceptable, or None. Length beats composition rules (NIST SP 800-63B)."""
    from flask_babel import gettext as _

    if len(password) < MIN_LENGTH:
        return _("The password must be at least %(n)s characters long.", n=MIN_LENGTH)
    if password.strip() != password:
        return _("The password must not start or end with a space.")
    if len(set(password)) < 5:
        return _("The password is too repetitive.")
    return None
