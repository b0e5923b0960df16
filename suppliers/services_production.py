"""Domestic production projects: the rules and use cases (the production team's work). Services only flush.

Stages (first contact → prototype → certification testing → approved → ramp-up → full production; ended):

* a project is registered in any stage but ended (one already under way when it is registered starts where it
  is), and its history starts with that registration (a StageChange whose from and to stage are the same);
* it moves forward one or more stages at a time, with an optional note;
* it moves back to any earlier stage only with a reason (a failed certification test, a stopped line …);
* it ends from any stage, only with a reason; an ended project stays ended (production that resumes is a
  new project), and its plan for the weeks after the week it ended no longer counts as national capacity.

Capacity: a plan is entered for a range of ISO weeks at once (the same units for each week; a week already
planned gets the new figure, its actual figure is kept); a week's actual output is recorded once the week
has begun. Support amounts are whole öre. Who may do all this: holders of MANAGE_PRODUCTION.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.auth.access import has_permission
from app.auth.models import User, UserRole
from app.auth.roles import Permission, Role
from app.catalog.models import Product, ProductCategory
from app.db import utcnow
from app.errors import DomainError, NotFoundError
from suppliers import capacity, identifiers
from suppliers.models import (
    CapacityWeek,
    Milestone,
    ProductionProject,
    ProductionStage,
    ProductionSupport,
    RawMaterialDependency,
    RiskLevel,
    StageChange,
    Supplier,
    SupportKind,
)

STAGE_ORDER: tuple[ProductionStage, ...] = (
    ProductionStage.FIRST_CONTACT,
    ProductionStage.PROTOTYPE,
    ProductionStage.CERTIFICATION_TESTING,
    ProductionStage.APPROVED,
    ProductionStage.RAMP_UP,
    ProductionStage.FULL_PRODUCTION,
)
MAX_NAME = 200
MAX_MATERIAL = 120
MAX_SOURCE = 200


class ProductionError(DomainError):
    """A production project, milestone, capacity figure, dependency or support breaks a rule."""


class ProductionNotAllowed(ProductionError):
    """The acting user's roles do not include managing production projects."""

    status_code = 403


def _ensure_may_manage(user) -> None:
    if not has_permission(user, Permission.MANAGE_PRODUCTION):
        raise ProductionNotAllowed(_("Only the production team changes production projects."))


def _text(value: str | None) -> str | None:
    return (value or "").strip() or None


def _required(value: str | None, *, field: str, message: str, max_length: int) -> str:
    text = _text(value)
    if text is None:
        raise ProductionError(message, field=field)
    if len(text) > max_length:
        raise ProductionError(_("At most %(n)s characters.", n=max_length), field=field)
    return text


# --- projects -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProjectData:
    """What the production team says about a project, before the rules are checked."""

    supplier_id: int | None
    product_id: int | None
    name: str
    site: str | None = None
    responsible_id: int | None = None
    contracted_volume: int | None = None
    contract_reference: str | None = None
    contract_signed_on: date | None = None
    notes: str | None = None

    @classmethod
    def of(cls, project: ProductionProject) -> ProjectData:
        return cls(
            supplier_id=project.supplier_id,
            product_id=project.product_id,
            name=project.name,
            site=project.site,
            responsible_id=project.responsible_id,
            contracted_volume=project.contracted_volume,
            contract_reference=project.contract_reference,
            contract_signed_on=project.contract_signed_on,
            notes=project.notes,
        )


def production_team(session: Session) -> list[User]:
    """Active users who may be responsible for a project: the production team."""
    return list(
        session.scalars(
            select(User)
            .join(UserRole, UserRole.user_id == User.id)
            .where(UserRole.role == Role.PRODUCTION_TEAM.value, User.active.is_(True))
            .order_by(User.name, User.id)
        )
    )


def domestic_suppliers(session: Session) -> list[Supplier]:
    """Suppliers that may have production projects: those marked as producing in Sweden."""
    return list(
        session.scalars(
            select(Supplier)
            .where(Supplier.produces_in_sweden.is_(True))
            .order_by(Supplier.legal_name, Supplier.id)
        )
    )


def _checked(session: Session, data: ProjectData, today: date, project: ProductionProject | None) -> dict:
    supplier = session.get(Supplier, data.supplier_id) if data.supplier_id is not None else None
    if supplier is None:
        raise ProductionError(_("Choose the supplier."), field="supplier_id")
    if not supplier.produces_in_sweden and (project is None or project.supplier_id != supplier.id):
        raise ProductionError(
            _(
                "%(name)s is not marked as producing in Sweden: mark it so in the register first.",
                name=supplier.legal_name,
            ),
            field="supplier_id",
        )
    product = session.get(Product, data.product_id) if data.product_id is not None else None
    if product is None:
        raise ProductionError(_("Choose the product from the catalogue."), field="product_id")
    if not product.active and (project is None or project.product_id != product.id):
        raise ProductionError(_("The product is no longer active in the catalogue."), field="product_id")
    name = _required(data.name, field="name", message=_("Name the project."), max_length=MAX_NAME)
    same_name = select(ProductionProject.id).where(
        ProductionProject.supplier_id == supplier.id, ProductionProject.name == name
    )
    if project is not None:
        same_name = same_name.where(ProductionProject.id != project.id)
    if session.scalar(same_name) is not None:
        raise ProductionError(_("The supplier already has a project with this name."), field="name")
    if data.responsible_id is not None and data.responsible_id not in {
        u.id for u in production_team(session)
    }:
        raise ProductionError(
            _("The responsible person must be in the production team."), field="responsible_id"
        )
    if data.contracted_volume is not None and data.contracted_volume < 0:
        raise ProductionError(_("The volume cannot be negative."), field="contracted_volume")
    if data.contract_signed_on is not None and data.contract_signed_on > today:
        raise ProductionError(
            _("A contract cannot have been signed in the future."), field="contract_signed_on"
        )
    return {
        "supplier_id": supplier.id,
        "product_id": product.id,
        "name": name,
        "site": _text(data.site),
        "responsible_id": data.responsible_id,
        "contracted_volume": data.contracted_volume,
        "contract_reference": _text(data.contract_reference),
        "contract_signed_on": data.contract_signed_on,
        "notes": _text(data.notes),
    }


def create_project(
    session: Session, user, data: ProjectData, *, today: date, stage: str = ProductionStage.FIRST_CONTACT
) -> ProductionProject:
    """Register a production project in ``stage`` (not ended); its history starts with the registration.

    Raises ProductionError beside the field at fault, ProductionNotAllowed without MANAGE_PRODUCTION.
    """
    _ensure_may_manage(user)
    values = _checked(session, data, today, None)
    stage = _stage(stage)
    if stage is ProductionStage.ENDED:
        raise ProductionError(_("A project cannot be registered as ended."), field="stage")
    project = ProductionProject(stage=stage.value, **values)
    project.stage_changes.append(
        StageChange(from_stage=stage.value, to_stage=stage.value, changed_by_id=user.id)
    )
    session.add(project)
    session.flush()
    return project


def update_project(
    session: Session, user, project: ProductionProject, data: ProjectData, *, today: date
) -> None:
    """Change a project's details (not its stage: see :func:`change_stage`). Raises as create_project."""
    _ensure_may_manage(user)
    _set(project, _checked(session, data, today, project))
    session.flush()


def _stage(value: str) -> ProductionStage:
    try:
        return ProductionStage(value)
    except ValueError:
        raise ProductionError(_("Choose a stage."), field="stage") from None


def check_stage_move(current: str, target: str, note: str | None) -> None:
    """Whether a project may move from ``current`` to ``target`` with ``note``; raises ProductionError if not."""
    here, there = _stage(current), _stage(target)
    if here is ProductionStage.ENDED:
        raise ProductionError(
            _("The project has ended; production that resumes is a new project."), field="stage"
        )
    if there is here:
        raise ProductionError(_("The project is already at this stage."), field="stage")
    if there is ProductionStage.ENDED and not _text(note):
        raise ProductionError(_("Say why the project ends."), field="note")
    if (
        there is not ProductionStage.ENDED
        and STAGE_ORDER.index(there) < STAGE_ORDER.index(here)
        and not _text(note)
    ):
        raise ProductionError(_("Say why the project goes back to an earlier stage."), field="note")


def change_stage(
    session: Session,
    user,
    project: ProductionProject,
    target: str,
    note: str | None,
    *,
    now: datetime | None = None,
) -> StageChange:
    """Move the project to ``target`` under the stage rules (module docstring) and record the change."""
    _ensure_may_manage(user)
    check_stage_move(project.stage, target, note)
    change = StageChange(
        from_stage=project.stage,
        to_stage=target,
        note=_text(note),
        changed_by_id=user.id,
        changed_at=now or utcnow(),
    )
    project.stage = target
    project.stage_changes.insert(0, change)  # the history reads newest first, as it loads
    session.flush()
    return change


def next_stages(stage: str) -> list[ProductionStage]:
    """The stages a project at ``stage`` may move to (going back and ending need a reason)."""
    here = ProductionStage(stage)
    if here is ProductionStage.ENDED:
        return []
    return [s for s in (*STAGE_ORDER, ProductionStage.ENDED) if s is not here]


def ended_on(project: ProductionProject, tz: ZoneInfo) -> date | None:
    """The day (in ``tz``) the project ended, None while it runs."""
    if project.stage != ProductionStage.ENDED:
        return None
    endings = [c.changed_at for c in project.stage_changes if c.to_stage == ProductionStage.ENDED]
    moment = max(endings, default=None) or project.updated_at
    return moment.astimezone(tz).date()


# --- milestones -----------------------------------------------------------------------------------------------


def _checked_actual(actual_on: date | None, today: date) -> date | None:
    if actual_on is not None and actual_on > today:
        raise ProductionError(_("A milestone cannot have been reached in the future."), field="actual_on")
    return actual_on


def _set(row, values: dict) -> None:
    for key, value in values.items():
        setattr(row, key, value)


def _milestone_values(name, planned_on, actual_on, today) -> dict:
    text = _required(name, field="name", message=_("Name the milestone."), max_length=MAX_NAME)
    if planned_on is None:
        raise ProductionError(_("Enter the planned date."), field="planned_on")
    return {"name": text, "planned_on": planned_on, "actual_on": _checked_actual(actual_on, today)}


def add_milestone(
    session: Session,
    user,
    project: ProductionProject,
    *,
    name: str,
    planned_on: date | None,
    actual_on: date | None = None,
    today: date,
) -> Milestone:
    _ensure_may_manage(user)
    milestone = Milestone(**_milestone_values(name, planned_on, actual_on, today))
    project.milestones.append(milestone)
    session.flush()
    return milestone


def update_milestone(
    session: Session,
    user,
    milestone: Milestone,
    *,
    name: str,
    planned_on: date | None,
    actual_on: date | None,
    today: date,
) -> None:
    _ensure_may_manage(user)
    _set(milestone, _milestone_values(name, planned_on, actual_on, today))
    session.flush()


def record_milestone_reached(
    session: Session, user, milestone: Milestone, actual_on: date | None, *, today: date
) -> None:
    """Record the day the milestone was reached (not in the future)."""
    _ensure_may_manage(user)
    if actual_on is None:
        raise ProductionError(_("Enter the date the milestone was reached."), field="actual_on")
    milestone.actual_on = _checked_actual(actual_on, today)
    session.flush()


# --- capacity -------------------------------------------------------------------------------------------------


def _ended_week(project: ProductionProject, tz: ZoneInfo) -> date | None:
    ended = ended_on(project, tz)
    return capacity.monday_of(ended) if ended else None


def _week_row(session: Session, project: ProductionProject, week_start: date) -> CapacityWeek:
    row = session.scalar(
        select(CapacityWeek).where(
            CapacityWeek.project_id == project.id, CapacityWeek.week_start == week_start
        )
    )
    if row is None:
        row = CapacityWeek(project=project, week_start=week_start)
        session.add(row)
    return row


def plan_capacity(
    session: Session,
    user,
    project: ProductionProject,
    *,
    first_week: date | None,
    last_week: date | None,
    planned_units: int | None,
    tz: ZoneInfo,
) -> list[CapacityWeek]:
    """Plan ``planned_units`` for every ISO week from ``first_week`` to ``last_week`` (Mondays), both included.

    A week already planned gets the new figure (its actual figure stays). Refuses a reversed range, one
    longer than two years, negative units, and weeks after the week an ended project ended.
    """
    _ensure_may_manage(user)
    if first_week is None:
        raise ProductionError(_("Enter the first week, for example 2026-W48."), field="first_week")
    if last_week is None:
        raise ProductionError(_("Enter the last week, for example 2026-W52."), field="last_week")
    if planned_units is None or planned_units < 0:
        raise ProductionError(_("Enter the planned units per week (0 or more)."), field="planned_units")
    weeks = capacity.weeks_in(first_week, last_week)
    if not weeks:
        raise ProductionError(_("The last week comes before the first."), field="last_week")
    if len(weeks) > capacity.MAX_RANGE_WEEKS:
        raise ProductionError(
            _("Plan at most %(n)s weeks at a time.", n=capacity.MAX_RANGE_WEEKS), field="last_week"
        )
    ended = _ended_week(project, tz)
    if ended is not None and weeks[-1] > ended:
        raise ProductionError(
            _(
                "The project ended in week %(week)s: it takes no plan after that.",
                week=capacity.iso_week_label(ended),
            ),
            field="last_week",
        )
    rows = []
    for week in weeks:
        row = _week_row(session, project, week)
        row.planned_units = planned_units
        row.updated_by_id = user.id
        rows.append(row)
    session.flush()
    return rows


def record_actual(
    session: Session,
    user,
    project: ProductionProject,
    *,
    week_start: date | None,
    actual_units: int | None,
    today: date,
    tz: ZoneInfo,
) -> CapacityWeek:
    """Record what the project made in the ISO week starting ``week_start`` (replacing an earlier figure).

    Refuses a week that has not begun, negative units, and weeks after an ended project's last week.
    """
    _ensure_may_manage(user)
    if week_start is None:
        raise ProductionError(_("Enter the week, for example 2026-W48."), field="week")
    if actual_units is None or actual_units < 0:
        raise ProductionError(_("Enter the units made in the week (0 or more)."), field="actual_units")
    week_start = capacity.monday_of(week_start)
    if week_start > capacity.monday_of(today):
        raise ProductionError(_("The week has not begun yet."), field="week")
    ended = _ended_week(project, tz)
    if ended is not None and week_start > ended:
        raise ProductionError(
            _("The project ended in week %(week)s.", week=capacity.iso_week_label(ended)), field="week"
        )
    row = _week_row(session, project, week_start)
    row.actual_units = actual_units
    row.updated_by_id = user.id
    session.flush()
    return row


# --- raw-material dependencies and support ---------------------------------------------------------------------


@dataclass(frozen=True)
class DependencyData:
    material: str
    source: str
    source_country: str | None = None
    risk_level: str = RiskLevel.LOW.value
    mitigation: str | None = None


def _dependency_values(data: DependencyData) -> dict:
    material = _required(
        data.material, field="material", message=_("Name the material."), max_length=MAX_MATERIAL
    )
    source = _required(
        data.source,
        field="source",
        message=_("Name the source (supplier or producer)."),
        max_length=MAX_SOURCE,
    )
    country = None
    if _text(data.source_country):
        try:
            country = identifiers.normalise_country(data.source_country)
        except identifiers.IdentifierError as error:
            raise ProductionError(str(error), field="source_country") from None
    if data.risk_level not in {level.value for level in RiskLevel}:
        raise ProductionError(_("Choose a risk level."), field="risk_level")
    if data.risk_level == RiskLevel.HIGH and not _text(data.mitigation):
        raise ProductionError(
            _("Describe how a high risk is mitigated (or that it cannot be)."), field="mitigation"
        )
    return {
        "material": material,
        "source": source,
        "source_country": country,
        "risk_level": data.risk_level,
        "mitigation": _text(data.mitigation),
    }


def add_dependency(
    session: Session, user, project: ProductionProject, data: DependencyData
) -> RawMaterialDependency:
    _ensure_may_manage(user)
    dependency = RawMaterialDependency(**_dependency_values(data))
    project.dependencies.append(dependency)
    session.flush()
    return dependency


def update_dependency(
    session: Session, user, dependency: RawMaterialDependency, data: DependencyData
) -> None:
    _ensure_may_manage(user)
    _set(dependency, _dependency_values(data))
    session.flush()


@dataclass(frozen=True)
class SupportData:
    kind: str
    amount_ore: int | None = None
    volume: int | None = None
    decided_on: date | None = None
    notes: str | None = None


def _support_values(data: SupportData, today: date) -> dict:
    if data.kind not in {kind.value for kind in SupportKind}:
        raise ProductionError(_("Choose the kind of support."), field="kind")
    if data.amount_ore is not None and data.amount_ore < 0:
        raise ProductionError(_("The amount cannot be negative."), field="amount")
    if data.volume is not None and data.volume < 0:
        raise ProductionError(_("The volume cannot be negative."), field="volume")
    if data.amount_ore is None and data.volume is None:
        raise ProductionError(_("Enter an amount, a volume or both."), field="amount")
    if data.decided_on is not None and data.decided_on > today:
        raise ProductionError(_("A decision cannot be dated in the future."), field="decided_on")
    return {
        "kind": data.kind,
        "amount_ore": data.amount_ore,
        "volume": data.volume,
        "decided_on": data.decided_on,
        "notes": _text(data.notes),
    }


def add_support(
    session: Session, user, project: ProductionProject, data: SupportData, *, today: date
) -> ProductionSupport:
    _ensure_may_manage(user)
    support = ProductionSupport(**_support_values(data, today))
    project.support.append(support)
    session.flush()
    return support


def update_support(
    session: Session, user, support: ProductionSupport, data: SupportData, *, today: date
) -> None:
    _ensure_may_manage(user)
    _set(support, _support_values(data, today))
    session.flush()


def remove(session: Session, user, row: Milestone | RawMaterialDependency | ProductionSupport) -> None:
    """Remove a milestone, a dependency or a support entry (the audit log keeps what it said)."""
    _ensure_may_manage(user)
    session.delete(row)
    session.flush()


def get_or_404(session: Session, model, row_id: int):
    row = session.get(model, row_id)
    if row is None:
        raise NotFoundError(_("There is no such page, or it is not available to you."))
    return row


# --- capacity overview and risk --------------------------------------------------------------------------------


def _loaded_projects():
    return select(ProductionProject).options(
        selectinload(ProductionProject.milestones),
        selectinload(ProductionProject.capacity_weeks),
        selectinload(ProductionProject.dependencies),
        selectinload(ProductionProject.stage_changes),
        selectinload(ProductionProject.product),
        selectinload(ProductionProject.supplier),
    )


def week_figures(project: ProductionProject) -> tuple[capacity.WeekFigures, ...]:
    return tuple(
        capacity.WeekFigures(w.week_start, w.planned_units, w.actual_units) for w in project.capacity_weeks
    )


def project_facts(project: ProductionProject, tz: ZoneInfo) -> capacity.ProjectFacts:
    """The project as the pure capacity rules see it."""
    return capacity.ProjectFacts(
        project_id=project.id,
        name=project.name,
        category=project.product.category.code,
        weeks=week_figures(project),
        milestones=tuple(
            capacity.MilestoneFacts(m.name, m.planned_on, m.actual_on) for m in project.milestones
        ),
        dependencies=tuple(capacity.DependencyFacts(d.material, d.risk_level) for d in project.dependencies),
        ended_on=ended_on(project, tz),
    )


def risks_by_project(session: Session, *, today: date, tz: ZoneInfo) -> dict[int, list[capacity.RiskReason]]:
    """Every project's risk reasons by project id (an empty list when it is not at risk)."""
    return {
        p.id: capacity.risk_reasons(project_facts(p, tz), today) for p in session.scalars(_loaded_projects())
    }


@dataclass(frozen=True)
class CategoryCapacity:
    category: ProductCategory
    totals: list[capacity.WeekTotal]
    project_count: int


@dataclass(frozen=True)
class ProjectRisk:
    project: ProductionProject
    reasons: list[capacity.RiskReason]
    latest: capacity.WeekFigures | None


@dataclass(frozen=True)
class CapacityOverview:
    """The national capacity overview: weekly totals per category and the projects, those at risk first."""

    first_week: date
    last_week: date
    current_week: date
    categories: list[CategoryCapacity]
    national: list[capacity.WeekTotal]
    projects: list[ProjectRisk]

    @property
    def at_risk(self) -> list[ProjectRisk]:
        return [p for p in self.projects if p.reasons]


def capacity_overview(
    session: Session,
    *,
    first_week: date,
    last_week: date,
    today: date,
    tz: ZoneInfo,
    category: ProductCategory | None = None,
) -> CapacityOverview:
    """Domestic capacity from ``first_week`` to ``last_week`` per product category (or only ``category``)."""
    stmt = (
        _loaded_projects()
        .join(ProductionProject.product)
        .order_by(ProductionProject.name, ProductionProject.id)
    )
    if category is not None:
        stmt = stmt.where(Product.category_id == category.id)
    projects = list(session.scalars(stmt))
    facts = [project_facts(p, tz) for p in projects]
    by_id = {p.id: p for p in projects}
    per_category = capacity.weekly_totals(facts, first_week, last_week)
    categories = {p.product.category.code: p.product.category for p in projects}
    counts: dict[str, int] = {}
    for fact in facts:
        counts[fact.category] = counts.get(fact.category, 0) + 1
    return CapacityOverview(
        first_week=capacity.monday_of(first_week),
        last_week=capacity.monday_of(last_week),
        current_week=capacity.monday_of(today),
        categories=[
            CategoryCapacity(categories[code], totals, counts[code])
            for code, totals in sorted(
                per_category.items(), key=lambda item: (categories[item[0]].sort_order, item[0])
            )
        ],
        national=capacity.national_totals(per_category),
        projects=[
            ProjectRisk(
                by_id[a.project.project_id], a.reasons, capacity.latest_actual_week(a.project.weeks, today)
            )
            for a in capacity.at_risk_first(facts, today)
        ],
    )


def projects_of_supplier(session: Session, supplier: Supplier) -> Sequence[ProductionProject]:
    return list(
        session.scalars(
            select(ProductionProject)
            .where(ProductionProject.supplier_id == supplier.id)
            .order_by(ProductionProject.created_at.desc(), ProductionProject.id.desc())
        )
    )
