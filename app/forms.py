"""Helpers shared by every package's forms."""
from __future__ import annotations

from app.errors import DomainError


def apply_domain_error(form, error: DomainError) -> None:
    """Show a service's DomainError beside the field it names, or above the form when it names none."""
    field = getattr(form, error.field, None) if error.field else None
    if field is not None:
        field.errors = [*field.errors, error.message] if isinstance(field.errors, list) else [error.message]
    else:
        form.form_errors.append(error.message)


def form_status(form) -> int:
    """422 when a submitted form is shown again with errors, so tests and clients can tell."""
    return 422 if form.errors or getattr(form, "form_errors", None) else 200
