"""What the adverse event pages and the export show: read-only views over events."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import aliased, selectinload

from clinic.adverse_events import rules
from clinic.adverse_events.models import AdverseEvent
from clinic.booking.models import Appointment
from clinic.catalog.models import Service
from clinic.errors import NotFound
from clinic.extensions import db
from clinic.patients.models import Patient
from clinic.sms.models import StaffAlert
from clinic.staff.models import StaffUser
from clinic.visits.models import SessionRecord

PAGE_SIZE = 50
SHOW = {
    "all": "All events",
    "open": "Still open (outcome not settled)",
    "unreported": "Not reported to a regulator",
    "reported": "Reported to a regulator",
}


@dataclass(frozen=True)
class Filters:
    show: str = "all"
    patient_id: int | None = None


@dataclass(frozen=True)
class EventDetail:
    """An event with everything its page and its report line name."""

    event: AdverseEvent
    patient: Patient
    appointment: Appointment
    service: Service
    session_record: SessionRecord | None
    recorded_by: StaffUser | None
    updated_by: StaffUser | None


@dataclass(frozen=True)
class EventPage:
    rows: list[EventDetail]
    number: int
    has_previous: bool
    has_next: bool


def patient(patient_id: int) -> Patient:
    found = db.session.get(Patient, patient_id)
    if found is None:
        raise NotFound("No such patient.")
    return found


def appointment(appointment_id: int) -> Appointment:
    found = db.session.get(Appointment, appointment_id)
    if found is None:
        raise NotFound("No such visit.")
    return found


def alert(alert_id: int) -> StaffAlert:
    found = db.session.get(StaffAlert, alert_id)
    if found is None:
        raise NotFound("No such alert.")
    return found


def _details(query) -> list[EventDetail]:
    recorder = aliased(StaffUser)
    updater = aliased(StaffUser)
    rows = db.session.execute(
        query.add_columns(Patient, Appointment, Service, SessionRecord, recorder, updater)
        .join(Patient, Patient.id == AdverseEvent.patient_id)
        .join(Appointment, Appointment.id == AdverseEvent.appointment_id)
        .join(Service, Service.id == Appointment.service_id)
        .outerjoin(SessionRecord, SessionRecord.id == AdverseEvent.session_record_id)
        .outerjoin(recorder, recorder.id == AdverseEvent.recorded_by_id)
        .outerjoin(updater, updater.id == AdverseEvent.updated_by_id)
        .options(selectinload(AdverseEvent.appointment))
    ).all()
    return [EventDetail(*row) for row in rows]


def _filtered(filters: Filters):
    query = select(AdverseEvent).order_by(AdverseEvent.onset_at.desc(), AdverseEvent.id.desc())
    if filters.show == "open":
        query = query.where(AdverseEvent.outcome.in_(rules.OPEN_OUTCOMES))
    elif filters.show == "reported":
        query = query.where(AdverseEvent.regulator != "")
    elif filters.show == "unreported":
        query = query.where(AdverseEvent.regulator == "")
    if filters.patient_id is not None:
        query = query.where(AdverseEvent.patient_id == filters.patient_id)
    return query


def events(filters: Filters, page: int = 1, page_size: int = PAGE_SIZE) -> EventPage:
    """A page of events, newest onset first."""
    # One row more than a page says whether a next page exists, without counting them all.
    found = _details(_filtered(filters).limit(page_size + 1).offset((page - 1) * page_size))
    return EventPage(
        found[:page_size], page, has_previous=page > 1, has_next=len(found) > page_size
    )


def all_events(filters: Filters) -> list[EventDetail]:
    """Every event the filters match, newest onset first: the export."""
    return _details(_filtered(filters))


def event(event_id: int) -> EventDetail:
    found = _details(select(AdverseEvent).where(AdverseEvent.id == event_id))
    if not found:
        raise NotFound("No such adverse event.")
    return found[0]
