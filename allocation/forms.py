"""Forms for situation reports and reporting settings: shape checks only; the reporting service has the rules.

The report form is built per period: one line subform per category asked, keyed by the category's code, so
its fields are named ``lines-<code>-stock`` and a service Problem for a category lands beside its own field.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    SelectField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import InputRequired, Length, Optional, ValidationError
from wtforms.widgets import TextInput

from allocation.models import Branch
from app.auth.user_forms import CheckboxesField
from app.catalog.models import ProductCategory

MAX_JUSTIFICATION = 2000
MAX_COMMENT = 2000
# Spaces (also the narrow no-break space Swedish number formatting uses) separate thousands: "12 000".
_THOUSANDS_SEPARATORS = (" ", "\u00a0", "\u202f")


class QuantityField(IntegerField):
    """A whole number of units; accepts "12 000", refuses decimals, letters and negative numbers.

    A text input with a numeric keyboard rather than type=number, so that what was typed, spaces and
    mistakes included, is shown back beside its error instead of being blanked by the browser.
    """

    widget = TextInput()

    def __init__(self, label=None, validators=None, **kwargs):
        kwargs.setdefault("render_kw", {"inputmode": "numeric", "autocomplete": "off"})
        super().__init__(label, validators, **kwargs)

    def process_formdata(self, valuelist):
        if not valuelist:
            return
        text = str(valuelist[0])
        for separator in _THOUSANDS_SEPARATORS:
            text = text.replace(separator, "")
        self.data = None
        if not text:
            if str(valuelist[0]):  # only spaces: InputRequired would let it through
                raise ValueError(_l("Enter a number (0 if none)."))
            return
        try:
            value = int(text)
        except ValueError:
            raise ValueError(_l("Enter a whole number, for example 200.")) from None
        self.data = value
        if value < 0:
            raise ValueError(_l("The number cannot be negative."))


class ReportLineForm(Form):
    """One category's figures; the stated need's label names the period's horizon when the form is built."""

    stock = QuantityField(_l("Stock on hand"), validators=[InputRequired(_l("Enter a number (0 if none)."))])
    consumption_7d = QuantityField(
        _l("Used in the last 7 days"), validators=[InputRequired(_l("Enter a number (0 if none)."))]
    )
    expected_14d = QuantityField(
        _l("Expected from own orders within 14 days"),
        validators=[InputRequired(_l("Enter a number (0 if none)."))],
    )
    stated_need = QuantityField(_l("Need"), validators=[InputRequired(_l("Enter a number (0 if none)."))])
    justification = TextAreaField(
        _l("Justification"), validators=[Optional(), Length(max=MAX_JUSTIFICATION)], render_kw={"rows": 2}
    )


class ReportForm(FlaskForm):
    """The report for one period and branch; ``lines`` is added per period by :func:`report_form`."""

    period_id = HiddenField()
    branch = HiddenField()
    # Submitting the same form twice (a double click, the back button) must not make two versions.
    idempotency_key = HiddenField()
    comment = TextAreaField(
        _l("Comment (optional)"), validators=[Optional(), Length(max=MAX_COMMENT)], render_kw={"rows": 3}
    )
    confirm_spikes = BooleanField(_l("I have checked these numbers and they are right"))


def report_form(categories: Sequence[ProductCategory], horizon_days: int, **kwargs) -> ReportForm:
    """A report form with one line per category (in the given order); ``kwargs`` go to the form."""
    return _report_form_class(tuple(category.code for category in categories), horizon_days)(**kwargs)


@functools.lru_cache(maxsize=64)
def _report_form_class(category_codes: tuple[str, ...], horizon_days: int) -> type[ReportForm]:
    # Made once per set of categories and horizon, not on every request: the classes hold no data (labels are
    # lazy, translated when shown), and WTForms sorts a class's fields only the first time it is used.
    need_label = _l("Need for the next %(days)s days", days=horizon_days)

    class LineForm(ReportLineForm):
        stated_need = QuantityField(need_label, validators=[InputRequired(_l("Enter a number (0 if none)."))])

    lines = type("ReportLinesForm", (Form,), {code: FormField(LineForm) for code in category_codes})
    return type("SituationReportForm", (ReportForm,), {"lines": FormField(lines)})


class ChoiceField(SelectField):
    """A required select whose missing or unknown choice gets one clear message."""

    def __init__(self, label=None, validators=None, *, message, **kwargs):
        super().__init__(label, validators, validate_choice=False, **kwargs)
        self.message = message
        self.flags.required = True

    def pre_validate(self, form):
        if self.data not in {str(value) for value, _label in self.choices or ()}:
            raise ValidationError(self.message)


class ChooseReportForm(Form):
    """Step one: which period and branch to report for (a GET form, so no CSRF token)."""

    period_id = ChoiceField(
        _l("Reporting period"), message=_l("Choose a reporting period that takes reports.")
    )
    branch = ChoiceField(
        _l("Branch of activity"),
        choices=lambda: [(branch.value, branch.label) for branch in Branch],
        message=_l("Choose a branch of activity."),
    )

    def __init__(self, *args, periods: Sequence[tuple[str, str]] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.period_id.choices = list(periods)


class WholeDaysField(IntegerField):
    """A number of days; letters or decimals get a message saying what to type instead."""

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(_l("Enter a whole number of days.")) from None


class ClockTimeField(TimeField):
    """A time of day as HH:MM."""

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(_l("Enter the deadline time as HH:MM, e.g. 12:00.")) from None


def _days(label):
    return WholeDaysField(label, validators=[InputRequired(_l("Enter a whole number of days."))])


class SettingsForm(FlaskForm):
    deadline_weekdays = CheckboxesField(_l("Deadline days"), coerce=int)
    deadline_time = ClockTimeField(
        _l("Deadline time"),
        format="%H:%M",
        validators=[InputRequired(_l("Enter the deadline time as HH:MM, e.g. 12:00."))],
    )
    open_days_ahead = _days(_l("Open periods this many days ahead"))
    horizon_days = _days(_l("Planning horizon for the stated need (days)"))
    red_days = _days(_l("Red below this many days of supply"))
    amber_days = _days(_l("Amber below this many days of supply"))
    need_max_age_days = _days(_l("A report counts as registered need for this many days"))
    category_ids = CheckboxesField(_l("Product categories asked for"), coerce=int)
