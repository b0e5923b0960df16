"""Forms for offers: shape checks only; the rules live in suppliers.services_offers."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, DecimalField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional
from wtforms.widgets import TextInput

from suppliers.forms_certificates import select_choices
from suppliers.models import CURRENCIES

MAX_NOTES = 4000
# Spaces, also the no-break ones Swedish number formatting uses, group thousands: "24 000".
_SPACES = (" ", "\u00a0", "\u202f")


def _without_spaces(text: str) -> str:
    for space in _SPACES:
        text = text.replace(space, "")
    return text


class WholeNumberField(IntegerField):
    """A whole number as people type it, "24 000" included; the rules (at least 1 …) are the service's."""

    widget = TextInput()

    def __init__(self, label=None, validators=None, **kwargs):
        kwargs.setdefault("render_kw", {"inputmode": "numeric", "autocomplete": "off"})
        super().__init__(label, validators, **kwargs)

    def process_formdata(self, valuelist):
        text = _without_spaces(str(valuelist[0])) if valuelist else ""
        self.data = None
        if not text:
            return
        try:
            self.data = int(text)
        except ValueError:
            raise ValueError(_l("Enter a whole number, for example 200.")) from None


class PriceField(DecimalField):
    """A price as typed in Sweden or abroad: "4,25", "4.25" or "1 250,50"; kept exact (never a float)."""

    widget = TextInput()

    def __init__(self, label=None, validators=None, **kwargs):
        kwargs.setdefault("render_kw", {"inputmode": "decimal", "autocomplete": "off"})
        super().__init__(label, validators, places=None, **kwargs)

    def process_formdata(self, valuelist):
        if not valuelist or not str(valuelist[0]).strip():
            self.data = None
            return
        text = _without_spaces(str(valuelist[0])).replace(",", ".")
        try:
            self.data = Decimal(text)
        except InvalidOperation:
            self.data = None
            raise ValueError(_l("Enter the price as a number, e.g. 4,25.")) from None
        if not self.data.is_finite():
            self.data = None
            raise ValueError(_l("Enter the price as a number, e.g. 4,25."))


def _optional_int(value):
    return int(value) if value not in (None, "", "None") else None


class OfferForm(FlaskForm):
    """An offer; the product and model choices are set by the view."""

    product_id = SelectField(
        _l("Catalogue product"),
        coerce=int,
        validators=[InputRequired(_l("Choose a product from the catalogue."))],
    )
    supplier_product_id = SelectField(
        _l("The supplier's model (optional)"), coerce=_optional_int, validate_choice=False
    )
    unit_price = PriceField(_l("Price per unit"), validators=[InputRequired(_l("Enter the price per unit."))])
    currency = SelectField(_l("Currency"), choices=select_choices((c, c) for c in CURRENCIES), default="SEK")
    minimum_order_quantity = WholeNumberField(
        _l("Minimum order quantity (units)"),
        default=1,
        validators=[InputRequired(_l("Enter the minimum order."))],
    )
    lead_time_days = WholeNumberField(
        _l("Lead time (days from order to delivery)"),
        validators=[InputRequired(_l("Enter the lead time in days."))],
    )
    capacity_per_week = WholeNumberField(_l("Capacity per week (units, optional)"), validators=[Optional()])
    valid_from = DateField(
        _l("Valid from"), validators=[InputRequired(_l("Enter the date the offer is valid from."))]
    )
    valid_until = DateField(
        _l("Valid until"), validators=[InputRequired(_l("Enter the date the offer is valid until."))]
    )
    incoterm = SelectField(_l("Incoterms 2020 rule"), validate_choice=False)  # choices named by the view
    incoterm_place = StringField(_l("Named place"), validators=[Optional(), Length(max=120)])
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=MAX_NOTES)])


class WithdrawOfferForm(FlaskForm):
    reason = TextAreaField(
        _l("Why is the offer withdrawn?"),
        validators=[InputRequired(_l("Say why the offer is withdrawn.")), Length(max=MAX_NOTES)],
    )
