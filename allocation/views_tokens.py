"""API token pages: create a token (its secret is shown once, in the answer to the POST), list and revoke."""
from __future__ import annotations

from datetime import datetime

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import SelectField, StringField
from wtforms.validators import InputRequired, Length

from allocation import bp, tokens
from allocation.models import ApiToken
from app.auth.access import require
from app.auth.models import User
from app.auth.roles import Permission
from app.errors import NotFoundError
from app.extensions import db
from app.forms import apply_domain_error, form_status
from app.listing import EXPORT_FORMATS, Column, Filter, Listing
from app.main import register_nav
from app.organisations.models import Organisation


def register_navigation() -> None:
    register_nav("allocation.tokens", _l("API tokens"), Permission.MANAGE_API_TOKENS, order=87)


class TokenForm(FlaskForm):
    """A new token: what it is for and, for users who manage several organisations, whose it is."""

    name = StringField(
        _l("Name"),
        validators=[InputRequired(_l("Name the token after the system that will use it.")), Length(max=tokens.MAX_NAME)],
    )
    organisation_id = SelectField(_l("Organisation"), coerce=int, validate_choice=True)


def _when(moment: datetime | None) -> str:
    return format_datetime(moment, "d MMM yyyy HH:mm") if moment is not None else ""


def _organisation_choices() -> list[tuple[int, str]]:
    organisations = db.session.scalars(
        select(Organisation)
        .where(tokens.token_organisations_filter(current_user))
        .order_by(Organisation.county_code, Organisation.kind, Organisation.code)
    )
    return [(o.id, f"{o.municipality_code or o.code} {o.name}") for o in organisations]


def _token_form(choices: list[tuple[int, str]], *, submitted: bool) -> TokenForm:
    form = TokenForm() if submitted else TokenForm(formdata=None)
    form.organisation_id.choices = choices
    if len(choices) == 1:
        # Only one organisation to choose (a reporter's own): it is not asked for, so it cannot be wrong.
        form.organisation_id.data = choices[0][0]
    return form


def _created_by(token: ApiToken) -> str:
    user = db.session.get(User, token.created_by_id) if token.created_by_id is not None else None
    return user.name if user is not None else ""


def token_state(token: ApiToken) -> tuple[str, str]:
    """The token's state in words and the badge tone for it."""
    if token.revoked_at is not None:
        return _("Revoked %(time)s", time=_when(token.revoked_at)), "neutral"
    return _("Active"), "green"


def token_listing() -> Listing:
    return Listing(
        tokens.tokens_visible_to(current_user),
        columns=[
            Column("name", _l("Name"), lambda t: t.name, sort=ApiToken.name),
            Column(
                "organisation",
                _l("Organisation"),
                lambda t: f"{t.organisation.municipality_code or t.organisation.code} {t.organisation.name}",
                sort=Organisation.code,
            ),
            Column("prefix", _l("Begins with"), lambda t: t.prefix),
            Column("created_by", _l("Created by"), _created_by),
            Column("created", _l("Created"), lambda t: _when(t.created_at), sort=ApiToken.created_at),
            Column("last_used", _l("Last used"), lambda t: _when(t.last_used_at), sort=ApiToken.last_used_at),
            Column("state", _l("State"), lambda t: token_state(t)[0]),
        ],
        search=[ApiToken.name, ApiToken.prefix, Organisation.name, Organisation.code, Organisation.municipality_code],
        filters=[
            Filter(
                "state",
                _l("State"),
                [("active", _l("Active")), ("revoked", _l("Revoked"))],
                lambda stmt, value: stmt.where(
                    ApiToken.revoked_at.is_(None) if value == "active" else ApiToken.revoked_at.is_not(None)
                ),
            )
        ],
        default_sort="created",
        default_dir="desc",
        csv_name="api-tokens",
    )


@bp.route("/tokens", methods=["GET", "POST"], endpoint="tokens")
@require(Permission.MANAGE_API_TOKENS)
def tokens_page():
    choices = _organisation_choices()
    form = _token_form(choices, submitted=request.method == "POST")
    issued = None
    if form.validate_on_submit():
        try:
            issued = tokens.create_token(
                db.session,
                current_user,
                organisation=db.session.get(Organisation, form.organisation_id.data),
                name=form.name.data,
            )
        except tokens.TokenError as error:
            db.session.rollback()
            apply_domain_error(form, error)
        else:
            db.session.commit()
            # The secret exists only in this answer: not in a redirect, not in the flash (the session cookie).
            form = _token_form(choices, submitted=False)
    elif request.method == "GET" and request.args.get("format") in EXPORT_FORMATS:
        return token_listing().export_response(request.args["format"])
    page = token_listing().page()
    response = render_template(
        "allocation/tokens.html",
        form=form,
        page=page,
        issued=issued,
        choose_organisation=len(choices) > 1,
        organisations=choices,
        state=token_state,
        when=_when,
        created_by=_created_by,
    )
    status = 201 if issued is not None else form_status(form)
    return response, status, {"Cache-Control": "no-store"}


@bp.route("/tokens/<int:token_id>/revoke", methods=["POST"])
@require(Permission.MANAGE_API_TOKENS)
def revoke_token(token_id: int):
    token = db.session.get(ApiToken, token_id)
    try:
        tokens.revoke_token(db.session, current_user, token)
    except NotFoundError:
        db.session.rollback()
        abort(404)
    except tokens.TokenError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(_("The token %(name)s is revoked; it no longer opens the API.", name=token.name), "success")
    return redirect(url_for("allocation.tokens"))
