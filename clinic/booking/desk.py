"""Booking at the desk: a patient who phones or walks in, booked by staff.

The same rules as online (free practitioner and room, buffers, the needling gap, never two
visits in one chair) through clinic.booking.services.book, with the desk's policy: no minimum
notice and the desk horizon. Health answers may be given now or left for check-in; the consent
is signed at the desk on the visit page later.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask import current_app
from sqlalchemy import select

from clinic.actors import Actor
from clinic.booking import identity, services
from clinic.booking.models import Appointment, BookingSource, is_desk_source
from clinic.booking.services import BookingRequest, PatientDetails
from clinic.booking.slots import Slot
from clinic.catalog.models import Practitioner, Room, Service
from clinic.clock import utcnow
from clinic.errors import NotFound, ValidationFailed
from clinic.extensions import db
from clinic.patients import search as patient_search
from clinic.patients.models import Patient
from clinic.screening import services as screening_services


@dataclass(frozen=True)
class DeskBookingRequest:
    """A desk booking: for a patient on record (``patient_id``) or a new one (``details``)."""

    service_slug: str
    start: datetime
    source: str
    patient_id: int | None = None
    details: PatientDetails | None = None
    practitioner_id: int | None = None
    # A new patient's own choices; a patient on record keeps theirs.
    sms_opt_in: bool = False
    email_opt_in: bool = False
    # Health answers asked now; None leaves the questions for check-in.
    screening: Mapping[str, object] | None = None
    submission_key: str | None = None


def book_at_desk(request: DeskBookingRequest, *, by: Actor) -> Appointment:
    """Book through the one booking use case, recorded under the desk source given.

    Raises ValidationFailed (source, patient details, answers, time rules), NotFound (patient,
    service), ScreeningStopped (BLOCK/DEFER: nothing written) or SlotUnavailable (taken)."""
    if request.source not in {s.value for s in BookingSource} or not is_desk_source(request.source):
        raise ValidationFailed({"source": ["Choose phone, walk-in or desk."]})
    if request.patient_id is not None:
        patient = patient_on_record(request.patient_id)
        details = PatientDetails(
            full_name=patient.full_name,
            phone=patient.phone,
            email=patient.email,
            date_of_birth=patient.date_of_birth,
        )
        sms_opt_in, email_opt_in = bool(patient.sms_opt_in), None
    elif request.details is not None:
        details = request.details
        sms_opt_in, email_opt_in = request.sms_opt_in, request.email_opt_in
    else:
        raise ValidationFailed({"patient": ["Find the patient, or enter a new patient."]})
    return services.book(
        BookingRequest(
            service_slug=request.service_slug,
            start=request.start,
            patient=details,
            practitioner_id=request.practitioner_id,
            sms_opt_in=sms_opt_in,
            email_opt_in=email_opt_in,
            source=request.source,
            screening=request.screening,
            submission_key=request.submission_key,
        ),
        by=by,
    )


# --- what the page offers ----------------------------------------------------------------


def find_patients(text: str) -> list[Patient]:
    return patient_search.search(text, region=current_app.config["DEFAULT_PHONE_REGION"])


def patient_on_record(patient_id: int) -> Patient:
    """A patient to book for; one merged into another stands for the one kept."""
    patient = db.session.get(Patient, patient_id)
    if patient is None:
        raise NotFound("There is no such patient.", field="patient")
    return identity.kept(patient)


def texts_held_back(appointment: Appointment) -> bool:
    """The patient wants texts but their number said STOP: nothing goes until START."""
    return identity.texts_held_back(appointment.patient)


def desk_services() -> list[Service]:
    """Every active service: the desk books what is not offered online too."""
    return list(db.session.scalars(select(Service).where(Service.active).order_by(Service.id)))


def desk_service(slug: str) -> Service:
    return services.service_by_slug(slug, online_only=False)


def practitioners(service: Service | None = None) -> list[Practitioner]:
    if service is not None:
        return services.practitioners_for(service)
    query = select(Practitioner).where(Practitioner.active).order_by(Practitioner.id)
    return list(db.session.scalars(query))


def practitioner(practitioner_id: int) -> Practitioner:
    found = db.session.get(Practitioner, practitioner_id)
    if found is None or not found.active:
        raise NotFound("There is no such practitioner.", field="practitioner")
    return found


def room(room_id: int) -> Room:
    found = db.session.get(Room, room_id)
    if found is None or not found.active:
        raise NotFound("There is no such room.", field="room")
    return found


def today() -> date:
    return utcnow().astimezone(services.clinic_timezone()).date()


def desk_window() -> tuple[date, date]:
    """The local days the desk may book: today up to the desk horizon."""
    first = today()
    return first, first + timedelta(days=current_app.config["DESK_HORIZON_DAYS"])


def free_times(
    service: Service,
    day: date,
    *,
    practitioner_id: int | None = None,
    patient: Patient | None = None,
    source: str = BookingSource.PHONE,
) -> list[Slot]:
    """The day's free starts as the engine offers them to the desk, one per time (the first
    free practitioner, unless one was chosen)."""
    slots = services.find_slots(
        service, day, day, practitioner_id=practitioner_id, patient=patient, source=source
    )
    return _one_per_time(slots)


def nearest_free(
    service: Service,
    start: datetime,
    *,
    practitioner_id: int | None = None,
    patient: Patient | None = None,
    source: str = BookingSource.PHONE,
    limit: int = 6,
) -> list[Slot]:
    """Free starts nearest to a time that is not free (that day and the following days)."""
    return services.alternatives_near(
        service,
        start,
        limit=limit,
        practitioner_id=practitioner_id,
        patient=patient,
        source=source,
    )


def _one_per_time(slots: list[Slot]) -> list[Slot]:
    first: dict[datetime, Slot] = {}
    for slot in slots:
        first.setdefault(slot.start, slot)
    return [first[start] for start in sorted(first)]


# --- the page's state ----------------------------------------------------------------------


@dataclass
class DeskBookingPage:
    """What the desk booking page shows for the choices made so far."""

    services: list[Service]
    patient: Patient | None = None
    new_patient: bool = False
    query: str = ""
    matches: list[Patient] | None = None
    service: Service | None = None
    practitioners: list[Practitioner] = field(default_factory=list)
    practitioner: Practitioner | None = None
    room: Room | None = None
    day: date | None = None
    first_day: date | None = None
    last_day: date | None = None
    times: list[Slot] = field(default_factory=list)
    # A time asked for (a calendar gap) and whether it is still free; if not, the nearest.
    asked_start: datetime | None = None
    asked_free: bool = False
    nearest: list[Slot] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    questions: list[dict] = field(default_factory=list)
    names: dict[int, str] = field(default_factory=dict)

    @property
    def patient_chosen(self) -> bool:
        return self.patient is not None or self.new_patient

    def offered(self) -> list[Slot]:
        """Every time the form lets the desk choose: the day's, then the nearest others."""
        seen = {slot.start for slot in self.times}
        return self.times + [slot for slot in self.nearest if slot.start not in seen]


def booking_page(
    *,
    patient_id: int | None = None,
    new_patient: bool = False,
    query: str = "",
    service_slug: str | None = None,
    practitioner_id: int | None = None,
    room_id: int | None = None,
    day: date | None = None,
    start: datetime | None = None,
    source: str = BookingSource.PHONE,
) -> DeskBookingPage:
    """Read the choices the page was given (unknown ids and slugs: NotFound) and find the free
    times for them."""
    page = DeskBookingPage(services=desk_services(), query=query.strip())
    page.first_day, page.last_day = desk_window()
    if patient_id is not None:
        page.patient = patient_on_record(patient_id)
    else:
        page.new_patient = new_patient
        if page.query:
            page.matches = find_patients(page.query)
    if room_id is not None:
        page.room = room(room_id)
    chosen = practitioner(practitioner_id) if practitioner_id is not None else None
    if service_slug:
        page.service = desk_service(service_slug)
    elif page.services:
        page.service = page.services[0]
    page.practitioners = practitioners(page.service)
    page.names = {p.id: p.name for p in practitioners()}
    if chosen is not None and chosen not in page.practitioners:
        page.notices.append(
            f"{chosen.name} does not offer {page.service.name}: showing anyone free."
            if page.service
            else f"{chosen.name} offers no service at the moment."
        )
        chosen = None
    page.practitioner = chosen
    tz = services.clinic_timezone()
    if start is not None and day is not None and start.astimezone(tz).date() != day:
        start = None  # another day was asked for since the time was chosen
    page.day = start.astimezone(tz).date() if start is not None else (day or page.first_day)
    if not page.first_day <= page.day <= page.last_day:
        page.notices.append(
            f"The desk books from today up to {current_app.config['DESK_HORIZON_DAYS']} days "
            "ahead: showing today instead."
        )
        page.day = page.first_day
    if page.service is None:
        return page
    page.questions = screening_services.intake(page.service)["questions"]
    chosen_id = chosen.id if chosen else None
    page.times = free_times(
        page.service, page.day, practitioner_id=chosen_id, patient=page.patient, source=source
    )
    if start is not None:
        page.asked_start = start
        page.asked_free = any(slot.start == start for slot in page.times)
        if not page.asked_free:
            page.nearest = nearest_free(
                page.service, start, practitioner_id=chosen_id, patient=page.patient, source=source
            )
    return page
