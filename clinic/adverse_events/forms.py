"""Forms of the adverse event pages: shape only; the services decide what the rules refuse.

Staff type the onset in the clinic's local time; it becomes aware UTC here.
"""

from __future__ import annotations

import re
from datetime import date, datetime

from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    Form,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from clinic import localtime
from clinic.adverse_events import rules
from clinic.adverse_events.queries import SHOW, Filters
from clinic.adverse_events.services import (
    MAX_ACTION_CHARS,
    MAX_DESCRIPTION_CHARS,
    MAX_OTHER_TYPE_CHARS,
    MAX_REFERENCE_CHARS,
    EventInput,
)
from clinic.booking.services import clinic_timezone
from clinic.clock import utcnow
from clinic.staff.forms import MAX_RECORD_ID
from clinic.web.formatting import format_when

# No report is about an event this old, and the bound keeps date arithmetic clear of overflow.
EARLIEST = date(2000, 1, 1)
MAX_PAGE = 100_000
_NUMBER = re.compile(r"[0-9]{1,10}")


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _choices(labels: dict[str, str]) -> list[SelectChoice]:
    return [SelectChoice(key, label) for key, label in labels.items()]


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _in_range(what: str):
    def check(_form, field) -> None:
        if field.data is None:
            return
        if field.data < EARLIEST:
            raise ValidationError(f"{what} must be in {EARLIEST.year} or later.")
        if field.data > utcnow().astimezone(clinic_timezone()).date():
            raise ValidationError(f"{what} cannot be in the future.")

    return check


class EventForm(FlaskForm):
    """Recording an event, and editing it later. ``session`` is offered only when recording."""

    session = SelectField(
        "The session it follows",
        invalid_choice_message="Choose one of this patient's sessions.",
    )
    onset_date = DateField(
        "Date it began",
        validators=[InputRequired("Enter the date the event began."), _in_range("The date")],
    )
    onset_time = TimeField(
        "Time it began",
        format=["%H:%M", "%H:%M:%S"],
        validators=[InputRequired("Enter the time it began, like 14:30 (a best guess is fine).")],
        description="In the clinic's time; a best guess is fine.",
    )
    event_type = RadioField(
        "What kind of event",
        choices=_choices(rules.EVENT_TYPES),
        invalid_choice_message="Choose the kind of event.",
    )
    other_type = StringField(
        "If other, what kind",
        validators=[Length(max=MAX_OTHER_TYPE_CHARS, message="Keep this under 120 characters.")],
        filters=[_strip],
    )
    description = TextAreaField(
        "What happened",
        validators=[
            DataRequired("Describe what happened."),
            Length(
                max=MAX_DESCRIPTION_CHARS,
                message="Keep the description under 5,000 characters.",
            ),
        ],
        description="Signs, how long they lasted, what the patient said. It goes in the report.",
    )
    severity = RadioField(
        "Severity",
        choices=_choices(rules.SEVERITIES),
        invalid_choice_message="Choose mild, moderate or severe.",
    )
    serious_criteria = MultiCheckboxField(
        "Serious? Tick every criterion that applies",
        choices=_choices(rules.SERIOUS_CRITERIA),
        invalid_choice_message="Choose the criteria from the list.",
        description="The regulators' definition: leave all unticked when none applies.",
    )
    action_taken = TextAreaField(
        "Action taken",
        validators=[
            Length(max=MAX_ACTION_CHARS, message="Keep the action taken under 2,000 characters.")
        ],
        description="Advice given, treatment, referral, sessions stopped.",
    )
    outcome = SelectField(
        "Outcome",
        choices=_choices(rules.OUTCOMES),
        default="unknown",
        invalid_choice_message="Choose the outcome from the list.",
    )
    patient_sex = RadioField(
        "Patient's sex (for the report)",
        choices=[SelectChoice("", "Not recorded"), *_choices(rules.SEXES)],
        default="",
        invalid_choice_message="Choose female, male or not recorded.",
    )
    regulator = RadioField(
        "Reported to",
        choices=[SelectChoice("", "Not reported yet"), *_choices(rules.REGULATORS)],
        default="",
        invalid_choice_message="Choose the MHRA, the FDA, or not reported yet.",
    )
    reported_on = DateField(
        "Date the report was sent",
        validators=[Optional(), _in_range("The report date")],
    )
    regulator_reference = StringField(
        "The regulator's reference",
        validators=[
            Length(max=MAX_REFERENCE_CHARS, message="References are at most 60 characters.")
        ],
        filters=[_strip],
        description="The Yellow Card or MedWatch reference, once you have it.",
    )

    def __init__(self, *args, sessions=None, **kwargs):
        super().__init__(*args, **kwargs)
        if sessions is None:
            del self.session
        else:
            self.session.choices = [
                SelectChoice(str(a.id), f"{a.service.name}, {format_when(a.start_at)}")
                for a in sessions
            ]

    def session_id(self) -> int:
        return int(self.session.data)

    def onset_at(self) -> datetime | None:
        if self.onset_date.data is None or self.onset_time.data is None:
            return None
        wall = self.onset_time.data.replace(second=0, microsecond=0)
        return localtime.to_utc(self.onset_date.data, wall, clinic_timezone())

    def event_input(self) -> EventInput:
        return EventInput(
            onset_at=self.onset_at(),
            event_type=self.event_type.data,
            other_type=self.other_type.data or "",
            description=(self.description.data or "").strip(),
            severity=self.severity.data,
            serious_criteria=tuple(self.serious_criteria.data or ()),
            action_taken=(self.action_taken.data or "").strip(),
            outcome=self.outcome.data,
            patient_sex=self.patient_sex.data or "",
            regulator=self.regulator.data or "",
            reported_on=self.reported_on.data,
            regulator_reference=self.regulator_reference.data or "",
        )

    @classmethod
    def filled_from(cls, event) -> EventForm:
        local = event.onset_at.astimezone(clinic_timezone())
        return cls(
            formdata=None,
            onset_date=local.date(),
            onset_time=local.time().replace(second=0, microsecond=0),
            event_type=event.event_type,
            other_type=event.other_type,
            description=event.description,
            severity=event.severity,
            serious_criteria=list(event.serious_criteria),
            action_taken=event.action_taken,
            outcome=event.outcome,
            patient_sex=event.patient_sex,
            regulator=event.regulator,
            reported_on=event.reported_on,
            regulator_reference=event.regulator_reference,
        )

    def add_service_errors(self, errors: dict[str, list[str]]) -> list[str]:
        """Put the service's messages on their fields; return those that fit none."""
        names = {"onset_at": "onset_date"}
        general = []
        for name, messages in errors.items():
            field = getattr(self, names.get(name, name), None)
            if field is None or not hasattr(field, "errors"):
                general.extend(messages)
            else:
                field.errors = [*field.errors, *messages]
        return general


def _whole_number(limit: int, message: str):
    def check(_form, field) -> None:
        raw = (field.data or "").strip()
        if raw and (not _NUMBER.fullmatch(raw) or not 0 < int(raw) <= limit):
            raise ValidationError(message)

    return check


class ListFilterForm(Form):
    """GET filters of the list and the export: no CSRF token, nothing changes. Invalid values
    answer 400 with the field's message."""

    show = SelectField(
        "Show",
        choices=[SelectChoice(key, label) for key, label in SHOW.items()],
        default="all",
        invalid_choice_message="Choose what to show from the list.",
    )
    patient = StringField(
        "Patient number",
        validators=[
            Optional(),
            _whole_number(MAX_RECORD_ID, "Give the patient's number as digits, for example 42."),
        ],
    )
    page = StringField(
        "Page",
        validators=[Optional(), _whole_number(MAX_PAGE, "That page number is not valid.")],
    )

    def __init__(self, formdata):
        super().__init__(formdata)
        if not self.show.raw_data:
            self.show.data = "all"

    def filters(self) -> Filters:
        raw = (self.patient.data or "").strip()
        return Filters(show=self.show.data or "all", patient_id=int(raw) if raw else None)

    @property
    def page_number(self) -> int:
        raw = (self.page.data or "").strip()
        return int(raw) if raw else 1

    def show_label(self) -> str:
        return SHOW.get(self.show.data or "all", SHOW["all"])

    def query_args(self) -> dict[str, str]:
        args = {"show": self.show.data if self.show.data != "all" else "", "patient": ""}
        args["patient"] = (self.patient.data or "").strip()
        return {key: value for key, value in args.items() if value}
