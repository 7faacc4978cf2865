"""Request parsing for the JSON API: shape and types here, the clinic's rules in the services.

A schema is a mapping of field name to :class:`Field`. :func:`parse_fields` returns clean values
or raises :class:`FieldErrors` with every problem at once, keyed by dotted path
("patient.phone"), so a client can mark each field. Keys a schema does not name are ignored, so
clients written against a later version keep working. Adding a field (screening answers, consent)
is one more entry in a mapping and one more argument where the values are used.

Health answers are checked for shape only (an object of booleans); which questions must be
answered, and what the answers decide, is clinic.screening's business. Error messages never
repeat an answer.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from flask import Request, current_app
from werkzeug.exceptions import RequestEntityTooLarge

from clinic.booking.services import (
    MAX_WINDOW_DAYS,
    BookingRequest,
    PatientDetails,
    clinic_timezone,
)
from clinic.clock import utcnow
from clinic.consent.services import ConsentInput
from clinic.errors import DomainError, ValidationFailed
from clinic.patients.phones import (
    InvalidPhone,
    may_text,
    normalize_mobile,
    texts_not_allowed_message,
)
from clinic.screening import questions

# Limits shared with the OpenAPI document, so the two cannot drift apart.
SERVICE_SLUG_MAX = 80
FULL_NAME_MAX = 120
EMAIL_MAX = 254
PHONE_RAW_MAX = 32
DATETIME_MAX = 64
RECORD_ID_MAX = 2**31 - 1
# Far more than any questionnaire version asks; a bigger object is not a set of answers.
SCREENING_KEYS_MAX = 200
USER_AGENT_MAX = 300
# Dates outside this range cannot be meant, and far-off ones overflow time-zone arithmetic.
EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(2999, 12, 31)

REQUIRED = "This field is required."
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_DIGITS = re.compile(r"\d{1,10}", re.ASCII)
_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")
# Control characters and lone surrogates: PostgreSQL refuses NUL and UTF-8 cannot encode a lone
# surrogate, so either would fail at the database instead of here.
_UNSTORABLE = {"Cc", "Cs"}


class BadRequest(DomainError):
    """The request itself is malformed: unreadable JSON, or query parameters of the wrong form."""

    code = "bad_request"
    status = 400


class UnsupportedMediaType(DomainError):
    code = "unsupported_media_type"
    status = 415


class Invalid(ValueError):
    """One value is unusable; the message is meant for the person who typed it."""


class FieldErrors(Exception):
    def __init__(self, errors: dict[str, list[str]]):
        super().__init__(errors)
        self.errors = errors


@dataclass(frozen=True)
class Field:
    parse: Callable[[Any], Any]
    required: bool = True
    # Used when an optional field is absent or null.
    default: Any = None


def parse_fields(fields: Mapping[str, Field], data: Mapping[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for name, field in fields.items():
        raw = data.get(name)
        if raw is None:
            if field.required:
                errors[name] = [REQUIRED]
            else:
                values[name] = field.default
            continue
        try:
            values[name] = field.parse(raw)
        except Invalid as exc:
            errors[name] = [str(exc)]
        except FieldErrors as exc:
            for path, messages in exc.errors.items():
                errors[f"{name}.{path}"] = messages
    if errors:
        raise FieldErrors(errors)
    return values


# --- value parsers ------------------------------------------------------------------------


def nested(fields: Mapping[str, Field]) -> Callable[[Any], dict[str, Any]]:
    def parse(raw: Any) -> dict[str, Any]:
        if not isinstance(raw, dict):
            raise Invalid("Must be a JSON object.")
        return parse_fields(fields, raw)

    return parse


def text(max_length: int) -> Callable[[Any], str]:
    """A non-empty string, trimmed, at most ``max_length`` characters once trimmed."""

    def parse(raw: Any) -> str:
        if not isinstance(raw, str):
            raise Invalid("Must be a string.")
        if any(unicodedata.category(char) in _UNSTORABLE for char in raw):
            raise Invalid("Must not contain control characters.")
        value = raw.strip()
        if not value:
            raise Invalid("Must not be empty.")
        if len(value) > max_length:
            raise Invalid(f"Must be at most {max_length} characters.")
        return value

    return parse


def email(raw: Any) -> str:
    value = text(EMAIL_MAX)(raw)
    if not _EMAIL.fullmatch(value):
        raise Invalid("That does not look like an email address.")
    return value


def mobile(raw: Any) -> str:
    if not isinstance(raw, str):
        raise Invalid("Must be a string.")
    if len(raw) > PHONE_RAW_MAX:
        raise Invalid(f"Must be at most {PHONE_RAW_MAX} characters.")
    try:
        return normalize_mobile(raw, current_app.config["DEFAULT_PHONE_REGION"])
    except InvalidPhone as exc:
        raise Invalid(str(exc)) from exc


def iso_date(raw: Any) -> date:
    if not isinstance(raw, str) or not _ISO_DATE.fullmatch(raw):
        raise Invalid("Give a date as YYYY-MM-DD.")
    try:
        value = date.fromisoformat(raw)
    except ValueError as exc:
        raise Invalid("That date does not exist.") from exc
    if not EARLIEST_DATE <= value <= LATEST_DATE:
        raise Invalid(f"Give a date between {EARLIEST_DATE} and {LATEST_DATE}.")
    return value


def date_of_birth(raw: Any) -> date:
    value = iso_date(raw)
    if value > utcnow().astimezone(clinic_timezone()).date():
        raise Invalid("The date of birth cannot be in the future.")
    return value


def aware_datetime(raw: Any) -> datetime:
    message = "Give the time in ISO-8601 with its UTC offset, like 2026-03-02T10:00:00+00:00."
    if not isinstance(raw, str) or len(raw) > DATETIME_MAX:
        raise Invalid(message)
    try:
        value = datetime.fromisoformat(raw)
    except ValueError as exc:
        raise Invalid(message) from exc
    if value.tzinfo is None or value.utcoffset() is None:
        raise Invalid("Give the time with its UTC offset, like 2026-03-02T10:00:00+00:00.")
    try:
        # Times at the very edge of the calendar cannot be converted to UTC.
        value.astimezone(UTC)
    except OverflowError as exc:
        raise Invalid(message) from exc
    return value


def record_id(raw: Any) -> int:
    # JSON true is a Python int; an id is never a boolean.
    if isinstance(raw, bool) or not isinstance(raw, int) or not 1 <= raw <= RECORD_ID_MAX:
        raise Invalid("Must be a whole number from 1 up.")
    return raw


def record_id_text(raw: str) -> int:
    if not _DIGITS.fullmatch(raw):
        raise Invalid("Must be a whole number from 1 up.")
    return record_id(int(raw))


def storable(raw: str) -> str:
    """``raw`` without the characters the database cannot store, for text nobody typed."""
    return "".join(char for char in raw if unicodedata.category(char) not in _UNSTORABLE)


def boolean(raw: Any) -> bool:
    if not isinstance(raw, bool):
        raise Invalid("Must be true or false.")
    return raw


def screening_answers(raw: Any) -> dict[str, bool]:
    """{question key: yes?} for the keys the current questionnaire knows; others are ignored.

    Ignoring unknown keys lets a client send answers to a later questionnaire, and keeps
    arbitrary client-chosen names out of error messages.
    """
    if not isinstance(raw, dict):
        raise Invalid("Must be a JSON object of question keys to true or false.")
    if len(raw) > SCREENING_KEYS_MAX:
        raise Invalid(f"Must have at most {SCREENING_KEYS_MAX} answers.")
    known = {question.key for question in questions.current().questions}
    answers = {key: value for key, value in raw.items() if key in known}
    errors = {
        key: ["Must be true or false."]
        for key, value in answers.items()
        if not isinstance(value, bool)
    }
    if errors:
        raise FieldErrors(errors)
    return answers


# --- request bodies -----------------------------------------------------------------------


def json_object(request: Request) -> dict[str, Any]:
    """The request's JSON body as a dict; BadRequest or UnsupportedMediaType otherwise.

    Bodies over MAX_CONTENT_LENGTH raise RequestEntityTooLarge (413), which the API's error
    handler answers in JSON.
    """
    if not request.is_json:
        raise UnsupportedMediaType("Send the body as JSON, with Content-Type: application/json.")
    # With a Content-Length over the limit, Werkzeug raises 413 here. A chunked body has no
    # length: Werkzeug stops reading at the limit and returns the truncated start, which could
    # even parse, so a body that fills the limit is refused as too large.
    raw = request.get_data(cache=False)
    limit = request.max_content_length
    if request.content_length is None and limit is not None and len(raw) >= limit:
        raise RequestEntityTooLarge()
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        # RecursionError: the decoder recurses per nesting level, and a body of brackets fits
        # in the size limit.
        raise BadRequest("The body is not valid JSON.") from exc
    if not isinstance(body, dict):
        raise BadRequest("The body must be a JSON object.")
    return body


PATIENT_FIELDS: dict[str, Field] = {
    "full_name": Field(text(FULL_NAME_MAX)),
    "phone": Field(mobile),
    "email": Field(email),
    "date_of_birth": Field(date_of_birth),
}

CONSENT_FIELDS: dict[str, Field] = {
    "version": Field(record_id),
    "signed_name": Field(text(FULL_NAME_MAX)),
    # Agreement must be explicit: false is accepted here and refused by the consent rules, so
    # the patient reads the same message whichever way they failed to agree.
    "agree": Field(boolean),
    # Clinical photos are a separate choice; leaving it out means no.
    "photos": Field(boolean, required=False, default=False),
}

BOOKING_FIELDS: dict[str, Field] = {
    "service": Field(text(SERVICE_SLUG_MAX)),
    "start": Field(aware_datetime),
    "practitioner_id": Field(record_id, required=False),
    "patient": Field(nested(PATIENT_FIELDS)),
    # Care texts need an explicit yes: leaving the field out means no.
    "sms_opt_in": Field(boolean, required=False, default=False),
    # Email needs an explicit yes too; leaving it out keeps a returning patient's choice.
    "email_opt_in": Field(boolean, required=False, default=None),
    # Both optional here: the booking rules name each missing answer, and whether the service
    # needs a consent at all.
    "screening": Field(screening_answers, required=False),
    "consent": Field(nested(CONSENT_FIELDS), required=False),
}


def booking_request(
    body: Mapping[str, Any], *, ip_address: str | None = "", user_agent: str = ""
) -> BookingRequest:
    """The booking a body asks for; ``ip_address`` and ``user_agent`` go on the signature."""
    try:
        values = parse_fields(BOOKING_FIELDS, body)
    except FieldErrors as exc:
        raise ValidationFailed(exc.errors) from exc
    allowed = current_app.config["SMS_ALLOWED_COUNTRIES"]
    if values["sms_opt_in"] and not may_text(values["patient"]["phone"], allowed):
        # Booking without texts is always open: the message says so.
        raise ValidationFailed({"sms_opt_in": [texts_not_allowed_message(allowed)]})
    consent = values["consent"]
    return BookingRequest(
        service_slug=values["service"],
        start=values["start"],
        patient=PatientDetails(**values["patient"]),
        practitioner_id=values["practitioner_id"],
        sms_opt_in=values["sms_opt_in"],
        email_opt_in=values["email_opt_in"],
        screening=values["screening"],
        consent=None
        if consent is None
        else ConsentInput(
            version=consent["version"],
            signed_name=consent["signed_name"],
            agree=consent["agree"],
            photos=consent["photos"],
            care_texts=values["sms_opt_in"],
            ip_address=ip_address or "",
            user_agent=storable(user_agent)[:USER_AGENT_MAX],
        ),
    )


# --- query strings ------------------------------------------------------------------------


@dataclass(frozen=True)
class AvailabilityQuery:
    service: str
    first_day: date
    last_day: date
    practitioner_id: int | None = None


AVAILABILITY_FIELDS: dict[str, Field] = {
    "service": Field(text(SERVICE_SLUG_MAX)),
    "from": Field(iso_date),
    "to": Field(iso_date),
    "practitioner": Field(record_id_text, required=False),
}


def availability_query(args: Mapping[str, str]) -> AvailabilityQuery:
    message = "Some query parameters need fixing."
    try:
        # An empty parameter (a form's "any practitioner" choice) counts as absent.
        present = {name: value for name, value in args.items() if value != ""}
        values = parse_fields(AVAILABILITY_FIELDS, present)
    except FieldErrors as exc:
        raise BadRequest(message, details={"fields": exc.errors}) from exc
    first, last = values["from"], values["to"]
    if last < first:
        raise BadRequest(message, details={"fields": {"to": ["Must not be before from."]}})
    if (last - first).days + 1 > MAX_WINDOW_DAYS:
        raise BadRequest(
            message,
            details={"fields": {"to": [f"Ask for at most {MAX_WINDOW_DAYS} days at a time."]}},
        )
    return AvailabilityQuery(values["service"], first, last, values["practitioner"])
