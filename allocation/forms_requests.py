"""Forms for requests for national allocation: shape checks only (allocation/services_requests.py has the rules).

The request's lines are one row per organisation of the county and category chosen, each with hidden keys and
the quantity requested (empty or 0: no line). Choices (categories, proposals) are set by the view.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import FieldList, Form, FormField, IntegerField, SelectField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional
from wtforms.widgets import HiddenInput

from allocation.forms import QuantityField
from allocation.services_requests import MAX_TEXT
from app.auth.user_forms import CheckboxesField
from orders.forms_orders import optional_int

MAX_ROWS = 4000  # the largest county (Västra Götaland: 49 municipalities and a region) × every category


class ChooseCategoriesForm(Form):
    """The categories whose remaining need the request is prefilled with (a GET form: no CSRF)."""

    category = CheckboxesField(_l("Product categories"), coerce=int, validate_choice=False)


class RequestLineForm(Form):
    """One organisation's remaining need of one category."""

    organisation_id = IntegerField(widget=HiddenInput(), validators=[InputRequired()])
    category_id = IntegerField(widget=HiddenInput(), validators=[InputRequired()])
    quantity = QuantityField(_l("Requested units"), validators=[Optional()])


class RequestForm(FlaskForm):
    """The request: its justification, the proposal it follows, and its lines."""

    justification = TextAreaField(
        _l("Justification"),
        validators=[InputRequired(_l("Say why the county cannot cover the need.")), Length(max=MAX_TEXT)],
        render_kw={"rows": 4},
    )
    proposal_id = SelectField(_l("Follows the redistribution proposal"), coerce=optional_int, validate_choice=False)
    lines = FieldList(FormField(RequestLineForm), max_entries=MAX_ROWS)


class WithdrawForm(FlaskForm):
    reason = TextAreaField(
        _l("Why is the request withdrawn?"),
        validators=[InputRequired(_l("Give the reason for withdrawing the request.")), Length(max=MAX_TEXT)],
        render_kw={"rows": 2},
    )


class DeclineForm(FlaskForm):
    answer = TextAreaField(
        _l("Answer to the county"),
        validators=[InputRequired(_l("Give the county an answer.")), Length(max=MAX_TEXT)],
        render_kw={"rows": 3},
    )
