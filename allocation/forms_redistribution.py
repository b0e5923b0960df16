"""Forms for redistribution and compensation: shape checks only (allocation/services_redistribution.py and
allocation/compensation.py have the rules). Choices (products, organisations, entries) are set by the view."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from allocation.forms import QuantityField
from app.auth.user_forms import CheckboxesField
from orders.forms_orders import optional_int
from suppliers.forms_production import AmountField

MAX_TEXT = 4000


def _text(label, *, required: str | None = None, rows: int = 3) -> TextAreaField:
    validators = [InputRequired(required), Length(max=MAX_TEXT)] if required else [Optional(), Length(max=MAX_TEXT)]
    return TextAreaField(label, validators=validators, render_kw={"rows": rows})


class ProposalForm(FlaskForm):
    """A county coordinator's request to the planner."""

    title = StringField(_l("Title"), validators=[InputRequired(_l("Give it a title.")), Length(max=200)])
    products = CheckboxesField(_l("Products"), coerce=int, validate_choice=False)
    target_days = QuantityField(_l("Target days of supply"), default=21,
                                validators=[InputRequired(_l("Enter the target in days."))])
    min_transfer = QuantityField(_l("Smallest transfer worth making (units)"), default=0,
                                 validators=[InputRequired(_l("Enter a number (0 if none)."))])


class NationalDecisionForm(FlaskForm):
    """A national redistribution decision: its title, legal basis and reasons; lines are added on its page."""

    title = StringField(_l("Title"), validators=[InputRequired(_l("Give it a title.")), Length(max=200)])
    legal_basis = _text(_l("Legal basis"), rows=2)
    reasons = _text(_l("Reasons (need in a part of the country or a branch of activity)"), rows=4)


class LineForm(FlaskForm):
    """A line added by hand."""

    product_id = SelectField(_l("Product"), coerce=optional_int, validate_choice=False,
                             validators=[InputRequired(_l("Choose a product."))])
    source_id = SelectField(_l("Giver"), coerce=optional_int, validate_choice=False,
                            validators=[InputRequired(_l("Choose the giver."))])
    target_id = SelectField(_l("Receiver"), coerce=optional_int, validate_choice=False,
                            validators=[InputRequired(_l("Choose the receiver."))])
    quantity = QuantityField(_l("Quantity"), validators=[InputRequired(_l("Enter the quantity."))])
    reason = _text(_l("Reason"), rows=2)


class EditLineForm(FlaskForm):
    """A line's new quantity (0 removes it) and why."""

    quantity = QuantityField(_l("Quantity"), validators=[InputRequired(_l("Enter the quantity."))])
    reason = _text(_l("Reason for the change"), rows=2)


class MeetingForm(FlaskForm):
    """The logistics meeting (logistikberedning)."""

    held_on = DateField(_l("Held on"), validators=[InputRequired(_l("Enter the date of the meeting."))])
    participants = _text(_l("Participants"), required=_l("Name the participants."), rows=2)
    decisions = _text(_l("Decisions"), required=_l("Write down what was decided."))
    minutes = _text(_l("Minutes"), rows=4)


class AgreeForm(FlaskForm):
    confirm = BooleanField(_l("The lines are as agreed"),
                           validators=[DataRequired(_l("Confirm that the lines are as agreed."))])


class CancelForm(FlaskForm):
    reason = _text(_l("Why is it cancelled?"), required=_l("Give the reason."), rows=2)


class StockForm(FlaskForm):
    """The giver's stock on hand, registered as an opening balance, before its transfer is reserved."""

    opening_balance = QuantityField(_l("Stock on hand to register (opening balance)"), default=0,
                                    validators=[Optional()])


class StatementForm(FlaskForm):
    """Whose statement and which period (a GET form: no CSRF token)."""

    class Meta:
        csrf = False

    organisation = SelectField(_l("Organisation"), coerce=optional_int, validate_choice=False, validators=[Optional()])
    start = DateField(_l("From"), validators=[Optional()])
    end = DateField(_l("To"), validators=[Optional()])


class SettlementForm(FlaskForm):
    """A payment of chosen unsettled entries between one debtor and one creditor."""

    entry_ids = CheckboxesField(_l("Entries paid"), coerce=int, validate_choice=False)
    paid_on = DateField(_l("Paid on"), validators=[InputRequired(_l("Enter the date of payment."))])
    payment_reference = StringField(_l("Payment reference"), validators=[Optional(), Length(max=120)])


class PriceForm(FlaskForm):
    """A reference price on the price list."""

    product_id = SelectField(_l("Product"), coerce=optional_int, validate_choice=False,
                             validators=[InputRequired(_l("Choose a product."))])
    valid_from = DateField(_l("Valid from"), validators=[InputRequired(_l("Enter the date the price applies from."))])
    price = AmountField(_l("Price per unit (SEK)"), validators=[InputRequired(_l("Enter the price."))])
