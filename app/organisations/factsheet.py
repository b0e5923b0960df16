"""The organisation fact sheet (faktablad) as PDF: who the organisation is, its population and its users."""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.auth.access import ensure_visible, require
from app.auth.models import User, UserRole
from app.auth.roles import Permission, Role
from app.extensions import db
from app.organisations import bp
from app.organisations.models import Organisation, OrganisationKind
from app.organisations.services import display_name, population_of
from app.organisations.views import kind_label
from app.pdf import pdf_response, render_pdf


@dataclass(frozen=True)
class FactSheet:
    organisation: Organisation
    name: str
    kind: str
    population: int | None
    municipalities: list[Organisation]  # the county's, for a county board or a region; else empty
    users_by_role: list[tuple[str, int]]  # (role label, active users holding it)
    user_count: int


def fact_sheet(session: Session, organisation: Organisation) -> FactSheet:
    """Gather what the fact sheet shows. The county's municipalities and their populations are public
    reference data (SCB), listed in full whoever asks, unlike the organisations' own reports."""
    municipalities: list[Organisation] = []
    covers_county = organisation.kind in (OrganisationKind.COUNTY_BOARD, OrganisationKind.REGION)
    if covers_county and organisation.county_code:
        municipalities = list(
            session.scalars(
                select(Organisation)
                .where(
                    Organisation.county_code == organisation.county_code,
                    Organisation.municipality_code.is_not(None),
                )
                .order_by(Organisation.municipality_code)
            )
        )
    active_here = (User.organisation_id == organisation.id, User.active.is_(True))
    role_counts = dict(
        session.execute(
            select(UserRole.role, func.count())
            .join(User, UserRole.user_id == User.id)
            .where(*active_here)
            .group_by(UserRole.role)
        ).all()
    )
    users_by_role = [(role.label, role_counts[role.value]) for role in Role if role.value in role_counts]
    return FactSheet(
        organisation=organisation,
        name=display_name(organisation),
        kind=kind_label(organisation),
        population=population_of(session, organisation),
        municipalities=municipalities,
        users_by_role=users_by_role,
        user_count=session.scalar(select(func.count()).select_from(User).where(*active_here)) or 0,
    )


@bp.route("/<int:organisation_id>/factsheet.pdf")
@require(Permission.VIEW_ORGANISATIONS)
def factsheet(organisation_id: int):
    organisation = ensure_visible(current_user, db.session.get(Organisation, organisation_id))
    sheet = fact_sheet(db.session, organisation)
    pdf = render_pdf(
        "organisations/factsheet_pdf.html", title=_("Fact sheet: %(name)s", name=sheet.name), sheet=sheet
    )
    return pdf_response(pdf, f"factsheet-{organisation.municipality_code or organisation.code}.pdf")
