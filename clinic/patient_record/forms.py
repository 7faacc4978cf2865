"""The desk's contact form: the shape of a name, mobile, email and date of birth, checked the
way the booking form checks them. Whether the change may be saved is the service's decision."""

from __future__ import annotations

import re
import unicodedata
from datetime import timedelta

from flask import current_app
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, StringField, TelField
from wtforms.validators import DataRequired, Email, InputRequired, Length, Optional, ValidationError

from clinic.booking.forms import OLDEST_PLAUSIBLE_AGE_YEARS, DayMonthYearField
from clinic.booking.services import clinic_timezone
from clinic.clock import utcnow
from clinic.patient_record.services import ContactDetails
from clinic.patients.phones import InvalidPhone, format_national, normalize_mobile


def _digits(value) -> str:
    return re.sub(r"\D", "", value or "")


def _squash_spaces(value):
    return " ".join(value.split()) if value else value


class ContactForm(FlaskForm):
    full_name = StringField(
        "Full name",
        validators=[
            DataRequired("Enter the patient's full name."),
            Length(max=120, message="Shorten the name to 120 characters."),
        ],
        filters=[_squash_spaces],
    )
    mobile = TelField(
        "Mobile number",
        validators=[InputRequired("Enter the patient's mobile number.")],
        description="As the patient gives it, for example 07911 123456 or +44 7911 123456.",
    )
    email = EmailField(
        "Email (optional)",
        validators=[
            Optional(),
            Length(max=254, message="That email address is too long."),
            Email("That does not look like an email address.", check_deliverability=False),
        ],
        filters=[lambda value: value.strip() if value else value],
    )
    date_of_birth = DayMonthYearField(
        "Date of birth",
        validators=[InputRequired("Enter the patient's date of birth.")],
        description="Day/month/year, for example 12/04/1988.",
        render_kw={"inputmode": "numeric", "spellcheck": "false"},
    )
    # The details as they were when the form was shown (clinic.patient_record.services).
    version = HiddenField()

    phone_e164: str = ""
    # The number on record: sent back unchanged it stands, even where the numbering plan does
    # not call it valid (the ranges kept for fiction), so other details can still be changed.
    stored_phone: str = ""

    def validate_full_name(self, field):
        if any(unicodedata.category(char)[0] == "C" for char in field.data or ""):
            raise ValidationError("Use letters, spaces and punctuation only.")

    def validate_mobile(self, field):
        region = current_app.config["DEFAULT_PHONE_REGION"]
        if self.stored_phone and _digits(field.data) in {
            _digits(self.stored_phone),
            _digits(format_national(self.stored_phone, region)),
        }:
            self.phone_e164 = self.stored_phone
            return
        try:
            self.phone_e164 = normalize_mobile(field.data, region)
        except InvalidPhone as exc:
            raise ValidationError(str(exc)) from exc

    def validate_date_of_birth(self, field):
        if field.data is None:
            return
        today = utcnow().astimezone(clinic_timezone()).date()
        if field.data >= today:
            raise ValidationError("The date of birth must be in the past.")
        if field.data < today - timedelta(days=round(OLDEST_PLAUSIBLE_AGE_YEARS * 365.25)):
            raise ValidationError("Check the year of the date of birth.")

    def details(self) -> ContactDetails:
        return ContactDetails(
            full_name=self.full_name.data,
            phone=self.phone_e164,
            email=self.email.data or "",
            date_of_birth=self.date_of_birth.data,
        )
