"""The desk booking form: shape only. Whether the time is free, whether the answers allow the
booking and whether the source is a desk one are clinic.booking.desk's decisions."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from flask import current_app
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    RadioField,
    SelectChoice,
    StringField,
    TelField,
)
from wtforms.validators import Email, InputRequired, Length, Optional, ValidationError

from clinic.booking.desk import DeskBookingRequest
from clinic.booking.forms import ANSWER_PREFIX, DayMonthYearField, _submission_key
from clinic.booking.models import DESK_SOURCES, BookingSource
from clinic.booking.services import PatientDetails, clinic_timezone
from clinic.clock import utcnow
from clinic.patients.phones import (
    InvalidPhone,
    may_text,
    normalize_mobile,
    texts_not_allowed_message,
)

NOW, LATER = "now", "later"
OLDEST_PLAUSIBLE_AGE_YEARS = 120


def _squash_spaces(value):
    return " ".join(value.split()) if value else value


class DeskBookingForm(FlaskForm):
    start = RadioField(
        "Time",
        validate_choice=False,
        validators=[InputRequired("Choose one of the free times.")],
    )
    source = RadioField(
        "How did the patient book?",
        choices=[SelectChoice(s.value, s.words) for s in DESK_SOURCES],
        default=BookingSource.PHONE.value,
        validators=[InputRequired("Choose phone, walk-in or desk.")],
        invalid_choice_message="Choose phone, walk-in or desk.",
    )
    screening_when = RadioField(
        "Health questions",
        choices=[
            SelectChoice(LATER, "Leave them for check-in"),
            SelectChoice(NOW, "Ask them now"),
        ],
        default=LATER,
        validators=[InputRequired("Choose whether to ask the health questions now.")],
        invalid_choice_message="Choose whether to ask the health questions now.",
    )
    # A new patient's details; ignored when a patient on record was chosen.
    full_name = StringField(
        "Full name",
        validators=[Length(max=120, message="Shorten the name to 120 characters.")],
        filters=[_squash_spaces],
    )
    mobile = TelField("Mobile number")
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
        description="Day/month/year, for example 12/04/1988.",
        render_kw={"inputmode": "numeric", "spellcheck": "false"},
    )
    sms_opt_in = BooleanField("The patient agrees to texts about visits and aftercare")
    email_opt_in = BooleanField("The patient agrees to email about visits and aftercare")
    submission_key = HiddenField(default=lambda: secrets.token_urlsafe(24))

    question_keys: tuple[str, ...] = ()
    phone_e164: str = ""
    # Set by the page: whether the booking is for a new patient (else one on record).
    new_patient: bool = True

    def validate_start(self, field):
        if self.chosen_start() is None:
            raise ValidationError("Choose one of the free times.")

    def validate_full_name(self, field):
        if self.new_patient and not field.data:
            raise ValidationError("Enter the patient's full name.")

    def validate_mobile(self, field):
        if not self.new_patient:
            return
        if not field.data:
            raise ValidationError("Enter the patient's mobile number.")
        try:
            self.phone_e164 = normalize_mobile(
                field.data, current_app.config["DEFAULT_PHONE_REGION"]
            )
        except InvalidPhone as exc:
            raise ValidationError(str(exc)) from exc

    def validate_date_of_birth(self, field):
        if not self.new_patient:
            return
        if field.data is None:
            raise ValidationError("Enter the patient's date of birth.")
        today = utcnow().astimezone(clinic_timezone()).date()
        if field.data >= today:
            raise ValidationError("The date of birth must be in the past.")
        if field.data < today - timedelta(days=round(OLDEST_PLAUSIBLE_AGE_YEARS * 365.25)):
            raise ValidationError("Check the year of the date of birth.")

    def validate_sms_opt_in(self, field):
        allowed = current_app.config["SMS_ALLOWED_COUNTRIES"]
        if (
            self.new_patient
            and field.data
            and self.phone_e164
            and not may_text(self.phone_e164, allowed)
        ):
            raise ValidationError(texts_not_allowed_message(allowed))

    def validate_email_opt_in(self, field):
        if self.new_patient and field.data and not self.email.data:
            raise ValidationError("Enter the email address, or untick this box.")

    def chosen_start(self) -> datetime | None:
        raw = (self.start.data or "").strip()
        if not raw or len(raw) > 40:
            return None
        try:
            start = datetime.fromisoformat(raw)
        except ValueError:
            return None
        return start if start.utcoffset() is not None else None

    def questions(self) -> list[RadioField]:
        return [self[ANSWER_PREFIX + key] for key in self.question_keys]

    def answers(self) -> dict[str, bool] | None:
        """The answers given now, or None when the questions are left for check-in."""
        if self.screening_when.data != NOW:
            return None
        return {
            key: question.data == "yes"
            for key, question in zip(self.question_keys, self.questions(), strict=True)
            if question.data in ("yes", "no")
        }

    def booking_request(
        self, service_slug: str, patient_id: int | None, practitioner_id: int | None
    ) -> DeskBookingRequest:
        details = None
        if self.new_patient:
            details = PatientDetails(
                full_name=self.full_name.data,
                phone=self.phone_e164,
                email=self.email.data or "",
                date_of_birth=self.date_of_birth.data,
            )
        return DeskBookingRequest(
            service_slug=service_slug,
            start=self.chosen_start(),
            source=self.source.data,
            patient_id=None if self.new_patient else patient_id,
            details=details,
            practitioner_id=practitioner_id,
            sms_opt_in=bool(self.sms_opt_in.data),
            email_opt_in=bool(self.email_opt_in.data),
            screening=self.answers(),
            submission_key=_submission_key(self.submission_key.data),
        )

    def add_service_errors(self, errors: dict[str, list[str]]) -> list[str]:
        """Attach the services' field messages to their boxes; return the rest."""
        boxes = {
            "full_name": self.full_name,
            "phone": self.mobile,
            "email": self.email,
            "date_of_birth": self.date_of_birth,
            "sms_opt_in": self.sms_opt_in,
            "start": self.start,
            "source": self.source,
        }
        for key, question in zip(self.question_keys, self.questions(), strict=True):
            boxes[f"screening.{key}"] = question
        general = []
        for name, messages in errors.items():
            box = boxes.get(name)
            if box is not None:
                box.errors = [*box.errors, *messages]
            else:
                general.extend(messages)
        return general


def desk_booking_form(questions: list[dict], *, new_patient: bool, **kwargs) -> DeskBookingForm:
    """The form for one service, with its health questions (optional: answered only when the
    desk asks them now; the screening service says which are missing)."""
    fields = {
        ANSWER_PREFIX + question["key"]: RadioField(
            question["text"],
            choices=[SelectChoice("yes", "Yes"), SelectChoice("no", "No")],
            validators=[Optional()],
            invalid_choice_message="Answer yes or no.",
        )
        for question in questions
    }
    form_class = type(
        "ServiceDeskBookingForm",
        (DeskBookingForm,),
        {
            "question_keys": tuple(question["key"] for question in questions),
            "new_patient": new_patient,
            **fields,
        },
    )
    return form_class(**kwargs)
