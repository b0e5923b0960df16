"""Forms for shipments: shape checks only (allocation/services_shipments.py has the rules: lines add up,
reasons and comments for discrepancies, who may act)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import FieldList, Form, FormField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional

from allocation.forms import QuantityField
from allocation.models_distribution import DiscrepancyReason
from allocation.services_shipments import MAX_CARRIER, MAX_NAME, MAX_TEXT


class DispatchForm(FlaskForm):
    carrier = StringField(_l("Carrier"), validators=[InputRequired(_l("Name the carrier.")), Length(max=MAX_CARRIER)])
    tracking_reference = StringField(_l("Tracking reference"), validators=[Optional(), Length(max=MAX_CARRIER)])
    delivery_address = TextAreaField(_l("Delivery address"), validators=[Optional(), Length(max=MAX_TEXT)],
                                     render_kw={"rows": 3})


class DeliveredForm(FlaskForm):
    """The carrier reports the shipment arrived: a button, nothing to fill in."""


class CancelShipmentForm(FlaskForm):
    reason = TextAreaField(_l("Why is the shipment cancelled?"),
                           validators=[InputRequired(_l("Give the reason.")), Length(max=MAX_TEXT)],
                           render_kw={"rows": 2})


def reason_choices() -> list[SelectChoice]:
    """The discrepancy reasons in the page's language (a callable: labels are read per request)."""
    return [SelectChoice("", "—"), *(SelectChoice(reason.value, reason.label) for reason in DiscrepancyReason)]


class ConfirmLineForm(Form):
    """One shipment line as received."""

    line_id = HiddenField(validators=[InputRequired()])
    accepted = QuantityField(_l("Accepted"), validators=[InputRequired(_l("Enter the units accepted (0 if none)."))])
    rejected = QuantityField(_l("Rejected"), default=0, validators=[Optional()])
    missing = QuantityField(_l("Missing"), default=0, validators=[Optional()])
    reason = SelectField(_l("Reason"), choices=reason_choices, default="")
    comment = StringField(_l("Comment"), validators=[Optional(), Length(max=MAX_TEXT)])


class ConfirmForm(FlaskForm):
    received_by_name = StringField(_l("Received by (name of the person who took delivery)"),
                                   validators=[InputRequired(_l("Who received the shipment?")), Length(max=MAX_NAME)])
    lines = FieldList(FormField(ConfirmLineForm), min_entries=0, max_entries=500)


class ResolveForm(FlaskForm):
    resolution = TextAreaField(_l("How was it resolved?"),
                               validators=[InputRequired(_l("Say how it was resolved.")), Length(max=MAX_TEXT)],
                               render_kw={"rows": 3})
