"""Patient-facing booking forms: they check the shape of what was typed, nothing more.

Whether a time is free, whether the answers allow the booking and whether the signature matches
the patient are the services' decisions.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta

from flask import current_app
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    HiddenField,
    RadioField,
    SelectChoice,
    StringField,
    TelField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, InputRequired, Length, Optional, ValidationError
from wtforms.widgets import TextInput

from clinic.booking.services import BookingRequest, PatientDetails, clinic_timezone
from clinic.clock import utcnow
from clinic.consent.services import ConsentInput
from clinic.patients.phones import (
    InvalidPhone,
    may_text,
    normalize_mobile,
    texts_not_allowed_message,
)

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


PLEASE_ANSWER = "Please answer yes or no."
# Question fields are named after the question's key, so a service error about
# "screening.<key>" finds its question.
ANSWER_PREFIX = "answer_"
_VERSION = re.compile(r"[0-9]{1,9}")


def _squash_spaces(value):
    return " ".join(value.split()) if value else value


class YesNoField(RadioField):
    """A required yes/no question with neither answer chosen until the patient chooses one."""

    def __init__(self, label=None, **kwargs):
        super().__init__(
            label,
            validators=[InputRequired(PLEASE_ANSWER)],
            choices=[SelectChoice("yes", "Yes"), SelectChoice("no", "No")],
            invalid_choice_message=PLEASE_ANSWER,
            **kwargs,
        )

    @property
    def answer(self) -> bool | None:
        return {"yes": True, "no": False}.get(self.data)

    def pre_validate(self, form):
        # An empty answer gets the required message once, not a second "not a valid choice".
        if self.data:
            super().pre_validate(form)


class PatientDetailsForm(FlaskForm):
    full_name = StringField(
        "Full name",
        validators=[
            DataRequired("Please enter your full name."),
            Length(max=120, message="Please shorten your name to 120 characters."),
        ],
        filters=[_squash_spaces],
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
    email_opt_in = BooleanField("Yes, email me my booking and aftercare advice", default=False)
    # One key per form shown: the same form sent twice (Back, then Book again) finds the visit
    # the first send made instead of booking another.
    submission_key = HiddenField(default=lambda: secrets.token_urlsafe(24))

    # Set by details_form for the chosen service.
    question_keys: tuple[str, ...] = ()
    asks_consent = False

    # Filled in by validate_mobile: the number as the clinic stores it.
    phone_e164: str = ""

    def validate_mobile(self, field):
        try:
            self.phone_e164 = normalize_mobile(
                field.data, current_app.config["DEFAULT_PHONE_REGION"]
            )
        except InvalidPhone as exc:
            raise ValidationError(str(exc)) from exc

    def validate_sms_opt_in(self, field):
        allowed = current_app.config["SMS_ALLOWED_COUNTRIES"]
        if field.data and self.phone_e164 and not may_text(self.phone_e164, allowed):
            raise ValidationError(texts_not_allowed_message(allowed))

    def validate_email_opt_in(self, field):
        if field.data and not self.email.data:
            raise ValidationError("Please enter your email address, or untick this box.")

    def validate_date_of_birth(self, field):
        if field.data is None:
            return
        today = utcnow().astimezone(clinic_timezone()).date()
        if field.data >= today:
            raise ValidationError("Your date of birth must be in the past.")
        if field.data < today - timedelta(days=round(OLDEST_PLAUSIBLE_AGE_YEARS * 365.25)):
            raise ValidationError("Please check the year of your date of birth.")

    def questions(self) -> list[YesNoField]:
        return [self[ANSWER_PREFIX + key] for key in self.question_keys]

    def unanswered(self) -> list[YesNoField]:
        return [question for question in self.questions() if question.errors]

    def booking_request(
        self,
        service_slug: str,
        start: datetime,
        practitioner_id: int | None,
        *,
        ip_address: str = "",
        user_agent: str = "",
    ) -> BookingRequest:
        return BookingRequest(
            service_slug=service_slug,
            start=start,
            practitioner_id=practitioner_id,
            sms_opt_in=self.sms_opt_in.data,
            email_opt_in=bool(self.email_opt_in.data),
            patient=PatientDetails(
                full_name=self.full_name.data,
                phone=self.phone_e164,
                email=self.email.data or "",
                date_of_birth=self.date_of_birth.data,
            ),
            screening={
                key: question.answer
                for key, question in zip(self.question_keys, self.questions(), strict=True)
                if question.answer is not None
            },
            consent=self._consent(ip_address, user_agent) if self.asks_consent else None,
            submission_key=_submission_key(self.submission_key.data),
        )

    def _consent(self, ip_address: str, user_agent: str) -> ConsentInput:
        raw = (self.consent_version.data or "").strip()
        return ConsentInput(
            # A missing or mangled version cannot be the current one; the service says so.
            version=int(raw) if _VERSION.fullmatch(raw) else 0,
            signed_name=self.signed_name.data or "",
            agree=bool(self.agree.data),
            photos=bool(self.photos.data),
            care_texts=bool(self.sms_opt_in.data),
            ip_address=ip_address,
            user_agent=user_agent,
        )

    def add_service_errors(self, errors: dict[str, list[str]]) -> list[str]:
        """Attach the services' field messages to the boxes they are about; return the rest."""
        boxes = {"full_name": self.full_name, "phone": self.mobile, "email": self.email}
        boxes["sms_opt_in"] = self.sms_opt_in
        boxes["date_of_birth"] = self.date_of_birth
        for key, question in zip(self.question_keys, self.questions(), strict=True):
            boxes[f"screening.{key}"] = question
        if self.asks_consent:
            boxes["consent.signed_name"] = self.signed_name
            boxes["consent.agree"] = self.agree
        if "consent.version" in errors and self.asks_consent:
            # The agreement was given to a text the page no longer shows: ask for it afresh.
            self.agree.data = False
        general = []
        for name, messages in errors.items():
            if name in boxes:
                boxes[name].errors = [*boxes[name].errors, *messages]
            else:
                general.extend(messages)
        return general


_SUBMISSION_KEY = re.compile(r"[A-Za-z0-9_-]{16,64}")


def _submission_key(raw: str | None) -> str | None:
    raw = (raw or "").strip()
    return raw if _SUBMISSION_KEY.fullmatch(raw) else None


def intake_fields(intake: dict, *, signer_hint: str) -> dict:
    """The fields one service asks for: its health questions and, if it needles, the consent.

    ``intake`` is what clinic.screening.services.intake returns for the service; ``signer_hint``
    says which name to sign with. Shared by the booking details and the waitlist offer forms.
    """
    fields: dict = {
        ANSWER_PREFIX + question["key"]: YesNoField(question["text"])
        for question in intake["questions"]
    }
    if intake["consent"]:
        # Created after the questions so the fields keep the page's order.
        fields.update(
            consent_version=HiddenField(),
            signed_name=StringField(
                "Type your full name to sign",
                validators=[DataRequired("Please type your full name to sign.")],
                filters=[_squash_spaces],
                description=signer_hint,
            ),
            agree=BooleanField(
                "I have read and agree to the consent form above",
                validators=[
                    DataRequired("Please confirm that you agree, or call us with any questions.")
                ],
            ),
            photos=BooleanField(
                "Yes, clinical photos of my scalp may be taken for my record",
                description="Optional. Photos help track your progress. They are never used "
                "for marketing, and saying no does not affect your treatment.",
            ),
        )
    fields["question_keys"] = tuple(question["key"] for question in intake["questions"])
    fields["asks_consent"] = bool(intake["consent"])
    return fields


def details_form(intake: dict) -> PatientDetailsForm:
    """The details form for one service: its own health questions and, if it needles, consent."""
    fields = intake_fields(intake, signer_hint="The same full name you gave above.")
    return type("ServiceDetailsForm", (PatientDetailsForm,), fields)()


class CancelForm(FlaskForm):
    reason = TextAreaField(
        "Reason (optional)",
        validators=[Length(max=300, message="Please keep the reason under 300 characters.")],
        description="It helps us plan; you do not have to tell us.",
    )


class RescheduleForm(FlaskForm):
    """One small form per offered time, so each time is a button that works without script."""

    start = HiddenField(validators=[InputRequired("Please choose a new time.")])
