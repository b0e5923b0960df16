"""Forms for the dialogue log and its follow-up actions: shape checks only; the services have the rules."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from suppliers.models import DialogueKind

MAX_PARTICIPANTS = 2000
MAX_NOTES = 20000
MAX_DESCRIPTION = 2000


def optional_id(value) -> int | None:
    """Coerce a select's value to an id; the empty "choose" option is None."""
    if value in (None, ""):
        return None
    return int(value)


def _description_field(label):
    return TextAreaField(label, validators=[Optional(), Length(max=MAX_DESCRIPTION)], render_kw={"rows": 2})


class ActionForm(FlaskForm):
    """A follow-up action: what, who and by when. ``owner_id.choices`` is set by the view."""

    description = TextAreaField(
        _l("Follow-up action"),
        validators=[InputRequired(_l("Describe what is to be done.")), Length(max=MAX_DESCRIPTION)],
        render_kw={"rows": 2},
    )
    owner_id = SelectField(
        _l("Owner"), coerce=optional_id, validators=[DataRequired(_l("Choose who owns the action."))]
    )
    due_on = DateField(_l("Due date"), validators=[InputRequired(_l("Give the date it is due."))])


class DialogueEntryForm(FlaskForm):
    """A meeting, call, e-mail or site visit, optionally with its first follow-up action."""

    kind = SelectField(_l("Kind"), choices=DialogueKind.choices)
    occurred_on = DateField(_l("Date"), validators=[InputRequired(_l("Give the date it took place."))])
    participants = TextAreaField(
        _l("Participants"),
        validators=[InputRequired(_l("Name who took part.")), Length(max=MAX_PARTICIPANTS)],
        render_kw={"rows": 2},
    )
    notes = TextAreaField(
        _l("Notes"),
        validators=[InputRequired(_l("Write down what was said.")), Length(max=MAX_NOTES)],
        render_kw={"rows": 6},
    )
    action_description = _description_field(_l("What is to be done"))
    action_owner_id = SelectField(_l("Owner of the action"), coerce=optional_id)
    action_due_on = DateField(_l("Action due date"), validators=[Optional()])

    @property
    def has_action(self) -> bool:
        return bool((self.action_description.data or "").strip())

    def validate(self, extra_validators=None) -> bool:
        # Not inline validators: Optional() ends an empty field's chain before they would run.
        valid = super().validate(extra_validators)
        if self.has_action:
            if self.action_owner_id.data is None and not self.action_owner_id.errors:
                self.action_owner_id.errors.append(_l("Choose who owns the action."))
            if self.action_due_on.data is None and not self.action_due_on.errors:
                self.action_due_on.errors.append(_l("Give the date it is due."))
        elif self.action_owner_id.data is not None or self.action_due_on.data is not None:
            self.action_description.errors.append(_l("Describe the action, or leave its owner and due date empty."))
        return valid and not self.errors
