"""Patient-facing booking forms: they check the shape of what was typed, nothing more.

Whether a time is free, or a patient may have it, is the booking services' decision.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    HiddenField,
    StringField,
    TelField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, InputRequired, Length, Optional, ValidationError
from wtforms.widgets import TextInput

from clinic.booking.services import BookingRequest, PatientDetails, clinic_timezone
from clinic.clock import utcnow
from clinic.patients.phones import InvalidPhone, normalize_mobile

OLDEST_PLAUSIBLE_AGE_YEARS = 120


class DayMonthYearField(DateField):
    """A date typed as day/month/year, the way UK patients write it.

    A plain text box rather than a date picker: pickers show the browser's locale order (often
    month first) and make people scroll back decades for a birth date. The ISO form is accepted
    too, for browsers that fill it in. An empty box is left to the required check, so it gets
    one message rather than two.
    """

    widget = TextInput()
    FORMATS = ("%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%d %m %Y", "%Y-%m-%d")

    def __init__(self, label=None, validators=None, **kwargs):
        super().__init__(label, validators, format=list(self.FORMATS), **kwargs)

    def _value(self):
        if self.raw_data:
            return " ".join(self.raw_data)
        return self.data.strftime("%d/%m/%Y") if self.data else ""

    def process_formdata(self, valuelist):
        text = " ".join(valuelist or []).strip()
        if not text:
            self.data = None
            return
        try:
            super().process_formdata([text])
        except ValueError as exc:
            raise ValueError("Enter the date as day/month/year, like 12/04/1988.") from exc


class PatientDetailsForm(FlaskForm):
    full_name = StringField(
        "Full name",
        validators=[
            DataRequired("Please enter your full name."),
            Length(max=120, message="Please shorten your name to 120 characters."),
        ],
        filters=[lambda value: " ".join(value.split()) if value else value],
    )
    mobile = TelField(
        "Mobile number",
        validators=[InputRequired("Please enter your mobile number.")],
        description="We text you only about this visit, and only if you ask us to below.",
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
        validators=[InputRequired("Please enter your date of birth.")],
        description="Day/month/year, for example 12/04/1988.",
        render_kw={"inputmode": "numeric", "spellcheck": "false"},
    )
    sms_opt_in = BooleanField("Yes, text me about my appointment and aftercare", default=False)

    # Filled in by validate_mobile: the number as the clinic stores it.
    phone_e164: str = ""

    def validate_mobile(self, field):
        try:
            self.phone_e164 = normalize_mobile(
                field.data, current_app.config["DEFAULT_PHONE_REGION"]
            )
        except InvalidPhone as exc:
            raise ValidationError(str(exc)) from exc

    def validate_date_of_birth(self, field):
        if field.data is None:
            return
        today = utcnow().astimezone(clinic_timezone()).date()
        if field.data >= today:
            raise ValidationError("Your date of birth must be in the past.")
        if field.data < today - timedelta(days=round(OLDEST_PLAUSIBLE_AGE_YEARS * 365.25)):
            raise ValidationError("Please check the year of your date of birth.")

    def booking_request(
        self, service_slug: str, start: datetime, practitioner_id: int | None
    ) -> BookingRequest:
        return BookingRequest(
            service_slug=service_slug,
            start=start,
            practitioner_id=practitioner_id,
            sms_opt_in=self.sms_opt_in.data,
            patient=PatientDetails(
                full_name=self.full_name.data,
                phone=self.phone_e164,
                email=self.email.data or "",
                date_of_birth=self.date_of_birth.data,
            ),
        )

    def add_service_errors(self, errors: dict[str, list[str]]) -> list[str]:
        """Attach the services' field messages to the boxes they are about; return the rest."""
        boxes = {"full_name": self.full_name, "phone": self.mobile, "email": self.email}
        boxes["date_of_birth"] = self.date_of_birth
        general = []
        for name, messages in errors.items():
            if name in boxes:
                boxes[name].errors = [*boxes[name].errors, *messages]
            else:
                general.extend(messages)
        return general


class CancelForm(FlaskForm):
    reason = TextAreaField(
        "Reason (optional)",
        validators=[Length(max=300, message="Please keep the reason under 300 characters.")],
        description="It helps us plan; you do not have to tell us.",
    )


class RescheduleForm(FlaskForm):
    """One small form per offered time, so each time is a button that works without script."""

    start = HiddenField(validators=[InputRequired("Please choose a new time.")])
