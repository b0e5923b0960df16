"""Record every ORM write as an AuditEntry, in the same transaction as the write.

The acting user is taken from ``session.info["actor"]``, which the request edge (or a CLI command or job
wrapper) sets; services never need to remember to audit.
"""
from __future__ import annotations

import decimal
import enum
from datetime import date, datetime

from sqlalchemy import event, insert, inspect
from sqlalchemy.orm import Session, object_session

from app.audit.models import AuditEntry
from app.db import utcnow

REDACTED = "***"
# Tables whose rows are themselves logs or machinery; auditing them would only echo them.
NOT_AUDITED = {"audit_entries", "login_attempts", "job_runs", "apscheduler_jobs"}
SECRET_COLUMNS = {"password_hash", "token_hash", "secret"}


def _plain(value):
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    return str(value)


def _column_values(obj, *, use_committed: bool) -> dict:
    state = inspect(obj)
    values = {}
    for attr in state.mapper.column_attrs:
        key = attr.key
        if use_committed:
            history = state.attrs[key].history
            if history.deleted:
                value = history.deleted[0]
            elif history.unchanged:
                value = history.unchanged[0]
            else:
                value = getattr(obj, key, None)
        else:
            value = getattr(obj, key, None)
        values[key] = REDACTED if key in SECRET_COLUMNS and value is not None else _plain(value)
    return values


def _changes(obj) -> tuple[dict, dict]:
    state = inspect(obj)
    before, after = {}, {}
    for attr in state.mapper.column_attrs:
        history = state.attrs[attr.key].history
        if not history.has_changes():
            continue
        old = history.deleted[0] if history.deleted else None
        new = history.added[0] if history.added else None
        if attr.key in SECRET_COLUMNS:
            old, new = (REDACTED if old is not None else None), REDACTED
        before[attr.key], after[attr.key] = _plain(old), _plain(new)
    return before, after


def _row_key(obj) -> str:
    identity = inspect(obj).identity or inspect(obj).mapper.primary_key_from_instance(obj)
    return "/".join(str(part) for part in identity)


def _actor(session: Session | None) -> tuple[int | None, str]:
    actor = session.info.get("actor") if session is not None else None
    if actor is None:
        return None, "system"
    if isinstance(actor, str):
        return None, actor
    return actor.id, actor.email


def _record(connection, target, action: str, before, after) -> None:
    table = inspect(target).mapper.local_table.name
    if table in NOT_AUDITED:
        return
    actor_id, actor_label = _actor(object_session(target))
    connection.execute(
        insert(AuditEntry),
        {
            "occurred_at": utcnow(),
            "actor_id": actor_id,
            "actor_label": actor_label,
            "action": action,
            "table_name": table,
            "row_key": _row_key(target),
            "before": before,
            "after": after,
        },
    )


# Mapper-level events see every row the flush writes, including rows deleted as orphans of a collection
# (a role taken off a user), which never appear in session.deleted. They run inside the flush, on its
# connection, so the entry commits or rolls back with the write it describes.
def _after_insert(mapper, connection, target) -> None:
    _record(connection, target, "insert", None, _column_values(target, use_committed=False))


def _after_update(mapper, connection, target) -> None:
    before, after = _changes(target)
    if after:
        _record(connection, target, "update", before, after)


def _after_delete(mapper, connection, target) -> None:
    _record(connection, target, "delete", _column_values(target, use_committed=True), None)


def install(base) -> None:
    """Audit every mapped class deriving from ``base``."""
    for name, listener in (
        ("after_insert", _after_insert),
        ("after_update", _after_update),
        ("after_delete", _after_delete),
    ):
        if not event.contains(base, name, listener):
            event.listen(base, name, listener, propagate=True)
