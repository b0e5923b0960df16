"""Forms for suppliers' models, certificates, documents and verification: shape checks only."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, DateField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional

from suppliers.models import CertificateKind, VerificationStatus

MAX_NOTES = 4000


def select_choices(pairs) -> list[SelectChoice]:
    """(value, label) pairs as WTForms wants choices."""
    return [SelectChoice(value, label) for value, label in pairs]


class SupplierProductForm(FlaskForm):
    """A supplier's model of a catalogue product; the product choices are set by the view."""

    product_id = SelectField(
        _l("Catalogue product"),
        coerce=int,
        validators=[InputRequired(_l("Choose a product from the catalogue."))],
    )
    model_name = StringField(_l("Model name"), validators=[Length(max=200)])
    manufacturer_name = StringField(
        _l("Manufacturer (when the supplier is not the maker)"), validators=[Length(max=200)]
    )
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=MAX_NOTES)])


class _DocumentFields(FlaskForm):
    file = FileField(_l("File (PDF, PNG or JPEG)"))
    title = StringField(_l("Title of the document"), validators=[Optional(), Length(max=200)])


class CertificateForm(_DocumentFields):
    """A certificate; ``standard`` holds standard and class together, its choices set per product category."""

    kind = SelectField(_l("Kind of certificate"), choices=select_choices(CertificateKind.choices()))
    standard = SelectField(_l("Standard and class"), validate_choice=False)
    ce_marked = BooleanField(_l("CE marked"))
    notified_body_number = StringField(_l("Notified body number"), validators=[Length(max=10)])
    certificate_number = StringField(_l("Certificate number"), validators=[Length(max=120)])
    issued_by = StringField(_l("Issued by"), validators=[Length(max=200)])
    valid_from = DateField(_l("Valid from"), validators=[Optional()])
    valid_until = DateField(_l("Valid until"), validators=[Optional()])


class EditCertificateForm(CertificateForm):
    """Editing changes the certificate's facts; files are added on the certificate's page."""

    file = None
    title = None


class DocumentForm(_DocumentFields):
    file = FileField(
        _l("File (PDF, PNG or JPEG)"), validators=[FileRequired(_l("Choose the file to upload."))]
    )


class VerificationForm(FlaskForm):
    outcome = RadioField(
        _l("Outcome of the check"),
        choices=[
            SelectChoice(VerificationStatus.VERIFIED.value, _l("Verified with the issuer")),
            SelectChoice(VerificationStatus.REJECTED.value, _l("Rejected as invalid")),
        ],
        validators=[InputRequired(_l("Choose verified or rejected."))],
    )
    note = TextAreaField(_l("Note (required when rejecting)"), validators=[Optional(), Length(max=MAX_NOTES)])
