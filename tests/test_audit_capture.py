"""Every ORM write leaves an audit entry naming the actor and the values before and after."""
from __future__ import annotations

from sqlalchemy import select

from app.audit.models import AuditEntry
from tests.conftest import organisation


def _entries(session, table, key):
    return session.scalars(
        select(AuditEntry).where(AuditEntry.table_name == table, AuditEntry.row_key == str(key)).order_by(AuditEntry.id)
    ).all()


def test_an_update_records_the_actor_and_only_the_changed_values(session, users):
    admin = users.make("administrator", "SOS")
    solna = organisation("0184")
    session.info["actor"] = admin
    old = solna.population
    solna.population = old + 1
    session.commit()
    entry = _entries(session, "organisations", solna.id)[-1]
    assert entry.action == "update"
    assert entry.actor_id == admin.id and entry.actor_label == admin.email
    assert entry.before["population"] == old and entry.after["population"] == old + 1
    assert "name" not in entry.after


def test_an_insert_and_a_delete_record_the_whole_row(session, users):
    from app.auth.models import UserRole

    user = users.make("reporter", "0180")
    inserted = _entries(session, "users", user.id)
    assert inserted[0].action == "insert"
    assert inserted[0].after["email"] == user.email
    assert inserted[0].after["password_hash"] == "***"  # secrets never reach the log
    row = session.get(UserRole, (user.id, "reporter"))
    session.delete(row)
    session.commit()
    deleted = _entries(session, "user_roles", f"{user.id}/reporter")[-1]
    assert deleted.action == "delete" and deleted.before["role"] == "reporter" and deleted.after is None


def test_a_write_without_a_known_actor_is_attributed_to_the_system(session):
    session.info["actor"] = None
    municipality = organisation("2281")
    municipality.seat = municipality.seat + " "
    session.commit()
    assert _entries(session, "organisations", municipality.id)[-1].actor_label == "system"


def test_a_rolled_back_write_leaves_no_audit_entry(session):
    municipality = organisation("1480")
    before = len(_entries(session, "organisations", municipality.id))
    municipality.population = 1
    session.flush()
    session.rollback()
    assert len(_entries(session, "organisations", municipality.id)) == before


def test_a_row_removed_from_a_collection_is_logged_as_deleted(session, users):
    user = users.make(["reporter", "recipient"], "0180")
    user.role_rows = [row for row in user.role_rows if row.role != "recipient"]
    session.commit()
    deleted = _entries(session, "user_roles", f"{user.id}/recipient")[-1]
    assert deleted.action == "delete" and deleted.before["role"] == "recipient"


def test_the_database_refuses_to_change_or_delete_an_audit_entry(session, users):
    import pytest
    from sqlalchemy import delete, update
    from sqlalchemy.exc import DatabaseError

    users.make("reporter", "0180")
    entry_id = session.scalar(select(AuditEntry.id).order_by(AuditEntry.id.desc()))
    for statement in (
        update(AuditEntry).where(AuditEntry.id == entry_id).values(actor_label="someone else"),
        delete(AuditEntry).where(AuditEntry.id == entry_id),
    ):
        with pytest.raises(DatabaseError, match="append-only"), session.begin_nested():
            session.execute(statement)
    assert session.get(AuditEntry, entry_id).actor_label != "someone else"
