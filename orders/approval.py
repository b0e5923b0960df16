"""Who may approve a purchase order: thresholds by amount and role, and four eyes.

The rules are rows of ``order_approval_rules`` (:class:`~orders.models.ApprovalRule`): each gives a maximum
order value in öre (or none: every value above the others) and the roles that may approve up to it. The rule
with the smallest limit at or above an order's SEK value applies. A higher authority may approve smaller
orders too: the roles of every rule with a higher limit (and of the rule without a limit) may approve as well.
While the table is empty, :func:`default_rules` apply: up to 10 MSEK a purchasing officer or purchasing lead,
above that a national coordinator. The national coordinator edits them on the approval rules page, which
saves them as rows (:func:`replace_rules`).

Four eyes: nobody approves (or returns) an order they submitted, are responsible for (created), or whose
current version they wrote (the last draft edit or amendment).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from flask_babel import format_decimal
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.access import can_see_organisation, has_permission
from app.auth.models import User, UserRole
from app.auth.roles import ROLE_PERMISSIONS, Permission, Role
from app.errors import DomainError
from orders.models import ApprovalRule, PurchaseOrder

DEFAULT_LIMIT_ORE = 10_000_000 * 100  # 10 MSEK
MAX_LIMIT_ORE = 10**17  # fits BIGINT with room; far above any order
# The roles a rule may name: those whose permissions include approving orders.
APPROVER_ROLES: tuple[Role, ...] = tuple(
    role for role in Role if Permission.APPROVE_ORDERS in ROLE_PERMISSIONS[role]
)


class ApprovalError(DomainError):
    """An approval rule or an approval breaks a rule."""


@dataclass(frozen=True)
class RuleSpec:
    """One approval rule: up to ``max_value_ore`` (None: no limit) the ``roles`` may approve."""

    max_value_ore: int | None
    roles: tuple[Role, ...]


def default_rules() -> list[RuleSpec]:
    """The rules while none are saved: up to 10 MSEK an officer or lead, above that a national coordinator."""
    return [
        RuleSpec(DEFAULT_LIMIT_ORE, (Role.PURCHASING_OFFICER, Role.PURCHASING_LEAD)),
        RuleSpec(None, (Role.NATIONAL_COORDINATOR,)),
    ]


def _sort_key(rule: RuleSpec):
    return (rule.max_value_ore is None, rule.max_value_ore or 0)


def current_rules(session: Session) -> list[RuleSpec]:
    """The saved rules by limit (the one without a limit last), or :func:`default_rules` when none are saved."""
    rows = session.scalars(select(ApprovalRule)).all()
    if not rows:
        return default_rules()
    specs = [
        RuleSpec(
            row.max_value_ore, tuple(Role(value) for value in row.roles.split(",") if value in set(Role))
        )
        for row in rows
    ]
    return sorted(specs, key=_sort_key)


def applying_rule(rules: Sequence[RuleSpec], value_ore: int) -> RuleSpec | None:
    """The rule with the smallest limit at or above ``value_ore``, else the one without a limit, else None."""
    ordered = sorted(rules, key=_sort_key)
    for rule in ordered:
        if rule.max_value_ore is None or value_ore <= rule.max_value_ore:
            return rule
    return None


def approver_roles(rules: Sequence[RuleSpec], value_ore: int) -> frozenset[Role]:
    """The roles that may approve an order of ``value_ore``: the applying rule's and every higher rule's."""
    rule = applying_rule(rules, value_ore)
    if rule is None:
        return frozenset()
    granted: set[Role] = set()
    for other in rules:
        if _sort_key(other) >= _sort_key(rule):
            granted.update(other.roles)
    return frozenset(granted)


def approval_limit(rules: Sequence[RuleSpec], value_ore: int) -> int | None:
    """The limit of the rule applying to ``value_ore`` (None: no limit, or no rule covers it)."""
    rule = applying_rule(rules, value_ore)
    return rule.max_value_ore if rule else None


def four_eyes_excluded(order: PurchaseOrder) -> set[int]:
    """The users who may not approve ``order``: its submitter, its responsible officer, its version's author."""
    excluded = {order.responsible_id}
    if order.submitted_by_id:
        excluded.add(order.submitted_by_id)
    current = next((version for version in order.versions if version.version == order.version), None)
    if current is not None:
        excluded.add(current.created_by_id)
    return excluded


def approval_refusal(session: Session, user: User, order: PurchaseOrder, value_ore: int) -> str | None:
    """Why ``user`` may not approve ``order`` (worth ``value_ore``), or None when they may."""
    if not has_permission(user, Permission.APPROVE_ORDERS) or not can_see_organisation(user, order.buyer):
        return _("Your role does not allow approving this order.")
    if user.id in four_eyes_excluded(order):
        return _("Someone else must approve the order: you submitted, drafted or amended it (four eyes).")
    rules = current_rules(session)
    roles = approver_roles(rules, value_ore)
    if not roles:
        return _("No approval rule covers an order of this value; the national coordinator sets the rules.")
    if not roles & set(user.roles):
        return _(
            "An order of %(value)s needs approval by: %(roles)s.",
            value=format_sek(value_ore),
            roles=", ".join(role.label for role in Role if role in roles),
        )
    return None


def approvers_for(session: Session, order: PurchaseOrder, value_ore: int) -> list[User]:
    """Active users who may approve ``order`` (worth ``value_ore``): the ones told when it is submitted."""
    roles = approver_roles(current_rules(session), value_ore)
    if not roles:
        return []
    candidates = session.scalars(
        select(User)
        .where(
            User.active.is_(True),
            User.id.in_(select(UserRole.user_id).where(UserRole.role.in_([role.value for role in roles]))),
        )
        .order_by(User.id)
    ).all()
    excluded = four_eyes_excluded(order)
    return [
        person
        for person in candidates
        if person.id not in excluded
        and has_permission(person, Permission.APPROVE_ORDERS)
        and can_see_organisation(person, order.buyer)
    ]


def approvers_to_tell(session: Session, order: PurchaseOrder, value_ore: int) -> list[User]:
    """Who hears that ``order`` awaits approval: the approvers of the buying organisation itself, or, when it
    has none (a municipality with one officer, an order above its officers' limit), everyone who may approve
    it, national approvers included. Anyone allowed may still approve it."""
    allowed = approvers_for(session, order, value_ore)
    own = [person for person in allowed if person.organisation_id == order.buyer_id]
    return own or allowed


def format_sek(value_ore: int | None) -> str:
    """Whole öre as kronor in the reader's number format: ``10 000 000,00 kr``."""
    if value_ore is None:
        return "—"
    return _("%(amount)s kr", amount=format_decimal(Decimal(value_ore) / 100, format="#,##0.00"))


def replace_rules(session: Session, user: User, rules: Sequence[RuleSpec]) -> list[ApprovalRule]:
    """Save ``rules`` in place of the current ones. Flush only.

    Raises ApprovalError unless the user may manage approval rules, every rule names at least one approving
    role, the limits are positive and different, and exactly one rule has no limit (so every order has an
    approver).
    """
    if not has_permission(user, Permission.MANAGE_APPROVAL_RULES):
        raise ApprovalError(_("Your role does not allow changing the approval rules."))
    if not rules:
        raise ApprovalError(_("Give at least one rule."), field="rules")
    limits = [rule.max_value_ore for rule in rules]
    for rule in rules:
        if not rule.roles:
            raise ApprovalError(_("Every rule names at least one role that may approve."), field="rules")
        if any(role not in APPROVER_ROLES for role in rule.roles):
            raise ApprovalError(_("Only roles that approve orders can be named in a rule."), field="rules")
        if rule.max_value_ore is not None and not 0 < rule.max_value_ore <= MAX_LIMIT_ORE:
            raise ApprovalError(_("A limit is an amount above 0 kr."), field="rules")
    if limits.count(None) != 1:
        raise ApprovalError(
            _("Exactly one rule has no limit, so that every order, however large, can be approved."),
            field="rules",
        )
    if len(set(limits)) != len(limits):
        raise ApprovalError(_("Two rules have the same limit."), field="rules")
    # Row by row, so the audit log keeps the rules that were replaced; deleted first, for the unique limits.
    for old in session.scalars(select(ApprovalRule)).all():
        session.delete(old)
    session.flush()
    rows = [
        ApprovalRule(max_value_ore=rule.max_value_ore, roles=",".join(role.value for role in rule.roles))
        for rule in sorted(rules, key=_sort_key)
    ]
    session.add_all(rows)
    session.flush()
    return rows
