"""Forms for goods receipt and inspection: shape checks only; the rules live in orders.services_receiving."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional

from orders.models import GoodsCondition
from orders.services_receiving import MAX_TEXT, Decision, Disposition, SampleResult
from suppliers.forms_certificates import select_choices
from suppliers.forms_offers import WholeNumberField


def lazy_choices(enum) -> list[SelectChoice]:
    """An enum's choices with the labels still lazy, so each request shows its own language."""
    labels = enum._labels()
    return select_choices((member.value, labels[member]) for member in enum)


def _optional_int(value):
    return int(value) if value not in (None, "", "None") else None


class ReceiptForm(FlaskForm):
    """A goods receipt; the view removes ``accept_over_delivery`` for users who may not accept one."""

    quantity = WholeNumberField(
        _l("Quantity received (units)"), validators=[InputRequired(_l("Enter the quantity received."))]
    )
    lot_number = StringField(
        _l("Lot or batch number"),
        validators=[InputRequired(_l("Enter the lot number from the packaging.")), Length(max=64)],
    )
    expiry_on = DateField(_l("Expiry date"), validators=[Optional()])
    manufactured_on = DateField(_l("Manufacture date"), validators=[Optional()])
    received_on = DateField(_l("Received on"), validators=[InputRequired(_l("Enter the day the goods arrived."))])
    condition = SelectField(_l("Condition on arrival"), choices=lazy_choices(GoodsCondition), default=GoodsCondition.GOOD.value)
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=MAX_TEXT)])
    accept_over_delivery = BooleanField(_l("Accept an over-delivery of more than 5 % (national coordinator)"))


class InspectionForm(FlaskForm):
    """The inspection of one receipt; the certificate choices are set by the view."""

    documents_checked = BooleanField(
        _l("The documents and the marking (manufacturer, model, lot, CE and notified body) match the certificate")
    )
    certificate_id = SelectField(_l("Certificate checked against"), coerce=_optional_int, validate_choice=False)
    sample_result = RadioField(
        _l("Sample test"),
        choices=lazy_choices(SampleResult),
        validators=[InputRequired(_l("Choose the result of the sample test."))],
    )
    notes = TextAreaField(_l("Inspection notes"), validators=[Optional(), Length(max=MAX_TEXT)])
    decision = RadioField(
        _l("Decision for the whole receipt"),
        choices=lazy_choices(Decision),
        validators=[InputRequired(_l("Choose to release or to reject the goods."))],
    )
    rejection_reason = TextAreaField(_l("Reason for rejection"), validators=[Optional(), Length(max=MAX_TEXT)])


class DispositionForm(FlaskForm):
    """What became of rejected goods."""

    how = RadioField(
        _l("What happened to the rejected goods"),
        choices=lazy_choices(Disposition),
        validators=[InputRequired(_l("Choose what happened to the goods."))],
    )
    note = TextAreaField(_l("Note (carrier, return number, destruction certificate)"),
                         validators=[Optional(), Length(max=MAX_TEXT)])
