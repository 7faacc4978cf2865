"""Bad input to the JSON API: always a JSON error with a stable code, never a 500 or a stray row."""

from __future__ import annotations

import io
import json

import pytest
from sqlalchemy import func, inspect, select

from clinic.booking.models import Appointment
from clinic.patients.models import Patient
from tests.factories import make_clinic
from tests.helpers import BOOKINGS, answered, booking_body

AVAILABILITY = "/api/v1/availability"


def counts(db) -> tuple[int, int]:
    return (
        db.session.scalar(select(func.count()).select_from(Appointment)),
        db.session.scalar(select(func.count()).select_from(Patient)),
    )


@pytest.fixture
def clinic(app):
    return make_clinic()


def patient(**overrides):
    return {**booking_body()["patient"], **overrides}


def consent(**overrides):
    return {"version": 1, "signed_name": "Alex Morgan", "agree": True, "photos": False, **overrides}


def complete(client, **overrides):
    """A booking that would succeed, with ``overrides`` applied after answering the intake."""
    return answered(client, booking_body(**overrides))


# --- availability query -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("from=2026-03-02&to=2026-03-02", "service"),
        ("service=consultation&to=2026-03-02", "from"),
        ("service=consultation&from=2026-03-02", "to"),
        ("service=consultation&from=2026-3-2&to=2026-03-02", "from"),
        ("service=consultation&from=02/03/2026&to=2026-03-02", "from"),
        ("service=consultation&from=tomorrow&to=2026-03-02", "from"),
        ("service=consultation&from=2026-02-30&to=2026-03-02", "from"),
        ("service=consultation&from=2026-03-02T10:00&to=2026-03-02", "from"),
        ("service=consultation&from=&to=2026-03-02", "from"),
        ("service=consultation&from=%EF%BC%92026-03-02&to=2026-03-02", "from"),
        ("service=consultation&from=9999-12-31&to=9999-12-31", "from"),
        ("service=consultation&from=0001-01-01&to=0001-01-01", "from"),
        ("service=consultation&from=2026-03-02&to=2026-03-01", "to"),
        ("service=consultation&from=2026-03-01&to=2026-04-01", "to"),  # 32 days
        ("service=consultation&from=2026-03-02&to=2026-03-02&practitioner=abc", "practitioner"),
        ("service=consultation&from=2026-03-02&to=2026-03-02&practitioner=0", "practitioner"),
        ("service=consultation&from=2026-03-02&to=2026-03-02&practitioner=-1", "practitioner"),
        (
            "service=consultation&from=2026-03-02&to=2026-03-02&practitioner=99999999999",
            "practitioner",
        ),
        ("service=consult%00ation&from=2026-03-02&to=2026-03-02", "service"),
        ("service=" + "x" * 81 + "&from=2026-03-02&to=2026-03-02", "service"),
    ],
)
def test_malformed_availability_query_is_a_400_naming_the_parameter(client, clinic, query, field):
    response = client.get(f"{AVAILABILITY}?{query}")

    assert response.status_code == 400
    body = response.get_json()
    assert body["error"] == "bad_request"
    assert body["message"]
    assert field in body["fields"]
    assert all(isinstance(m, str) for m in body["fields"][field])


def test_a_31_day_window_is_allowed(client, clinic):
    response = client.get(f"{AVAILABILITY}?service=consultation&from=2026-03-01&to=2026-03-31")

    assert response.status_code == 200


def test_availability_for_an_unknown_service_is_not_found(client, clinic):
    response = client.get(f"{AVAILABILITY}?service=botox&from=2026-03-02&to=2026-03-02")

    assert response.status_code == 404
    assert response.get_json()["error"] == "not_found"


def test_availability_for_a_service_not_bookable_online_is_not_found(client, clinic, db):
    clinic.services["consultation"].bookable_online = False
    db.session.commit()

    response = client.get(f"{AVAILABILITY}?service=consultation&from=2026-03-02&to=2026-03-02")

    assert response.status_code == 404


def test_availability_for_a_practitioner_who_does_not_offer_the_service_is_not_found(
    client, clinic, db
):
    practitioner = clinic.practitioners[1]
    practitioner.services = [clinic.services["consultation"]]
    db.session.commit()

    response = client.get(
        f"{AVAILABILITY}?service=microneedling&from=2026-03-02&to=2026-03-02"
        f"&practitioner={practitioner.id}"
    )

    assert response.status_code == 404


def test_an_empty_practitioner_parameter_means_anyone(client, clinic):
    response = client.get(
        f"{AVAILABILITY}?service=consultation&from=2026-03-02&to=2026-03-02&practitioner="
    )

    assert response.status_code == 200
    practitioners = {slot["practitioner_id"] for slot in response.get_json()["slots"]}
    assert practitioners == {p.id for p in clinic.practitioners}


def test_unknown_query_parameters_are_ignored(client, clinic):
    response = client.get(
        f"{AVAILABILITY}?service=consultation&from=2026-03-02&to=2026-03-02&colour=blue"
    )

    assert response.status_code == 200


def test_days_in_the_past_have_no_slots_rather_than_an_error(client, clinic):
    response = client.get(f"{AVAILABILITY}?service=consultation&from=2020-01-01&to=2020-01-31")

    assert response.status_code == 200
    assert response.get_json()["slots"] == []


# --- the body as a whole ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        ("{not json", "application/json"),
        ("", "application/json"),
        ('{"service": "consultation",}', "application/json"),
        ("[]", "application/json"),
        ('"a string"', "application/json"),
        ("null", "application/json"),
        ("42", "application/json"),
        ("[" * 60_000, "application/json"),
        ('{"a":' * 10_000 + "1" + "}" * 10_000, "application/json"),
        ('{"service": ' + "9" * 5000 + "}", "application/json"),
        (b'{"service": "\xff\xfe"}', "application/json"),
        (b"\xef\xbb\xbf\xef\xbb\xbf{}", "application/json"),
    ],
    ids=[
        "truncated",
        "empty",
        "trailing-comma",
        "array",
        "string",
        "null",
        "number",
        "deep-array",
        "deep-object",
        "huge-integer",
        "bad-utf8",
        "double-bom",
    ],
)
def test_unreadable_or_non_object_body_is_a_400(client, clinic, db, data, content_type):
    before = counts(db)

    response = client.post(BOOKINGS, data=data, content_type=content_type)

    assert response.status_code == 400
    assert response.get_json()["error"] == "bad_request"
    assert counts(db) == before


@pytest.mark.parametrize(
    "content_type",
    [None, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"],
)
def test_body_that_is_not_declared_json_is_a_415(client, clinic, db, content_type):
    before = counts(db)
    kwargs = {"content_type": content_type} if content_type else {}

    response = client.post(BOOKINGS, data=json.dumps(complete(client)), **kwargs)

    assert response.status_code == 415
    assert response.get_json()["error"] == "unsupported_media_type"
    assert counts(db) == before


def test_json_with_a_vendor_media_type_is_accepted(client, clinic):
    response = client.post(
        BOOKINGS, data=json.dumps(complete(client)), content_type="application/vnd.clinic+json"
    )

    assert response.status_code == 201


def test_body_over_the_size_limit_is_a_json_413(client, clinic, db, app):
    before = counts(db)
    body = complete(client, junk="x" * app.config["MAX_CONTENT_LENGTH"])

    response = client.post(BOOKINGS, json=body)

    assert response.status_code == 413
    assert response.mimetype == "application/json"
    assert response.get_json()["error"] == "payload_too_large"
    assert counts(db) == before


CHUNKED = {"HTTP_TRANSFER_ENCODING": "chunked", "wsgi.input_terminated": True}


def test_chunked_body_over_the_size_limit_is_a_json_413_even_if_its_start_parses(
    client, clinic, db, app
):
    # The first MAX_CONTENT_LENGTH bytes are a complete booking; the rest is padding.
    valid = json.dumps(complete(client)).encode()
    data = valid + b" " * (app.config["MAX_CONTENT_LENGTH"] - len(valid) + 10)
    before = counts(db)

    response = client.post(
        BOOKINGS,
        input_stream=io.BytesIO(data),
        content_type="application/json",
        environ_overrides=CHUNKED,
    )

    assert response.status_code == 413
    assert response.get_json()["error"] == "payload_too_large"
    assert counts(db) == before


def test_chunked_body_under_the_limit_books(client, clinic):
    response = client.post(
        BOOKINGS,
        input_stream=io.BytesIO(json.dumps(complete(client)).encode()),
        content_type="application/json",
        environ_overrides=CHUNKED,
    )

    assert response.status_code == 201


def test_a_large_body_under_the_limit_with_nested_junk_in_unknown_keys_books(client, clinic):
    junk = {"a": [{"b": [None, True, 1.5, "x" * 1000]} for _ in range(40)]}
    nested = {}
    for _ in range(200):
        nested = {"deeper": nested}
    body = complete(client, junk=junk, nested=nested, patient=patient(nickname=["x"] * 100))
    assert 40_000 < len(json.dumps(body)) < 64 * 1024

    response = client.post(BOOKINGS, json=body)

    assert response.status_code == 201


# --- field errors -------------------------------------------------------------------------

FIELD_CASES = [
    # (id, overrides of the body, fields expected in the answer)
    ("no-service", {"service": None}, {"service"}),
    ("service-number", {"service": 5}, {"service"}),
    ("service-unknown", {"service": "botox"}, {"service"}),
    ("service-empty", {"service": "  "}, {"service"}),
    ("service-object", {"service": {"slug": "consultation"}}, {"service"}),
    ("no-start", {"start": None}, {"start"}),
    ("start-number", {"start": 5}, {"start"}),
    ("start-list", {"start": ["2026-03-04T10:00:00+00:00"]}, {"start"}),
    ("start-naive", {"start": "2026-03-04T10:00:00"}, {"start"}),
    ("start-date-only", {"start": "2026-03-04"}, {"start"}),
    ("start-garbage", {"start": "next tuesday"}, {"start"}),
    ("start-bad-offset", {"start": "2026-03-04T10:00:00+25:00"}, {"start"}),
    ("start-past", {"start": "2026-03-01T10:00:00+00:00"}, {"start"}),
    ("start-too-soon", {"start": "2026-03-02T09:00:00+00:00"}, {"start"}),
    ("start-too-far", {"start": "2027-03-02T10:00:00+00:00"}, {"start"}),
    ("start-edge-of-time", {"start": "9999-12-31T23:59:59-23:59"}, {"start"}),
    ("start-dawn-of-time", {"start": "0001-01-01T00:00:00+23:59"}, {"start"}),
    ("start-very-long", {"start": "2026-03-04T10:00:00" + "0" * 100 + "+00:00"}, {"start"}),
    ("practitioner-string", {"practitioner_id": "1"}, {"practitioner_id"}),
    ("practitioner-bool", {"practitioner_id": True}, {"practitioner_id"}),
    ("practitioner-zero", {"practitioner_id": 0}, {"practitioner_id"}),
    ("practitioner-float", {"practitioner_id": 1.5}, {"practitioner_id"}),
    ("practitioner-huge", {"practitioner_id": 2**63}, {"practitioner_id"}),
    ("practitioner-unknown", {"practitioner_id": 999}, {"practitioner_id"}),
    ("sms-string", {"sms_opt_in": "yes"}, {"sms_opt_in"}),
    ("sms-number", {"sms_opt_in": 1}, {"sms_opt_in"}),
    ("no-patient", {"patient": None}, {"patient"}),
    ("patient-list", {"patient": []}, {"patient"}),
    ("patient-string", {"patient": "Alex Morgan"}, {"patient"}),
    (
        "patient-empty",
        {"patient": {}},
        {"patient.full_name", "patient.phone", "patient.email", "patient.date_of_birth"},
    ),
    ("name-empty", {"patient": patient(full_name="")}, {"patient.full_name"}),
    ("name-blank", {"patient": patient(full_name=" \u3000 ")}, {"patient.full_name"}),
    ("name-too-long", {"patient": patient(full_name="A" * 121)}, {"patient.full_name"}),
    ("name-nested", {"patient": patient(full_name={"a": [1, {"b": []}]})}, {"patient.full_name"}),
    ("name-nul", {"patient": patient(full_name="Alex\x00Morgan")}, {"patient.full_name"}),
    ("name-newline", {"patient": patient(full_name="Alex\nMorgan")}, {"patient.full_name"}),
    ("name-surrogate", {"patient": patient(full_name="Alex \ud800")}, {"patient.full_name"}),
    ("phone-letters", {"patient": patient(phone="call me")}, {"patient.phone"}),
    ("phone-short", {"patient": patient(phone="12345")}, {"patient.phone"}),
    ("phone-landline", {"patient": patient(phone="020 7946 0000")}, {"patient.phone"}),
    ("phone-long", {"patient": patient(phone="0" * 33)}, {"patient.phone"}),
    ("phone-number", {"patient": patient(phone=7911123456)}, {"patient.phone"}),
    ("phone-empty", {"patient": patient(phone="")}, {"patient.phone"}),
    ("email-bad", {"patient": patient(email="not-an-email")}, {"patient.email"}),
    ("email-no-domain-dot", {"patient": patient(email="a@localhost")}, {"patient.email"}),
    ("email-spaces", {"patient": patient(email="a b@example.com")}, {"patient.email"}),
    (
        "email-too-long",
        {"patient": patient(email="a" * 243 + "@example.com")},
        {"patient.email"},
    ),
    ("email-missing", {"patient": patient(email=None)}, {"patient.email"}),
    ("dob-future", {"patient": patient(date_of_birth="2030-01-01")}, {"patient.date_of_birth"}),
    ("dob-tomorrow", {"patient": patient(date_of_birth="2026-03-03")}, {"patient.date_of_birth"}),
    ("dob-format", {"patient": patient(date_of_birth="12/04/1988")}, {"patient.date_of_birth"}),
    ("dob-impossible", {"patient": patient(date_of_birth="1988-02-30")}, {"patient.date_of_birth"}),
    ("dob-ancient", {"patient": patient(date_of_birth="1066-10-14")}, {"patient.date_of_birth"}),
    ("dob-number", {"patient": patient(date_of_birth=19880412)}, {"patient.date_of_birth"}),
    ("screening-list", {"screening": [False] * 5}, {"screening"}),
    ("screening-string", {"screening": "no"}, {"screening"}),
    ("screening-true", {"screening": True}, {"screening"}),
    ("screening-too-many", {"screening": {f"k{n}": False for n in range(201)}}, {"screening"}),
    ("answer-string", {"screening": {"pregnancy": "no"}}, {"screening.pregnancy"}),
    ("answer-number", {"screening": {"pregnancy": 0}}, {"screening.pregnancy"}),
    ("answer-null", {"screening": {"pregnancy": None}}, {"screening.pregnancy"}),
    ("answer-object", {"screening": {"keloid": {"answer": False}}}, {"screening.keloid"}),
    (
        "answers-several",
        {"screening": {"keloid": "yes", "pregnancy": [], "cold_sores": False}},
        {"screening.keloid", "screening.pregnancy"},
    ),
    ("consent-list", {"consent": []}, {"consent"}),
    ("consent-true", {"consent": True}, {"consent"}),
    (
        "consent-empty",
        {"consent": {}},
        {"consent.version", "consent.signed_name", "consent.agree"},
    ),
    ("consent-version-string", {"consent": consent(version="1")}, {"consent.version"}),
    ("consent-version-bool", {"consent": consent(version=True)}, {"consent.version"}),
    ("consent-version-zero", {"consent": consent(version=0)}, {"consent.version"}),
    ("consent-version-float", {"consent": consent(version=1.5)}, {"consent.version"}),
    ("consent-agree-string", {"consent": consent(agree="yes")}, {"consent.agree"}),
    ("consent-agree-number", {"consent": consent(agree=1)}, {"consent.agree"}),
    ("consent-photos-string", {"consent": consent(photos="no")}, {"consent.photos"}),
    ("consent-name-number", {"consent": consent(signed_name=5)}, {"consent.signed_name"}),
    ("consent-name-blank", {"consent": consent(signed_name="  ")}, {"consent.signed_name"}),
    ("consent-name-nul", {"consent": consent(signed_name="Alex\x00")}, {"consent.signed_name"}),
    ("consent-name-long", {"consent": consent(signed_name="A" * 121)}, {"consent.signed_name"}),
    (
        "many-at-once",
        {"start": 5, "patient": patient(phone="nope", email="nope"), "screening": 1},
        {"start", "patient.phone", "patient.email", "screening"},
    ),
]


@pytest.mark.parametrize(
    ("overrides", "fields"),
    [case[1:] for case in FIELD_CASES],
    ids=[case[0] for case in FIELD_CASES],
)
def test_bad_field_is_a_422_naming_it_and_writes_nothing(client, clinic, db, overrides, fields):
    before = counts(db)
    body = {k: v for k, v in {**complete(client), **overrides}.items() if v is not None}
    if "patient" in body and isinstance(body["patient"], dict):
        body["patient"] = {k: v for k, v in body["patient"].items() if v is not None}

    response = client.post(
        BOOKINGS, data=json.dumps(body, ensure_ascii=True), content_type="application/json"
    )

    assert response.status_code == 422, response.get_json()
    answer = response.get_json()
    assert answer["error"] == "validation_failed"
    assert answer["message"]
    assert set(answer["fields"]) == fields
    assert all(
        messages and all(isinstance(m, str) for m in messages)
        for messages in answer["fields"].values()
    )
    assert counts(db) == before


def test_date_of_birth_today_is_accepted(client, clinic):
    response = client.post(
        BOOKINGS, json=complete(client, patient=patient(date_of_birth="2026-03-02"))
    )

    assert response.status_code == 201


def test_null_optional_fields_mean_absent(client, clinic, db):
    response = client.post(BOOKINGS, json=complete(client, practitioner_id=None, sms_opt_in=None))

    assert response.status_code == 201
    assert db.session.get(Appointment, response.get_json()["id"]).patient.sms_opt_in is False


def test_a_slot_that_is_not_on_the_grid_is_unavailable_with_alternatives(client, clinic, db):
    before = counts(db)

    response = client.post(BOOKINGS, json=complete(client, start="2026-03-04T10:07:00+00:00"))

    assert response.status_code == 409
    assert response.get_json()["alternatives"]
    assert counts(db) == before


# --- strings are stored as given ----------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "Zoë O'Brien-Łukasiewicz",
        "Dr. 👩🏽‍⚕️ Ngozi 🌟",
        "李小龍",
        "A" * 120,
        "🙂" * 120,
        "Robert'); DROP TABLE patient;--",
        "x' OR '1'='1",
        "<script>alert(1)</script>",
    ],
)
def test_names_are_stored_verbatim(any_app, name):
    from clinic.extensions import db

    with any_app.app_context():
        make_clinic()
        client = any_app.test_client()
        response = client.post(
            BOOKINGS,
            json=complete(client, service="microneedling", patient=patient(full_name=f"  {name} ")),
        )

        assert response.status_code == 201, response.get_json()
        stored = db.session.get(Appointment, response.get_json()["id"]).patient
        assert stored.full_name == name
        assert "patient" in inspect(db.engine).get_table_names()


def test_sql_like_email_is_stored_verbatim(client, clinic, db):
    email = "o'brien+test--1@example.co.uk"

    response = client.post(BOOKINGS, json=complete(client, patient=patient(email=email)))

    assert response.status_code == 201
    assert db.session.get(Appointment, response.get_json()["id"]).patient.email == email


def test_control_characters_never_reach_postgresql(any_app):
    from clinic.extensions import db

    with any_app.app_context():
        make_clinic()
        client = any_app.test_client()
        response = client.post(BOOKINGS, json=complete(client, patient=patient(full_name="A\x00B")))
        query = client.get(f"{AVAILABILITY}?service=a%00b&from=2026-03-02&to=2026-03-02")

        assert response.status_code == 422
        assert query.status_code == 400
        assert db.session.scalar(select(func.count()).select_from(Patient)) == 0


# --- tokens and methods -------------------------------------------------------------------


@pytest.mark.parametrize(
    "token",
    [
        "abc",
        "x" * 500,
        "WzEsImFiYyJd.aaVDgA.CiFOeSHB-MuCe7wcyIqZr5ghlvE",
        "%C3%A9%F0%9F%99%82",
        "%00",
        "..%2F..%2Fetc",
        "null",
    ],
)
def test_nonsense_tokens_are_invalid_not_errors(client, clinic, token):
    for response in (
        client.get(f"{BOOKINGS}/{token}"),
        client.delete(f"{BOOKINGS}/{token}"),
    ):
        assert response.status_code == 404
        assert response.get_json()["error"] in {"invalid_token", "not_found"}


def test_wrong_method_answers_json(client, clinic):
    response = client.get(BOOKINGS)

    assert response.status_code == 405
    assert response.get_json()["error"] == "method_not_allowed"
