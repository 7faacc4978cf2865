"""A client generated from /api/v1/openapi.json by openapi-python-client, as an integrator
would make one: it must read every answer, errors included, as typed models.

The generator runs once per module (per worker) on the document the app serves; each test then
drives the app on loopback through the generated package.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
from dataclasses import dataclass
from datetime import date, timedelta
from types import ModuleType

import pytest

from clinic.clock import FrozenClock
from clinic.extensions import db
from tests.factories import make_clinic
from tests.helpers import START, copy_sqlite_template, make_app

PACKAGE = "clinic_api_client"
WEDNESDAY = date(2026, 3, 4)
FRIDAY = date(2026, 3, 6)
CLINIC_PHONE = "+44 20 7946 0000"


@dataclass
class Generated:
    output: str
    returncode: int
    client: ModuleType
    models: ModuleType
    api: dict[str, ModuleType]


@pytest.fixture(scope="module")
def generated(openapi_generator, sqlite_template, tmp_path_factory):
    command, path = openapi_generator
    folder = tmp_path_factory.mktemp("generated-client")
    app = make_app(copy_sqlite_template(sqlite_template, folder), FrozenClock(START), folder)
    document = app.test_client().get("/api/v1/openapi.json")
    assert document.status_code == 200
    with app.app_context():
        db.engine.dispose()
    spec = folder / "openapi.json"
    spec.write_bytes(document.get_data())

    result = subprocess.run(
        [
            *command,
            "generate",
            "--path",
            str(spec),
            "--output-path",
            str(folder / PACKAGE),
            "--meta",
            "none",
            "--fail-on-warning",
        ],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=folder,
        env={"PATH": path, "HOME": str(folder), "LANG": "C.UTF-8"},
    )
    output = result.stdout + result.stderr
    assert (folder / PACKAGE / "__init__.py").exists(), output

    sys.path.insert(0, str(folder))
    try:
        yield Generated(
            output=output,
            returncode=result.returncode,
            client=importlib.import_module(f"{PACKAGE}.client"),
            models=importlib.import_module(f"{PACKAGE}.models"),
            api={
                name: importlib.import_module(f"{PACKAGE}.api.default.{name}")
                for name in (
                    "list_services",
                    "get_service_intake",
                    "get_availability",
                    "create_booking",
                    "get_booking",
                    "cancel_booking",
                )
            },
        )
    finally:
        sys.path.remove(str(folder))
        for name in [name for name in sys.modules if name.partition(".")[0] == PACKAGE]:
            del sys.modules[name]


@dataclass
class Api:
    generated: Generated
    client: object

    @property
    def models(self) -> ModuleType:
        return self.generated.models

    def call(self, operation: str, *args, **kwargs):
        module = self.generated.api[operation]
        return module.sync_detailed(*args, client=self.client, **kwargs)

    def request(self, service: str, start, *, practitioner_id=None, answers=None, **patient):
        """A booking request as a patient fills it in after reading the intake."""
        models = self.models
        intake = self.call("get_service_intake", service).parsed
        screening = {question.key: False for question in intake.questions} | (answers or {})
        details = {
            "full_name": "Alex Morgan",
            "phone": "07911 123456",
            "email": "alex@example.com",
            "date_of_birth": date(1988, 4, 12),
        } | patient
        signature = {}
        if intake.consent is not None:
            signature["consent"] = models.ConsentSignature(
                version=intake.consent.version, signed_name=details["full_name"], agree=True
            )
        request = models.BookingRequest(
            service=service,
            start=start,
            patient=models.Patient(**details),
            practitioner_id=practitioner_id,
            sms_opt_in=False,
            screening=models.ScreeningAnswers.from_dict(screening),
            **signature,
        )
        return request

    def first_slot(self, service: str, day: date):
        answer = self.call("get_availability", service=service, from_=day, to=day)
        assert answer.status_code == 200
        assert isinstance(answer.parsed, self.models.Availability)
        return answer.parsed.slots[0]

    def book(self, service: str, day: date, **patient):
        slot = self.first_slot(service, day)
        request = self.request(service, slot.start, practitioner_id=slot.practitioner_id, **patient)
        answer = self.call("create_booking", body=request)
        assert answer.status_code == 201, answer.content
        assert isinstance(answer.parsed, self.models.Booking)
        return answer.parsed


@pytest.fixture
def api(app, serve, generated):
    """The generated client, pointed at the app served on loopback with a small clinic."""
    make_clinic()
    base = serve(app)
    with generated.client.Client(
        base_url=f"{base}/api/v1", raise_on_unexpected_status=True
    ) as client:
        yield Api(generated, client)


def test_the_generator_reads_every_schema_of_the_document_without_a_warning(generated):
    assert generated.returncode == 0, generated.output
    # Its only line when all is well; warnings, dropped schemas and skipped formatting add more.
    said = [line for line in generated.output.splitlines() if line.strip()]
    assert len(said) == 1 and said[0].startswith("Generating "), generated.output
    error_models = {
        name
        for name in dir(generated.models)
        if name.endswith("Error") and isinstance(getattr(generated.models, name), type)
    }
    assert {
        "BadRequestError",
        "NotFoundError",
        "ValidationError",
        "ScreeningBlockedError",
        "SlotUnavailableError",
        "ChangeNotAllowedError",
        "InvalidTokenError",
        "ExpiredTokenError",
        "RevokedTokenError",
        "PayloadTooLargeError",
        "UnsupportedMediaTypeError",
        "RateLimitedError",
    } <= error_models


def test_a_generated_client_books_then_reads_a_taken_time_and_field_errors_as_models(api):
    models = api.models
    services = api.call("list_services").parsed
    assert isinstance(services, models.ServiceList)
    assert "microneedling" in [service.slug for service in services.services]
    slot = api.first_slot("microneedling", WEDNESDAY)
    assert isinstance(slot, models.Slot)

    booked = api.call(
        "create_booking",
        body=api.request("microneedling", slot.start, practitioner_id=slot.practitioner_id),
    )

    assert booked.status_code == 201
    booking = booked.parsed
    assert isinstance(booking, models.Booking)
    assert booking.start == slot.start
    assert booking.practitioner_id == slot.practitioner_id
    assert booking.status == models.BookingStatus.BOOKED
    assert booked.headers["Location"].endswith(booking.manage_url.rsplit("/", 1)[-1])

    again = api.call(
        "create_booking",
        body=api.request(
            "microneedling",
            slot.start,
            practitioner_id=slot.practitioner_id,
            full_name="Sam Taylor",
            phone="07400 123456",
        ),
    )

    assert again.status_code == 409
    taken = again.parsed
    assert isinstance(taken, models.SlotUnavailableError)
    assert taken.error == "slot_unavailable"
    assert taken.message
    assert taken.alternatives
    assert all(isinstance(other, models.Slot) for other in taken.alternatives)
    assert slot.start not in [other.start for other in taken.alternatives]

    bad = api.call(
        "create_booking",
        body=api.request(
            "microneedling",
            slot.start + timedelta(days=1),
            phone="call me",
            date_of_birth=date(2030, 1, 1),
        ),
    )

    assert bad.status_code == 422
    refused = bad.parsed
    assert isinstance(refused, models.ValidationError)
    assert refused.error == "validation_failed"
    assert isinstance(refused.fields, models.FieldErrors)
    assert set(refused.fields.additional_keys) == {"patient.phone", "patient.date_of_birth"}
    assert all(refused.fields[key] for key in refused.fields.additional_keys)


def test_a_generated_client_tells_a_screening_stop_from_field_errors(api):
    models = api.models
    slot = api.first_slot("microneedling", WEDNESDAY)

    answer = api.call(
        "create_booking",
        body=api.request("microneedling", slot.start, answers={"pregnancy": True}),
    )

    assert answer.status_code == 422
    stopped = answer.parsed
    assert isinstance(stopped, models.ScreeningBlockedError)
    assert stopped.error == "screening_blocked"
    assert stopped.keys == ["pregnancy"]
    assert stopped.outcome == models.ScreeningBlockedErrorOutcome.BLOCK
    assert stopped.phone == CLINIC_PHONE


def test_a_generated_client_reads_refused_and_closed_cancellations_as_models(api, clock):
    models = api.models
    near = api.book("consultation", WEDNESDAY)
    later = api.book("consultation", FRIDAY)
    later_token = later.manage_url.rsplit("/", 1)[-1]

    cancelled = api.call("cancel_booking", later_token)
    assert cancelled.status_code == 200
    assert cancelled.parsed.status == models.BookingStatus.CANCELLED
    repeated = api.call("cancel_booking", later_token)

    assert repeated.status_code == 410
    closed = repeated.parsed
    assert isinstance(closed, models.RevokedTokenError)
    assert closed.error == "revoked_token"
    assert closed.visit_status == "cancelled"
    assert closed.phone == CLINIC_PHONE

    clock.advance(hours=30)  # Tuesday 14:00: inside the cancellation window of Wednesday's visit
    too_late = api.call("cancel_booking", near.manage_url.rsplit("/", 1)[-1])

    assert too_late.status_code == 409
    refusal = too_late.parsed
    assert isinstance(refusal, models.ChangeNotAllowedError)
    assert refusal.error == "change_not_allowed"
    assert refusal.phone == CLINIC_PHONE
    assert CLINIC_PHONE in refusal.message

    unknown = api.call("get_booking", "not-a-token")
    assert unknown.status_code == 404
    assert isinstance(unknown.parsed, models.InvalidTokenError)


def test_a_generated_client_reads_bad_queries_as_models(api):
    models = api.models

    backwards = api.call("get_availability", service="consultation", from_=FRIDAY, to=WEDNESDAY)
    unknown = api.call("get_availability", service="botox", from_=WEDNESDAY, to=WEDNESDAY)

    assert backwards.status_code == 400
    assert isinstance(backwards.parsed, models.BadRequestError)
    assert backwards.parsed.error == "bad_request"
    assert backwards.parsed.fields["to"]
    assert unknown.status_code == 404
    assert isinstance(unknown.parsed, models.NotFoundError)
    assert unknown.parsed.error == "not_found"
