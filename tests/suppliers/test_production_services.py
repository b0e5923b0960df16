"""Production projects through the service layer: stages, milestones, the capacity plan, dependencies,
support, and the national capacity overview built from the database."""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from app.catalog.models import Product, ProductCategory
from suppliers import services_production as services
from suppliers.capacity import RiskKind
from suppliers.models import (
    CapacityWeek,
    Milestone,
    ProductionProject,
    ProductionStage,
    ProductionSupport,
    RawMaterialDependency,
    StageChange,
)
from suppliers.services_production import (
    DependencyData,
    ProductionError,
    ProductionNotAllowed,
    ProjectData,
    SupportData,
)
from tests.suppliers.factories import make_supplier

TZ = ZoneInfo("Europe/Stockholm")
TODAY = date(2026, 11, 25)  # Wednesday of 2026-W48
THIS_WEEK = date(2026, 11, 23)


@pytest.fixture
def team(users):
    return users.make("production_team")


@pytest.fixture
def domestic(session):
    return make_supplier(session, produces_in_sweden=True, legal_name="Svenska Skydd AB")


def product_in(session, category_code: str) -> Product:
    return session.scalar(
        select(Product)
        .join(Product.category)
        .where(ProductCategory.code == category_code, Product.active.is_(True))
        .order_by(Product.id)
    )


def first_product(session) -> Product:
    return session.scalar(select(Product).where(Product.active.is_(True)).order_by(Product.id))


def new_project(
    session, user, supplier, product=None, name="Masks from Borås", **kwargs
) -> ProductionProject:
    data = ProjectData(
        supplier_id=supplier.id,
        product_id=(product or first_product(session)).id,
        name=name,
        **{k: v for k, v in kwargs.items() if k != "stage"},
    )
    return services.create_project(
        session, user, data, today=TODAY, **({"stage": kwargs["stage"]} if "stage" in kwargs else {})
    )


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


# --- projects -------------------------------------------------------------------------------------------------


def test_a_registered_project_starts_its_history_at_the_stage_it_was_registered_in(session, team, domestic):
    project = new_project(
        session,
        team,
        domestic,
        site="Borås",
        contracted_volume=2_000_000,
        responsible_id=team.id,
        stage=ProductionStage.PROTOTYPE,
    )
    assert project.stage == ProductionStage.PROTOTYPE
    [change] = project.stage_changes
    assert (change.from_stage, change.to_stage, change.changed_by_id) == ("prototype", "prototype", team.id)


def test_only_suppliers_producing_in_sweden_get_production_projects(session, team):
    importer = make_supplier(session, produces_in_sweden=False)
    with pytest.raises(ProductionError) as refused:
        new_project(session, team, importer)
    assert refused.value.field == "supplier_id"
    assert count(session, ProductionProject) == 0


def test_a_project_is_not_registered_as_ended_nor_twice_under_the_same_name(session, team, domestic):
    with pytest.raises(ProductionError) as ended:
        new_project(session, team, domestic, stage=ProductionStage.ENDED)
    assert ended.value.field == "stage"
    new_project(session, team, domestic)
    with pytest.raises(ProductionError) as twice:
        new_project(session, team, domestic)
    assert twice.value.field == "name"


def test_the_responsible_person_must_be_in_the_production_team_and_contracts_are_not_signed_in_the_future(
    session, users, team, domestic
):
    officer = users.make("purchasing_officer")
    with pytest.raises(ProductionError) as outsider:
        new_project(session, team, domestic, responsible_id=officer.id)
    assert outsider.value.field == "responsible_id"
    with pytest.raises(ProductionError) as future:
        new_project(session, team, domestic, contract_signed_on=TODAY + timedelta(days=1))
    assert future.value.field == "contract_signed_on"


def test_an_inactive_product_cannot_start_a_project(session, team, domestic):
    product = first_product(session)
    product.active = False
    with pytest.raises(ProductionError) as refused:
        new_project(session, team, domestic, product=product)
    assert refused.value.field == "product_id"


def test_only_the_production_team_changes_projects(session, users, domestic):
    with pytest.raises(ProductionNotAllowed):
        new_project(session, users.make("purchasing_lead"), domestic)


def test_an_update_keeps_the_stage_and_checks_the_same_rules(session, team, domestic):
    project = new_project(session, team, domestic)
    data = ProjectData.of(project)
    services.update_project(
        session, team, project, ProjectData(**{**data.__dict__, "site": " Skene ", "notes": ""}), today=TODAY
    )
    assert (project.site, project.notes, project.stage) == ("Skene", None, "first_contact")
    with pytest.raises(ProductionError):
        services.update_project(
            session, team, project, ProjectData(**{**data.__dict__, "name": "  "}), today=TODAY
        )


# --- stages ---------------------------------------------------------------------------------------------------


def test_a_project_moves_forward_several_stages_at_once_without_a_note(session, team, domestic):
    project = new_project(session, team, domestic)
    change = services.change_stage(session, team, project, ProductionStage.APPROVED, None)
    assert project.stage == "approved"
    assert (change.from_stage, change.to_stage, change.note) == ("first_contact", "approved", None)


def test_going_back_needs_a_reason(session, team, domestic):
    project = new_project(session, team, domestic, stage=ProductionStage.CERTIFICATION_TESTING)
    with pytest.raises(ProductionError) as refused:
        services.change_stage(session, team, project, ProductionStage.PROTOTYPE, "  ")
    assert refused.value.field == "note" and project.stage == "certification_testing"
    services.change_stage(
        session, team, project, ProductionStage.PROTOTYPE, "Failed EN 149 breathing resistance"
    )
    assert project.stage == "prototype"
    assert project.stage_changes[0].note == "Failed EN 149 breathing resistance"


def test_ending_needs_a_reason_and_an_ended_project_stays_ended(session, team, domestic):
    project = new_project(session, team, domestic, stage=ProductionStage.RAMP_UP)
    with pytest.raises(ProductionError):
        services.change_stage(session, team, project, ProductionStage.ENDED, None)
    services.change_stage(session, team, project, ProductionStage.ENDED, "The line was sold")
    assert services.next_stages(project.stage) == []
    for stage in (ProductionStage.FULL_PRODUCTION, ProductionStage.FIRST_CONTACT):
        with pytest.raises(ProductionError):
            services.change_stage(session, team, project, stage, "Started again")
    assert services.ended_on(project, TZ) is not None


def test_a_project_does_not_move_to_the_stage_it_is_at(session, team, domestic):
    project = new_project(session, team, domestic)
    with pytest.raises(ProductionError):
        services.change_stage(session, team, project, ProductionStage.FIRST_CONTACT, "again")
    assert ProductionStage.FIRST_CONTACT not in services.next_stages(project.stage)
    assert count(session, StageChange) == 1


# --- milestones -----------------------------------------------------------------------------------------------


def test_a_milestone_is_planned_then_recorded_as_reached_but_never_in_the_future(session, team, domestic):
    project = new_project(session, team, domestic)
    milestone = services.add_milestone(
        session, team, project, name="Samples to RISE", planned_on=TODAY, today=TODAY
    )
    with pytest.raises(ProductionError) as future:
        services.record_milestone_reached(session, team, milestone, TODAY + timedelta(days=1), today=TODAY)
    assert future.value.field == "actual_on" and milestone.actual_on is None
    services.record_milestone_reached(session, team, milestone, TODAY - timedelta(days=1), today=TODAY)
    assert milestone.actual_on == TODAY - timedelta(days=1)


def test_a_refused_milestone_change_leaves_the_milestone_as_it_was(session, team, domestic):
    project = new_project(session, team, domestic)
    milestone = services.add_milestone(session, team, project, name="Tooling", planned_on=TODAY, today=TODAY)
    with pytest.raises(ProductionError):
        services.update_milestone(
            session,
            team,
            milestone,
            name="Renamed",
            planned_on=TODAY,
            actual_on=TODAY + timedelta(days=3),
            today=TODAY,
        )
    assert (milestone.name, milestone.actual_on) == ("Tooling", None)


# --- capacity -------------------------------------------------------------------------------------------------


def weeks_of(session, project) -> dict[date, tuple]:
    rows = session.scalars(select(CapacityWeek).where(CapacityWeek.project_id == project.id)).all()
    return {r.week_start: (r.planned_units, r.actual_units) for r in rows}


def test_a_range_of_weeks_is_planned_at_once_and_replanning_keeps_recorded_output(session, team, domestic):
    project = new_project(session, team, domestic)
    services.record_actual(session, team, project, week_start=THIS_WEEK, actual_units=700, today=TODAY, tz=TZ)
    rows = services.plan_capacity(
        session, team, project, first_week=THIS_WEEK, last_week=date(2026, 12, 7), planned_units=1000, tz=TZ
    )
    assert len(rows) == 3
    assert weeks_of(session, project) == {
        THIS_WEEK: (1000, 700),
        date(2026, 11, 30): (1000, None),
        date(2026, 12, 7): (1000, None),
    }


def test_a_refused_plan_writes_no_week(session, team, domestic):
    project = new_project(session, team, domestic)
    with pytest.raises(ProductionError) as reversed_range:
        services.plan_capacity(
            session,
            team,
            project,
            first_week=THIS_WEEK,
            last_week=THIS_WEEK - timedelta(weeks=1),
            planned_units=10,
            tz=TZ,
        )
    assert reversed_range.value.field == "last_week"
    with pytest.raises(ProductionError) as too_long:
        services.plan_capacity(
            session,
            team,
            project,
            first_week=THIS_WEEK,
            last_week=THIS_WEEK + timedelta(weeks=104),
            planned_units=10,
            tz=TZ,
        )
    assert too_long.value.field == "last_week"
    with pytest.raises(ProductionError) as negative:
        services.plan_capacity(
            session, team, project, first_week=THIS_WEEK, last_week=THIS_WEEK, planned_units=-1, tz=TZ
        )
    assert negative.value.field == "planned_units"
    assert weeks_of(session, project) == {}


def test_output_is_recorded_once_the_week_has_begun_and_a_new_figure_replaces_the_old(
    session, team, domestic
):
    project = new_project(session, team, domestic)
    with pytest.raises(ProductionError) as early:
        services.record_actual(
            session,
            team,
            project,
            week_start=THIS_WEEK + timedelta(weeks=1),
            actual_units=5,
            today=TODAY,
            tz=TZ,
        )
    assert early.value.field == "week"
    services.record_actual(
        session, team, project, week_start=THIS_WEEK + timedelta(days=2), actual_units=5, today=TODAY, tz=TZ
    )
    services.record_actual(session, team, project, week_start=THIS_WEEK, actual_units=6, today=TODAY, tz=TZ)
    assert weeks_of(session, project) == {THIS_WEEK: (None, 6)}


def test_an_ended_project_takes_no_plan_after_the_week_it_ended(session, team, domestic):
    project = new_project(session, team, domestic)
    services.change_stage(session, team, project, ProductionStage.ENDED, "Stopped")
    ended_week = services.ended_on(project, TZ) - timedelta(days=services.ended_on(project, TZ).weekday())
    with pytest.raises(ProductionError):
        services.plan_capacity(
            session,
            team,
            project,
            first_week=ended_week,
            last_week=ended_week + timedelta(weeks=1),
            planned_units=10,
            tz=TZ,
        )
    services.plan_capacity(
        session, team, project, first_week=ended_week, last_week=ended_week, planned_units=10, tz=TZ
    )
    assert weeks_of(session, project) == {ended_week: (10, None)}


# --- dependencies and support ---------------------------------------------------------------------------------


def test_a_high_risk_dependency_needs_a_mitigation_and_a_real_country(session, team, domestic):
    project = new_project(session, team, domestic)
    with pytest.raises(ProductionError) as no_mitigation:
        services.add_dependency(session, team, project, DependencyData("Meltblown", "Sinopec", "CN", "high"))
    assert no_mitigation.value.field == "mitigation"
    with pytest.raises(ProductionError) as country:
        services.add_dependency(session, team, project, DependencyData("Meltblown", "Sinopec", "XX", "low"))
    assert country.value.field == "source_country"
    assert count(session, RawMaterialDependency) == 0
    dependency = services.add_dependency(
        session,
        team,
        project,
        DependencyData(" Meltblown ", "Sinopec", "cn", "high", "Second source in Finland"),
    )
    assert (dependency.material, dependency.source_country, dependency.risk_level) == (
        "Meltblown",
        "CN",
        "high",
    )


def test_support_is_stored_in_whole_ore_and_needs_an_amount_or_a_volume(session, team, domestic):
    project = new_project(session, team, domestic)
    with pytest.raises(ProductionError) as empty:
        services.add_support(session, team, project, SupportData("guarantee"), today=TODAY)
    assert empty.value.field == "amount"
    support = services.add_support(
        session,
        team,
        project,
        SupportData(
            "advance_purchase_commitment", amount_ore=125_000_050, volume=5_000_000, decided_on=TODAY
        ),
        today=TODAY,
    )
    assert session.get(ProductionSupport, support.id).amount_ore == 125_000_050
    services.remove(session, team, support)
    assert count(session, ProductionSupport) == 0


# --- the overview from the database ----------------------------------------------------------------------------


def test_the_capacity_overview_sums_categories_and_lists_projects_at_risk_first(session, team, domestic):
    respirator, glove = product_in(session, "respirators"), product_in(session, "gloves")
    calm = new_project(session, team, domestic, product=respirator, name="A calm respirator line")
    short = new_project(session, team, domestic, product=respirator, name="B short respirator line")
    gloves = new_project(session, team, domestic, product=glove, name="C glove line")
    for project, actual in ((calm, 1000), (short, 500), (gloves, 300)):
        services.plan_capacity(
            session,
            team,
            project,
            first_week=THIS_WEEK - timedelta(weeks=1),
            last_week=THIS_WEEK,
            planned_units=1000,
            tz=TZ,
        )
        services.record_actual(
            session,
            team,
            project,
            week_start=THIS_WEEK - timedelta(weeks=1),
            actual_units=actual,
            today=TODAY,
            tz=TZ,
        )
    services.add_milestone(
        session, team, calm, name="Certificate", planned_on=TODAY + timedelta(days=5), today=TODAY
    )

    overview = services.capacity_overview(
        session, first_week=THIS_WEEK - timedelta(weeks=1), last_week=THIS_WEEK, today=TODAY, tz=TZ
    )

    by_code = {c.category.code: c for c in overview.categories}
    assert (
        by_code["respirators"].totals[0].planned == 2000 and by_code["respirators"].totals[0].actual == 1500
    )
    assert by_code["respirators"].project_count == 2
    assert by_code["gloves"].totals[1].planned == 1000 and by_code["gloves"].totals[1].actual is None
    assert [p.project.name for p in overview.projects] == [
        "B short respirator line",
        "C glove line",
        "A calm respirator line",
    ]
    assert [r.kind for r in overview.projects[0].reasons] == [RiskKind.CAPACITY_SHORTFALL]
    assert overview.projects[2].latest.actual == 1000
    gloves_only = services.capacity_overview(
        session, first_week=THIS_WEEK, last_week=THIS_WEEK, today=TODAY, tz=TZ, category=glove.category
    )
    assert [c.category.code for c in gloves_only.categories] == ["gloves"]
    assert services.risks_by_project(session, today=TODAY, tz=TZ)[calm.id] == []


def test_milestones_are_removed_with_the_service(session, team, domestic):
    project = new_project(session, team, domestic)
    milestone = services.add_milestone(session, team, project, name="X", planned_on=TODAY, today=TODAY)
    services.remove(session, team, milestone)
    assert count(session, Milestone) == 0
