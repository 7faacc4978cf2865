"""Forms of the desk's course pages: shape only; the course services decide the rest.

Staff type local dates and times; they become aware UTC here, in the clinic's zone.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, HiddenField, SelectChoice, SelectField, TimeField
from wtforms.validators import InputRequired, ValidationError

from clinic import localtime
from clinic.booking.services import clinic_timezone
from clinic.clock import utcnow
from clinic.courses.plan import TEMPLATES, templates_for

# Far enough for any course a desk plans, and near enough that date arithmetic on a series
# (up to a year of sessions) can never overflow.
FURTHEST_AHEAD = timedelta(days=3 * 365)
TIME_FORMATS = ["%H:%M", "%H:%M:%S"]


def local_start(day: date, wall: time, tz: ZoneInfo) -> datetime:
    """The instant a local date and time name, in UTC.

    A time the clocks skip (spring forward) names no instant: refuse it rather than guess.
    A time that happens twice (autumn back) is read as the first of the two, the one a diary
    shows first.
    """
    wall = wall.replace(second=0, microsecond=0)
    if not localtime.exists(day, wall, tz):
        raise ValueError(
            f"{wall:%H:%M} does not exist on {day.day} {day:%B %Y}: the clocks go forward "
            "that night. Choose another time."
        )
    return localtime.to_utc(day, wall, tz)


def _today() -> date:
    return utcnow().astimezone(clinic_timezone()).date()


class _LocalStart:
    """A date and time pair typed in the clinic's local time."""

    def _check_day(self, day: date | None) -> None:
        if day is None:
            return
        today = _today()
        if day < today:
            raise ValidationError("That date has passed; choose today or a later date.")
        if day > today + FURTHEST_AHEAD:
            raise ValidationError("Choose a date within the next three years.")

    def _start(self, day_field, time_field) -> datetime | None:
        if day_field.data is None or time_field.data is None:
            return None
        try:
            return local_start(day_field.data, time_field.data, clinic_timezone())
        except ValueError as exc:
            time_field.errors = [*time_field.errors, str(exc)]
            return None


class CourseForm(_LocalStart, FlaskForm):
    service = SelectField(
        "Treatment", validate_choice=True, invalid_choice_message="Choose a treatment."
    )
    template = SelectField(
        "Course plan",
        invalid_choice_message="Choose one of the course plans.",
        description="Only the plans studied with the chosen treatment are offered.",
    )
    first_date = DateField(
        "Date of the first session",
        validators=[InputRequired("Enter the date of the first session.")],
    )
    first_time = TimeField(
        "Time of the first session",
        format=TIME_FORMATS,
        validators=[InputRequired("Enter the time of the first session, like 10:00.")],
    )
    practitioner = SelectField(
        "Practitioner",
        invalid_choice_message="Choose a practitioner, or anyone free.",
    )
    # The first start the sessions on the page were previewed from: a changed first date or
    # time plans the series afresh instead of keeping picks made for the old one.
    previewed_first = HiddenField()

    def __init__(self, *args, services=(), practitioners=(), chosen_service=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.service.choices = [SelectChoice(service.slug, service.name) for service in services]
        # Only the plans studied with the chosen treatment; before one is chosen, each
        # treatment's plans grouped under its name. The course service refuses a mismatch too.
        offered = [s for s in services if s.slug == chosen_service] or list(services)
        self.template.choices = {
            service.name: [SelectChoice(p.key, p.label) for p in templates_for(service.slug)]
            for service in offered
            if templates_for(service.slug)
        } or [SelectChoice(plan.key, plan.label) for plan in TEMPLATES]
        self.practitioner.choices = [SelectChoice("", "Whoever is free")] + [
            SelectChoice(str(practitioner.id), practitioner.name) for practitioner in practitioners
        ]

    def validate_first_date(self, field):
        self._check_day(field.data)

    def first_start(self) -> datetime | None:
        """The first session's start in UTC, or None with a message on the time field."""
        return self._start(self.first_date, self.first_time)

    def practitioner_id(self) -> int | None:
        return int(self.practitioner.data) if self.practitioner.data else None

    def times_day(self) -> date | None:
        """The first session's day, when it is one the free times can be looked up for."""
        day = self.first_date.data
        today = _today()
        if day is None or not today <= day <= today + FURTHEST_AHEAD:
            return None
        return day

    def session_choices(self, formdata, first_start: datetime, sessions: int) -> dict:
        """The sessions' starts as the preview on the page showed them (``session-<n>``), when
        it was made from this first start; {} otherwise."""
        if self.previewed_first.data != first_start.isoformat():
            return {}
        chosen = {}
        for position in range(1, sessions + 1):
            raw = (formdata.get(f"session-{position}") or "").strip()
            try:
                start = datetime.fromisoformat(raw) if 0 < len(raw) <= 40 else None
            except ValueError:
                start = None
            if start is not None and start.utcoffset() is not None:
                chosen[position] = start
        return chosen

    def add_service_errors(self, errors: dict[str, list[str]]) -> list[str]:
        names = {"start": "first_date", "template": "template", "service": "service"}
        general = []
        for name, messages in errors.items():
            if name in names:
                field = self[names[name]]
                field.errors = [*field.errors, *messages]
            else:
                general.extend(messages)
        return general


class MoveForm(_LocalStart, FlaskForm):
    new_date = DateField("New date", validators=[InputRequired("Enter the new date.")])
    new_time = TimeField(
        "New time",
        format=TIME_FORMATS,
        validators=[InputRequired("Enter the new time, like 10:00.")],
    )
    shift_later = BooleanField("Also move the later sessions by the same number of days")

    def validate_new_date(self, field):
        self._check_day(field.data)

    def new_start(self) -> datetime | None:
        return self._start(self.new_date, self.new_time)
