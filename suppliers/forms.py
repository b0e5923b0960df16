"""Forms of the supplier registry: shape checks only; identity, duplicates and vetting rules live in services."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional, Regexp

from suppliers.identifiers import SWEDEN, country_choices
from suppliers.models import AddressKind, SupplierKind


def select_choices(pairs) -> list[SelectChoice]:
    """(value, label) pairs as WTForms wants them."""
    return [SelectChoice(value, label) for value, label in pairs]


class SupplierForm(FlaskForm):
    legal_name = StringField(
        _l("Legal name"), validators=[DataRequired(_l("Enter the supplier's legal name.")), Length(max=200)]
    )
    country = SelectField(_l("Country"), default=SWEDEN, validators=[InputRequired(_l("Choose a country."))])
    organisation_number = StringField(
        _l("Organisationsnummer"), validators=[Optional(), Length(max=20)], render_kw={"autocomplete": "off"}
    )
    foreign_registration_number = StringField(
        _l("Registration number (outside Sweden)"), validators=[Optional(), Length(max=60)]
    )
    vat_number = StringField(_l("VAT number"), validators=[Optional(), Length(max=30)])
    kind = SelectField(
        _l("Kind of supplier"), choices=select_choices(SupplierKind.choices()), validators=[InputRequired(_l("Choose a kind."))]
    )
    produces_in_sweden = BooleanField(_l("Produces in Sweden"))
    website = StringField(_l("Website"), validators=[Optional(), Length(max=300)])
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=5000)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.country.choices = select_choices(country_choices())


class ContactForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(_l("Enter the contact's name.")), Length(max=160)])
    title = StringField(_l("Title or role"), validators=[Optional(), Length(max=120)])
    email = StringField(
        _l("E-mail"),
        validators=[
            Optional(),
            Length(max=254),
            Regexp(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", message=_l("Enter an e-mail address such as name@example.se.")),
        ],
    )
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=40)])
    is_primary = BooleanField(_l("Primary contact"))


class AddressForm(FlaskForm):
    kind = SelectField(
        _l("Kind of address"), choices=select_choices(AddressKind.choices()), validators=[InputRequired(_l("Choose a kind."))]
    )
    street = StringField(
        _l("Street address"), validators=[DataRequired(_l("Enter the street address.")), Length(max=200)]
    )
    postal_code = StringField(_l("Postal code"), validators=[Optional(), Length(max=20)])
    city = StringField(_l("City"), validators=[DataRequired(_l("Enter the city.")), Length(max=120)])
    country = SelectField(_l("Country"), default=SWEDEN, validators=[InputRequired(_l("Choose a country."))])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.country.choices = select_choices(country_choices())


class VettingCheckForm(FlaskForm):
    """One checklist item (the form's prefix is the item): ticked or not, with a note on what was checked."""

    done = BooleanField(_l("Done"))
    note = TextAreaField(_l("What was checked"), validators=[Optional(), Length(max=2000)])


class VettingDecisionForm(FlaskForm):
    # The service explains a move that is not allowed better than "Not a valid choice".
    to_status = SelectField(
        _l("New status"), validators=[InputRequired(_l("Choose the new vetting status."))], validate_choice=False
    )
    reason = TextAreaField(
        _l("Reason"), validators=[DataRequired(_l("Give the reason for the decision.")), Length(max=5000)]
    )
