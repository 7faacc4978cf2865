"""Forms of the desk's visit page: shape only; the visit services decide what may happen."""

from __future__ import annotations

import re

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import DataRequired, InputRequired, Length, ValidationError
from wtforms.widgets import CheckboxInput, HiddenInput, ListWidget

from clinic.consent.services import ConsentInput
from clinic.visits.models import ADD_ONS, AREAS
from clinic.visits.services import SessionInput
from clinic.web.forms import attach_errors

YES_NO = [SelectChoice("yes", "Yes"), SelectChoice("no", "No")]
CHANGES_QUESTION = "Has anything changed in your health since your last visit?"


def _collapse(value):
    return " ".join(value.split()) if value else value


def _room_choice(value) -> int:
    """A room id; "any free room" is 0."""
    return int(value) if value not in (None, "") else 0


class CheckInForm(FlaskForm):
    changes = RadioField(
        CHANGES_QUESTION,
        choices=YES_NO,
        invalid_choice_message="Ask the patient, then choose yes or no.",
        description="Ask the patient in these words. Yes means screening again before the session.",
    )

    @property
    def changes_reported(self) -> bool:
        return self.changes.data == "yes"


def rescreen_form(questions, **kwargs) -> FlaskForm:
    """The questionnaire for one service, one yes/no question per key, asked at the desk."""

    class RescreenForm(FlaskForm):
        def answers(self) -> dict[str, bool]:
            return {q.key: self[q.key].data == "yes" for q in questions}

    for question in questions:
        setattr(
            RescreenForm,
            question.key,
            RadioField(
                question.text,
                choices=YES_NO,
                invalid_choice_message="Please answer yes or no.",
            ),
        )
    kwargs.setdefault("prefix", "screening")
    return RescreenForm(**kwargs)


class DeskConsentForm(FlaskForm):
    # The version the patient was shown: if the form changes while they read it, they sign again.
    version = IntegerField(widget=HiddenInput(), validators=[InputRequired()])
    signed_name = StringField(
        "Patient's full name, typed as their signature",
        validators=[
            DataRequired("Type the patient's full name to sign."),
            Length(max=120, message="Keep the name under 120 characters."),
        ],
        filters=[_collapse],
        description="The name must match the patient's record.",
    )
    agree = BooleanField("The patient has read the form and agrees to the treatment")
    photos = BooleanField("The patient agrees to clinical photographs for their record")

    SERVICE_FIELDS = {
        "consent": "agree",
        "consent.version": "version",
        "consent.agree": "agree",
        "consent.signed_name": "signed_name",
    }

    def consent_input(self, ip_address: str, user_agent: str) -> ConsentInput:
        return ConsentInput(
            version=self.version.data,
            signed_name=self.signed_name.data or "",
            agree=bool(self.agree.data),
            photos=bool(self.photos.data),
            ip_address=ip_address or "",
            user_agent=user_agent or "",
        )

    def add_service_errors(self, errors: dict[str, list[str]]) -> list[str]:
        return attach_errors(self, errors, self.SERVICE_FIELDS)


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


_DEPTH = re.compile(r"[0-9]{1,2}([.,][0-9]{1,3})?")


class SessionForm(FlaskForm):
    device = RadioField(
        "Device",
        choices=[SelectChoice("roller", "Roller"), SelectChoice("pen", "Pen")],
        invalid_choice_message="Choose roller or pen.",
    )
    needle_depth_mm = StringField(
        "Needle depth (mm)",
        validators=[DataRequired("Enter the needle depth in millimetres.")],
        description="Between 0.25 and 2.5 mm.",
        render_kw={"inputmode": "decimal"},
    )
    areas = MultiCheckboxField(
        "Areas treated",
        choices=[
            SelectChoice("hairline", "Hairline"),
            SelectChoice("temples", "Temples"),
            SelectChoice("mid_scalp", "Mid-scalp"),
            SelectChoice("crown", "Crown (vertex)"),
        ],
        invalid_choice_message="Choose from the areas listed.",
    )
    numbing_used = BooleanField("Numbing cream used")
    add_ons = MultiCheckboxField(
        "Add-ons",
        choices=[
            SelectChoice("minoxidil", "Minoxidil"),
            SelectChoice("prp", "PRP"),
            SelectChoice("steroid", "Steroid"),
        ],
        invalid_choice_message="Choose from the add-ons listed.",
    )
    cartridge_lot = StringField(
        "Needle cartridge lot number",
        validators=[
            DataRequired("Enter the needle cartridge's lot number."),
            Length(max=60, message="Lot numbers are at most 60 characters."),
        ],
        filters=[lambda value: value.strip() if value else value],
    )
    prp_kit_lot = StringField(
        "PRP kit lot number",
        validators=[Length(max=60, message="Lot numbers are at most 60 characters.")],
        filters=[lambda value: value.strip() if value else value],
        description="Needed when PRP was used.",
    )
    notes = TextAreaField(
        "Notes",
        validators=[Length(max=5000, message="Notes are at most 5,000 characters.")],
    )
    depth_confirmed = BooleanField(
        "I confirm this depth, outside the clinic's usual range, was intended"
    )
    depth_reason = StringField(
        "Reason for a depth outside the usual range",
        validators=[Length(max=300, message="Keep the reason under 300 characters.")],
        filters=[_collapse],
        description="Needed only when the depth is outside the clinic's usual range.",
    )

    aftercare_sheet_handed_over = BooleanField(
        "Printed aftercare sheet handed to the patient",
        description="Print it from the visit page and go through it with the patient.",
    )

    def validate_needle_depth_mm(self, field):
        if not _DEPTH.fullmatch(field.data or ""):
            raise ValidationError("Enter the depth as a number of millimetres, like 1.5.")
        if not 0.25 <= self.depth() <= 2.5:
            raise ValidationError("Needle depth must be between 0.25 and 2.5 mm.")

    def validate_areas(self, field):
        if not field.data:
            raise ValidationError("Choose at least one treated area.")

    def validate_prp_kit_lot(self, field):
        if "prp" in (self.add_ons.data or []) and not field.data:
            raise ValidationError("Enter the PRP kit's lot number.")

    def depth(self) -> float:
        return float((self.needle_depth_mm.data or "").replace(",", "."))

    def session_input(self) -> SessionInput:
        return SessionInput(
            device=self.device.data,
            needle_depth_mm=self.depth(),
            areas=tuple(area for area in AREAS if area in self.areas.data),
            numbing_used=bool(self.numbing_used.data),
            add_ons=tuple(add_on for add_on in ADD_ONS if add_on in self.add_ons.data),
            cartridge_lot=self.cartridge_lot.data or "",
            prp_kit_lot=self.prp_kit_lot.data or "",
            notes=(self.notes.data or "").strip(),
            depth_confirmed=bool(self.depth_confirmed.data),
            depth_reason=self.depth_reason.data or "",
            aftercare_sheet_handed_over=bool(self.aftercare_sheet_handed_over.data),
        )

    def add_service_errors(self, errors: dict[str, list[str]]) -> list[str]:
        return attach_errors(self, errors, {})


class MoveForm(FlaskForm):
    """Another date, time, practitioner or room for a visit; the booking rules decide."""

    date = DateField("Date", validators=[InputRequired("Enter the new date.")])
    time = TimeField("Time", validators=[InputRequired("Enter the new time, like 14:30.")])
    practitioner = SelectField("Practitioner", coerce=int, validate_choice=True)
    room = SelectField(
        "Room",
        coerce=_room_choice,
        description="Any free room lets the clinic choose.",
        validate_choice=True,
    )

    def with_choices(self, choices) -> MoveForm:
        self.practitioner.choices = [(p.id, p.name) for p in choices.practitioners]
        self.room.choices = [(0, "Any free room"), *((r.id, r.name) for r in choices.rooms)]
        return self


class CancelForm(FlaskForm):
    reason = TextAreaField(
        "Reason for cancelling",
        filters=[_collapse],
        validators=[
            DataRequired("Say why the visit is cancelled."),
            Length(max=300, message="Keep the reason to 300 characters or fewer."),
        ],
        description="Kept in the audit log; the patient does not see it.",
    )
