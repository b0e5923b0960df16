"""`flask users …`: accounts from the command line, first of all the first administrator."""
from __future__ import annotations

import click
from flask.cli import with_appcontext
from flask_babel import force_locale

from app.auth import services
from app.auth.roles import Role
from app.auth.user_services import organisation_by_code
from app.config import babel_locale
from app.extensions import db

# The option a service error's field was typed into (the roles field is filled by repeated --role).
_OPTION_OF_FIELD = {"email": "--email", "name": "--name", "roles": "--role", "password": "--password"}


@click.group("users")
def users_cli():
    """Manage user accounts."""


@users_cli.command("create")
@click.option("--email", required=True, help="Login e-mail address.")
@click.option("--name", required=True, help="Full name.")
@click.option(
    "--organisation",
    "organisation_code",
    default="SOS",
    show_default=True,
    help="Organisation code: SOS (the agency), LST-01, REG-01, a kommunkod such as 0180.",
)
@click.option(
    "--role",
    "roles",
    multiple=True,
    type=click.Choice([r.value for r in Role]),
    default=[Role.ADMINISTRATOR.value],
    show_default=True,
    help="Repeat for several roles.",
)
@click.password_option(help="At least 12 characters. Prompted for when not given.")
@with_appcontext
def create_user(email, name, organisation_code, roles, password):
    """Create a user account (for example the first administrator)."""
    # There is no request, hence no user language; the services' messages are then given in English like
    # the rest of the command (the app's locale selector needs a request).
    with force_locale(babel_locale("en")):
        _create_user(email, name, organisation_code, roles, password)


def _create_user(email, name, organisation_code, roles, password):
    organisation = organisation_by_code(db.session, organisation_code)
    if organisation is None:
        raise click.BadParameter(
            f"no organisation with code {organisation_code!r}. Use SOS (the agency), LST-01, REG-01 or a "
            "kommunkod such as 0180; if there are no organisations at all, load them first with "
            "`flask organisations load`.",
            param_hint="--organisation",
        )
    db.session.info["actor"] = "cli"
    try:
        user = services.create_user(
            db.session, email=email, name=name, password=password, organisation=organisation, roles=roles
        )
    except services.AuthError as error:
        db.session.rollback()
        raise click.BadParameter(error.message, param_hint=_OPTION_OF_FIELD.get(error.field, "--email"))
    db.session.commit()
    click.echo(f"Created {user.email} at {organisation.name} with roles: {', '.join(sorted(roles))}")
