"""Production pages: the list, a project and its forms, a supplier's projects, the capacity overview, its
exports and PDF; who may change what; refused input that changes nothing."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import func, select

from app.catalog.models import Product, ProductCategory
from app.db import utcnow
from suppliers import capacity
from suppliers import services_production as services
from suppliers.models import (
    CapacityWeek,
    Milestone,
    ProductionProject,
    ProductionSupport,
    RawMaterialDependency,
)
from tests.suppliers.factories import make_supplier

TZ = ZoneInfo("Europe/Stockholm")
SVG = "{http://www.w3.org/2000/svg}"


def today():
    # Used at collection time (in parametrize), outside an app context, so not app.timeutil.local_today.
    return utcnow().astimezone(TZ).date()


def this_week():
    return capacity.monday_of(today())


def week(offset: int = 0) -> str:
    return capacity.iso_week_label(this_week() + timedelta(weeks=offset))


@pytest.fixture
def team(users):
    return users.make("production_team")


@pytest.fixture
def domestic(session):
    supplier = make_supplier(session, produces_in_sweden=True, legal_name="Borås Skydd AB")
    session.commit()
    return supplier


def product_in(session, code: str) -> Product:
    return session.scalar(
        select(Product)
        .join(Product.category)
        .where(ProductCategory.code == code, Product.active.is_(True))
        .order_by(Product.id)
    )


def make_project(session, team, supplier, name="Respirators from Borås", code="respirators", **kwargs):
    project = services.create_project(
        session,
        team,
        services.ProjectData(
            supplier_id=supplier.id, product_id=product_in(session, code).id, name=name, **kwargs
        ),
        today=today(),
    )
    session.commit()
    return project


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


# --- the list and navigation ----------------------------------------------------------------------------------


def test_every_reader_finds_domestic_production_in_the_menu_and_the_list(
    client, auth, users, session, team, domestic
):
    make_project(session, team, domestic, site="Borås")
    auth.login(users.make("recipient", "0180"))
    start = client.get("/")
    assert "Domestic production" in start.text
    page = client.get("/suppliers/production/")
    assert page.status_code == 200
    assert "Respirators from Borås" in page.text and "Borås Skydd AB" in page.text
    assert "New production project" not in page.text, "a reader gets no button to register projects"


def test_the_list_searches_filters_by_stage_category_and_risk_and_exports_csv(
    client, auth, session, team, domestic
):
    calm = make_project(session, team, domestic, name="Calm gloves", code="gloves")
    risky = make_project(session, team, domestic, name="Risky respirators")
    services.add_dependency(
        session, team, risky, services.DependencyData("Meltblown", "Abroad", "CN", "high", "None yet")
    )
    services.change_stage(session, team, calm, "ramp_up", None)
    session.commit()
    auth.login(team)

    assert "Calm gloves" not in client.get("/suppliers/production/?q=respirators").text
    at_risk = client.get("/suppliers/production/?risk=yes").text
    assert "Risky respirators" in at_risk and "Calm gloves" not in at_risk
    assert "High-risk dependency: Meltblown" in at_risk
    assert "Risky respirators" not in client.get("/suppliers/production/?risk=no").text
    assert "Risky respirators" not in client.get("/suppliers/production/?stage=ramp_up").text
    assert "Calm gloves" not in client.get("/suppliers/production/?category=respirators").text
    by_stage = client.get("/suppliers/production/?sort=stage&dir=desc").text
    assert by_stage.index("Calm gloves") < by_stage.index("Risky respirators"), (
        "ramp-up comes after first contact"
    )

    exported = client.get("/suppliers/production/?format=csv&risk=yes")
    assert exported.mimetype == "text/csv"
    lines = exported.data.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("Project;Supplier;Product;Category;Stage")
    assert len(lines) == 2 and "Risky respirators" in lines[1]
    workbook = load_workbook(io.BytesIO(client.get("/suppliers/production/?format=xlsx&sort=name").data))
    rows = list(workbook.active.iter_rows(values_only=True))
    assert [row[0] for row in rows] == ["Project", "Calm gloves", "Risky respirators"]


# --- registering and editing a project ----------------------------------------------------------------------


def test_the_production_team_registers_a_project_for_a_domestic_supplier(
    client, auth, session, team, domestic
):
    auth.login(team)
    form = client.get(f"/suppliers/production/new?supplier_id={domestic.id}")
    assert form.status_code == 200 and "Borås Skydd AB" in form.text
    response = client.post(
        "/suppliers/production/new",
        data={
            "supplier_id": domestic.id,
            "product_id": product_in(session, "respirators").id,
            "name": "FFP2 line",
            "stage": "prototype",
            "site": "Borås",
            "responsible_id": team.id,
            "contracted_volume": "2 000 000",
            "contract_reference": "SoS 2026/123",
            "contract_signed_on": str(today()),
        },
    )
    project = session.scalar(select(ProductionProject).where(ProductionProject.name == "FFP2 line"))
    assert response.status_code == 302 and response.headers["Location"].endswith(
        f"/suppliers/production/{project.id}"
    )
    assert (project.stage, project.contracted_volume, project.responsible_id) == (
        "prototype",
        2_000_000,
        team.id,
    )
    page = client.get(f"/suppliers/production/{project.id}")
    assert "Registered at Prototype" in page.text


def test_a_refused_project_is_shown_again_with_the_reason_beside_the_field_and_nothing_saved(
    client, auth, session, team
):
    importer = make_supplier(session, produces_in_sweden=False, legal_name="Import AB")
    session.commit()
    auth.login(team)
    response = client.post(
        "/suppliers/production/new",
        data={
            "supplier_id": importer.id,
            "product_id": product_in(session, "respirators").id,
            "name": "Imported",
            "stage": "first_contact",
        },
    )
    assert response.status_code == 422
    assert 'id="supplier_id-error"' in response.text and "not marked as producing in Sweden" in response.text
    assert count(session, ProductionProject) == 0


def test_readers_and_other_buyers_cannot_change_a_project(client, auth, users, session, team, domestic):
    project = make_project(session, team, domestic)
    auth.login(users.make("purchasing_lead"))
    assert client.get(f"/suppliers/production/{project.id}").status_code == 200
    assert (
        client.post(
            f"/suppliers/production/{project.id}/actual",
            data={"actual-week": week(), "actual-actual_units": "10"},
        ).status_code
        == 403
    )
    assert client.get(f"/suppliers/production/{project.id}/edit").status_code == 403
    assert count(session, CapacityWeek) == 0
    assert 'action="/suppliers/production/' not in client.get(f"/suppliers/production/{project.id}").text


def test_a_project_that_does_not_exist_is_not_found(client, auth, team):
    auth.login(team)
    assert client.get("/suppliers/production/999999").status_code == 404
    assert client.post("/suppliers/production/999999/plan").status_code == 404


# --- stages, milestones, capacity, dependencies and support through the forms ------------------------------------


def test_the_stage_moves_forward_and_back_only_with_a_reason(client, auth, session, team, domestic):
    project = make_project(session, team, domestic)
    auth.login(team)
    assert (
        client.post(f"/suppliers/production/{project.id}/stage", data={"stage-stage": "approved"}).status_code
        == 302
    )
    refused = client.post(f"/suppliers/production/{project.id}/stage", data={"stage-stage": "prototype"})
    assert refused.status_code == 422 and "Say why the project goes back" in refused.text
    session.expire_all()
    assert session.get(ProductionProject, project.id).stage == "approved"
    client.post(
        f"/suppliers/production/{project.id}/stage",
        data={"stage-stage": "prototype", "stage-note": "Valve failed the test"},
    )
    page = client.get(f"/suppliers/production/{project.id}").text
    assert "Approved → Prototype" in page and "Valve failed the test" in page


def test_a_milestone_is_added_and_recorded_as_reached_from_the_project_page(
    client, auth, session, team, domestic
):
    project = make_project(session, team, domestic)
    auth.login(team)
    planned = today() - timedelta(days=2)
    client.post(
        f"/suppliers/production/{project.id}/milestones",
        data={"milestone-name": "Samples sent to RISE", "milestone-planned_on": planned.isoformat()},
    )
    milestone = session.scalar(select(Milestone).where(Milestone.project_id == project.id))
    page = client.get(f"/suppliers/production/{project.id}").text
    assert "Overdue" in page and "The project is at risk" in page
    future = client.post(
        f"/suppliers/production/milestones/{milestone.id}/reached",
        data={f"reached-{milestone.id}-actual_on": (today() + timedelta(days=1)).isoformat()},
    )
    assert future.status_code == 422 and "cannot have been reached in the future" in future.text
    client.post(
        f"/suppliers/production/milestones/{milestone.id}/reached",
        data={f"reached-{milestone.id}-actual_on": today().isoformat()},
    )
    session.expire_all()
    assert session.get(Milestone, milestone.id).actual_on == today()
    assert "The project is at risk" not in client.get(f"/suppliers/production/{project.id}").text


def test_a_plan_is_entered_for_a_range_of_iso_weeks_and_a_weeks_output_recorded(
    client, auth, session, team, domestic
):
    project = make_project(session, team, domestic)
    auth.login(team)
    response = client.post(
        f"/suppliers/production/{project.id}/plan",
        data={
            "plan-first_week": week(-1),
            "plan-last_week": week(2),
            "plan-planned_units": "10 000",
        },
    )
    assert response.status_code == 302
    client.post(
        f"/suppliers/production/{project.id}/actual",
        data={"actual-week": week(-1), "actual-actual_units": "7 000"},
    )
    rows = session.scalars(
        select(CapacityWeek).where(CapacityWeek.project_id == project.id).order_by(CapacityWeek.week_start)
    ).all()
    assert [(r.week_start, r.planned_units, r.actual_units) for r in rows] == [
        (this_week() + timedelta(weeks=i), 10_000, 7_000 if i == -1 else None) for i in range(-1, 3)
    ]
    page = client.get(f"/suppliers/production/{project.id}").text
    assert "Week " + week(-1) + ": 7,000 made against 10,000 planned (30 % below plan)" in page


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (
            {"plan-first_week": "next week", "plan-last_week": week(), "plan-planned_units": "5"},
            "plan-first_week",
            "for example 2026-W48",
        ),
        (
            {"plan-first_week": week(3), "plan-last_week": week(), "plan-planned_units": "5"},
            "plan-last_week",
            "comes before the first",
        ),
        (
            {"plan-first_week": week(), "plan-last_week": week(1), "plan-planned_units": "-5"},
            "plan-planned_units",
            "cannot be negative",
        ),
    ],
)
def test_a_refused_plan_shows_the_reason_beside_its_field_and_saves_nothing(
    client, auth, session, team, domestic, data, field, message
):
    project = make_project(session, team, domestic)
    auth.login(team)
    response = client.post(f"/suppliers/production/{project.id}/plan", data=data)
    assert response.status_code == 422
    assert f'id="{field}-error"' in response.text and message in response.text
    assert count(session, CapacityWeek) == 0


def test_output_for_a_week_that_has_not_begun_is_refused(client, auth, session, team, domestic):
    project = make_project(session, team, domestic)
    auth.login(team)
    response = client.post(
        f"/suppliers/production/{project.id}/actual",
        data={"actual-week": week(1), "actual-actual_units": "10"},
    )
    assert response.status_code == 422 and "The week has not begun yet." in response.text
    assert count(session, CapacityWeek) == 0


def test_dependencies_and_support_are_added_edited_and_removed(client, auth, session, team, domestic):
    project = make_project(session, team, domestic)
    auth.login(team)
    refused = client.post(
        f"/suppliers/production/{project.id}/dependencies",
        data={
            "dependency-material": "Meltblown nonwoven",
            "dependency-source": "Sinopec",
            "dependency-source_country": "CN",
            "dependency-risk_level": "high",
        },
    )
    assert refused.status_code == 422 and 'id="dependency-mitigation-error"' in refused.text
    assert count(session, RawMaterialDependency) == 0
    client.post(
        f"/suppliers/production/{project.id}/dependencies",
        data={
            "dependency-material": "Meltblown nonwoven",
            "dependency-source": "Sinopec",
            "dependency-source_country": "CN",
            "dependency-risk_level": "high",
            "dependency-mitigation": "Qualifying a Finnish source",
        },
    )
    dependency = session.scalar(select(RawMaterialDependency))
    assert (dependency.source_country, dependency.risk_level) == ("CN", "high")
    client.post(
        f"/suppliers/production/dependencies/{dependency.id}/edit",
        data={
            "material": "Meltblown nonwoven",
            "source": "Ahlstrom",
            "source_country": "FI",
            "risk_level": "medium",
        },
    )
    session.expire_all()
    assert (dependency.source, dependency.risk_level) == ("Ahlstrom", "medium")

    client.post(
        f"/suppliers/production/{project.id}/support",
        data={
            "support-kind": "advance_purchase_commitment",
            "support-amount": "1 250 000,50",
            "support-volume": "500000",
            "support-decided_on": today().isoformat(),
        },
    )
    support = session.scalar(select(ProductionSupport))
    assert (support.amount_ore, support.volume) == (125_000_050, 500_000)
    page = client.get(f"/suppliers/production/{project.id}").text
    assert "1,250,000.50 kr" in page and "Advance purchase commitment" in page
    edit = client.get(f"/suppliers/production/support/{support.id}/edit")
    assert 'value="1250000,50"' in edit.text
    bad = client.post(
        f"/suppliers/production/support/{support.id}/edit", data={"kind": "guarantee", "amount": "12,345"}
    )
    assert bad.status_code == 302, "a comma before three digits groups thousands"
    session.expire_all()
    assert support.amount_ore == 1_234_500
    wrong = client.post(
        f"/suppliers/production/support/{support.id}/edit", data={"kind": "guarantee", "amount": "1,2,3"}
    )
    assert wrong.status_code == 422 and 'id="amount-error"' in wrong.text
    client.post(f"/suppliers/production/support/{support.id}/remove")
    client.post(f"/suppliers/production/dependencies/{dependency.id}/remove")
    assert count(session, ProductionSupport) == 0 and count(session, RawMaterialDependency) == 0


# --- a supplier's projects -------------------------------------------------------------------------------------


def test_a_supplier_page_lists_its_projects_under_the_production_tab(
    client, auth, users, session, team, domestic
):
    make_project(session, team, domestic)
    other = make_supplier(session, produces_in_sweden=True, legal_name="Annan AB")
    session.commit()
    auth.login(team)
    page = client.get(f"/suppliers/{domestic.id}/production")
    assert page.status_code == 200
    assert "Respirators from Borås" in page.text
    assert f'href="/suppliers/production/new?supplier_id={domestic.id}"' in page.text
    assert "Respirators from Borås" not in client.get(f"/suppliers/{other.id}/production").text
    assert client.get("/suppliers/999999/production").status_code == 404


# --- the national capacity overview ----------------------------------------------------------------------------


def planned_and_reported(session, team, domestic):
    short = make_project(session, team, domestic, name="Short respirators")
    steady = make_project(session, team, domestic, name="Steady gloves", code="gloves")
    for project, actual in ((short, 600), (steady, 1000)):
        services.plan_capacity(
            session,
            team,
            project,
            first_week=this_week() - timedelta(weeks=2),
            last_week=this_week() + timedelta(weeks=2),
            planned_units=1000,
            tz=TZ,
        )
        services.record_actual(
            session,
            team,
            project,
            week_start=this_week() - timedelta(weeks=1),
            actual_units=actual,
            today=today(),
            tz=TZ,
        )
    session.commit()
    return short, steady


def test_the_capacity_overview_charts_each_category_and_lists_projects_at_risk_first(
    client, auth, users, session, team, domestic
):
    planned_and_reported(session, team, domestic)
    auth.login(users.make("auditor"))
    page = client.get("/suppliers/production/capacity")
    assert page.status_code == 200
    text = page.text
    assert text.index("Projects at risk") < text.index("Short respirators") < text.index("Other projects")
    assert text.index("Other projects") < text.index("Steady gloves", text.index("Other projects"))
    assert "600 made against 1,000 planned (40 % below plan)" in text
    chart = text[text.index("<svg") : text.index("</svg>") + 6]
    svg = ET.fromstring(chart)
    assert svg.find(f"{SVG}title").text == "Domestic capacity: Respirators (FFP2/FFP3)"
    actual_bars = svg.find(f"{SVG}g[@data-series='actual']").findall(f"{SVG}rect")
    assert [bar.get("data-week") for bar in actual_bars] == [week(-1)]
    assert len(svg.find(f"{SVG}g[@data-series='planned']").findall(f"{SVG}rect")) == 5
    assert f"{week(-8)}" in text and f"{week(8)}" in text, "eight weeks back and ahead by default"


def test_the_capacity_overview_narrows_to_a_category_and_a_range_and_refuses_a_bad_range(
    client, auth, session, team, domestic
):
    planned_and_reported(session, team, domestic)
    auth.login(team)
    gloves = client.get(
        f"/suppliers/production/capacity?category=gloves&first={week(-1)}&last={week(1)}"
    ).text
    assert "Steady gloves" in gloves and "Short respirators" not in gloves
    assert f'<th scope="row">{week(-2)}' not in gloves and f'<th scope="row">{week(-1)}' in gloves
    bad = client.get(f"/suppliers/production/capacity?first={week(2)}&last={week(-2)}")
    assert bad.status_code == 422 and "The last week comes before the first." in bad.text
    assert "The default weeks are shown." in bad.text
    garbage = client.get("/suppliers/production/capacity?first=soon")
    assert garbage.status_code == 422 and 'value="soon"' in garbage.text


def test_the_capacity_table_exports_as_csv_and_xlsx(client, auth, session, team, domestic):
    planned_and_reported(session, team, domestic)
    auth.login(team)
    csv_response = client.get(f"/suppliers/production/capacity?format=csv&first={week(-1)}&last={week(-1)}")
    lines = csv_response.data.decode("utf-8-sig").splitlines()
    assert (
        lines[0]
        == "Category;Week;Week starts;Planned units;Actual units;Difference;Projects with a plan;Projects reporting"
    )
    assert f"Respirators (FFP2/FFP3);{week(-1)};{this_week() - timedelta(weeks=1)};1000;600;-400;1;1" in lines
    xlsx = client.get(
        f"/suppliers/production/capacity?format=xlsx&category=gloves&first={week(-1)}&last={week(0)}"
    )
    assert 'filename="domestic-capacity-gloves-' in xlsx.headers["Content-Disposition"]
    rows = list(load_workbook(io.BytesIO(xlsx.data)).active.iter_rows(values_only=True))
    assert rows[1][3:6] == (1000, 1000, 0) and len(rows) == 3


def test_the_capacity_overview_is_a_pdf_for_the_agencys_reports(client, auth, users, session, team, domestic):
    planned_and_reported(session, team, domestic)
    auth.login(users.make("national_coordinator"))
    response = client.get("/suppliers/production/capacity.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    pages = [page.extract_text() for page in PdfReader(io.BytesIO(response.data)).pages]
    text = " ".join(" ".join(pages).split())  # table cells wrap their words over lines
    assert "Short respirators" in text and "40 % below plan" in text
    assert "Domestic capacity: Respirators (FFP2/FFP3)" in text, "the chart is drawn in the PDF"
    assert len(pages) == 3, "the projects at risk, then a page per category"
