"""Reading the audit log within the viewer's scope. The log is written by app.audit.capture, never here."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, or_, select, true
from sqlalchemy.orm import Session

from app.audit.models import AuditEntry
from app.auth.access import Scope, organisation_scope_filter, scope_of
from app.auth.models import User
from app.organisations.models import Organisation

ACTIONS = ("insert", "update", "delete")


def audit_scope_filter(viewer) -> ColumnElement[bool]:
    """A WHERE clause on AuditEntry: everything for national viewers, otherwise the entries written by users
    of organisations in the viewer's scope (entries without a user, from jobs and the CLI, are national)."""
    if scope_of(viewer) is Scope.NATIONAL:
        return true()
    actors = (
        select(User.id)
        .join(Organisation, User.organisation_id == Organisation.id)
        .where(organisation_scope_filter(viewer))
    )
    return AuditEntry.actor_id.in_(actors)


def visible_entries(viewer):
    """The select() of audit entries the viewer may see."""
    return select(AuditEntry).where(audit_scope_filter(viewer))


def table_names(session: Session, viewer) -> list[str]:
    """The tables that occur in the entries the viewer may see, for the table filter."""
    return list(
        session.scalars(
            select(AuditEntry.table_name)
            .where(audit_scope_filter(viewer))
            .distinct()
            .order_by(AuditEntry.table_name)
        )
    )


def visible_entry(session: Session, viewer, entry_id: int) -> AuditEntry | None:
    """One entry, or None when it does not exist or lies outside the viewer's scope."""
    return session.scalar(visible_entries(viewer).where(AuditEntry.id == entry_id))


def visible_entry_ids(session: Session, viewer, ids) -> set[int]:
    """Which of these entry ids the viewer may open."""
    ids = list(ids)
    if not ids:
        return set()
    return set(
        session.scalars(select(AuditEntry.id).where(AuditEntry.id.in_(ids), audit_scope_filter(viewer)))
    )


def entries_about_user(session: Session, user, limit: int = 20) -> list[AuditEntry]:
    """The newest changes to a user's account: the users row and the user's role rows."""
    return list(
        session.scalars(
            select(AuditEntry)
            .where(
                or_(
                    and_(AuditEntry.table_name == "users", AuditEntry.row_key == str(user.id)),
                    and_(AuditEntry.table_name == "user_roles", AuditEntry.row_key.like(f"{user.id}/%")),
                )
            )
            .order_by(AuditEntry.id.desc())
            .limit(limit)
        )
    )


def entries_by_actor(session: Session, user, limit: int = 20) -> list[AuditEntry]:
    """The newest changes the user made."""
    return list(
        session.scalars(
            select(AuditEntry)
            .where(AuditEntry.actor_id == user.id)
            .order_by(AuditEntry.id.desc())
            .limit(limit)
        )
    )


@dataclass(frozen=True)
class FieldChange:
    field: str
    before: object
    after: object


def field_changes(entry: AuditEntry) -> list[FieldChange]:
    """Before and after, field by field. An update records only the columns it changed; an insert has no
    before and a delete no after."""
    before, after = entry.before or {}, entry.after or {}
    keys = list(before) + [key for key in after if key not in before]
    return [FieldChange(key, before.get(key), after.get(key)) for key in keys]


def summary(entry: AuditEntry) -> str:
    """The changed columns of an update; nothing for inserts and deletes, whose whole row is the change."""
    if entry.action != "update":
        return ""
    return ", ".join(change.field for change in field_changes(entry))
