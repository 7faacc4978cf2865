"""The shape of the practitioner, hours, time-off and closure forms. Whether a change may be
saved (overlapping blocks, visits to move, a clash) is the services' decision."""

from __future__ import annotations

import re
import unicodedata
from datetime import time

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    SelectField,
    SelectMultipleField,
    StringField,
    TimeField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from clinic.settings.practitioners_services import (
    MAX_BLOCKS_PER_DAY,
    MAX_NAME_CHARS,
    MAX_REASON_CHARS,
    WEEKDAYS,
    Block,
    PractitionerDetails,
    TimeOffInput,
)

# One day's hours as typed: "09:00-13:00, 14:00-17:30". Long enough for the most blocks a day
# may hold, written loosely; anything longer is refused before it is read.
MAX_DAY_CHARS = 100
_TIME = r"([01]?\d|2[0-3])[:.]([0-5]\d)"
_BLOCK = re.compile(rf"^{_TIME}\s*(?:-|–|—|to)\s*{_TIME}$")


REASON_TOO_LONG = f"Shorten the reason to {MAX_REASON_CHARS} characters."


def _squash_spaces(value):
    return " ".join(value.split()) if value else value


def _no_control_characters(_form, field):
    if any(unicodedata.category(char)[0] == "C" for char in field.data or ""):
        raise ValidationError("Use letters, spaces and punctuation only.")


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class PractitionerForm(FlaskForm):
    name = StringField(
        "Name",
        validators=[
            DataRequired("Enter the practitioner's name."),
            Length(max=MAX_NAME_CHARS, message=f"Shorten the name to {MAX_NAME_CHARS} characters."),
            _no_control_characters,
        ],
        filters=[_squash_spaces],
        description="As patients see it when they choose who treats them, e.g. Dr Priya Rao.",
    )
    location_id = SelectField(
        "Location", coerce=int, validate_choice=False, validators=[InputRequired()]
    )
    service_ids = MultiCheckboxField(
        "Services they offer", coerce=int, validate_choice=False, validators=[Optional()]
    )
    active = BooleanField(
        "Active: can be booked",
        description="Untick when they leave. Their past visits and records stay.",
    )
    # The details as they were when the form was shown (practitioner_fingerprint).
    version = HiddenField()

    def fill_choices(self, locations, services) -> None:
        self.location_id.choices = [(place.id, place.name) for place in locations]
        self.service_ids.choices = [
            (service.id, service.name if service.active else f"{service.name} (not offered now)")
            for service in services
        ]

    def details(self) -> PractitionerDetails:
        return PractitionerDetails(
            name=self.name.data,
            location_id=self.location_id.data,
            service_ids=frozenset(self.service_ids.data or ()),
            active=bool(self.active.data),
        )

    def validate_location_id(self, field):
        if field.data not in {value for value, _label in field.choices or ()}:
            raise ValidationError("Choose one of the clinic's locations.")

    def validate_service_ids(self, field):
        known = {value for value, _label in field.choices or ()}
        if not set(field.data or ()) <= known:
            raise ValidationError("Choose from the services listed.")


def parse_day(text: str) -> list[Block]:
    """One day's blocks from "09:00-13:00, 14:00-17:30" (commas, semicolons or new lines
    between blocks; an empty day is a day off). Raises ValueError naming the unreadable part."""
    blocks = []
    for part in re.split(r"[,;\n]", text or ""):
        part = part.strip()
        if not part:
            continue
        match = _BLOCK.match(part)
        if match is None:
            raise ValueError(part)
        hours = [int(value) for value in match.groups()]
        blocks.append((time(hours[0], hours[1]), time(hours[2], hours[3])))
    return blocks


class HoursForm(FlaskForm):
    """A field per weekday. One line a day keeps the whole week on one screen, readable at a
    glance and on a phone, and says a split shift as it is written on a rota."""

    monday = StringField("Monday")
    tuesday = StringField("Tuesday")
    wednesday = StringField("Wednesday")
    thursday = StringField("Thursday")
    friday = StringField("Friday")
    saturday = StringField("Saturday")
    sunday = StringField("Sunday")
    version = HiddenField()

    week: dict[int, list[Block]]

    def day_fields(self):
        return [getattr(self, name) for name in WEEKDAYS]

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        self.week = {}
        for day, name in enumerate(WEEKDAYS):
            field = getattr(self, name)
            text = field.data or ""
            if len(text) > MAX_DAY_CHARS:
                field.errors.append(f"Shorten {field.label.text} to {MAX_DAY_CHARS} characters.")
                valid = False
                continue
            try:
                blocks = parse_day(text)
            except ValueError as exc:
                field.errors.append(
                    f'{field.label.text}: cannot read "{exc}". Write start-end in 24-hour '
                    "time, such as 09:00-13:00, with a comma between blocks."
                )
                valid = False
                continue
            if len(blocks) > MAX_BLOCKS_PER_DAY:
                field.errors.append(f"Give at most {MAX_BLOCKS_PER_DAY} blocks of hours a day.")
                valid = False
                continue
            self.week[day] = blocks
        return valid


class TimeOffForm(FlaskForm):
    start_day = DateField(
        "From (date)", validators=[InputRequired("Enter the first day.")], format="%Y-%m-%d"
    )
    start_time = TimeField("From (time)", validators=[Optional()], format="%H:%M")
    end_day = DateField(
        "Until (date)", validators=[InputRequired("Enter the last day.")], format="%Y-%m-%d"
    )
    end_time = TimeField("Until (time)", validators=[Optional()], format="%H:%M")
    whole_days = BooleanField(
        "Whole days", description="From the start of the first day to the end of the last."
    )
    reason = StringField(
        "Reason (optional)",
        validators=[
            Length(max=MAX_REASON_CHARS, message=REASON_TOO_LONG),
            _no_control_characters,
        ],
        filters=[_squash_spaces],
        description="Shown to staff only, e.g. Training day.",
    )

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if self.whole_days.data:
            return valid
        # Optional() ends a time field's checks when it is empty, so its absence is noted here.
        for field, words in ((self.start_time, "a start"), (self.end_time, "an end")):
            if field.data is None and not field.errors:
                field.errors.append(f"Enter {words} time, or tick whole days.")
                valid = False
        return valid

    def entry(self) -> TimeOffInput:
        whole = bool(self.whole_days.data)
        return TimeOffInput(
            start_day=self.start_day.data,
            end_day=self.end_day.data,
            start_time=None if whole else self.start_time.data,
            end_time=None if whole else self.end_time.data,
            whole_days=whole,
            reason=self.reason.data or "",
        )


class ClosureForm(TimeOffForm):
    location_id = SelectField("Location", coerce=int, validate_choice=False)

    def fill_choices(self, locations) -> None:
        self.location_id.choices = [(place.id, place.name) for place in locations]

    def validate_location_id(self, field):
        if field.data not in {value for value, _label in field.choices or ()}:
            raise ValidationError("Choose one of the clinic's locations.")
