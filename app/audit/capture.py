"""Record every ORM write as an AuditEntry, in the same transaction as the write.

The acting user is taken from ``session.info["actor"]`` which the request edge (or a CLI command or job
wrapper) sets; services never need to remember to audit.
"""
from __future__ import annotations

import decimal
import enum
from datetime import date, datetime

from sqlalchemy import event, inspect, insert
from sqlalchemy.orm import Session

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


def _actor(session: Session) -> tuple[int | None, str]:
    actor = session.info.get("actor")
    if actor is None:
        return None, "system"
    if isinstance(actor, str):
        return None, actor
    return actor.id, actor.email


def _collect(session: Session) -> list[dict]:
    actor_id, actor_label = _actor(session)
    now = utcnow()
    rows = []

    def add(obj, action, before, after):
        table = inspect(obj).mapper.local_table.name
        if table in NOT_AUDITED:
            return
        rows.append(
            {
                "occurred_at": now,
                "actor_id": actor_id,
                "actor_label": actor_label,
                "action": action,
                "table_name": table,
                "row_key": _row_key(obj),
                "before": before,
                "after": after,
            }
        )

    for obj in session.new:
        add(obj, "insert", None, _column_values(obj, use_committed=False))
    for obj in session.dirty:
        if not session.is_modified(obj, include_collections=False):
            continue
        before, after = _changes(obj)
        if after:
            add(obj, "update", before, after)
    for obj in session.deleted:
        add(obj, "delete", _column_values(obj, use_committed=True), None)
    return rows


def _after_flush(session: Session, flush_context) -> None:
    # In after_flush the new/dirty/deleted sets and attribute history still describe this flush, and new
    # rows have their primary keys. Rows are written through the connection so no second flush is needed.
    rows = _collect(session)
    if rows:
        session.connection().execute(insert(AuditEntry), rows)


def install(session_class) -> None:
    if not event.contains(session_class, "after_flush", _after_flush):
        event.listen(session_class, "after_flush", _after_flush)
