"""The dialogue log with suppliers (dialoglogg) and its follow-up actions. Services flush only.

Who may own an action: an active user who works with suppliers (MANAGE_SUPPLIERS, MANAGE_PRODUCTION or
DECIDE_VETTING). The owner is told when given an action; the ``suppliers.remind_due_actions`` job reminds
them once when it falls due. Assigning an action that is already due counts as its reminder, and a due date
moved later makes the owner due for a reminder again (see :func:`needs_reminder`).
"""
from __future__ import annotations

from datetime import date

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, select
from sqlalchemy.orm import Session, selectinload

from app.auth.access import has_permission
from app.auth.models import User, UserRole
from app.auth.roles import ROLE_PERMISSIONS, Permission
from app.db import utcnow
from app.enums import LabelledEnum
from app.errors import DomainError, NotFoundError
from app.notifications.services import in_language_of, notify, page_link
from app.timeutil import local_date, local_today, when
from suppliers.models import DialogueEntry, DialogueKind, FollowUpAction, Supplier

# Holders of any of these may own a follow-up action.
OWNER_PERMISSIONS = frozenset(
    {Permission.MANAGE_SUPPLIERS, Permission.MANAGE_PRODUCTION, Permission.DECIDE_VETTING}
)
OWNER_ROLES = tuple(
    sorted(role.value for role, granted in ROLE_PERMISSIONS.items() if granted & OWNER_PERMISSIONS)
)


class DialogueError(DomainError):
    """A dialogue entry or follow-up action that breaks a rule; ``field`` names the form field."""


# --- reading ------------------------------------------------------------------------------------------------


class ActionState(LabelledEnum):
    OPEN = "open"
    DUE_TODAY = "due_today"
    OVERDUE = "overdue"
    DONE = "done"

    @classmethod
    def _labels(cls) -> dict:
        return {
            cls.OPEN: _l("Open"),
            cls.DUE_TODAY: _l("Due today"),
            cls.OVERDUE: _l("Overdue"),
            cls.DONE: _l("Done"),
        }

    @property
    def tone(self) -> str:
        return {"open": "neutral", "due_today": "amber", "overdue": "red", "done": "green"}[self.value]


def action_state(action: FollowUpAction, today: date) -> ActionState:
    if action.done_at is not None:
        return ActionState.DONE
    if action.due_on < today:
        return ActionState.OVERDUE
    if action.due_on == today:
        return ActionState.DUE_TODAY
    return ActionState.OPEN


def get_supplier(session: Session, supplier_id: int) -> Supplier:
    """Raises NotFoundError."""
    supplier = session.get(Supplier, supplier_id)
    if supplier is None:
        raise NotFoundError(_("There is no such supplier."))
    return supplier


def get_entry(session: Session, dialogue_entry_id: int) -> DialogueEntry:
    """Raises NotFoundError."""
    entry = session.get(DialogueEntry, dialogue_entry_id)
    if entry is None:
        raise NotFoundError(_("There is no such dialogue entry."))
    return entry


def get_action(session: Session, action_id: int) -> FollowUpAction:
    """Raises NotFoundError."""
    action = session.get(FollowUpAction, action_id)
    if action is None:
        raise NotFoundError(_("There is no such follow-up action."))
    return action


def entries_of(session: Session, supplier: Supplier) -> list[DialogueEntry]:
    """The supplier's dialogue log, newest first (same day: the one recorded last first), actions loaded."""
    return list(
        session.scalars(
            select(DialogueEntry)
            .where(DialogueEntry.supplier_id == supplier.id)
            .options(
                selectinload(DialogueEntry.created_by),
                selectinload(DialogueEntry.actions).selectinload(FollowUpAction.owner),
                selectinload(DialogueEntry.actions).selectinload(FollowUpAction.done_by),
            )
            .order_by(DialogueEntry.occurred_on.desc(), DialogueEntry.id.desc())
        )
    )


def can_own_actions(user: User | None) -> bool:
    return user is not None and user.active and any(has_permission(user, p) for p in OWNER_PERMISSIONS)


def eligible_owners(session: Session) -> list[User]:
    """Active users who may own a follow-up action, by name."""
    return list(
        session.scalars(
            select(User)
            .where(
                User.active.is_(True),
                User.id.in_(select(UserRole.user_id).where(UserRole.role.in_(OWNER_ROLES))),
            )
            .order_by(User.name, User.id)
        )
    )


def can_complete(user: User, action: FollowUpAction) -> bool:
    """The owner, or anyone who manages suppliers, may mark an action done or open it again."""
    return action.owner_id == user.id or has_permission(user, Permission.MANAGE_SUPPLIERS)


def open_actions_statement() -> Select:
    """Open follow-up actions with their entry, supplier and owner joined (for lists and filters)."""
    return (
        select(FollowUpAction)
        .join(FollowUpAction.dialogue_entry)
        .join(DialogueEntry.supplier)
        .join(FollowUpAction.owner)
        .where(FollowUpAction.done_at.is_(None))
        .options(
            selectinload(FollowUpAction.dialogue_entry).selectinload(DialogueEntry.supplier),
            selectinload(FollowUpAction.owner),
        )
    )


def open_actions_of(session: Session, user: User) -> list[FollowUpAction]:
    """The user's own open actions, earliest due first, so the overdue ones lead."""
    return list(
        session.scalars(
            open_actions_statement()
            .where(FollowUpAction.owner_id == user.id)
            .order_by(FollowUpAction.due_on, FollowUpAction.id)
        )
    )


def suppliers_with_open_actions(session: Session, owner: User | None = None) -> list[Supplier]:
    """Suppliers with open follow-up actions (the owner's only, when given), by name: the supplier filter."""
    open_actions = select(DialogueEntry.supplier_id).join(
        FollowUpAction, FollowUpAction.dialogue_entry_id == DialogueEntry.id
    ).where(FollowUpAction.done_at.is_(None))
    if owner is not None:
        open_actions = open_actions.where(FollowUpAction.owner_id == owner.id)
    return list(
        session.scalars(select(Supplier).where(Supplier.id.in_(open_actions)).order_by(Supplier.legal_name))
    )


def owners_with_open_actions(session: Session) -> list[User]:
    """Everyone who owns an open follow-up action, by name: the owner filter."""
    owning = select(FollowUpAction.owner_id).where(FollowUpAction.done_at.is_(None))
    return list(session.scalars(select(User).where(User.id.in_(owning)).order_by(User.name, User.id)))


def needs_reminder(action: FollowUpAction, today: date) -> bool:
    """Whether the owner is still to be reminded that the action is due.

    A reminder (``reminded_at``) is about the due date it was sent for: one sent before the current due date
    was sent for an earlier date, so an action postponed after its reminder is reminded again when the new
    date comes. Moving the date earlier or changing the description does not repeat a reminder.
    """
    if action.done_at is not None or action.due_on > today:
        return False
    return action.reminded_at is None or local_date(action.reminded_at) < action.due_on


# --- writing ------------------------------------------------------------------------------------------------


def _clean(text: str | None) -> str:
    return (text or "").strip()


def record_entry(
    session: Session,
    user: User,
    supplier: Supplier,
    *,
    kind: str,
    occurred_on: date | None,
    participants: str,
    notes: str,
    today: date | None = None,
) -> DialogueEntry:
    """Log a meeting, call, e-mail or site visit with the supplier.

    Raises DialogueError (fields ``kind``, ``occurred_on``, ``participants``, ``notes``): an unknown kind,
    no date or a date after today (the log records what happened), participants or notes missing.
    """
    today = today or local_today()
    if kind not in set(DialogueKind):
        raise DialogueError(
            _("Choose whether it was a meeting, a call, an e-mail or a site visit."), field="kind"
        )
    if occurred_on is None:
        raise DialogueError(_("Give the date it took place."), field="occurred_on")
    if occurred_on > today:
        raise DialogueError(
            _("The log records what has happened: the date cannot be after today."), field="occurred_on"
        )
    if not _clean(participants):
        raise DialogueError(_("Name who took part."), field="participants")
    if not _clean(notes):
        raise DialogueError(_("Write down what was said."), field="notes")
    entry = DialogueEntry(
        supplier=supplier,
        kind=kind,
        occurred_on=occurred_on,
        participants=_clean(participants),
        notes=_clean(notes),
        created_by=user,
    )
    session.add(entry)
    session.flush()
    return entry


def _check_action(entry: DialogueEntry, description: str, owner: User | None, due_on: date | None) -> None:
    if not _clean(description):
        raise DialogueError(_("Describe what is to be done."), field="description")
    if not can_own_actions(owner):
        raise DialogueError(
            _("The owner must be an active user who works with suppliers, production or vetting."),
            field="owner_id",
        )
    if due_on is None:
        raise DialogueError(_("Give the date it is due."), field="due_on")
    if due_on < entry.occurred_on:
        raise DialogueError(
            _(
                "An action cannot be due before the %(kind)s it came from (%(date)s).",
                kind=DialogueKind(entry.kind).label.lower(),
                date=when(entry.occurred_on),
            ),
            field="due_on",
        )


def _tell_owner(session: Session, actor: User, action: FollowUpAction, today: date) -> None:
    """Tell the owner about an action just given to them; when it is already due, that is its reminder."""
    if action.due_on <= today:
        action.reminded_at = utcnow()
    if action.owner_id == actor.id:
        return  # whoever takes an action themselves knows; the reminder job still reminds them when it is due
    entry = action.dialogue_entry
    owner = action.owner
    with in_language_of(owner):
        subject = _(
            "Follow-up action for %(supplier)s, due %(due)s",
            supplier=entry.supplier.legal_name,
            due=when(action.due_on),
        )
        body = _(
            "%(actor)s gave you a follow-up action from the %(kind)s with %(supplier)s on %(date)s:"
            "\n\n%(description)s\n\nDue %(due)s.",
            actor=actor.name,
            kind=DialogueKind(entry.kind).label.lower(),
            supplier=entry.supplier.legal_name,
            date=when(entry.occurred_on),
            description=action.description,
            due=when(action.due_on),
        )
    notify(session, owner, subject, body, link=action_link(action))


def action_link(action: FollowUpAction) -> str:
    return page_link(
        "suppliers.dialogue", supplier_id=action.dialogue_entry.supplier_id, _anchor=f"action-{action.id}"
    )


def add_action(
    session: Session,
    user: User,
    entry: DialogueEntry,
    *,
    description: str,
    owner: User | None,
    due_on: date | None,
    today: date | None = None,
) -> FollowUpAction:
    """Add a follow-up action to a dialogue entry and notify its owner (unless the owner added it).

    Raises DialogueError (fields ``description``, ``owner_id``, ``due_on``): no description; an owner who is
    missing, inactive or does not work with suppliers, production or vetting; no due date, or one before
    the entry's date.
    """
    today = today or local_today()
    _check_action(entry, description, owner, due_on)
    action = FollowUpAction(dialogue_entry=entry, description=_clean(description), owner=owner, due_on=due_on)
    session.add(action)
    session.flush()
    _tell_owner(session, user, action, today)
    session.flush()
    return action


def update_action(
    session: Session,
    user: User,
    action: FollowUpAction,
    *,
    description: str,
    owner: User | None,
    due_on: date | None,
    today: date | None = None,
) -> FollowUpAction:
    """Change an open action's description, owner or due date. A new owner is told as on assignment.

    Raises DialogueError as :func:`add_action`, and (no field) for an action already done.
    """
    today = today or local_today()
    if action.done_at is not None:
        raise DialogueError(_("This action is done; open it again before changing it."))
    _check_action(action.dialogue_entry, description, owner, due_on)
    new_owner = owner.id != action.owner_id
    action.description = _clean(description)
    action.owner = owner
    action.due_on = due_on
    session.flush()
    if new_owner:
        _tell_owner(session, user, action, today)
        session.flush()
    return action


def _check_may_complete(user: User, action: FollowUpAction) -> None:
    if not can_complete(user, action):
        raise DialogueError(_("Only the owner of the action, or someone who manages suppliers, can do that."))


def complete_action(session: Session, user: User, action: FollowUpAction) -> FollowUpAction:
    """Mark the action done. Idempotent: an action already done keeps who did it and when.

    Raises DialogueError when the user is neither its owner nor holds MANAGE_SUPPLIERS.
    """
    _check_may_complete(user, action)
    if action.done_at is None:
        action.done_at = utcnow()
        action.done_by = user
        session.flush()
    return action


def reopen_action(session: Session, user: User, action: FollowUpAction) -> FollowUpAction:
    """Open a done action again (it was marked done by mistake, or it turned out not to be finished).

    Idempotent. The owner is told when someone else reopens it.
    Raises DialogueError as :func:`complete_action`.
    """
    _check_may_complete(user, action)
    if action.done_at is None:
        return action
    action.done_at = None
    action.done_by = None
    session.flush()
    if action.owner_id != user.id:
        entry = action.dialogue_entry
        with in_language_of(action.owner):
            subject = _("Follow-up action for %(supplier)s opened again", supplier=entry.supplier.legal_name)
            body = _(
                "%(actor)s opened your follow-up action again; it is due %(due)s:\n\n%(description)s",
                actor=user.name,
                due=when(action.due_on),
                description=action.description,
            )
        notify(session, action.owner, subject, body, link=action_link(action))
    return action
