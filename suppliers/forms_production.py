"""Forms for production projects and the capacity overview: shape checks only; services_production has the rules.

Weeks are typed as ISO weeks (``2026-W48``) and arrive as that week's Monday; amounts are typed in kronor
with öre (``1 250 000,50``) and arrive as whole öre.
"""

from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, Form, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional
from wtforms.widgets import TextInput

from allocation.forms import QuantityField
from suppliers.capacity import iso_week_label, parse_iso_week
from suppliers.models import ProductionStage, RiskLevel, SupportKind

_SPACES = re.compile(r"[\s\u00a0\u202f]+")
# Whole kronor, optionally grouped by "," or "." in threes, then up to two decimals (öre) after "," or ".".
_AMOUNT = re.compile(r"^(\d{1,3}(?:[.,]\d{3})+|\d+)(?:[.,](\d{1,2}))?$")
_CURRENCY = re.compile(r"(kr|sek|:-)$", re.IGNORECASE)


def _optional_int(value):
    if value in (None, "", "None"):
        return None
    return int(value)


class IsoWeekField(StringField):
    """An ISO week typed as ``2026-W48``; ``data`` is that week's Monday (a date)."""

    widget = TextInput()

    def __init__(self, label=None, validators=None, **kwargs):
        kwargs.setdefault(
            "render_kw", {"placeholder": "2026-W48", "autocomplete": "off", "spellcheck": "false"}
        )
        super().__init__(label, validators, **kwargs)

    def process_formdata(self, valuelist):
        self.data = None
        text = (valuelist[0] if valuelist else "") or ""
        if not text.strip():
            return
        try:
            self.data = parse_iso_week(text)
        except ValueError:
            raise ValueError(_l("Enter the week as year and week number, for example 2026-W48.")) from None

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return iso_week_label(self.data) if self.data else ""


def parse_amount_ore(text: str) -> int | None:
    """Kronor with öre as typed (``1 250 000,50``, ``1,250,000.50``, ``2500 kr``) in whole öre; None if blank.

    A separator followed by exactly three digits groups thousands; one followed by one or two digits at the
    end starts the öre. Raises ValueError for anything else (letters, three decimals, negative amounts).
    """
    cleaned = _CURRENCY.sub("", _SPACES.sub("", text or "")).strip()
    if not cleaned:
        return None
    match = _AMOUNT.match(cleaned)
    if not match:
        raise ValueError(f"not an amount: {text!r}")
    kronor = int(re.sub(r"[.,]", "", match.group(1)))
    ore = int((match.group(2) or "0").ljust(2, "0"))
    return kronor * 100 + ore


class AmountField(StringField):
    """An amount in Swedish kronor typed with öre; ``data`` is whole öre (an int)."""

    widget = TextInput()

    def __init__(self, label=None, validators=None, **kwargs):
        kwargs.setdefault("render_kw", {"inputmode": "decimal", "autocomplete": "off"})
        super().__init__(label, validators, **kwargs)

    def process_formdata(self, valuelist):
        self.data = None
        try:
            self.data = parse_amount_ore(valuelist[0] if valuelist else "")
        except ValueError:
            raise ValueError(_l("Enter the amount in kronor, for example 1 250 000,50.")) from None

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        if self.data is None:
            return ""
        return f"{self.data // 100},{self.data % 100:02d}"


class ProjectForm(FlaskForm):
    # The service says why a supplier or product that is not offered cannot be chosen.
    supplier_id = SelectField(
        _l("Supplier"),
        coerce=_optional_int,
        validate_choice=False,
        validators=[InputRequired(_l("Choose the supplier."))],
    )
    product_id = SelectField(
        _l("Product"),
        coerce=_optional_int,
        validate_choice=False,
        validators=[InputRequired(_l("Choose the product from the catalogue."))],
    )
    name = StringField(
        _l("Project name"), validators=[InputRequired(_l("Name the project.")), Length(max=200)]
    )
    site = StringField(_l("Production site"), validators=[Optional(), Length(max=200)])
    responsible_id = SelectField(
        _l("Responsible in the production team"), coerce=_optional_int, validate_choice=True
    )
    contracted_volume = QuantityField(_l("Contracted volume (units)"), validators=[Optional()])
    contract_reference = StringField(_l("Contract reference"), validators=[Optional(), Length(max=120)])
    contract_signed_on = DateField(_l("Contract signed on"), validators=[Optional()])
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=5000)])


class NewProjectForm(ProjectForm):
    stage = SelectField(
        _l("Stage now"),
        choices=lambda: [(s.value, s.label) for s in ProductionStage if s is not ProductionStage.ENDED],
        default=ProductionStage.FIRST_CONTACT.value,
    )


class StageForm(FlaskForm):
    stage = SelectField(_l("New stage"), validators=[InputRequired(_l("Choose a stage."))])
    note = TextAreaField(
        _l("Note (required when going back or ending)"), validators=[Optional(), Length(max=2000)]
    )


class MilestoneForm(FlaskForm):
    name = StringField(
        _l("Milestone"), validators=[InputRequired(_l("Name the milestone.")), Length(max=200)]
    )
    planned_on = DateField(_l("Planned date"), validators=[InputRequired(_l("Enter the planned date."))])
    actual_on = DateField(_l("Actual date"), validators=[Optional()])


class MilestoneReachedForm(FlaskForm):
    actual_on = DateField(
        _l("Reached on"), validators=[InputRequired(_l("Enter the date the milestone was reached."))]
    )


class PlanForm(FlaskForm):
    first_week = IsoWeekField(
        _l("From week"), validators=[InputRequired(_l("Enter the first week, for example 2026-W48."))]
    )
    last_week = IsoWeekField(
        _l("To week"), validators=[InputRequired(_l("Enter the last week, for example 2026-W52."))]
    )
    planned_units = QuantityField(
        _l("Planned units per week"),
        validators=[InputRequired(_l("Enter the planned units per week (0 or more)."))],
    )


class ActualForm(FlaskForm):
    week = IsoWeekField(_l("Week"), validators=[InputRequired(_l("Enter the week, for example 2026-W48."))])
    actual_units = QuantityField(
        _l("Units made"), validators=[InputRequired(_l("Enter the units made in the week (0 or more)."))]
    )


class DependencyForm(FlaskForm):
    material = StringField(
        _l("Material"), validators=[InputRequired(_l("Name the material.")), Length(max=120)]
    )
    source = StringField(
        _l("Source"),
        validators=[InputRequired(_l("Name the source (supplier or producer).")), Length(max=200)],
    )
    source_country = SelectField(_l("Source country"), validators=[Optional()])
    risk_level = SelectField(_l("Risk"), choices=RiskLevel.choices, default=RiskLevel.LOW.value)
    mitigation = TextAreaField(_l("Mitigation"), validators=[Optional(), Length(max=2000)])


class SupportForm(FlaskForm):
    kind = SelectField(_l("Kind of support"), choices=SupportKind.choices)
    amount = AmountField(_l("Amount (SEK)"), validators=[Optional()])
    volume = QuantityField(_l("Volume (units)"), validators=[Optional()])
    decided_on = DateField(_l("Decided on"), validators=[Optional()])
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=2000)])


class CapacityRangeForm(Form):
    """The overview's weeks and category, read from the query string (a GET form: it changes nothing)."""

    first = IsoWeekField(_l("From week"))
    last = IsoWeekField(_l("To week"))
    category = SelectField(_l("Category"), validate_choice=False)
