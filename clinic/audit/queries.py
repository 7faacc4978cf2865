"""What the audit page shows: events newest first, for one patient or staff member, a page at a
time, and the staff list its filter offers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from clinic.audit.models import AuditEvent
from clinic.booking.models import Appointment
from clinic.extensions import db
from clinic.patients.models import Patient
from clinic.staff.models import StaffUser

PAGE_SIZE = 50


@dataclass(frozen=True)
class Filters:
    patient_id: int | None = None
    patient_name: str = ""  # part of the name, any case
    staff_id: int | None = None


@dataclass(frozen=True)
class EventRow:
    event: AuditEvent
    patient: Patient | None
    visit_start: datetime | None


@dataclass(frozen=True)
class EventPage:
    rows: list[EventRow]
    number: int
    has_previous: bool
    has_next: bool


def events(filters: Filters, page: int = 1, page_size: int = PAGE_SIZE) -> EventPage:
    query = (
        select(AuditEvent, Patient, Appointment.start_at)
        .outerjoin(Patient, Patient.id == AuditEvent.patient_id)
        .outerjoin(Appointment, Appointment.id == AuditEvent.appointment_id)
        .order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
    )
    if filters.patient_id is not None:
        query = query.where(AuditEvent.patient_id == filters.patient_id)
    if filters.patient_name:
        query = query.where(Patient.full_name.icontains(filters.patient_name, autoescape=True))
    if filters.staff_id is not None:
        query = query.where(AuditEvent.staff_id == filters.staff_id)
    # One row more than a page says whether a next page exists, without counting them all.
    found = db.session.execute(query.limit(page_size + 1).offset((page - 1) * page_size)).all()
    rows = [EventRow(event, patient, start) for event, patient, start in found[:page_size]]
    return EventPage(rows, page, has_previous=page > 1, has_next=len(found) > page_size)


def staff_choices() -> list[tuple[int, str]]:
    """Every staff account, including closed ones: their past actions stay in the log."""
    staff = db.session.execute(
        select(StaffUser.id, StaffUser.name, StaffUser.role).order_by(StaffUser.name, StaffUser.id)
    ).all()
    return [(staff_id, f"{name} ({role})") for staff_id, name, role in staff]


def patient_name(patient_id: int) -> str | None:
    return db.session.scalar(select(Patient.full_name).where(Patient.id == patient_id))
