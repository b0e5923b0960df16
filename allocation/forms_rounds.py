"""Forms for allocation rounds: shape checks only (allocation/services_rounds.py has the rules).

A round's products are a fixed number of rows; empty rows are left out, a row with a product needs its
quantity. Choices (warehouses, products, categories, counties, requests) are set by the view.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from allocation.forms import QuantityField
from allocation.models_distribution import AllocationPolicy, RecipientScope
from app.auth.user_forms import CheckboxesField
from orders.forms_orders import optional_int
from suppliers.forms_certificates import select_choices

PRODUCT_ROWS = 4
MAX_TEXT = 4000
MAX_NOTE = 500


class RoundProductForm(Form):
    """One product of a round: how many units, in which packs, and whose need it meets."""

    product_id = SelectField(_l("Product"), coerce=optional_int, validate_choice=False)
    quantity = QuantityField(_l("Units to share out"), validators=[Optional()])
    pack_size = QuantityField(_l("Pack size"), validators=[Optional()])
    need_category_id = SelectField(_l("Meets the need for"), coerce=optional_int, validate_choice=False)
    substitute_note = StringField(_l("Why equivalent or better"), validators=[Optional(), Length(max=MAX_NOTE)],
                                  render_kw={"placeholder": _l("Why equivalent or better (another category)")})

    @property
    def is_blank(self) -> bool:
        return self.product_id.data is None and self.quantity.data is None

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if not self.is_blank and (self.product_id.data is None or self.quantity.data is None):
            self.form_errors.append(_l("Choose the product and the units to share out, or leave the row empty."))
            return False
        return valid


class _RoundFields(FlaskForm):
    title = StringField(_l("Title"), validators=[InputRequired(_l("Give the round a title.")), Length(max=200)])
    policy = SelectField(_l("Policy"), default=AllocationPolicy.DAYS_OF_SUPPLY.value)  # choices set per request
    horizon_days = QuantityField(_l("Horizon (days)"), default=21,
                                 validators=[InputRequired(_l("Enter the horizon in days."))])
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=MAX_TEXT)], render_kw={"rows": 3})
    products = FieldList(FormField(RoundProductForm), min_entries=PRODUCT_ROWS, max_entries=40)


class RoundForm(_RoundFields):
    """A national round: where the stock is, who receives, how, and which products."""

    source_location_id = SelectField(_l("National warehouse"), coerce=optional_int, validate_choice=False,
                                     validators=[InputRequired(_l("Choose a national warehouse."))])
    recipient_scope = SelectField(_l("Recipients"), default=RecipientScope.ALL.value)
    county_code = SelectField(_l("County"), validate_choice=False)
    requests = CheckboxesField(_l("National requests to include"), coerce=int, validate_choice=False)


def set_choices(form) -> None:
    """The translated choices of the policy and (national rounds) the recipients."""
    form.policy.choices = select_choices(AllocationPolicy.choices())
    if hasattr(form, "recipient_scope"):
        form.recipient_scope.choices = select_choices(RecipientScope.choices())


class OnwardForm(_RoundFields):
    """A county board's second-level round: its county's region and municipalities receive."""


class AdjustForm(FlaskForm):
    """A manual adjustment of one line."""

    line_id = HiddenField(validators=[InputRequired()])
    quantity = QuantityField(_l("Decided quantity"), validators=[InputRequired(_l("Enter the quantity."))])
    reason = TextAreaField(_l("Reason for the adjustment"), validators=[Optional(), Length(max=MAX_TEXT)],
                           render_kw={"rows": 2})


class DecideForm(FlaskForm):
    confirm = BooleanField(
        _l("I have checked the allocation and decide it"),
        validators=[DataRequired(_l("Confirm that you have checked the allocation."))],
    )


class CancelForm(FlaskForm):
    reason = TextAreaField(_l("Why is the round cancelled?"),
                           validators=[InputRequired(_l("Give the reason.")), Length(max=MAX_TEXT)],
                           render_kw={"rows": 2})
