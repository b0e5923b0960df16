"""The stock adjustment form: shape checks only; the ledger's rules live in app/stock/ledger.py."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from app.catalog.forms import WholeNumberField
from app.stock.models import STATE_LABELS, StockState

ADJUSTABLE_STATES = (StockState.AVAILABLE, StockState.QUARANTINE, StockState.RESERVED, StockState.REJECTED)


class AdjustmentForm(FlaskForm):
    location_id = SelectField(
        _l("Stock location"), coerce=int, validators=[InputRequired(_l("Choose a stock location."))]
    )
    product_id = SelectField(_l("Product"), coerce=int, validators=[InputRequired(_l("Choose a product."))])
    lot_number = StringField(_l("Lot number"), validators=[Optional(), Length(max=64)])
    state = SelectField(
        _l("State"),
        choices=[SelectChoice(state.value, STATE_LABELS[state]) for state in ADJUSTABLE_STATES],
        default=StockState.AVAILABLE.value,
        validators=[InputRequired(_l("Choose a state."))],
    )
    direction = RadioField(
        _l("Change"),
        choices=[
            SelectChoice("add", _l("Add units (more were counted)")),
            SelectChoice("remove", _l("Remove units (fewer were counted)")),
        ],
        validators=[InputRequired(_l("Choose whether units are added or removed."))],
    )
    quantity = WholeNumberField(
        _l("Quantity"),
        validators=[
            InputRequired(_l("Enter the number of units.")),
            NumberRange(min=1, max=100_000_000, message=_l("Enter a number from 1 to 100 000 000.")),
        ],
    )
    reason = TextAreaField(
        _l("Reason"), validators=[DataRequired(_l("Say why the stock is adjusted.")), Length(max=2000)]
    )
