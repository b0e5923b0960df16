"""Domestic production on the web: projects, their stages, milestones, capacity plan, dependencies and support,
a supplier's projects, and the national capacity overview (chart, table, CSV/XLSX and PDF).

Everyone with VIEW_SUPPLIERS reads; only MANAGE_PRODUCTION (the production team) changes anything.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from flask import flash, redirect, render_template, request, url_for
from flask_babel import format_date, format_decimal, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import case, select
from sqlalchemy.orm import contains_eager, selectinload

from allocation import exports
from allocation.overviews import ExportTable
from app.auth.access import has_permission, require
from app.auth.roles import Permission
from app.catalog.models import Product, ProductCategory
from app.errors import DomainError
from app.extensions import db
from app.forms import apply_domain_error, form_status
from app.listing import Column, Filter, Listing
from app.main import register_nav
from app.pdf import pdf_response, render_pdf
from app.timeutil import local_timezone, local_today
from suppliers import bp, capacity, identifiers
from suppliers import services_production as services
from suppliers.charts_production import CapacityChartText, capacity_chart
from suppliers.forms_production import (
    ActualForm,
    CapacityRangeForm,
    DependencyForm,
    MilestoneForm,
    MilestoneReachedForm,
    NewProjectForm,
    PlanForm,
    ProjectForm,
    StageForm,
    SupportForm,
)
from suppliers.models import (
    Milestone,
    ProductionProject,
    ProductionStage,
    ProductionSupport,
    RawMaterialDependency,
    RiskLevel,
    Supplier,
    SupportKind,
)

STAGE_TONES = {ProductionStage.FULL_PRODUCTION: "green", ProductionStage.ENDED: "neutral"}
RISK_TONES = {RiskLevel.HIGH: "red", RiskLevel.MEDIUM: "amber", RiskLevel.LOW: "green"}


def register_navigation() -> None:
    register_nav("suppliers.projects", _l("Domestic production"), Permission.VIEW_SUPPLIERS, order=46)


# --- helpers shared by the pages --------------------------------------------------------------------------------


def _locale() -> str:
    return str(get_locale() or "sv")


def _name(item) -> str:
    """A catalogue product's or category's name in the page's language."""
    return item.name_in(_locale())


def format_sek(ore: int | None) -> str:
    """Whole öre as kronor with öre in the reader's number format: ``1 250 000,50 kr``."""
    if ore is None:
        return ""
    return _("%(amount)s kr", amount=format_decimal(Decimal(ore) / 100, format="#,##0.00"))


def week_label(day: date) -> str:
    return capacity.iso_week_label(day)


def stage_label(stage: str) -> str:
    return ProductionStage(stage).label


def stage_tone(stage: str) -> str:
    return STAGE_TONES.get(ProductionStage(stage), "amber" if stage == ProductionStage.RAMP_UP else "neutral")


def risk_text(reason: capacity.RiskReason) -> str:
    """One reason a project is at risk, as a sentence."""
    if reason.kind is capacity.RiskKind.MILESTONE_OVERDUE:
        return _(
            "Milestone “%(name)s” overdue since %(date)s", name=reason.subject, date=format_date(reason.on)
        )
    if reason.kind is capacity.RiskKind.CAPACITY_SHORTFALL:
        below = (Decimal(reason.planned - reason.actual) * 100 / reason.planned).quantize(Decimal(1))
        return _(
            "Week %(week)s: %(actual)s made against %(planned)s planned (%(below)s %% below plan)",
            week=week_label(reason.on),
            actual=format_decimal(reason.actual),
            planned=format_decimal(reason.planned),
            below=format_decimal(below),
        )
    return _("High-risk dependency: %(material)s", material=reason.subject)


def _page_helpers() -> dict:
    return {
        "sek": format_sek,
        "week_label": week_label,
        "stage_label": stage_label,
        "stage_tone": stage_tone,
        "risk_text": risk_text,
        "risk_tones": RISK_TONES,
        "localized": _name,
        "country_name": lambda code: identifiers.country_name(code) if code else "",
        "may_manage": has_permission(current_user, Permission.MANAGE_PRODUCTION),
        "stage_choices": ProductionStage.choices(),
        "risk_levels": dict(RiskLevel.choices()),
        "support_kinds": dict(SupportKind.choices()),
        "falls_short": capacity.falls_short,
    }


def _project_or_404(project_id: int) -> ProductionProject:
    return services.get_or_404(db.session, ProductionProject, project_id)


def _attempt(form, action) -> tuple[bool, object]:
    """Validate ``form`` and run the service ``action``; (False, None) with the errors on the form if either
    refuses (the session rolled back), else (True, what the action returned)."""
    if not form.validate_on_submit():
        return False, None
    try:
        result = action()
    except DomainError as error:
        db.session.rollback()
        apply_domain_error(form, error)
        return False, None
    return True, result


def _done(project: ProductionProject, message: str, anchor: str | None = None):
    db.session.commit()
    flash(message, "success")
    return redirect(url_for("suppliers.project", project_id=project.id, _anchor=anchor))


# --- the list of projects ---------------------------------------------------------------------------------------


def _stage_order():
    return case(
        {stage.value: index for index, stage in enumerate(ProductionStage)}, value=ProductionProject.stage
    )


def _latest_week_text(project: ProductionProject) -> str:
    latest = capacity.latest_actual_week(services.week_figures(project), local_today())
    if latest is None:
        return ""
    planned = format_decimal(latest.planned) if latest.planned is not None else "—"
    return _(
        "%(week)s: %(actual)s of %(planned)s",
        week=week_label(latest.week_start),
        actual=format_decimal(latest.actual),
        planned=planned,
    )


def project_listing() -> Listing:
    risks = services.risks_by_project(db.session, today=local_today(), tz=local_timezone())
    categories = db.session.scalars(select(ProductCategory).order_by(ProductCategory.sort_order)).all()
    suppliers = db.session.scalars(
        select(Supplier)
        .where(Supplier.id.in_(select(ProductionProject.supplier_id)))
        .order_by(Supplier.legal_name)
    ).all()

    def at_risk(stmt, value):
        wanted = value == "yes"
        return stmt.where(
            ProductionProject.id.in_([pid for pid, reasons in risks.items() if bool(reasons) == wanted])
        )

    return Listing(
        select(ProductionProject)
        .join(ProductionProject.supplier)
        .join(ProductionProject.product)
        .join(Product.category)
        .options(
            contains_eager(ProductionProject.supplier),
            contains_eager(ProductionProject.product).contains_eager(Product.category),
            selectinload(ProductionProject.responsible),
            selectinload(ProductionProject.capacity_weeks),
        ),
        columns=[
            Column(
                "name",
                _l("Project"),
                lambda p: p.name,
                sort=ProductionProject.name,
                link=lambda p: url_for("suppliers.project", project_id=p.id),
            ),
            Column("supplier", _l("Supplier"), lambda p: p.supplier.legal_name, sort=Supplier.legal_name),
            Column("product", _l("Product"), lambda p: _name(p.product), sort=Product.sku),
            Column(
                "category",
                _l("Category"),
                lambda p: _name(p.product.category),
                sort=ProductCategory.sort_order,
            ),
            Column("stage", _l("Stage"), lambda p: stage_label(p.stage), sort=_stage_order()),
            Column("site", _l("Site"), lambda p: p.site, sort=ProductionProject.site),
            Column("responsible", _l("Responsible"), lambda p: p.responsible.name if p.responsible else None),
            Column(
                "volume",
                _l("Contracted volume"),
                lambda p: p.contracted_volume,
                sort=ProductionProject.contracted_volume,
            ),
            Column("latest", _l("Latest week made"), _latest_week_text),
            Column("risk", _l("At risk"), lambda p: "; ".join(risk_text(r) for r in risks.get(p.id, []))),
            Column(
                "updated",
                _l("Updated"),
                lambda p: p.updated_at.astimezone(local_timezone()).date(),
                sort=ProductionProject.updated_at,
            ),
        ],
        search=[
            ProductionProject.name,
            ProductionProject.site,
            ProductionProject.contract_reference,
            Supplier.legal_name,
            Product.name_sv,
            Product.name_en,
            Product.sku,
        ],
        filters=[
            Filter(
                "stage",
                _l("Stage"),
                ProductionStage.choices(),
                lambda stmt, value: stmt.where(ProductionProject.stage == value),
            ),
            Filter(
                "category",
                _l("Category"),
                [(c.code, _name(c)) for c in categories],
                lambda stmt, value: stmt.where(ProductCategory.code == value),
            ),
            Filter(
                "supplier",
                _l("Supplier"),
                [(str(s.id), s.legal_name) for s in suppliers],
                lambda stmt, value: stmt.where(ProductionProject.supplier_id == int(value)),
            ),
            Filter("risk", _l("Risk"), [("yes", _l("At risk")), ("no", _l("Not at risk"))], at_risk),
        ],
        default_sort="name",
        csv_name="production-projects",
    )


@bp.route("/production/")
@require(Permission.VIEW_SUPPLIERS)
def projects():
    return project_listing().respond(
        lambda page: render_template("suppliers/production_index.html", page=page, **_page_helpers())
    )


# --- a project ---------------------------------------------------------------------------------------------------


def _project_form(form_class, obj=None, supplier_id: int | None = None):
    form = form_class(obj=obj)
    suppliers = services.domestic_suppliers(db.session)
    if obj is not None and obj.supplier not in suppliers:
        suppliers.insert(0, obj.supplier)
    form.supplier_id.choices = [("", _("Choose …"))] + [
        (s.id, f"{s.legal_name} ({s.identifier})") for s in suppliers
    ]
    products = db.session.scalars(
        select(Product)
        .join(Product.category)
        .where(Product.active.is_(True))
        .order_by(ProductCategory.sort_order, Product.sku)
    ).all()
    if obj is not None and obj.product not in products:
        products = [obj.product, *products]
    groups: dict[str, list] = {}
    for product in products:
        groups.setdefault(_name(product.category), []).append((product.id, f"{product.sku} {_name(product)}"))
    form.product_id.choices = {"": [("", _("Choose …"))], **groups}
    form.responsible_id.choices = [("", "—")] + [(u.id, u.name) for u in services.production_team(db.session)]
    if supplier_id is not None and not form.is_submitted():
        form.supplier_id.data = supplier_id
    return form


def _project_data(form) -> services.ProjectData:
    return services.ProjectData(
        supplier_id=form.supplier_id.data,
        product_id=form.product_id.data,
        name=form.name.data,
        site=form.site.data,
        responsible_id=form.responsible_id.data,
        contracted_volume=form.contracted_volume.data,
        contract_reference=form.contract_reference.data,
        contract_signed_on=form.contract_signed_on.data,
        notes=form.notes.data,
    )


def _render_form(
    template_title: str, form, cancel: str, submit: str | None = None, hints: dict | None = None
):
    return render_template(
        "suppliers/production_form.html",
        title=template_title,
        form=form,
        cancel=cancel,
        submit=submit,
        hints=hints or {},
    ), form_status(form)


@bp.route("/production/new", methods=["GET", "POST"])
@require(Permission.MANAGE_PRODUCTION)
def new_project():
    supplier_id = request.args.get("supplier_id", type=int)
    form = _project_form(NewProjectForm, supplier_id=supplier_id)
    ok, project = _attempt(
        form,
        lambda: services.create_project(
            db.session, current_user, _project_data(form), today=local_today(), stage=form.stage.data
        ),
    )
    if ok:
        return _done(project, _("The production project %(name)s is registered.", name=project.name))
    cancel = (
        url_for("suppliers.supplier_projects", supplier_id=supplier_id)
        if supplier_id
        else url_for(".projects")
    )
    return _render_form(
        _("New production project"),
        form,
        cancel,
        _("Register the project"),
        {"supplier_id": _("Only suppliers marked as producing in Sweden are listed.")},
    )


@bp.route("/production/<int:project_id>/edit", methods=["GET", "POST"])
@require(Permission.MANAGE_PRODUCTION)
def edit_project(project_id: int):
    project = _project_or_404(project_id)
    form = _project_form(ProjectForm, obj=project)
    if _attempt(
        form,
        lambda: services.update_project(
            db.session, current_user, project, _project_data(form), today=local_today()
        ),
    )[0]:
        return _done(project, _("The project is saved."))
    return _render_form(
        _("Edit %(name)s", name=project.name), form, url_for(".project", project_id=project.id)
    )


def _stage_form(project: ProductionProject, formdata=None) -> StageForm:
    form = StageForm(formdata=formdata, prefix="stage")
    stages = services.next_stages(project.stage)
    form.stage.choices = [("", _("Choose …")), *((s.value, s.label) for s in stages)] if stages else []
    return form


def _render_project(project: ProductionProject, **forms):
    """The project page; ``forms`` holds the one form that failed (shown with its errors, answered with 422)."""
    today = local_today()
    milestones = project.milestones
    defaults = {
        "stage_form": lambda: _stage_form(project, formdata=None),
        "milestone_form": lambda: MilestoneForm(formdata=None, prefix="milestone"),
        "plan_form": lambda: PlanForm(formdata=None, prefix="plan"),
        "actual_form": lambda: ActualForm(formdata=None, prefix="actual", week=capacity.monday_of(today)),
        "dependency_form": lambda: _dependency_form(formdata=None, prefix="dependency"),
        "support_form": lambda: SupportForm(formdata=None, prefix="support"),
    }
    context = {name: forms.get(name) or make() for name, make in defaults.items()}
    reached = {
        m.id: MilestoneReachedForm(formdata=None, prefix=f"reached-{m.id}", actual_on=today)
        for m in milestones
        if m.actual_on is None
    }
    reached.update(forms.get("reached_forms", {}))
    shown = [form for name, form in forms.items() if name != "reached_forms"]
    failed = any(form_status(form) == 422 for form in [*shown, *forms.get("reached_forms", {}).values()])
    facts = services.project_facts(project, local_timezone())
    return render_template(
        "suppliers/production_project.html",
        project=project,
        today=today,
        reasons=capacity.risk_reasons(facts, today),
        ended_on=facts.ended_on,
        weeks=sorted(project.capacity_weeks, key=lambda w: w.week_start, reverse=True),
        reached_forms=reached,
        **context,
        **_page_helpers(),
    ), (422 if failed else 200)


@bp.route("/production/<int:project_id>")
@require(Permission.VIEW_SUPPLIERS)
def project(project_id: int):
    return _render_project(_project_or_404(project_id))


def _handle(project: ProductionProject, form, form_name: str, action, message: str, anchor: str):
    """Run ``action`` when ``form`` is valid: commit and go back to the project, else show the form's errors."""
    if _attempt(form, action)[0]:
        return _done(project, message, anchor)
    return _render_project(project, **{form_name: form})


@bp.route("/production/<int:project_id>/stage", methods=["POST"])
@require(Permission.MANAGE_PRODUCTION)
def change_stage(project_id: int):
    project = _project_or_404(project_id)
    form = _stage_form(project, formdata=request.form)
    return _handle(
        project,
        form,
        "stage_form",
        lambda: services.change_stage(db.session, current_user, project, form.stage.data, form.note.data),
        _("The project moved to a new stage."),
        "stage",
    )


@bp.route("/production/<int:project_id>/milestones", methods=["POST"])
@require(Permission.MANAGE_PRODUCTION)
def add_milestone(project_id: int):
    project = _project_or_404(project_id)
    form = MilestoneForm(prefix="milestone")
    return _handle(
        project,
        form,
        "milestone_form",
        lambda: services.add_milestone(
            db.session,
            current_user,
            project,
            name=form.name.data,
            planned_on=form.planned_on.data,
            actual_on=form.actual_on.data,
            today=local_today(),
        ),
        _("The milestone is added."),
        "milestones",
    )


@bp.route("/production/milestones/<int:milestone_id>/reached", methods=["POST"])
@require(Permission.MANAGE_PRODUCTION)
def milestone_reached(milestone_id: int):
    milestone = services.get_or_404(db.session, Milestone, milestone_id)
    form = MilestoneReachedForm(prefix=f"reached-{milestone.id}")
    project = milestone.project
    if _attempt(
        form,
        lambda: services.record_milestone_reached(
            db.session, current_user, milestone, form.actual_on.data, today=local_today()
        ),
    )[0]:
        return _done(project, _("The milestone is recorded as reached."), "milestones")
    return _render_project(project, reached_forms={milestone.id: form})


@bp.route("/production/milestones/<int:milestone_id>/edit", methods=["GET", "POST"])
@require(Permission.MANAGE_PRODUCTION)
def edit_milestone(milestone_id: int):
    milestone = services.get_or_404(db.session, Milestone, milestone_id)
    project = milestone.project
    form = MilestoneForm(obj=milestone)
    if _attempt(
        form,
        lambda: services.update_milestone(
            db.session,
            current_user,
            milestone,
            name=form.name.data,
            planned_on=form.planned_on.data,
            actual_on=form.actual_on.data,
            today=local_today(),
        ),
    )[0]:
        return _done(project, _("The milestone is saved."), "milestones")
    return _render_form(
        _("Milestone of %(name)s", name=project.name),
        form,
        url_for(".project", project_id=project.id, _anchor="milestones"),
    )


def _remove(row, project: ProductionProject, message: str, anchor: str):
    services.remove(db.session, current_user, row)
    return _done(project, message, anchor)


@bp.route("/production/milestones/<int:milestone_id>/remove", methods=["POST"])
@require(Permission.MANAGE_PRODUCTION)
def remove_milestone(milestone_id: int):
    milestone = services.get_or_404(db.session, Milestone, milestone_id)
    return _remove(milestone, milestone.project, _("The milestone is removed."), "milestones")


@bp.route("/production/<int:project_id>/plan", methods=["POST"])
@require(Permission.MANAGE_PRODUCTION)
def plan_capacity(project_id: int):
    project = _project_or_404(project_id)
    form = PlanForm(prefix="plan")
    return _handle(
        project,
        form,
        "plan_form",
        lambda: services.plan_capacity(
            db.session,
            current_user,
            project,
            first_week=form.first_week.data,
            last_week=form.last_week.data,
            planned_units=form.planned_units.data,
            tz=local_timezone(),
        ),
        _("The capacity plan is saved."),
        "capacity",
    )


@bp.route("/production/<int:project_id>/actual", methods=["POST"])
@require(Permission.MANAGE_PRODUCTION)
def record_actual(project_id: int):
    project = _project_or_404(project_id)
    form = ActualForm(prefix="actual")
    return _handle(
        project,
        form,
        "actual_form",
        lambda: services.record_actual(
            db.session,
            current_user,
            project,
            week_start=form.week.data,
            actual_units=form.actual_units.data,
            today=local_today(),
            tz=local_timezone(),
        ),
        _("The week's output is recorded."),
        "capacity",
    )


def _dependency_form(**kwargs) -> DependencyForm:
    form = DependencyForm(**kwargs)
    form.source_country.choices = [("", "—"), *identifiers.country_choices()]
    return form


def _dependency_data(form: DependencyForm) -> services.DependencyData:
    return services.DependencyData(
        material=form.material.data,
        source=form.source.data,
        source_country=form.source_country.data or None,
        risk_level=form.risk_level.data,
        mitigation=form.mitigation.data,
    )


@bp.route("/production/<int:project_id>/dependencies", methods=["POST"])
@require(Permission.MANAGE_PRODUCTION)
def add_dependency(project_id: int):
    project = _project_or_404(project_id)
    form = _dependency_form(prefix="dependency")
    return _handle(
        project,
        form,
        "dependency_form",
        lambda: services.add_dependency(db.session, current_user, project, _dependency_data(form)),
        _("The dependency is added."),
        "dependencies",
    )


@bp.route("/production/dependencies/<int:dependency_id>/edit", methods=["GET", "POST"])
@require(Permission.MANAGE_PRODUCTION)
def edit_dependency(dependency_id: int):
    dependency = services.get_or_404(db.session, RawMaterialDependency, dependency_id)
    project = dependency.project
    form = _dependency_form(obj=dependency)
    if _attempt(
        form, lambda: services.update_dependency(db.session, current_user, dependency, _dependency_data(form))
    )[0]:
        return _done(project, _("The dependency is saved."), "dependencies")
    return _render_form(
        _("Raw material of %(name)s", name=project.name),
        form,
        url_for(".project", project_id=project.id, _anchor="dependencies"),
    )


@bp.route("/production/dependencies/<int:dependency_id>/remove", methods=["POST"])
@require(Permission.MANAGE_PRODUCTION)
def remove_dependency(dependency_id: int):
    dependency = services.get_or_404(db.session, RawMaterialDependency, dependency_id)
    return _remove(dependency, dependency.project, _("The dependency is removed."), "dependencies")


def _support_data(form: SupportForm) -> services.SupportData:
    return services.SupportData(
        kind=form.kind.data,
        amount_ore=form.amount.data,
        volume=form.volume.data,
        decided_on=form.decided_on.data,
        notes=form.notes.data,
    )


@bp.route("/production/<int:project_id>/support", methods=["POST"])
@require(Permission.MANAGE_PRODUCTION)
def add_support(project_id: int):
    project = _project_or_404(project_id)
    form = SupportForm(prefix="support")
    return _handle(
        project,
        form,
        "support_form",
        lambda: services.add_support(db.session, current_user, project, _support_data(form), today=local_today()),
        _("The support is added."),
        "support",
    )


@bp.route("/production/support/<int:support_id>/edit", methods=["GET", "POST"])
@require(Permission.MANAGE_PRODUCTION)
def edit_support(support_id: int):
    support = services.get_or_404(db.session, ProductionSupport, support_id)
    project = support.project
    form = SupportForm(obj=support)
    if not form.is_submitted():
        form.amount.data = support.amount_ore
    if _attempt(
        form,
        lambda: services.update_support(
            db.session, current_user, support, _support_data(form), today=local_today()
        ),
    )[0]:
        return _done(project, _("The support is saved."), "support")
    return _render_form(
        _("Support for %(name)s", name=project.name),
        form,
        url_for(".project", project_id=project.id, _anchor="support"),
    )


@bp.route("/production/support/<int:support_id>/remove", methods=["POST"])
@require(Permission.MANAGE_PRODUCTION)
def remove_support(support_id: int):
    support = services.get_or_404(db.session, ProductionSupport, support_id)
    return _remove(support, support.project, _("The support is removed."), "support")


# --- a supplier's projects ---------------------------------------------------------------------------------------


@bp.route("/<int:supplier_id>/production")
@require(Permission.VIEW_SUPPLIERS)
def supplier_projects(supplier_id: int):
    supplier = services.get_or_404(db.session, Supplier, supplier_id)
    today, tz = local_today(), local_timezone()
    rows = [
        (p, capacity.risk_reasons(services.project_facts(p, tz), today))
        for p in services.projects_of_supplier(db.session, supplier)
    ]
    return render_template(
        "suppliers/production_supplier.html", supplier=supplier, rows=rows, **_page_helpers()
    )


# --- the national capacity overview ---------------------------------------------------------------------------------


def _overview_request():
    """The form, the chosen weeks and category, and the overview (None when the form has errors)."""
    form = CapacityRangeForm(request.args)
    categories = db.session.scalars(select(ProductCategory).order_by(ProductCategory.sort_order)).all()
    form.category.choices = [("", _("All categories"))] + [(c.code, _name(c)) for c in categories]
    form.validate()
    default_first, default_last = capacity.default_range(local_today())
    first = form.first.data or default_first
    last = form.last.data or default_last
    if not form.first.errors and not form.last.errors:
        if last < first:
            form.last.errors = [_("The last week comes before the first.")]
        elif len(capacity.weeks_in(first, last)) > capacity.MAX_RANGE_WEEKS:
            form.last.errors = [_("Show at most %(n)s weeks at a time.", n=capacity.MAX_RANGE_WEEKS)]
    if form.first.errors or form.last.errors:
        first, last = default_first, default_last
    form.first.data, form.last.data = first, last
    form.first.raw_data = form.first.raw_data if form.first.errors else None
    form.last.raw_data = form.last.raw_data if form.last.errors else None
    category = next((c for c in categories if c.code == form.category.data), None)
    overview = services.capacity_overview(
        db.session, first_week=first, last_week=last, today=local_today(), tz=local_timezone(), category=category
    )
    return form, overview, category


def chart_text(name: str, totals: list[capacity.WeekTotal]) -> CapacityChartText:
    planned = sum(t.planned or 0 for t in totals)
    actual = sum(t.actual or 0 for t in totals)
    reported = [t for t in totals if t.actual is not None]
    short = [week_label(t.week_start) for t in totals if t.falls_short]
    description = (
        _(
            "%(first)s to %(last)s: %(planned)s units planned, %(actual)s made in the %(reported)s weeks reported.",
            first=week_label(totals[0].week_start),
            last=week_label(totals[-1].week_start),
            planned=format_decimal(planned),
            actual=format_decimal(actual),
            reported=len(reported),
        )
        if totals
        else ""
    )
    if short:
        description += " " + _("More than 20 %% below plan in %(weeks)s.", weeks=", ".join(short))
    return CapacityChartText(
        title=_("Domestic capacity: %(category)s", category=name),
        description=description,
        planned=_("Planned"),
        actual=_("Actual"),
        short=_("Actual more than 20 % below plan"),
        axis=_("Units per week"),
        current=_("This week"),
        no_data=_("No capacity planned or reported in these weeks"),
    )


def _charts(overview: services.CapacityOverview) -> dict[int, Markup]:
    # The chart escapes every text it draws, so its markup can go into the page as it is.
    return {
        entry.category.id: Markup(
            capacity_chart(
                entry.totals,
                text=chart_text(_name(entry.category), entry.totals),
                current_week=overview.current_week,
                week_label=lambda day: _("W%(week)s", week=day.isocalendar()[1]),
                number_label=format_decimal,
                id_prefix=f"capacity-{entry.category.code}",
            )
        )
        for entry in overview.categories
    }


def _export(overview: services.CapacityOverview) -> ExportTable:
    rows = [
        [
            _name(entry.category),
            week_label(t.week_start),
            t.week_start,
            t.planned,
            t.actual,
            t.difference,
            t.planning,
            t.reporting,
        ]
        for entry in overview.categories
        for t in entry.totals
    ]
    return ExportTable(
        title=_("Domestic capacity"),
        header=[
            _("Category"),
            _("Week"),
            _("Week starts"),
            _("Planned units"),
            _("Actual units"),
            _("Difference"),
            _("Projects with a plan"),
            _("Projects reporting"),
        ],
        rows=rows,
    )


@bp.route("/production/capacity", endpoint="capacity")
@require(Permission.VIEW_SUPPLIERS)
def capacity_overview():
    form, overview, category = _overview_request()
    fmt = request.args.get("format")
    if fmt in exports.FORMATS:
        basename = "domestic-capacity" + (f"-{category.code}" if category else "")
        return exports.export_response(_export(overview), fmt, basename=basename, today=local_today(), tz=local_timezone())
    return render_template(
        "suppliers/capacity.html",
        form=form,
        overview=overview,
        charts=_charts(overview),
        category=category,
        **_page_helpers(),
    ), form_status(form)


@bp.route("/production/capacity.pdf")
@require(Permission.VIEW_SUPPLIERS)
def capacity_pdf():
    _form, overview, category = _overview_request()
    title = _(
        "Domestic capacity %(first)s–%(last)s",
        first=week_label(overview.first_week),
        last=week_label(overview.last_week),
    )
    pdf = render_pdf(
        "suppliers/capacity_pdf.html",
        title=title,
        overview=overview,
        charts=_charts(overview),
        category=category,
        **_page_helpers(),
    )
    return pdf_response(
        pdf, f"domestic-capacity-{week_label(overview.first_week)}-{week_label(overview.last_week)}.pdf"
    )
