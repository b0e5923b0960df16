"""Forms for EU joint procurement and incoming supplies: shape checks only; the rules live in
orders.services_eu and orders.services_incoming. Choices that come from the database are set by the views."""
from __future__ import annotations

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
from wtforms.validators import InputRequired, Length, Optional

from orders.models import IncomingSupplyKind
from suppliers.forms import select_choices
from suppliers.forms_offers import PriceField, WholeNumberField
from suppliers.identifiers import SWEDEN, country_choices
from suppliers.models import CURRENCIES, SupplierKind

MAX_TEXT = 4000
DELIVERY_ROWS = 4


def _optional_int(value):
    return int(value) if value not in (None, "", "None") else None


class TenderForm(FlaskForm):
    reference = StringField(
        _l("Reference"), validators=[InputRequired(_l("Enter the tender's reference.")), Length(max=60)]
    )
    name = StringField(_l("Name"), validators=[InputRequired(_l("Enter the tender's name.")), Length(max=200)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=MAX_TEXT)])
    published_on = DateField(_l("Published"), validators=[Optional()])
    closing_on = DateField(_l("Closing date for tenders"), validators=[Optional()])
    awarded_on = DateField(_l("Awarded"), validators=[Optional()])


class LotForm(FlaskForm):
    number = WholeNumberField(_l("Lot number"), validators=[InputRequired(_l("Enter the lot's number."))])
    title = StringField(_l("Title"), validators=[InputRequired(_l("Enter the lot's title.")), Length(max=200)])
    category_id = SelectField(
        _l("Product category"), coerce=_optional_int, validators=[InputRequired(_l("Choose a category."))]
    )
    product_id = SelectField(_l("Catalogue product (optional)"), coerce=_optional_int, validate_choice=False)
    specification = TextAreaField(_l("Specification"), validators=[Optional(), Length(max=MAX_TEXT)])
    declared_quantity = WholeNumberField(
        _l("Sweden's declared quantity (units)"), default=0,
        validators=[InputRequired(_l("Enter Sweden's declared quantity, 0 if none."))],
    )


class FrameworkForm(FlaskForm):
    reference = StringField(
        _l("Reference"), validators=[InputRequired(_l("Enter the framework contract's reference.")), Length(max=80)]
    )
    signed_on = DateField(_l("Signed"), validators=[Optional()])
    valid_from = DateField(_l("Valid from"), validators=[InputRequired(_l("Enter the date the contract is valid from."))])
    valid_until = DateField(
        _l("Valid until"), validators=[InputRequired(_l("Enter the date the contract is valid until."))]
    )


class _ContractorSupplierFields(FlaskForm):
    """Who the contractor is: a supplier from the registry, or the details to register a new one. Declared
    before the terms so the form shows them first."""

    supplier_id = SelectField(_l("Supplier in the registry"), coerce=_optional_int, validate_choice=False)
    legal_name = StringField(_l("Legal name"), validators=[Optional(), Length(max=200)])
    country = SelectField(_l("Country"), default=SWEDEN, validate_choice=False)
    organisation_number = StringField(_l("Organisationsnummer"), validators=[Optional(), Length(max=20)])
    foreign_registration_number = StringField(
        _l("Registration number (outside Sweden)"), validators=[Optional(), Length(max=60)]
    )
    kind = SelectField(_l("Kind of supplier"), choices=select_choices(SupplierKind.choices()), validate_choice=False)


class ContractorTermsForm(FlaskForm):
    """A contractor's place in the cascade and its terms (editing an existing contractor)."""

    rank = WholeNumberField(_l("Rank in the cascade"), validators=[Optional()])
    max_quantity = WholeNumberField(
        _l("Maximum quantity (units)"), validators=[InputRequired(_l("Enter the maximum quantity."))]
    )
    unit_price = PriceField(_l("Price per unit"), validators=[InputRequired(_l("Enter the price per unit."))])
    currency = SelectField(_l("Currency"), choices=select_choices((c, c) for c in CURRENCIES), default="EUR")


class ContractorForm(_ContractorSupplierFields, ContractorTermsForm):
    """A new contractor: the supplier, then its place in the cascade and its terms."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.country.choices = select_choices(country_choices())


class MoveForm(FlaskForm):
    direction = HiddenField()


class DeliveryRowForm(Form):
    """One partial delivery; a row left empty is ignored."""

    due_on = DateField(_l("Due"), validators=[Optional()])
    quantity = WholeNumberField(_l("Quantity"), validators=[Optional()])
    destination = SelectField(_l("Destination"), validate_choice=False)


class SpecificOrderForm(FlaskForm):
    product_id = SelectField(_l("Catalogue product"), coerce=_optional_int, validate_choice=False)
    quantity = WholeNumberField(_l("Quantity (units)"), validators=[InputRequired(_l("Enter the quantity."))])
    order_date = DateField(_l("Order date"), validators=[InputRequired(_l("Enter the order date."))])
    deliveries = FieldList(FormField(DeliveryRowForm), min_entries=DELIVERY_ROWS, max_entries=20)
    cascade_reason = TextAreaField(
        _l("Why not a contractor ranked higher?"), validators=[Optional(), Length(max=MAX_TEXT)]
    )
    incoterm = SelectField(_l("Incoterms 2020 rule"), validate_choice=False)
    incoterm_place = StringField(_l("Named place"), validators=[Optional(), Length(max=120)])
    payment_terms = StringField(_l("Payment terms"), validators=[Optional(), Length(max=200)])
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=MAX_TEXT)])


class IncomingSupplyForm(FlaskForm):
    kind = SelectField(
        _l("Kind"), choices=select_choices(IncomingSupplyKind.choices()),
        validators=[InputRequired(_l("Choose the kind of supply."))],
    )
    source = StringField(_l("Source"), validators=[InputRequired(_l("Name the source.")), Length(max=200)])
    reference = StringField(_l("Reference"), validators=[Optional(), Length(max=120)])
    product_id = SelectField(
        _l("Catalogue product"), coerce=_optional_int, validators=[InputRequired(_l("Choose a product."))],
        validate_choice=False,
    )
    quantity = WholeNumberField(_l("Quantity (units)"), validators=[InputRequired(_l("Enter the quantity."))])
    expected_on = DateField(_l("Expected"), validators=[InputRequired(_l("Enter the date the goods are expected."))])
    destination = SelectField(
        _l("Destination"), validators=[InputRequired(_l("Choose the destination."))], validate_choice=False
    )
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=MAX_TEXT)])


class CancelSupplyForm(FlaskForm):
    reason = TextAreaField(
        _l("Why is the supply cancelled?"),
        validators=[InputRequired(_l("Say why the supply is cancelled.")), Length(max=1000)],
    )
