"""Administrators' user management: list, create, edit, reset password, unlock, detail.

An administrator sees and manages the users of the organisations in their scope; other users answer 404.
"""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import contains_eager

from app.audit.services import entries_about_user, entries_by_actor, summary, visible_entry_ids
from app.audit.views import ACTION_LABELS
from app.auth import bp, user_services
from app.auth.access import can_see_organisation, organisation_scope_filter, require
from app.auth.models import User, UserRole
from app.auth.roles import ROLE_LABELS, ROLE_ORGANISATION_KINDS, Permission, Role
from app.auth.services import AuthError
from app.auth.user_forms import PasswordResetForm, UserCreateForm, UserEditForm
from app.db import utcnow
from app.extensions import db
from app.forms import apply_domain_error, form_status
from app.listing import Column, Filter, Listing
from app.main import register_nav
from app.organisations.models import County, Organisation, OrganisationKind
from app.organisations.views import KIND_LABELS

register_nav("auth.users", _l("Users"), Permission.MANAGE_USERS, order=80)


def _roles_text(user: User) -> str:
    return ", ".join(sorted(role.label for role in user.roles))


def _status(user: User) -> str:
    if not user.active:
        return _("Inactive")
    if user_services.is_locked(user):
        return _("Locked")
    return _("Active")


def _status_tone(user: User) -> str:
    if not user.active:
        return "neutral"
    return "red" if user_services.is_locked(user) else "green"


def _when(value) -> str:
    return format_datetime(value, "short") if value is not None else ""


def _filter_kind(stmt, value):
    # Region Gotland is a region that is also a municipality: it shows under both.
    if value == OrganisationKind.MUNICIPALITY:
        return stmt.where(Organisation.municipality_code.is_not(None))
    return stmt.where(Organisation.kind == value)


def _filter_status(stmt, value):
    if value == "active":
        return stmt.where(User.active.is_(True))
    if value == "inactive":
        return stmt.where(User.active.is_(False))
    return stmt.where(User.locked_until > utcnow())


def user_listing() -> Listing:
    in_scope = organisation_scope_filter(current_user)
    counties = db.session.scalars(
        select(County)
        .where(County.code.in_(select(Organisation.county_code).where(in_scope)))
        .order_by(County.code)
    ).all()
    return Listing(
        select(User).join(User.organisation).options(contains_eager(User.organisation)).where(in_scope),
        columns=[
            Column(
                "name",
                _l("Name"),
                lambda u: u.name,
                sort=User.name,
                link=lambda u: url_for("auth.user_detail", user_id=u.id),
            ),
            Column("email", _l("E-mail address"), lambda u: u.email, sort=User.email),
            Column("organisation", _l("Organisation"), lambda u: u.organisation.name, sort=Organisation.name),
            Column("roles", _l("Roles"), _roles_text),
            Column("status", _l("Status"), _status, sort=User.active),
            Column("last_login", _l("Last login"), lambda u: _when(u.last_login_at), sort=User.last_login_at),
        ],
        search=[User.name, User.email],
        filters=[
            Filter(
                "kind", _l("Organisation kind"), [(k.value, v) for k, v in KIND_LABELS.items()], _filter_kind
            ),
            Filter(
                "role",
                _l("Role"),
                [(role.value, ROLE_LABELS[role]) for role in Role],
                lambda stmt, value: stmt.where(
                    User.id.in_(select(UserRole.user_id).where(UserRole.role == value))
                ),
            ),
            Filter(
                "status",
                _l("Status"),
                [("active", _l("Active")), ("inactive", _l("Inactive")), ("locked", _l("Locked"))],
                _filter_status,
            ),
            Filter(
                "county",
                _l("County"),
                [(c.code, f"{c.code} {c.name}") for c in counties],
                lambda stmt, value: stmt.where(Organisation.county_code == value),
            ),
        ],
        default_sort="name",
        csv_name="users",
    )


def _manageable_user(user_id: int) -> User:
    """The user, or 404 when there is none or their organisation lies outside the administrator's scope."""
    user = db.session.get(User, user_id)
    if user is None or not can_see_organisation(current_user, user.organisation):
        abort(404)
    return user


def _organisation_code(organisation: Organisation) -> str:
    return organisation.municipality_code or organisation.code


def _render_form(template_form, *, title: str, action: str, submit: str, user: User | None = None):
    template_form.organisation.render_kw = {"list": "organisation-options", "autocomplete": "off"}
    return render_template(
        "auth/users_form.html",
        form=template_form,
        title=title,
        action=action,
        submit=submit,
        user=user,
        organisations=user_services.organisations_in_scope(db.session, current_user),
        organisation_code=_organisation_code,
        role_kinds={role.value: ROLE_ORGANISATION_KINDS[role] for role in Role},
        kind_labels=KIND_LABELS,
    )


@bp.route("/users")
@require(Permission.MANAGE_USERS)
def users():
    return user_listing().respond(lambda page: render_template("auth/users.html", page=page))


@bp.route("/users/new", methods=["GET", "POST"])
@require(Permission.MANAGE_USERS)
def user_create():
    form = UserCreateForm()
    if form.validate_on_submit():
        try:
            user = user_services.admin_create_user(
                db.session,
                current_user,
                email=form.email.data,
                name=form.name.data,
                organisation_code=form.organisation.data,
                roles=form.roles.data,
                password=form.password.data,
            )
        except AuthError as error:
            db.session.rollback()
            apply_domain_error(form, error)
        else:
            db.session.commit()
            flash(_("The account for %(email)s is created.", email=user.email), "success")
            return redirect(url_for("auth.user_detail", user_id=user.id))
    page = _render_form(
        form, title=_("New user"), action=url_for("auth.user_create"), submit=_("Create user")
    )
    return page, form_status(form)


@bp.route("/users/<int:user_id>")
@require(Permission.MANAGE_USERS)
def user_detail(user_id: int):
    user = _manageable_user(user_id)
    about = entries_about_user(db.session, user)
    by = entries_by_actor(db.session, user)
    return render_template(
        "auth/users_detail.html",
        user=user,
        status=_status(user),
        status_tone=_status_tone(user),
        locked=user_services.is_locked(user),
        attempts=user_services.recent_login_attempts(db.session, user),
        about=about,
        by=by,
        linkable=visible_entry_ids(db.session, current_user, [e.id for e in (*about, *by)]),
        action_labels=ACTION_LABELS,
        audit_summary=summary,
    )


@bp.route("/users/<int:user_id>/edit", methods=["GET", "POST"])
@require(Permission.MANAGE_USERS)
def user_edit(user_id: int):
    user = _manageable_user(user_id)
    # The account's values fill the form on GET; a submitted form's own values take their place.
    form = UserEditForm(
        data={
            "name": user.name,
            "email": user.email,
            "organisation": _organisation_code(user.organisation),
            "roles": sorted(role.value for role in user.roles),
            "active": user.active,
        }
    )
    if form.validate_on_submit():
        try:
            user_services.update_user(
                db.session,
                current_user,
                user,
                name=form.name.data,
                email=form.email.data,
                organisation_code=form.organisation.data,
                roles=form.roles.data,
                active=form.active.data,
            )
        except AuthError as error:
            db.session.rollback()
            apply_domain_error(form, error)
        else:
            db.session.commit()
            flash(_("The account is saved."), "success")
            return redirect(url_for("auth.user_detail", user_id=user.id))
    page = _render_form(
        form,
        title=_("Edit %(name)s", name=user.name),
        action=url_for("auth.user_edit", user_id=user.id),
        submit=_("Save"),
        user=user,
    )
    return page, form_status(form)


@bp.route("/users/<int:user_id>/password", methods=["GET", "POST"])
@require(Permission.MANAGE_USERS)
def user_password(user_id: int):
    user = _manageable_user(user_id)
    form = PasswordResetForm()
    if form.validate_on_submit():
        try:
            user_services.reset_password(db.session, current_user, user, form.new_password.data)
        except AuthError as error:
            db.session.rollback()
            apply_domain_error(form, error)
        else:
            db.session.commit()
            flash(_("The password is changed. Give it to %(name)s in a safe way.", name=user.name), "success")
            return redirect(url_for("auth.user_detail", user_id=user.id))
    return render_template("auth/users_password.html", form=form, user=user), form_status(form)


@bp.route("/users/<int:user_id>/unlock", methods=["POST"])
@require(Permission.MANAGE_USERS)
def user_unlock(user_id: int):
    user = _manageable_user(user_id)
    if user_services.unlock_user(db.session, current_user, user):
        db.session.commit()
        flash(_("The account is unlocked."), "success")
    else:
        flash(_("The account was not locked."), "info")
    return redirect(url_for("auth.user_detail", user_id=user.id))
