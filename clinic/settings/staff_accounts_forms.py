"""Forms of the staff accounts screens: shape only. Whether a change is allowed (the last
admin, one's own account, a stale page) is for clinic.staff.accounts to decide."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Email, Length, Optional

from clinic.staff.models import Role

ROLE_CHOICES = [
    SelectChoice(Role.DESK.value, "Desk: the calendar, bookings, patients and texts"),
    SelectChoice(Role.PRACTITIONER.value, "Practitioner: also screenings, sessions and reports"),
    SelectChoice(Role.ADMIN.value, "Administrator: everything, settings and staff accounts too"),
]
NO_PRACTITIONER = ""


class _PractitionerLink:
    """A select of the clinic's practitioners, empty meaning none."""

    def set_practitioners(self, practitioners: list[tuple[int, str]]) -> None:
        self.practitioner_id.choices = [
            (NO_PRACTITIONER, "None"),
            *[(str(ident), name) for ident, name in practitioners],
        ]

    def practitioner(self) -> int | None:
        value = self.practitioner_id.data
        return int(value) if value else None


class InviteForm(FlaskForm, _PractitionerLink):
    name = StringField(
        "Name",
        validators=[DataRequired("Enter the person's name."), Length(max=120)],
        description="As colleagues know them; shown in the calendar and the audit log.",
    )
    email = EmailField(
        "Email",
        validators=[
            DataRequired("Enter their email address."),
            Length(max=254, message="An email address has at most 254 characters."),
            Email("Enter an email address like name@example.com."),
        ],
        description="They sign in with it, and the invitation goes to it.",
    )
    role = SelectField("Role", choices=ROLE_CHOICES, default=Role.DESK.value)
    practitioner_id = SelectField(
        "Practitioner's diary",
        choices=[],
        validators=[Optional()],
        description="For a practitioner account: whose visits are theirs.",
    )


class RoleForm(FlaskForm, _PractitionerLink):
    role = SelectField("Role", choices=ROLE_CHOICES)
    practitioner_id = SelectField(
        "Practitioner's diary",
        choices=[],
        validators=[Optional()],
        description="For a practitioner account only.",
    )
    version = HiddenField(validators=[Length(max=64)])


class AccountActionForm(FlaskForm):
    """Deactivate, reactivate, send a password link, invite again: one click on the account as
    the page showed it."""

    version = HiddenField(validators=[Length(max=64)])
