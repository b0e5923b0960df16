"""Forms for administrators' user management: shape checks only; the services check the rules."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, EqualTo, Length
from wtforms.widgets import CheckboxInput, ListWidget

from app.auth.roles import ROLE_LABELS, Role


class CheckboxesField(SelectMultipleField):
    """Several choices as a list of checkboxes (roles), rendered in a fieldset by the template."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def role_choices() -> list[tuple[str, object]]:
    return [(role.value, ROLE_LABELS[role]) for role in Role]


class _UserFields(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(_l("Enter the person's name.")), Length(max=120)])
    email = EmailField(
        _l("E-mail address"), validators=[DataRequired(_l("Enter an e-mail address.")), Length(max=254)]
    )
    organisation = StringField(
        _l("Organisation"),
        validators=[DataRequired(_l("Enter the organisation's code or kommunkod.")), Length(max=140)],
    )
    roles = CheckboxesField(
        _l("Roles"),
        choices=role_choices,
        validators=[DataRequired(_l("Choose at least one role."))],
    )


class UserCreateForm(_UserFields):
    password = PasswordField(
        _l("Initial password"),
        validators=[DataRequired(_l("Enter an initial password.")), Length(max=256)],
    )


class UserEditForm(_UserFields):
    active = BooleanField(_l("Active (may log in)"))


class PasswordResetForm(FlaskForm):
    new_password = PasswordField(
        _l("New password"), validators=[DataRequired(_l("Enter a new password.")), Length(max=256)]
    )
    confirm_password = PasswordField(
        _l("Repeat the new password"),
        validators=[
            DataRequired(_l("Repeat the new password.")),
            EqualTo("new_password", _l("The two new passwords differ.")),
        ],
    )
