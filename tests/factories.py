"""Plain factory functions: a believable small clinic in a few lines of a test."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from flask import current_app

from clinic.actors import Actor, ActorKind
from clinic.booking.services import BookingRequest, PatientDetails, book, service_by_slug
from clinic.catalog.defaults import STANDARD_SERVICES
from clinic.catalog.models import Location, Practitioner, Room, Service, TimeOff, WorkingHours
from clinic.consent import services as consent_services
from clinic.consent.services import ConsentInput
from clinic.extensions import db
from clinic.screening import questions
from clinic.screening.rules import ServiceProfile, questions_for
from clinic.settings import consent_services as consent_settings
from clinic.visits import services as visits


@dataclass
class Clinic:
    location: Location
    services: dict[str, Service]
    practitioners: list[Practitioner]
    rooms: list[Room]
    extra: dict = field(default_factory=dict)


def make_clinic(
    *,
    timezone: str = "Europe/London",
    practitioners: int = 2,
    rooms: int = 1,
    hours: tuple[time, time] = (time(9), time(17)),
    weekdays: tuple[int, ...] = (0, 1, 2, 3, 4, 5),
) -> Clinic:
    location = Location(
        name="Test Clinic", address="1 High Street", phone="+44 20 7946 0000", timezone=timezone
    )
    db.session.add(location)
    services = {spec["slug"]: Service(**spec) for spec in STANDARD_SERVICES}
    db.session.add_all(services.values())
    staff = []
    for number in range(practitioners):
        practitioner = Practitioner(location=location, name=f"Practitioner {number + 1}")
        practitioner.services = list(services.values())
        practitioner.working_hours = [
            WorkingHours(weekday=day, start_time=hours[0], end_time=hours[1]) for day in weekdays
        ]
        staff.append(practitioner)
    db.session.add_all(staff)
    room_list = [Room(location=location, name=f"Room {n + 1}") for n in range(rooms)]
    db.session.add_all(room_list)
    db.session.commit()
    return Clinic(location, services, staff, room_list)


def add_time_off(location, start: datetime, end: datetime, practitioner=None, reason="") -> TimeOff:
    entry = TimeOff(
        location_id=location.id,
        practitioner_id=practitioner.id if practitioner else None,
        start_at=start,
        end_at=end,
        reason=reason,
    )
    db.session.add(entry)
    db.session.commit()
    return entry


def patient_details(**overrides) -> PatientDetails:
    values = dict(
        full_name="Alex Morgan",
        phone="+447911123456",
        email="alex@example.com",
        date_of_birth=date(1988, 4, 12),
    )
    values.update(overrides)
    return PatientDetails(**values)


def all_no(service_slug: str) -> dict[str, bool]:
    """Screening answers with every applicable question answered "no"."""
    service = service_by_slug(service_slug, online_only=False)
    return {q.key: False for q in questions_for(questions.current(), ServiceProfile.of(service))}


def signed(patient: PatientDetails, **overrides) -> ConsentInput:
    values = dict(
        version=consent_services.current_version(),
        signed_name=patient.full_name,
        agree=True,
        photos=False,
        ip_address="127.0.0.1",
        user_agent="pytest",
    )
    values.update(overrides)
    return ConsentInput(**values)


def make_booking(service_slug: str, start: datetime, **overrides):
    """Book as a patient online would: all-"no" answers and a signed consent unless given."""
    patient = overrides.pop("patient", None) or patient_details()
    if overrides.get("source", "online") == "online":
        overrides.setdefault("screening", all_no(service_slug))
        overrides.setdefault("consent", signed(patient))
    return book(
        BookingRequest(service_slug=service_slug, start=start, patient=patient, **overrides)
    )


def checked_in_and_started(slug: str, start: datetime):
    """A visit booked online, checked in on its day, and its session since begun (the app's
    clock moves there): ready to be recorded."""
    appointment = make_booking(slug, start)
    clock = current_app.extensions["clock"]
    clock.set(start - timedelta(minutes=10))
    visits.check_in(appointment.id, changes_since_last_visit=False)
    clock.set(start + timedelta(minutes=45))
    return appointment


def publish_consent(
    extra: str = "\nA new paragraph the clinic added.\n", *, effective_on=None, by=None
):
    """Publish the next consent form version as an admin would from the settings: the current
    text with ``extra`` added, in force from ``effective_on`` (the clinic's today by default)."""
    newest = consent_settings.latest()
    return consent_settings.publish(
        consent_settings.PublishInput(
            title=newest.title,
            text=newest.text + extra,
            effective_on=effective_on or consent_services.clinic_today(),
            after_version=newest.version,
        ),
        by=by or Actor(ActorKind.ADMIN),
    )
