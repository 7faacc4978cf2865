"""The policy form: shape only (a whole number, two HH:MM times); the rules are checked by
clinic.catalog.policy.check when the service saves."""

from __future__ import annotations

import re
from datetime import time

from flask_wtf import FlaskForm
from wtforms import Field, HiddenField, StringField
from wtforms.validators import InputRequired, ValidationError

_HH_MM = re.compile(r"([01]?[0-9]|2[0-3]):([0-5][0-9])")
# Six digits take in any sensible number of hours; a longer run is not a number anyone meant.
_WHOLE_NUMBER = re.compile(r"[0-9]{1,6}")
_VERSION = re.compile(r"[0-9]{1,12}")


def _hh_mm(_form, field: Field) -> None:
    if field.data and _HH_MM.fullmatch(field.data.strip()) is None:
        raise ValidationError("Give the time as hours and minutes (24-hour clock), like 20:00.")


def _whole_number(_form, field: Field) -> None:
    if field.data and _WHOLE_NUMBER.fullmatch(field.data.strip()) is None:
        raise ValidationError("Give a whole number of hours, like 24.")


class PolicyForm(FlaskForm):
    # Text rather than IntegerField and TimeField: the browser's own time picker and number
    # spinner differ between browsers and locales, and text fields give the same message for
    # the same mistake everywhere.
    cancellation_window_hours = StringField(
        "Patients may change or cancel online until this many hours before the visit",
        validators=[InputRequired("Give a number of hours, like 24."), _whole_number],
        description="From 0 (up to the start of the visit) to 336 (two weeks). "
        "After it, the patient's link asks them to call.",
        render_kw={"inputmode": "numeric", "autocomplete": "off", "maxlength": 6},
    )
    quiet_start = StringField(
        "Quiet hours start",
        validators=[InputRequired("Give the time quiet hours start, like 20:00."), _hh_mm],
        description="24-hour clock, the clinic's local time, like 20:00.",
        render_kw={"autocomplete": "off", "maxlength": 5},
    )
    quiet_end = StringField(
        "Quiet hours end",
        validators=[InputRequired("Give the time quiet hours end, like 09:00."), _hh_mm],
        description="24-hour clock, the clinic's local time, like 09:00.",
        render_kw={"autocomplete": "off", "maxlength": 5},
    )
    # How many saves the form was shown after (clinic.catalog.policy.Policy.version).
    version = HiddenField()

    def values(self) -> tuple[int, time, time]:
        return (
            int(self.cancellation_window_hours.data.strip()),
            _as_time(self.quiet_start.data),
            _as_time(self.quiet_end.data),
        )

    def shown_version(self) -> int | None:
        """The version the form was shown at, or None when it is not a number (tampered)."""
        raw = (self.version.data or "").strip()
        return int(raw) if _VERSION.fullmatch(raw) else None


def _as_time(raw: str) -> time:
    hours, minutes = _HH_MM.fullmatch(raw.strip()).groups()
    return time(int(hours), int(minutes))
