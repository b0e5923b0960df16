"""Forms for purchase orders, exchange rates and approval rules: shape checks only (orders/services_orders.py
and orders/approval.py have the rules).

The order form has a fixed number of line rows and delivery rows; empty rows are left out, a half-filled row
is an error beside it. A delivery names its line by the line's row number on the form ("Line 2").
"""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from allocation.forms import QuantityField
from app.auth.user_forms import CheckboxesField
from suppliers.forms_certificates import select_choices
from suppliers.forms_offers import PriceField
from suppliers.models import CURRENCIES

LINE_ROWS = 5
DELIVERY_ROWS = 8
EXTRA_DELIVERY_ROWS = 3  # empty rows after an amended order's deliveries
RULE_ROWS = 4
MAX_TEXT = 4000


def optional_int(value):
    if value in (None, "", "None"):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _filled(values) -> list[bool]:
    return [value not in (None, "") for value in values]


class LineForm(Form):
    """One order line: catalogue product, quantity, unit price. The product choices are set by the view."""

    product_id = SelectField(_l("Product"), coerce=optional_int, validate_choice=False)
    quantity = QuantityField(_l("Quantity (units)"), validators=[Optional()])
    unit_price = PriceField(_l("Unit price"), validators=[Optional()])

    @property
    def is_blank(self) -> bool:
        return not any(_filled([self.product_id.data, self.quantity.data, self.unit_price.data]))

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        filled = _filled([self.product_id.data, self.quantity.data, self.unit_price.data])
        if any(filled) and not all(filled):
            self.form_errors.append(
                _l("Fill in the product, the quantity and the unit price, or leave the row empty.")
            )
            return False
        return valid


class AmendLineForm(Form):
    """An existing line in an amendment: the product stays, quantity and price may change."""

    quantity = QuantityField(_l("Quantity (units)"), validators=[InputRequired(_l("Enter the quantity."))])
    unit_price = PriceField(_l("Unit price"), validators=[InputRequired(_l("Enter the unit price."))])


class DeliveryForm(Form):
    """One scheduled delivery; ``delivery_id`` is set for an existing delivery in an amendment."""

    delivery_id = HiddenField()
    line_number = QuantityField(_l("Line"), validators=[Optional()])
    due_on = DateField(_l("Delivery date"), validators=[Optional()])
    quantity = QuantityField(_l("Quantity (units)"), validators=[Optional()])
    destination = SelectField(_l("Deliver to"), validate_choice=False)

    @property
    def is_blank(self) -> bool:
        return not any(
            _filled([self.line_number.data, self.due_on.data, self.quantity.data, self.destination.data])
        )

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        filled = _filled([self.line_number.data, self.due_on.data, self.quantity.data, self.destination.data])
        if any(filled) and not all(filled):
            self.form_errors.append(
                _l("Fill in the line, the date, the quantity and where to, or leave the row empty.")
            )
            return False
        return valid


class _Terms(FlaskForm):
    incoterm = SelectField(_l("Incoterms 2020 rule"), validate_choice=False)  # choices named by the view
    incoterm_place = StringField(_l("Named place"), validators=[Optional(), Length(max=120)])
    payment_terms = StringField(_l("Payment terms"), validators=[Optional(), Length(max=200)])
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=MAX_TEXT)], render_kw={"rows": 3})


class OrderForm(_Terms):
    """A new or draft order. Supplier, product and destination choices are set by the view."""

    offer_id = HiddenField()
    supplier_id = SelectField(
        _l("Supplier"),
        coerce=optional_int,
        validate_choice=False,
        validators=[InputRequired(_l("Choose the supplier."))],
    )
    order_date = DateField(_l("Order date"), validators=[InputRequired(_l("Enter the order date."))])
    currency = SelectField(_l("Currency"), choices=select_choices((c, c) for c in CURRENCIES), default="SEK")
    lines = FieldList(FormField(LineForm), min_entries=LINE_ROWS, max_entries=50)
    deliveries = FieldList(FormField(DeliveryForm), min_entries=DELIVERY_ROWS, max_entries=100)


class AmendForm(FlaskForm):
    """An amendment of a sent order: the lines' quantities and prices, the whole schedule, and why."""

    reason = TextAreaField(
        _l("Why is the order amended?"),
        validators=[InputRequired(_l("Say why the order is amended.")), Length(max=MAX_TEXT)],
        render_kw={"rows": 2},
    )
    lines = FieldList(FormField(AmendLineForm), min_entries=0, max_entries=50)
    deliveries = FieldList(FormField(DeliveryForm), min_entries=0, max_entries=100)


class ReasonForm(FlaskForm):
    """A step that needs a reason: returning or cancelling an order."""

    reason = TextAreaField(
        _l("Reason"),
        validators=[InputRequired(_l("Give the reason.")), Length(max=MAX_TEXT)],
        render_kw={"rows": 2},
    )


class ConfirmForm(FlaskForm):
    supplier_reference = StringField(
        _l("The supplier's reference (order confirmation)"),
        validators=[
            InputRequired(_l("Enter the supplier's reference from its order confirmation.")),
            Length(max=120),
        ],
    )


class ExchangeRateForm(FlaskForm):
    currency = SelectField(
        _l("Currency"),
        choices=select_choices((c, c) for c in CURRENCIES if c != "SEK"),
        validators=[InputRequired(_l("Choose a currency."))],
    )
    valid_on = DateField(
        _l("Valid from (day)"), validators=[InputRequired(_l("Enter the day the rate is from."))]
    )
    sek_per_unit = PriceField(_l("SEK per unit"), validators=[InputRequired(_l("Enter the rate in SEK."))])


class KronorField(PriceField):
    """An amount in kronor (SEK), exact, as typed in Sweden or abroad."""


class RuleForm(Form):
    """One approval rule: up to an amount in kronor (empty: no limit), which roles may approve."""

    max_value_sek = KronorField(_l("Up to (SEK); empty for no limit"), validators=[Optional()])
    roles = CheckboxesField(_l("May approve"), choices=[])

    def validate_max_value_sek(self, field) -> None:
        if field.data is not None and (field.data <= 0 or field.data != field.data.quantize(1)):
            raise ValidationError(_l("Give the limit in whole kronor above 0."))


class ApprovalRulesForm(FlaskForm):
    rules = FieldList(FormField(RuleForm), min_entries=RULE_ROWS, max_entries=20)


def default_order_date(today: date) -> date:
    return today
