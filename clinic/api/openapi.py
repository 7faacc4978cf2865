"""The OpenAPI 3.1 description of /api/v1, written by hand as plain data.

Served at /api/v1/openapi.json. Limits come from clinic.api.schemas so the document and the
parser agree; tests check that every route is described and every reference resolves.
"""

from __future__ import annotations

import copy

from clinic.api import schemas
from clinic.booking.models import AppointmentStatus
from clinic.booking.services import MAX_WINDOW_DAYS
from clinic.screening.questions import UNDER_AGE
from clinic.visits.lifecycle import Refusal

VERSION = "1.0.0"


def _ref(kind: str, name: str) -> dict:
    return {"$ref": f"#/components/{kind}/{name}"}


def _json(schema_name: str, description: str, **extra) -> dict:
    return {
        "description": description,
        "content": {"application/json": {"schema": _ref("schemas", schema_name)}},
        **extra,
    }


def _error_schema(
    code: str,
    properties: dict | None = None,
    *,
    required: list[str] | None = None,
    message: str = "For people; may change.",
) -> dict:
    """The body of one error code: ``error`` is that code, so a generated client gets a class
    per code (a standalone object: code generators cannot narrow an inherited string to a
    constant through ``allOf``)."""
    return {
        "type": "object",
        "required": ["error", "message", *(required or [])],
        "properties": {
            "error": {"type": "string", "const": code, "description": "Stable code to match on."},
            "message": {"type": "string", "description": message},
            **(properties or {}),
        },
    }


def _error(code: str, description: str, schema_name: str) -> dict:
    response = _json(schema_name, description)
    response["content"]["application/json"]["example"] = {"error": code, "message": "..."}
    return response


def _either_error(description: str, examples: dict[str, dict]) -> dict:
    """A response that is one of several error codes, told apart by ``error``; ``examples``
    maps each code to its schema's name and an example body."""
    return {
        "description": description,
        "content": {
            "application/json": {
                "schema": {
                    "oneOf": [_ref("schemas", name) for name, _ in examples.values()],
                    "discriminator": {
                        "propertyName": "error",
                        "mapping": {
                            code: f"#/components/schemas/{name}"
                            for code, (name, _) in examples.items()
                        },
                    },
                },
                "examples": {
                    code: {"value": {"error": code, "message": "...", **body}}
                    for code, (_, body) in examples.items()
                },
            }
        },
    }


_LOCAL_TIME = (
    "ISO-8601 date and time with the UTC offset in force at the clinic's location on that "
    'day, e.g. "2026-03-02T10:00:00+00:00" in winter and "2026-06-01T10:00:00+01:00" in summer.'
)
_NO_STORE = {
    "Cache-Control": {
        "description": "Always no-store: the answer carries a patient's booking.",
        "schema": {"type": "string", "const": "no-store"},
    }
}

SCHEMAS: dict = {
    "Service": {
        "type": "object",
        "required": [
            "slug",
            "name",
            "description",
            "duration_minutes",
            "buffer_after_minutes",
            "price_pence",
            "needles",
        ],
        "properties": {
            "slug": {"type": "string", "description": "Stable identifier used in requests."},
            "name": {"type": "string"},
            "description": {"type": "string"},
            "duration_minutes": {"type": "integer", "minimum": 1},
            "buffer_after_minutes": {
                "type": "integer",
                "minimum": 0,
                "description": "Time the room and practitioner stay busy after the visit.",
            },
            "price_pence": {"type": "integer", "minimum": 0},
            "needles": {"type": "boolean", "description": "Whether the treatment uses needles."},
        },
    },
    "ServiceList": {
        "type": "object",
        "required": ["services"],
        "properties": {"services": {"type": "array", "items": _ref("schemas", "Service")}},
    },
    "Slot": {
        "type": "object",
        "required": ["start", "end", "practitioner_id"],
        "properties": {
            "start": {"type": "string", "format": "date-time", "description": _LOCAL_TIME},
            "end": {"type": "string", "format": "date-time", "description": _LOCAL_TIME},
            "practitioner_id": {"type": "integer"},
        },
    },
    "Availability": {
        "type": "object",
        "required": ["service", "time_zone", "slots"],
        "properties": {
            "service": {"type": "string", "description": "The service's slug."},
            "time_zone": {"type": "string", "description": "IANA zone, e.g. Europe/London."},
            "slots": {
                "type": "array",
                "description": "One entry per start time and practitioner, earliest first.",
                "items": _ref("schemas", "Slot"),
            },
        },
    },
    "Patient": {
        "type": "object",
        "required": ["full_name", "phone", "email", "date_of_birth"],
        "properties": {
            "full_name": {"type": "string", "minLength": 1, "maxLength": schemas.FULL_NAME_MAX},
            "phone": {
                "type": "string",
                "maxLength": schemas.PHONE_RAW_MAX,
                "description": "A mobile number; national numbers are read in the clinic's "
                "region. Stored in E.164.",
            },
            "email": {"type": "string", "format": "email", "maxLength": schemas.EMAIL_MAX},
            "date_of_birth": {
                "type": "string",
                "format": "date",
                "description": "YYYY-MM-DD, not in the future.",
            },
        },
    },
    "Question": {
        "type": "object",
        "required": ["key", "text"],
        "properties": {
            "key": {
                "type": "string",
                "description": "Stable identifier; the key of the answer in `screening`.",
            },
            "text": {"type": "string", "description": "The question, to show as written."},
        },
    },
    "ConsentForm": {
        "type": "object",
        "required": ["version", "title", "text", "sha256"],
        "properties": {
            "version": {
                "type": "integer",
                "minimum": 1,
                "description": "The version in force today (the clinic publishes new ones, "
                "each from its effective date). Send this back as `consent.version` when "
                "booking.",
            },
            "title": {"type": "string"},
            "text": {
                "type": "string",
                "description": "Plain text; show it in full, keeping its line breaks.",
            },
            "sha256": {
                "type": "string",
                "pattern": "^[0-9a-f]{64}$",
                "description": "SHA-256 of `text` in UTF-8, hex; the signature records it.",
            },
        },
    },
    "Intake": {
        "type": "object",
        "required": ["questionnaire_version", "questions", "consent"],
        "properties": {
            "questionnaire_version": {"type": "integer", "minimum": 1},
            "questions": {
                "type": "array",
                "description": "Every question the patient must answer yes or no, in order.",
                "items": _ref("schemas", "Question"),
            },
            "consent": {
                "description": "The form the patient must read and sign; null for a service "
                "that does not needle (such as a consultation), which needs no consent.",
                "oneOf": [_ref("schemas", "ConsentForm"), {"type": "null"}],
            },
        },
    },
    "ScreeningAnswers": {
        "type": "object",
        "description": "The patient's answer to each question of the service's intake, by "
        "key: true for yes. Every question must be answered. Keys the questionnaire does not "
        "know are ignored.",
        "maxProperties": schemas.SCREENING_KEYS_MAX,
        "additionalProperties": {"type": "boolean"},
    },
    "ConsentSignature": {
        "type": "object",
        "description": "The patient's signature of the intake's consent form. The address "
        "and user agent of the request are recorded with it, and `sms_opt_in` as the "
        "patient's choice about care texts.",
        "required": ["version", "signed_name", "agree"],
        "properties": {
            "version": {
                "type": "integer",
                "minimum": 1,
                "description": "The intake's `consent.version`. A version that is no longer "
                "in force (a newer one took effect after the intake was read) is refused with "
                "a `consent.version` field error: read the intake again and show the new text.",
            },
            "signed_name": {
                "type": "string",
                "minLength": 1,
                "maxLength": schemas.FULL_NAME_MAX,
                "description": "Typed by the patient; must match `patient.full_name` (case "
                "and spacing aside).",
            },
            "agree": {
                "type": "boolean",
                "description": "Must be true: the patient has read the form and agrees.",
            },
            "photos": {
                "type": "boolean",
                "default": False,
                "description": "The patient agrees to clinical photographs.",
            },
        },
    },
    "BookingRequest": {
        "type": "object",
        "description": "Keys not listed here are ignored. Fetch "
        "/services/{slug}/intake first: it lists the questions to answer and the consent to "
        "sign.",
        "required": ["service", "start", "patient"],
        "properties": {
            "service": {
                "type": "string",
                "maxLength": schemas.SERVICE_SLUG_MAX,
                "description": "Slug of an online-bookable service.",
            },
            "start": {
                "type": "string",
                "format": "date-time",
                "description": "A slot start from /availability, with its UTC offset.",
            },
            "practitioner_id": {
                "type": ["integer", "null"],
                "minimum": 1,
                "description": "Leave out to take whoever is free.",
            },
            "patient": _ref("schemas", "Patient"),
            "sms_opt_in": {
                "type": "boolean",
                "default": False,
                "description": "The patient agrees to care texts about this visit. Only "
                "mobile numbers of the clinic's SMS_ALLOWED_COUNTRIES may have texts: another "
                "number with true gets a 422 field error on `sms_opt_in` (book with false). "
                "More than BOOKINGS_PER_NUMBER_PER_DAY bookings for one number in a day get a "
                "422 field error on `patient.phone`.",
            },
            "email_opt_in": {
                "type": "boolean",
                "description": "The patient agrees to email about this visit and its aftercare "
                "(sent only with `patient.email`). Leave out to keep a returning patient's "
                "choice.",
            },
            "screening": {
                **_ref("schemas", "ScreeningAnswers"),
                "description": "Required: answers to every question of the intake, also for "
                "a consultation (kept for the clinician; they never stop a consultation).",
            },
            "consent": {
                **_ref("schemas", "ConsentSignature"),
                "description": "Required for a service whose intake has a consent form; "
                "ignored otherwise.",
            },
        },
    },
    "Booking": {
        "type": "object",
        "required": [
            "id",
            "status",
            "service",
            "start",
            "end",
            "practitioner_id",
            "can_change",
            "change_deadline",
            "manage_url",
        ],
        "properties": {
            "id": {"type": "integer"},
            "status": {
                "type": "string",
                "enum": [status.value for status in AppointmentStatus],
                "description": "A new booking is `booked`, or `needs_review` when an answer "
                "needs a clinician to look first: the time is held, and the clinic confirms "
                "(`confirmed`) or cancels it (`cancelled`, asking the patient to call).",
            },
            "service": {"type": "string", "description": "The service's slug."},
            "start": {"type": "string", "format": "date-time", "description": _LOCAL_TIME},
            "end": {"type": "string", "format": "date-time", "description": _LOCAL_TIME},
            "practitioner_id": {"type": "integer"},
            "can_change": {
                "type": "boolean",
                "description": "Whether the patient may still cancel online.",
            },
            "change_deadline": {
                "type": "string",
                "format": "date-time",
                "description": "Last moment the patient may cancel online.",
            },
            "manage_url": {
                "type": "string",
                "format": "uri",
                "description": "The patient's private page; its last path segment is the token "
                "for /bookings/{token}.",
            },
        },
    },
    "FieldErrors": {
        "type": "object",
        "description": 'Messages per field, keyed by dotted path such as "patient.phone".',
        "additionalProperties": {"type": "array", "items": {"type": "string"}},
    },
    "Error": {
        "type": "object",
        "description": "What every error answer has in common; each answer of an operation "
        "below has a schema of its own that fixes `error` to its code.",
        "required": ["error", "message"],
        "properties": {
            "error": {"type": "string", "description": "Stable code to match on."},
            "message": {"type": "string", "description": "For people; may change."},
        },
    },
    "BadRequestError": _error_schema(
        "bad_request",
        {"fields": {**_ref("schemas", "FieldErrors"), "description": "Bad query parameters."}},
    ),
    "NotFoundError": _error_schema("not_found"),
    "ValidationError": _error_schema(
        "validation_failed", {"fields": _ref("schemas", "FieldErrors")}, required=["fields"]
    ),
    "SlotUnavailableError": _error_schema(
        "slot_unavailable",
        {
            "alternatives": {
                "type": "array",
                "description": "Free times near the one asked for.",
                "items": _ref("schemas", "Slot"),
            }
        },
        required=["alternatives"],
    ),
    "ScreeningBlockedError": _error_schema(
        "screening_blocked",
        {
            "keys": {
                "type": "array",
                "items": {"type": "string"},
                "description": "The question keys that stopped the booking; "
                f'"{UNDER_AGE}" when the patient is too young on the day of the visit.',
            },
            "outcome": {
                "type": "string",
                "enum": ["block", "defer"],
                "description": "block: the patient should call before booking; defer: the "
                "patient may book again once the condition has cleared.",
            },
            "phone": {"type": "string", "description": "The clinic's phone number."},
        },
        required=["keys", "outcome", "phone"],
        message="A kind, plain explanation for the patient, with the clinic's phone number; "
        "show it as it is.",
    ),
    "ChangeNotAllowedError": _error_schema(
        "change_not_allowed",
        {
            "phone": {
                "type": "string",
                "description": "The clinic's phone number; sent when the visit is too close "
                "to change online.",
            },
            "refusal": {
                "type": "string",
                "enum": [refusal.value for refusal in Refusal],
                "description": "Why the visit lifecycle refused the change; sent with `event` "
                "and `visit_status` when the lifecycle refused it.",
            },
            "event": {"type": "string", "description": "The change asked for."},
            "visit_status": {"type": "string", "description": "The visit's status."},
        },
    ),
    "InvalidTokenError": _error_schema("invalid_token"),
    "ExpiredTokenError": _error_schema("expired_token"),
    "RevokedTokenError": _error_schema(
        "revoked_token",
        {
            "visit_status": {
                "type": "string",
                "description": "The visit's status: `cancelled` or `completed`.",
            },
            "phone": {"type": "string", "description": "The clinic's phone number."},
        },
        required=["visit_status", "phone"],
    ),
    "PayloadTooLargeError": _error_schema("payload_too_large"),
    "UnsupportedMediaTypeError": _error_schema("unsupported_media_type"),
    "RateLimitedError": _error_schema("rate_limited"),
}

RESPONSES: dict = {
    "BadRequest": _error(
        "bad_request",
        "The request is malformed; `fields` names bad query parameters.",
        "BadRequestError",
    ),
    "NotFound": _error(
        "not_found", "No such service, or no such practitioner for it.", "NotFoundError"
    ),
    "BookingRefused": _either_error(
        "Some fields need fixing (`validation_failed`, including unanswered questions as "
        "`screening.<key>` and consent problems as `consent` or `consent.<field>`), or the "
        "answers mean the visit cannot be booked online (`screening_blocked`). Nothing is "
        "booked or kept in either case.",
        {
            "validation_failed": ("ValidationError", {"fields": {"consent.agree": ["..."]}}),
            "screening_blocked": (
                "ScreeningBlockedError",
                {"keys": ["pregnancy"], "outcome": "block", "phone": "+44 20 7946 0000"},
            ),
        },
    ),
    "SlotUnavailable": _error(
        "slot_unavailable",
        "The time is no longer free; `alternatives` lists nearby free times.",
        "SlotUnavailableError",
    ),
    "ChangeNotAllowed": _error(
        "change_not_allowed",
        "Too close to the visit to change it online (`phone` is the number to call), or the "
        "visit's status does not allow it (`refusal`, `event`, `visit_status`).",
        "ChangeNotAllowedError",
    ),
    "InvalidToken": _error("invalid_token", "The token is not valid.", "InvalidTokenError"),
    "ExpiredToken": _either_error(
        "The token has expired (`expired_token`), or its visit was cancelled or completed, "
        "which closes every link to it (`revoked_token`, with `visit_status` and `phone`).",
        {
            "expired_token": ("ExpiredTokenError", {}),
            "revoked_token": (
                "RevokedTokenError",
                {"visit_status": "cancelled", "phone": "+44 20 7946 0000"},
            ),
        },
    ),
    "PayloadTooLarge": _error(
        "payload_too_large",
        "The body is larger than the server accepts.",
        "PayloadTooLargeError",
    ),
    "UnsupportedMediaType": _error(
        "unsupported_media_type",
        "The body must be sent as application/json.",
        "UnsupportedMediaTypeError",
    ),
    "RateLimited": {
        **_error("rate_limited", "Too many requests from this address.", "RateLimitedError"),
        "headers": {
            "Retry-After": {
                "description": "Seconds to wait before trying again.",
                "schema": {"type": "integer", "minimum": 1},
            }
        },
    },
}

PARAMETERS: dict = {
    "ServiceSlug": {
        "name": "slug",
        "in": "path",
        "required": True,
        "description": "The service's slug, as in /services.",
        "schema": {"type": "string", "maxLength": schemas.SERVICE_SLUG_MAX},
    },
    "Token": {
        "name": "token",
        "in": "path",
        "required": True,
        "description": "The last path segment of the booking's manage_url.",
        "schema": {"type": "string", "maxLength": 200},
    },
}


def _booking_response(description: str, status_headers: dict | None = None) -> dict:
    return _json("Booking", description, headers={**_NO_STORE, **(status_headers or {})})


PATHS: dict = {
    "/services": {
        "get": {
            "operationId": "listServices",
            "summary": "Services patients can book online",
            "responses": {
                "200": _json("ServiceList", "The services, in the clinic's order."),
                "429": _ref("responses", "RateLimited"),
            },
        }
    },
    "/services/{slug}/intake": {
        "parameters": [_ref("parameters", "ServiceSlug")],
        "get": {
            "operationId": "getServiceIntake",
            "summary": "What the patient must answer and sign before booking a service",
            "description": "Show every question (yes or no) and, when `consent` is not null, "
            "the consent form to read and sign; send the answers and the signature with "
            "POST /bookings. `consent` is null for a service that does not needle, such as a "
            "consultation: it needs no consent, but its questions are still answered.",
            "responses": {
                "200": _json("Intake", "The questions and the consent form."),
                "404": _ref("responses", "NotFound"),
                "429": _ref("responses", "RateLimited"),
            },
        },
    },
    "/availability": {
        "get": {
            "operationId": "getAvailability",
            "summary": "Free start times for a service",
            "parameters": [
                {
                    "name": "service",
                    "in": "query",
                    "required": True,
                    "schema": {"type": "string", "maxLength": schemas.SERVICE_SLUG_MAX},
                },
                {
                    "name": "from",
                    "in": "query",
                    "required": True,
                    "description": "First local day, inclusive.",
                    "schema": {"type": "string", "format": "date"},
                },
                {
                    "name": "to",
                    "in": "query",
                    "required": True,
                    "description": f"Last local day, inclusive; at most {MAX_WINDOW_DAYS} days "
                    "including from.",
                    "schema": {"type": "string", "format": "date"},
                },
                {
                    "name": "practitioner",
                    "in": "query",
                    "required": False,
                    "description": "Only this practitioner's times.",
                    "schema": {"type": "integer", "minimum": 1},
                },
            ],
            "responses": {
                "200": _json("Availability", "Free slots, earliest first."),
                "400": _ref("responses", "BadRequest"),
                "404": _ref("responses", "NotFound"),
                "429": _ref("responses", "RateLimited"),
            },
        }
    },
    "/bookings": {
        "post": {
            "operationId": "createBooking",
            "summary": "Book a visit",
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": _ref("schemas", "BookingRequest")}},
            },
            "responses": {
                "201": _booking_response(
                    "Booked; `status` is `needs_review` when a clinician must clear an answer "
                    "first.",
                    {
                        "Location": {
                            "description": "This booking under /bookings/{token}.",
                            "schema": {"type": "string"},
                        }
                    },
                ),
                "400": _ref("responses", "BadRequest"),
                "409": _ref("responses", "SlotUnavailable"),
                "413": _ref("responses", "PayloadTooLarge"),
                "415": _ref("responses", "UnsupportedMediaType"),
                "422": _ref("responses", "BookingRefused"),
                "429": _ref("responses", "RateLimited"),
            },
        }
    },
    "/bookings/{token}": {
        "parameters": [_ref("parameters", "Token")],
        "get": {
            "operationId": "getBooking",
            "summary": "A booking, by its manage token",
            "responses": {
                "200": _booking_response("The booking."),
                "404": _ref("responses", "InvalidToken"),
                "410": _ref("responses", "ExpiredToken"),
                "429": _ref("responses", "RateLimited"),
            },
        },
        "delete": {
            "operationId": "cancelBooking",
            "summary": "Cancel a booking",
            "description": "Cancelling closes the booking's link: a repeat answers 410 "
            "`revoked_token` with `visit_status` `cancelled`.",
            "responses": {
                "200": _booking_response("The cancelled booking."),
                "404": _ref("responses", "InvalidToken"),
                "409": _ref("responses", "ChangeNotAllowed"),
                "410": _ref("responses", "ExpiredToken"),
                "429": _ref("responses", "RateLimited"),
            },
        },
    },
    "/openapi.json": {
        "get": {
            "operationId": "getOpenApi",
            "summary": "This document",
            "responses": {
                "200": {
                    "description": "The OpenAPI 3.1 document.",
                    "content": {"application/json": {"schema": {"type": "object"}}},
                },
                "429": _ref("responses", "RateLimited"),
            },
        }
    },
}


def document(server_url: str) -> dict:
    return copy.deepcopy(
        {
            "openapi": "3.1.0",
            "info": {
                "title": "Clinic booking API",
                "version": VERSION,
                "description": "Online booking for the clinic. Every endpoint is rate limited "
                "per client address; over the limit it answers 429 with Retry-After.",
            },
            "servers": [{"url": server_url}],
            "paths": PATHS,
            "components": {
                "schemas": SCHEMAS,
                "responses": RESPONSES,
                "parameters": PARAMETERS,
            },
        }
    )
