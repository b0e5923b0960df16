"""Organisation list and detail pages, limited to the viewer's scope."""
from __future__ import annotations

from flask import render_template, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from app.auth.access import ensure_visible, organisation_scope_filter, require
from app.auth.roles import Permission
from app.extensions import db
from app.listing import Column, Filter, Listing
from app.organisations import bp, services
from app.organisations.models import County, Organisation, OrganisationKind

KIND_LABELS = {
    OrganisationKind.AGENCY: _l("National agency"),
    OrganisationKind.GOVERNMENT: _l("Government offices"),
    OrganisationKind.COUNTY_BOARD: _l("County administrative board"),
    OrganisationKind.REGION: _l("Region"),
    OrganisationKind.MUNICIPALITY: _l("Municipality"),
}


def kind_label(organisation: Organisation) -> str:
    label = str(KIND_LABELS[OrganisationKind(organisation.kind)])
    if organisation.kind == OrganisationKind.REGION and organisation.is_municipality:
        label = f"{label} + {KIND_LABELS[OrganisationKind.MUNICIPALITY]}"
    return label


def _filter_kind(stmt, value):
    if value == OrganisationKind.MUNICIPALITY:
        return stmt.where(Organisation.municipality_code.is_not(None))
    return stmt.where(Organisation.kind == value)


def organisation_listing() -> Listing:
    counties = db.session.scalars(select(County).order_by(County.code)).all()
    return Listing(
        select(Organisation).where(organisation_scope_filter(current_user)),
        columns=[
            Column("code", _l("Code"), lambda o: o.municipality_code or o.code, sort=Organisation.code),
            Column(
                "name",
                _l("Name"),
                lambda o: o.name,
                sort=Organisation.name,
                link=lambda o: url_for("organisations.detail", organisation_id=o.id),
            ),
            Column("kind", _l("Kind"), kind_label, sort=Organisation.kind),
            Column("county", _l("County"), lambda o: o.county.name if o.county else "", sort=Organisation.county_code),
            Column("seat", _l("Seat"), lambda o: o.seat, sort=Organisation.seat),
            Column("population", _l("Population"), lambda o: o.population, sort=Organisation.population),
        ],
        search=[Organisation.name, Organisation.code, Organisation.municipality_code, Organisation.seat],
        filters=[
            Filter("kind", _l("Kind"), [(k.value, v) for k, v in KIND_LABELS.items()], _filter_kind),
            Filter(
                "county",
                _l("County"),
                [(c.code, f"{c.code} {c.name}") for c in counties],
                lambda stmt, value: stmt.where(Organisation.county_code == value),
            ),
        ],
        default_sort="code",
        csv_name="organisations",
    )


@bp.route("/")
@require(Permission.VIEW_ORGANISATIONS)
def index():
    return organisation_listing().respond(
        lambda page: render_template("organisations/index.html", page=page)
    )


@bp.route("/<int:organisation_id>")
@require(Permission.VIEW_ORGANISATIONS)
def detail(organisation_id: int):
    organisation = ensure_visible(current_user, db.session.get(Organisation, organisation_id))
    return render_template(
        "organisations/detail.html",
        organisation=organisation,
        kind=kind_label(organisation),
        population=services.population_of(db.session, organisation),
        members=services.county_members(db.session, organisation, organisation_scope_filter(current_user)),
        kind_label=kind_label,
    )
