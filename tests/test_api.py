"""The JSON API under /api/v1: happy paths, the contract's field names, the OpenAPI document."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from clinic.booking.models import Appointment
from clinic.booking.tokens import manage_token
from clinic.consent import texts as consent_texts
from clinic.extensions import limiter
from clinic.patients.models import Patient
from clinic.screening import questions
from tests.factories import all_no, make_booking, make_clinic, patient_details
from tests.helpers import BOOKINGS, SLUGS, answered, booking_body, intake

SLOT_KEYS = {"start", "end", "practitioner_id"}
BOOKING_KEYS = {
    "id",
    "status",
    "service",
    "start",
    "end",
    "practitioner_id",
    "can_change",
    "change_deadline",
    "manage_url",
}
SERVICE_KEYS = {
    "slug",
    "name",
    "description",
    "duration_minutes",
    "buffer_after_minutes",
    "price_pence",
    "needles",
}


def book(client, **overrides):
    response = client.post(BOOKINGS, json=answered(client, booking_body(**overrides)))
    assert response.status_code == 201, response.get_json()
    return response


def token_of(response) -> str:
    return response.get_json()["manage_url"].rsplit("/", 1)[-1]


def count(db, model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


# --- services -----------------------------------------------------------------------------


def test_services_lists_only_online_bookable_services_with_contract_fields(client, db):
    clinic = make_clinic()
    clinic.services["microneedling-steroid"].bookable_online = False
    db.session.commit()

    response = client.get("/api/v1/services")

    assert response.status_code == 200
    services = response.get_json()["services"]
    assert [s["slug"] for s in services] == [
        "consultation",
        "microneedling",
        "microneedling-prp",
    ]
    assert all(set(s) == SERVICE_KEYS for s in services)
    needling = services[1]
    assert needling["duration_minutes"] == 45
    assert needling["buffer_after_minutes"] == 15
    assert needling["price_pence"] == 25000
    assert needling["needles"] is True


# --- intake -------------------------------------------------------------------------------


def test_intake_lists_the_services_questions_and_the_current_consent(client):
    make_clinic()

    form = intake(client, "microneedling-prp")

    assert form["questionnaire_version"] == 1
    assert [q["key"] for q in form["questions"]] == list(all_no("microneedling-prp"))
    questionnaire = questions.current()
    assert all(q["text"] == questionnaire.question(q["key"]).text for q in form["questions"])
    current = consent_texts.BUILT_IN
    assert form["consent"] == {
        "version": consent_texts.BUILT_IN.version,
        "title": current.title,
        "text": current.text,
        "sha256": hashlib.sha256(form["consent"]["text"].encode()).hexdigest(),
    }


def test_intake_asks_only_the_questions_for_that_service(client):
    make_clinic()

    keys = {slug: {q["key"] for q in intake(client, slug)["questions"]} for slug in SLUGS}

    assert "prp_blood" in keys["microneedling-prp"]
    assert "prp_blood" not in keys["microneedling"] | keys["microneedling-steroid"]
    assert "numbing_allergy" not in keys["consultation"]
    assert keys["consultation"] < keys["microneedling"]


def test_intake_for_a_consultation_has_questions_but_no_consent(client):
    make_clinic()

    form = intake(client, "consultation")

    assert form["consent"] is None
    assert [q["key"] for q in form["questions"]] == list(all_no("consultation"))


@pytest.mark.parametrize("slug", ["botox", "microneedling-steroid", "a%00b", "x" * 81, "%20"])
def test_intake_for_a_service_not_offered_online_is_a_json_404(client, db, slug):
    clinic = make_clinic()
    clinic.services["microneedling-steroid"].bookable_online = False
    db.session.commit()

    response = client.get(f"/api/v1/services/{slug}/intake")

    assert response.status_code == 404
    assert response.get_json()["error"] == "not_found"


# --- availability -------------------------------------------------------------------------


def test_availability_lists_local_times_per_practitioner(client):
    clinic = make_clinic()
    first, second = (p.id for p in clinic.practitioners)

    response = client.get("/api/v1/availability?service=consultation&from=2026-03-02&to=2026-03-03")

    assert response.status_code == 200
    body = response.get_json()
    assert body["service"] == "consultation"
    assert body["time_zone"] == "Europe/London"
    slots = body["slots"]
    assert all(set(slot) == SLOT_KEYS for slot in slots)
    # Two hours' notice from 08:00: the first start is 10:00, once per practitioner.
    assert slots[:2] == [
        {
            "start": "2026-03-02T10:00:00+00:00",
            "end": "2026-03-02T10:20:00+00:00",
            "practitioner_id": first,
        },
        {
            "start": "2026-03-02T10:00:00+00:00",
            "end": "2026-03-02T10:20:00+00:00",
            "practitioner_id": second,
        },
    ]
    assert slots[-1]["start"] == "2026-03-03T16:30:00+00:00"
    assert len({(s["start"], s["practitioner_id"]) for s in slots}) == len(slots)


def test_availability_for_one_practitioner_lists_only_their_times(client):
    clinic = make_clinic()
    second = clinic.practitioners[1].id

    response = client.get(
        f"/api/v1/availability?service=microneedling&from=2026-03-02&to=2026-03-02"
        f"&practitioner={second}"
    )

    slots = response.get_json()["slots"]
    assert slots
    assert {slot["practitioner_id"] for slot in slots} == {second}


def test_availability_hides_booked_time(client):
    make_clinic(practitioners=1)
    make_booking("consultation", datetime(2026, 3, 2, 10, 0, tzinfo=UTC))

    response = client.get("/api/v1/availability?service=consultation&from=2026-03-02&to=2026-03-02")

    starts = [slot["start"] for slot in response.get_json()["slots"]]
    assert "2026-03-02T10:00:00+00:00" not in starts
    assert starts[0] == "2026-03-02T10:30:00+00:00"


def test_availability_across_the_spring_change_carries_each_days_offset(client, clock):
    make_clinic()
    clock.set(datetime(2026, 3, 27, 8, 0, tzinfo=UTC))

    response = client.get("/api/v1/availability?service=consultation&from=2026-03-28&to=2026-03-30")

    starts = [slot["start"] for slot in response.get_json()["slots"]]
    assert starts[0] == "2026-03-28T09:00:00+00:00"
    assert not [s for s in starts if s.startswith("2026-03-29")]  # Sunday: closed
    monday = [s for s in starts if s.startswith("2026-03-30")]
    assert monday[0] == "2026-03-30T09:00:00+01:00"
    assert all(s.endswith("+01:00") for s in monday)


def test_availability_for_an_unknown_practitioner_is_not_found(client):
    make_clinic()

    response = client.get(
        "/api/v1/availability?service=consultation&from=2026-03-02&to=2026-03-02&practitioner=999"
    )

    assert response.status_code == 404
    assert response.get_json()["error"] == "not_found"


# --- booking ------------------------------------------------------------------------------


def test_booking_answers_201_with_location_and_manage_url(client, db):
    make_clinic()

    response = book(client)

    body = response.get_json()
    assert set(body) == BOOKING_KEYS
    assert body["status"] == "booked"
    assert body["service"] == "consultation"
    assert body["start"] == "2026-03-04T10:00:00+00:00"
    assert body["end"] == "2026-03-04T10:20:00+00:00"
    assert body["can_change"] is True
    assert body["change_deadline"] == "2026-03-03T10:00:00+00:00"
    token = token_of(response)
    assert body["manage_url"] == f"http://clinic.test/manage/{token}"
    assert response.headers["Location"] == f"/api/v1/bookings/{token}"
    assert response.headers["Cache-Control"] == "no-store"

    appointment = db.session.get(Appointment, body["id"])
    assert appointment.practitioner_id == body["practitioner_id"]
    patient = appointment.patient
    assert patient.phone == "+447911123456"  # stored in E.164
    assert patient.full_name == "Alex Morgan"
    assert patient.email == "alex@example.com"
    assert patient.sms_opt_in is True


def test_booking_with_a_practitioner_books_that_practitioner(client):
    clinic = make_clinic()
    second = clinic.practitioners[1].id

    body = book(client, practitioner_id=second).get_json()

    assert body["practitioner_id"] == second


def test_booking_without_sms_choice_means_no_texts(client, db):
    make_clinic()
    body = answered(client, booking_body())
    del body["sms_opt_in"]

    response = client.post(BOOKINGS, json=body)

    assert response.status_code == 201
    assert db.session.get(Appointment, response.get_json()["id"]).patient.sms_opt_in is False


def test_booking_a_time_given_in_utc_answers_in_local_summer_time(client, clock):
    make_clinic()
    # Within the horizon and the notice, after London moved to BST on 29 March.
    clock.set(datetime(2026, 3, 27, 8, 0, tzinfo=UTC))

    response = book(client, service="microneedling", start="2026-03-30T09:00:00Z")

    body = response.get_json()
    assert body["start"] == "2026-03-30T10:00:00+01:00"
    assert body["end"] == "2026-03-30T10:45:00+01:00"
    assert body["change_deadline"] == "2026-03-29T10:00:00+01:00"


def test_booking_with_a_local_summer_offset_round_trips(client):
    make_clinic()

    body = book(client, start="2026-03-30T10:00:00+01:00").get_json()

    assert body["start"] == "2026-03-30T10:00:00+01:00"


def test_taken_slot_answers_409_with_nearby_alternatives(client, db):
    make_clinic(practitioners=1)
    make_booking("consultation", datetime(2026, 3, 4, 10, 0, tzinfo=UTC))
    before = count(db, Appointment), count(db, Patient)

    response = client.post(
        BOOKINGS,
        json=answered(
            client, booking_body(patient={**booking_body()["patient"], "phone": "07400 123456"})
        ),
    )

    assert response.status_code == 409
    body = response.get_json()
    assert body["error"] == "slot_unavailable"
    assert body["message"]
    alternatives = body["alternatives"]
    assert alternatives
    assert all(set(slot) == SLOT_KEYS for slot in alternatives)
    assert "2026-03-04T10:00:00+00:00" not in [slot["start"] for slot in alternatives]
    assert "2026-03-04T10:30:00+00:00" in [slot["start"] for slot in alternatives]
    assert (count(db, Appointment), count(db, Patient)) == before


def test_second_needling_within_seven_days_is_a_start_field_error(client, db):
    make_clinic()
    book(client, service="microneedling", start="2026-03-03T10:00:00+00:00")
    before = count(db, Appointment)

    response = client.post(
        BOOKINGS,
        json=answered(
            client, booking_body(service="microneedling", start="2026-03-06T10:00:00+00:00")
        ),
    )

    assert response.status_code == 422
    body = response.get_json()
    assert body["error"] == "validation_failed"
    assert list(body["fields"]) == ["start"]
    assert count(db, Appointment) == before


def test_booking_twice_with_same_phone_and_birth_date_reuses_the_patient(client, db):
    make_clinic()
    book(client, start="2026-03-04T10:00:00+00:00")
    book(client, start="2026-03-05T10:00:00+00:00")

    assert count(db, Patient) == 1


def test_booking_works_on_postgresql_too(any_app):
    with any_app.app_context():
        make_clinic()
        client = any_app.test_client()
        response = client.post(
            BOOKINGS, json=answered(client, booking_body(service="microneedling"))
        )
        assert response.status_code == 201, response.get_json()
        assert response.get_json()["start"] == "2026-03-04T10:00:00+00:00"


# --- reading and cancelling by token ------------------------------------------------------


def test_get_booking_by_token(client):
    make_clinic()
    created = book(client)

    response = client.get(created.headers["Location"])

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert set(body) == BOOKING_KEYS
    assert {k: v for k, v in body.items() if k != "manage_url"} == {
        k: v for k, v in created.get_json().items() if k != "manage_url"
    }
    assert body["manage_url"].startswith("http://clinic.test/manage/")


def test_delete_cancels_and_frees_the_time(client):
    make_clinic(practitioners=1)
    created = book(client)

    response = client.delete(created.headers["Location"])

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert set(body) == BOOKING_KEYS
    assert body["status"] == "cancelled"
    assert body["can_change"] is False
    starts = [
        slot["start"]
        for slot in client.get(
            "/api/v1/availability?service=consultation&from=2026-03-04&to=2026-03-04"
        ).get_json()["slots"]
    ]
    assert "2026-03-04T10:00:00+00:00" in starts


def test_delete_twice_answers_that_the_booking_is_cancelled(client):
    make_clinic()
    location = book(client).headers["Location"]
    client.delete(location)

    response = client.delete(location)

    # The link closed with the visit; a retry still learns the outcome, and whom to call.
    assert response.status_code == 410
    body = response.get_json()
    assert body["error"] == "revoked_token"
    assert body["visit_status"] == "cancelled"
    assert body["phone"] == "+44 20 7946 0000"


def test_delete_inside_the_cancellation_window_asks_to_call(client, db, clock):
    make_clinic()
    created = book(client)
    clock.advance(hours=30)  # Tuesday 14:00, 20 hours before the visit

    response = client.delete(created.headers["Location"])

    assert response.status_code == 409
    body = response.get_json()
    assert body["error"] == "change_not_allowed"
    assert body["phone"] == "+44 20 7946 0000"
    assert body["phone"] in body["message"]
    assert db.session.get(Appointment, created.get_json()["id"]).status == "booked"
    assert client.get(created.headers["Location"]).get_json()["can_change"] is False


def test_expired_token_is_gone(client, clock):
    make_clinic()
    location = book(client).headers["Location"]
    clock.advance(days=181)

    for response in (client.get(location), client.delete(location)):
        assert response.status_code == 410
        assert response.get_json()["error"] == "expired_token"


def test_tampered_token_is_not_found(client, db):
    make_clinic()
    created = book(client)
    token = token_of(created)
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")

    for response in (
        client.get(f"/api/v1/bookings/{tampered}"),
        client.delete(f"/api/v1/bookings/{tampered}"),
    ):
        assert response.status_code == 404
        assert response.get_json()["error"] == "invalid_token"
    assert db.session.get(Appointment, created.get_json()["id"]).status == "booked"


# --- OpenAPI ------------------------------------------------------------------------------


@pytest.fixture
def spec(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.get_json()


def resolve(spec, ref: str):
    assert ref.startswith("#/"), ref
    node = spec
    for part in ref[2:].split("/"):
        assert isinstance(node, dict) and part in node, f"unresolved $ref {ref}"
        node = node[part]
    return node


def all_refs(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from all_refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from all_refs(item)


def api_routes(app) -> set[tuple[str, str]]:
    routes = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule.removeprefix("/api/v1"))
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            routes.add((path, method.lower()))
    return routes


HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def test_openapi_document_is_3_1_and_points_at_the_public_url(spec):
    assert spec["openapi"] == "3.1.0"
    assert spec["info"]["title"]
    assert spec["info"]["version"]
    assert spec["servers"] == [{"url": "http://clinic.test/api/v1"}]


def test_openapi_documents_exactly_the_routes_the_app_serves(app, spec):
    documented = {
        (path, method)
        for path, item in spec["paths"].items()
        for method in item
        if method in HTTP_METHODS
    }
    assert documented == api_routes(app)


def test_openapi_references_all_resolve(spec):
    refs = set(all_refs(spec))
    assert refs  # the document does use components
    for ref in refs:
        resolve(spec, ref)


def test_openapi_operations_are_complete(spec):
    operation_ids = []
    for item in spec["paths"].values():
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                continue
            operation_ids.append(operation["operationId"])
            assert operation["responses"]
            assert "429" in operation["responses"]
            for response in operation["responses"].values():
                if "$ref" in response:
                    response = resolve(spec, response["$ref"])
                assert response["description"]
                assert "application/json" in response["content"]
    assert len(operation_ids) == len(set(operation_ids))
    for name in ("Booking", "Slot", "Service", "Error", "ValidationError"):
        assert name in spec["components"]["schemas"]


def test_openapi_schemas_match_what_the_api_answers(client, spec):
    make_clinic()
    schemas = spec["components"]["schemas"]
    assert set(schemas["Booking"]["required"]) == BOOKING_KEYS
    assert set(schemas["Booking"]["properties"]) == BOOKING_KEYS
    assert set(schemas["Slot"]["required"]) == SLOT_KEYS
    assert set(schemas["Service"]["required"]) == SERVICE_KEYS
    assert set(schemas["Patient"]["required"]) == set(booking_body()["patient"])
    assert schemas["Patient"]["properties"]["full_name"]["maxLength"] == 120
    assert schemas["Patient"]["properties"]["email"]["maxLength"] == 254
    assert schemas["Patient"]["properties"]["phone"]["maxLength"] == 32

    request = answered(client, booking_body(service="microneedling"))
    optional = {"practitioner_id", "email_opt_in"}
    assert set(schemas["BookingRequest"]["properties"]) == set(request) | optional
    assert set(schemas["ConsentSignature"]["properties"]) == set(request["consent"])
    assert set(schemas["ConsentSignature"]["required"]) == set(request["consent"]) - {"photos"}

    form = intake(client, "microneedling")
    assert set(schemas["Intake"]["required"]) == set(form) == set(schemas["Intake"]["properties"])
    assert set(schemas["Question"]["required"]) == set(form["questions"][0])
    assert set(schemas["ConsentForm"]["required"]) == set(form["consent"])
    assert intake(client, "consultation")["consent"] is None
    assert {"type": "null"} in schemas["Intake"]["properties"]["consent"]["oneOf"]

    blocked = client.post(
        BOOKINGS, json=answered(client, booking_body(service="microneedling"), pregnancy=True)
    )
    assert blocked.status_code == 422
    blocked_schema = schemas["ScreeningBlockedError"]
    assert set(blocked.get_json()) == set(blocked_schema["required"])
    assert blocked.get_json()["error"] == blocked_schema["properties"]["error"]["const"]
    assert blocked.get_json()["outcome"] in blocked_schema["properties"]["outcome"]["enum"]
    assert "needs_review" in schemas["Booking"]["properties"]["status"]["enum"]


def test_openapi_describes_both_refusals_of_a_booking(spec):
    refused = resolve(spec, spec["paths"]["/bookings"]["post"]["responses"]["422"]["$ref"])
    schema = refused["content"]["application/json"]["schema"]
    assert {option["$ref"] for option in schema["oneOf"]} == {
        "#/components/schemas/ValidationError",
        "#/components/schemas/ScreeningBlockedError",
    }
    for target in schema["discriminator"]["mapping"].values():
        resolve(spec, target)
    intake_path = spec["paths"]["/services/{slug}/intake"]["get"]
    assert "null" in intake_path["description"]


def test_openapi_gives_each_error_code_a_schema_of_its_own(spec):
    # Client generators build one class per error code only from a standalone object whose
    # `error` is a constant: they cannot narrow an inherited string through allOf.
    assert "allOf" not in json.dumps(spec)
    answers = [
        response
        for item in spec["paths"].values()
        for method, operation in item.items()
        if method in HTTP_METHODS
        for status, response in operation["responses"].items()
        if status.startswith(("4", "5"))
    ]
    assert answers
    for answer in answers:
        if "$ref" in answer:
            answer = resolve(spec, answer["$ref"])
        content = answer["content"]["application/json"]
        schema = content["schema"]
        options = schema.get("oneOf", [schema])
        codes = set()
        for option in options:
            target = resolve(spec, option["$ref"])
            assert {"error", "message"} <= set(target["required"])
            codes.add(target["properties"]["error"]["const"])
        examples = (
            [content["example"]]
            if "example" in content
            else [example["value"] for example in content["examples"].values()]
        )
        assert {example["error"] for example in examples} == codes
        if "discriminator" in schema:
            assert set(schema["discriminator"]["mapping"]) == codes


# --- rate limit ---------------------------------------------------------------------------


class TestRateLimit:
    @pytest.fixture
    def app_config(self):
        return {"API_RATE_LIMIT": "3/minute"}

    @pytest.fixture(autouse=True)
    def fresh_limits(self, app):
        limiter.reset()
        yield
        limiter.reset()

    def test_fourth_request_in_a_minute_is_rate_limited_with_retry_after(self, client):
        for _ in range(3):
            assert client.get("/api/v1/services").status_code == 200

        response = client.get("/api/v1/services")

        assert response.status_code == 429
        assert response.get_json()["error"] == "rate_limited"
        assert 1 <= int(response.headers["Retry-After"]) <= 60

    def test_the_budget_is_shared_across_endpoints(self, client):
        make_clinic()
        assert client.get("/api/v1/services").status_code == 200
        assert client.get("/api/v1/openapi.json").status_code == 200
        assert client.get("/api/v1/bookings/nope").status_code == 404

        response = client.post(BOOKINGS, json=booking_body())

        assert response.status_code == 429
        assert response.get_json()["error"] == "rate_limited"

    def test_each_client_address_has_its_own_budget(self, client):
        for _ in range(4):
            client.get("/api/v1/services")

        other = client.get("/api/v1/services", environ_base={"REMOTE_ADDR": "192.0.2.7"})

        assert other.status_code == 200

    def test_pages_outside_the_api_are_not_counted(self, client):
        for _ in range(5):
            client.get("/no-such-page")

        assert client.get("/api/v1/services").status_code == 200


def test_empty_rate_limit_setting_switches_the_limit_off(client):
    for _ in range(30):
        assert client.get("/api/v1/services").status_code == 200


def test_a_booking_made_elsewhere_is_readable_by_its_token(client):
    make_clinic()
    appointment = make_booking(
        "consultation", datetime(2026, 3, 4, 10, 0, tzinfo=UTC), patient=patient_details()
    )

    response = client.get(f"/api/v1/bookings/{manage_token(appointment)}")

    assert response.status_code == 200
    assert response.get_json()["id"] == appointment.id
    assert response.get_json()["start"] == "2026-03-04T10:00:00+00:00"
