"""The product form: shape checks only; the catalogue's rules live in services."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from app.catalog.models import REGIME_LABELS, UNIT_LABELS


class WholeNumberField(IntegerField):
    """An integer field whose message for letters or decimals says what to type instead."""

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(_l("Enter a whole number, for example 200.")) from None


class ProductForm(FlaskForm):
    sku = StringField(
        _l("Article number (SKU)"),
        validators=[DataRequired(_l("Enter the article number (SKU).")), Length(max=32)],
    )
    category_id = SelectField(
        _l("Category"), coerce=int, validators=[InputRequired(_l("Choose a category."))], validate_choice=True
    )
    name_sv = StringField(
        _l("Name in Swedish"), validators=[DataRequired(_l("Enter the Swedish name.")), Length(max=160)]
    )
    name_en = StringField(
        _l("Name in English"), validators=[DataRequired(_l("Enter the English name.")), Length(max=160)]
    )
    variant = StringField(_l("Size or variant"), validators=[Optional(), Length(max=40)])
    standard = StringField(
        _l("Standard"),
        validators=[DataRequired(_l("Enter the standard the product meets.")), Length(max=200)],
    )
    regime = SelectField(
        _l("Regulatory regime"),
        choices=[SelectChoice(regime.value, label) for regime, label in REGIME_LABELS.items()],
        validators=[InputRequired(_l("Choose a regulatory regime."))],
    )
    unit_of_issue = SelectField(
        _l("Unit of issue"),
        choices=[SelectChoice(unit.value, label) for unit, label in UNIT_LABELS.items()],
        validators=[InputRequired(_l("Choose a unit of issue."))],
    )
    pack_size = WholeNumberField(
        _l("Pack size (units per carton)"),
        validators=[InputRequired(_l("Enter the number of units per carton."))],
    )
    inner_pack_size = WholeNumberField(_l("Units per inner box (optional)"), validators=[Optional()])
    active = BooleanField(_l("Active (can be reported, requested and allocated)"), default=True)
