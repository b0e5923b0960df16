"""Forms for joint purchases: shape checks only; the rules live in orders.services_joint. Choices come from the view."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional

from orders.models import CostSplit
from orders.services_joint import MAX_TEXT, MAX_TITLE, DeliveryMode, Recipients
from suppliers.forms_offers import PriceField, WholeNumberField
from suppliers.models import CURRENCIES, INCOTERMS


def lazy_choices(enum) -> list[SelectChoice]:
    """An enum's choices with the labels still lazy, so each request shows its own language."""
    labels = enum._labels()
    return [SelectChoice(member.value, labels[member]) for member in enum]


def optional_int(value):
    return int(value) if value not in (None, "", "None") else None


class JointPurchaseForm(FlaskForm):
    """Start a joint purchase: what, for whom, how the cost is split; "preview" shows the registered need first."""

    title = StringField(_l("Title"), validators=[InputRequired(_l("Give the joint purchase a title.")),
                                                 Length(max=MAX_TITLE)])
    category_id = SelectField(_l("Product category"), coerce=optional_int,
                              validators=[InputRequired(_l("Choose the product category."))])
    product_id = SelectField(_l("Catalogue product (optional)"), coerce=optional_int, validate_choice=False)
    recipients = RadioField(_l("For whom"), choices=lazy_choices(Recipients), default=Recipients.COUNTY.value,
                            validators=[InputRequired(_l("Choose who the joint purchase is for."))])
    county_code = SelectField(_l("County"), validators=[Optional()])
    organisation_ids = SelectMultipleField(_l("Organisations (when picked one by one)"), coerce=int)
    source = RadioField(
        _l("Quantities"),
        choices=[SelectChoice("register", _l("From the registered need (each participant's current stated need)")),
                 SelectChoice("manual", _l("Entered by hand"))],
        default="register",
        validators=[InputRequired()],
    )
    cost_split = RadioField(_l("Cost split"), choices=lazy_choices(CostSplit), default=CostSplit.BY_QUANTITY.value,
                            validators=[InputRequired(_l("Choose how the cost is split."))])
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=MAX_TEXT)])
    preview = SubmitField(_l("Show the registered need"))
    create = SubmitField(_l("Create the draft"))


class ParticipantRow(Form):
    """One participant's line in the edit form."""

    organisation_id = HiddenField()
    quantity = WholeNumberField(_l("Quantity"), validators=[InputRequired(_l("Enter a quantity (0 leaves it out)."))])
    remove = BooleanField(_l("Remove"))


class ParticipantsForm(FlaskForm):
    """Edit a draft: its title, split, notes, each participant's quantity, and organisations to add."""

    title = StringField(_l("Title"), validators=[InputRequired(_l("Give the joint purchase a title.")),
                                                 Length(max=MAX_TITLE)])
    cost_split = RadioField(_l("Cost split"), choices=lazy_choices(CostSplit),
                            validators=[InputRequired(_l("Choose how the cost is split."))])
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=MAX_TEXT)])
    participants = FieldList(FormField(ParticipantRow))
    add_organisation_ids = SelectMultipleField(_l("Add organisations"), coerce=int)


class JointOrderForm(FlaskForm):
    """The purchase order of a joint purchase; the lines and the schedule come from the participants."""

    supplier_id = SelectField(_l("Supplier (approved)"), coerce=optional_int,
                              validators=[InputRequired(_l("Choose the supplier."))])
    product_id = SelectField(_l("Product"), coerce=optional_int, validate_choice=False)
    unit_price = PriceField(_l("Unit price"), validators=[InputRequired(_l("Enter the unit price."))])
    currency = SelectField(_l("Currency"), choices=[SelectChoice(c, c) for c in CURRENCIES], default="SEK")
    order_date = DateField(_l("Order date"), validators=[InputRequired(_l("Enter the order date."))])
    due_on = DateField(_l("Delivery date"), validators=[InputRequired(_l("Enter the delivery date."))])
    delivery = RadioField(_l("Deliver"), choices=lazy_choices(DeliveryMode), default=DeliveryMode.WAREHOUSE.value,
                          validators=[InputRequired(_l("Choose where the goods are delivered."))])
    warehouse_id = SelectField(_l("National warehouse"), coerce=optional_int, validate_choice=False)
    incoterm = SelectField(_l("Incoterms 2020"), choices=[SelectChoice("", "—")] + [SelectChoice(i, i) for i in INCOTERMS],
                           validators=[Optional()])
    incoterm_place = StringField(_l("Incoterms place"), validators=[Optional(), Length(max=120)])
    payment_terms = StringField(_l("Payment terms"), validators=[Optional(), Length(max=200)])
    notes = TextAreaField(_l("Notes on the order"), validators=[Optional(), Length(max=MAX_TEXT)])
