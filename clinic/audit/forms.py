"""The audit page's filters, read from the query string. Shape only."""

from __future__ import annotations

import re

from wtforms import Form, SelectField, StringField
from wtforms.validators import Length, Optional, ValidationError

from clinic.audit.queries import Filters
from clinic.staff.forms import MAX_RECORD_ID

# Far past any real log at 50 a page, and clear of offsets the databases refuse.
MAX_PAGE = 100_000
_NUMBER = re.compile(r"[0-9]{1,10}")


def _whole_number(limit: int, message: str):
    def check(_form, field) -> None:
        raw = (field.data or "").strip()
        if raw and (not _NUMBER.fullmatch(raw) or not 0 < int(raw) <= limit):
            raise ValidationError(message)

    return check


class AuditFilterForm(Form):
    """GET filters: no CSRF token, nothing changes. Invalid values answer 400 with the field's
    message, never a server error."""

    patient = StringField(
        "Patient number",
        validators=[
            Optional(),
            _whole_number(MAX_RECORD_ID, "Give the patient's number as digits, for example 42."),
        ],
    )
    name = StringField(
        "Patient name",
        validators=[Optional(), Length(max=120, message="Search with at most 120 characters.")],
    )
    staff = SelectField("Staff member", choices=[], validate_choice=False)
    page = StringField(
        "Page",
        validators=[Optional(), _whole_number(MAX_PAGE, "That page number is not valid.")],
    )

    def __init__(self, formdata, staff_choices: list[tuple[int, str]]):
        super().__init__(formdata)
        self.staff.choices = [("", "Anyone")] + [(str(i), label) for i, label in staff_choices]

    def validate_staff(self, field) -> None:
        if field.data and field.data not in {value for value, _label in field.choices}:
            raise ValidationError("Choose a staff member from the list.")

    def filters(self) -> Filters:
        return Filters(
            patient_id=_number(self.patient.data),
            patient_name=(self.name.data or "").strip(),
            staff_id=_number(self.staff.data),
        )

    @property
    def page_number(self) -> int:
        return _number(self.page.data) or 1

    def query_args(self) -> dict[str, str]:
        """The filters as given, for links to other pages of the same list."""
        args = {
            "patient": (self.patient.data or "").strip(),
            "name": (self.name.data or "").strip(),
            "staff": self.staff.data or "",
        }
        return {key: value for key, value in args.items() if value}


def _number(raw: str | None) -> int | None:
    raw = (raw or "").strip()
    return int(raw) if raw else None
