"""Waitlist forms: they check the shape of what was typed; the services decide the rest."""

from __future__ import annotations

import re

from flask import current_app
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TelField,
    TimeField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from clinic.booking.forms import ANSWER_PREFIX, DayMonthYearField, YesNoField, intake_fields
from clinic.booking.services import PatientDetails
from clinic.consent.services import ConsentInput
from clinic.patients.phones import InvalidPhone, normalize_mobile
from clinic.waitlist.models import EntrySource
from clinic.waitlist.rules import LABELS, TimeOfDay
from clinic.waitlist.services import JoinRequest

_VERSION = re.compile(r"[0-9]{1,9}")
_ID = re.compile(r"[0-9]{1,9}")


def _squash_spaces(value):
    return " ".join(value.split()) if value else value


class WishForm(FlaskForm):
    """What time would suit: dates, the time of day and (optionally) a practitioner."""

    # Checked by the service (the practitioner must offer the service), not by the choices.
    practitioner = SelectField("Who would you like to see?", choices=[], validate_choice=False)
    first_day = DayMonthYearField(
        "From",
        validators=[InputRequired("Enter the first day that would suit.")],
        description="Day/month/year, for example 12/04/2026.",
        render_kw={"inputmode": "numeric", "spellcheck": "false"},
    )
    last_day = DayMonthYearField(
        "Until",
        validators=[InputRequired("Enter the last day that would suit.")],
        description="Day/month/year.",
        render_kw={"inputmode": "numeric", "spellcheck": "false"},
    )
    time_of_day = RadioField(
        "Time of day",
        choices=[SelectChoice(part.value, LABELS[part]) for part in TimeOfDay],
        default=TimeOfDay.ANY.value,
        validators=[InputRequired("Choose a time of day.")],
        invalid_choice_message="Choose a time of day.",
    )
    time_from = TimeField(
        "Earliest start", validators=[Optional()], description="Only for 'Between two times'."
    )
    time_to = TimeField(
        "Latest start", validators=[Optional()], description="Only for 'Between two times'."
    )

    def set_practitioners(self, practitioners) -> None:
        self.practitioner.choices = [SelectChoice("", "Any practitioner")] + [
            SelectChoice(str(p.id), p.name) for p in practitioners
        ]

    def practitioner_id(self) -> int | None:
        raw = self.practitioner.data or ""
        return int(raw) if _ID.fullmatch(raw) else None

    def add_service_errors(self, errors: dict[str, list[str]]) -> list[str]:
        """Attach the services' field messages to their boxes; return the rest."""
        boxes = {
            "first_day": self.first_day,
            "last_day": self.last_day,
            "time_of_day": self.time_of_day,
            "time_from": self.time_from,
            "time_to": self.time_to,
            "practitioner_id": self.practitioner,
            **self._more_boxes(),
        }
        general = []
        for name, messages in errors.items():
            if name in boxes:
                boxes[name].errors = [*boxes[name].errors, *messages]
            else:
                general.extend(messages)
        return general

    def _more_boxes(self) -> dict:
        return {}


class JoinForm(WishForm):
    """Joining online, from the "no free times" pages."""

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
        description="We text you when a time comes free.",
    )
    date_of_birth = DayMonthYearField(
        "Date of birth",
        validators=[InputRequired("Please enter your date of birth.")],
        description="Day/month/year, for example 12/04/1988.",
        render_kw={"inputmode": "numeric", "spellcheck": "false"},
    )
    sms_opt_in = BooleanField(
        "Yes, text me when a time comes free",
        validators=[DataRequired("We offer freed times by text: please agree to texts to join.")],
    )

    phone_e164: str = ""

    def validate_mobile(self, field):
        try:
            self.phone_e164 = normalize_mobile(
                field.data, current_app.config["DEFAULT_PHONE_REGION"]
            )
        except InvalidPhone as exc:
            raise ValidationError(str(exc)) from exc

    def _more_boxes(self) -> dict:
        return {
            "full_name": self.full_name,
            "phone": self.mobile,
            "date_of_birth": self.date_of_birth,
            "sms_opt_in": self.sms_opt_in,
        }

    def join_request(self, service_slug: str) -> JoinRequest:
        return JoinRequest(
            service_slug=service_slug,
            first_day=self.first_day.data,
            last_day=self.last_day.data,
            time_of_day=self.time_of_day.data,
            time_from=self.time_from.data,
            time_to=self.time_to.data,
            practitioner_id=self.practitioner_id(),
            source=EntrySource.ONLINE,
            patient=PatientDetails(
                full_name=self.full_name.data,
                phone=self.phone_e164,
                email="",
                date_of_birth=self.date_of_birth.data,
            ),
            sms_opt_in=bool(self.sms_opt_in.data),
        )


class DeskEntryForm(WishForm):
    """The desk adds a patient found with the patient search."""

    patient_id = RadioField("Patient", choices=[], validate_choice=True)
    service = SelectField("Service", choices=[], validate_choice=True)

    def set_choices(self, patients, services, practitioners) -> None:
        self.patient_id.choices = [
            SelectChoice(str(p.id), f"{p.full_name}, born {p.date_of_birth:%d/%m/%Y}, {p.phone}")
            for p in patients
        ]
        self.service.choices = [SelectChoice(s.slug, s.name) for s in services]
        self.set_practitioners(practitioners)

    def _more_boxes(self) -> dict:
        return {"patient_id": self.patient_id, "service": self.service}

    def join_request(self) -> JoinRequest:
        raw = self.patient_id.data or ""
        return JoinRequest(
            service_slug=self.service.data,
            first_day=self.first_day.data,
            last_day=self.last_day.data,
            time_of_day=self.time_of_day.data,
            time_from=self.time_from.data,
            time_to=self.time_to.data,
            practitioner_id=self.practitioner_id(),
            source=EntrySource.DESK,
            patient_id=int(raw) if _ID.fullmatch(raw) else None,
        )


class OfferForm(FlaskForm):
    """Take an offer: the service's health questions and, if it needles, the consent."""

    question_keys: tuple[str, ...] = ()
    asks_consent = False

    def questions(self) -> list[YesNoField]:
        return [self[ANSWER_PREFIX + key] for key in self.question_keys]

    def unanswered(self) -> list[YesNoField]:
        return [question for question in self.questions() if question.errors]

    def answers(self) -> dict[str, bool]:
        return {
            key: question.answer
            for key, question in zip(self.question_keys, self.questions(), strict=True)
            if question.answer is not None
        }

    def consent(self, ip_address: str, user_agent: str) -> ConsentInput | None:
        if not self.asks_consent:
            return None
        raw = (self.consent_version.data or "").strip()
        return ConsentInput(
            version=int(raw) if _VERSION.fullmatch(raw) else 0,
            signed_name=self.signed_name.data or "",
            agree=bool(self.agree.data),
            photos=bool(self.photos.data),
            care_texts=True,
            ip_address=ip_address,
            user_agent=user_agent,
        )

    def add_service_errors(self, errors: dict[str, list[str]]) -> list[str]:
        pairs = zip(self.question_keys, self.questions(), strict=True)
        boxes = {f"screening.{key}": question for key, question in pairs}
        if self.asks_consent:
            boxes["consent.signed_name"] = self.signed_name
            boxes["consent.agree"] = self.agree
            if "consent.version" in errors:
                self.agree.data = False
        general = []
        for name, messages in errors.items():
            if name in boxes:
                boxes[name].errors = [*boxes[name].errors, *messages]
            else:
                general.extend(messages)
        return general


def offer_form(intake: dict) -> OfferForm:
    """The form for one service's offer (``intake`` from clinic.screening.services.intake)."""
    fields = intake_fields(
        intake, signer_hint="The full name you gave when you joined the waiting list."
    )
    return type("ServiceOfferForm", (OfferForm,), fields)()
