"""What the patient pages show: search results and one patient's whole record, read-only.

The record is read in a fixed number of queries, whatever the patient's history: one per kind
of thing (visits, screenings, consents, session records, courses, texts, replies, alerts,
duplicates), never one per visit or text.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import current_app
from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload

from clinic.booking.identity import patient as find_patient
from clinic.booking.models import Appointment
from clinic.clock import utcnow
from clinic.consent.models import SignedConsent
from clinic.courses.models import Course
from clinic.errors import NotFound
from clinic.extensions import db
from clinic.patient_record.services import contact_fingerprint
from clinic.patients import search as patient_search
from clinic.patients.models import Patient
from clinic.patients.phones import format_national
from clinic.screening.models import Screening
from clinic.sms import queries as text_queries
from clinic.sms import suppression
from clinic.sms.models import InboundText, OutboundText, StaffAlert
from clinic.staff.models import StaffUser
from clinic.visits import lifecycle
from clinic.visits.models import SessionRecord

# Visits still ahead of the patient: "next visit" and "upcoming" go by these.
MAX_QUERY_LENGTH = patient_search.MAX_QUERY_LENGTH
_AHEAD = tuple(state.value for state in lifecycle.OPEN)


def national(e164: str) -> str:
    return format_national(e164, current_app.config["DEFAULT_PHONE_REGION"])


def kept_id(patient_id: int) -> int:
    """The record a patient id stands for now: itself, or the record it was merged into."""
    found = find_patient(patient_id)
    seen = {found.id}
    while found.merged_into_id is not None:
        found = find_patient(found.merged_into_id)
        if found.id in seen:
            break
        seen.add(found.id)
    return found.id


@dataclass(frozen=True)
class Contact:
    patient: Patient
    mobile: str  # national format
    fingerprint: str

    @property
    def form_data(self) -> dict:
        return {
            "full_name": self.patient.full_name,
            "mobile": self.mobile,
            "email": self.patient.email,
            "date_of_birth": self.patient.date_of_birth,
            "version": self.fingerprint,
        }


def contact(patient_id: int) -> Contact:
    """A patient's contact details as the edit form shows them."""
    found = find_patient(patient_id)
    return Contact(found, national(found.phone), contact_fingerprint(found))


# --- search -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Found:
    patient: Patient
    mobile: str  # national format
    next_visit: datetime | None
    possible_duplicate: bool


@dataclass(frozen=True)
class SearchResults:
    text: str
    found: list[Found]
    too_long: bool = False

    @property
    def asked(self) -> bool:
        return bool(self.text.strip())


def search(text: str) -> SearchResults:
    """Patients matching the desk's words, each with their next visit and whether their record
    may duplicate another (two queries for the whole list, not two per patient)."""
    text = (text or "").strip()
    if len(text) > MAX_QUERY_LENGTH:
        return SearchResults(text=text, found=[], too_long=True)
    if not text:
        return SearchResults(text="", found=[])
    patients = patient_search.search(text, region=current_app.config["DEFAULT_PHONE_REGION"])
    ids = [p.id for p in patients]
    next_visits = dict(
        db.session.execute(
            select(Appointment.patient_id, func.min(Appointment.start_at))
            .where(
                Appointment.patient_id.in_(ids),
                Appointment.status.in_(_AHEAD),
                Appointment.end_at > utcnow(),
            )
            .group_by(Appointment.patient_id)
        ).all()
    )
    flagged_by_others = set(
        db.session.scalars(
            select(Patient.possible_duplicate_of_id).where(
                Patient.possible_duplicate_of_id.in_(ids), Patient.merged_into_id.is_(None)
            )
        )
    )
    return SearchResults(
        text=text,
        found=[
            Found(
                patient=p,
                mobile=national(p.phone),
                next_visit=_aware(next_visits.get(p.id)),
                possible_duplicate=p.possible_duplicate_of_id is not None
                or p.id in flagged_by_others,
            )
            for p in patients
        ],
    )


def _aware(value: datetime | None) -> datetime | None:
    # An aggregate loses the column's type: SQLite hands back a naive UTC value or a string.
    if value is None or isinstance(value, datetime) and value.tzinfo is not None:
        return value
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


# --- the record ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SessionSummary:
    """That a session was recorded, when and by whom: what the desk may know of it. ``record``
    (device, depth, areas, notes) is set for practitioners and admins only."""

    appointment: Appointment
    recorded_at: datetime
    recorded_by: str | None
    record: SessionRecord | None


@dataclass(frozen=True)
class CourseProgress:
    course: Course
    done: int  # sessions completed
    booked: int  # sessions booked and still ahead
    planned: int


@dataclass(frozen=True)
class Duplicate:
    patient: Patient
    mobile: str
    flagged: Patient  # the record that carries the flag: the one merged away on the duplicates page


@dataclass(frozen=True)
class PatientRecord:
    patient: Patient
    mobile: str  # national format
    fingerprint: str  # the contact details as shown: the edit form sends it back
    suppressed: bool  # the number said STOP: no texts go to it until it texts START
    upcoming: list[Appointment]
    past: list[Appointment]
    screenings: list[Screening]
    consents: list[SignedConsent]
    sessions: list[SessionSummary]
    courses: list[CourseProgress]
    texts_planned: list[OutboundText]
    texts_done: list[OutboundText]
    replies: list[InboundText]
    open_alerts: list[StaffAlert]
    acknowledged_alerts: list[StaffAlert]
    duplicates: list[Duplicate]


def record(patient_id: int, *, clinical: bool = False) -> PatientRecord:
    """One patient's record as the desk shows it. ``clinical`` adds what the session records
    hold (practitioners, admins); without it only that a session was recorded shows."""
    patient = db.session.get(Patient, patient_id)
    if patient is None:
        raise NotFound("There is no such patient.")
    now = utcnow()
    visits = list(
        db.session.scalars(
            select(Appointment)
            .where(Appointment.patient_id == patient.id)
            .options(
                joinedload(Appointment.service),
                joinedload(Appointment.practitioner),
                joinedload(Appointment.room),
            )
            .order_by(Appointment.start_at.desc(), Appointment.id.desc())
        )
    )
    upcoming = sorted(
        (v for v in visits if v.status in _AHEAD and v.end_at > now),
        key=lambda v: (v.start_at, v.id),
    )
    ahead = {v.id for v in upcoming}
    past = [v for v in visits if v.id not in ahead]
    by_id = {v.id: v for v in visits}

    screenings = list(
        db.session.scalars(
            select(Screening)
            .where(Screening.patient_id == patient.id)
            .order_by(Screening.created_at.desc(), Screening.id.desc())
        )
    )
    consents = list(
        db.session.scalars(
            select(SignedConsent)
            .where(SignedConsent.patient_id == patient.id)
            .order_by(SignedConsent.signed_at.desc(), SignedConsent.id.desc())
        )
    )
    sessions = [
        SessionSummary(
            appointment=by_id[row.appointment_id],
            recorded_at=row.recorded_at,
            recorded_by=name,
            record=row if clinical else None,
        )
        for row, name in db.session.execute(
            select(SessionRecord, StaffUser.name)
            .join(Appointment, Appointment.id == SessionRecord.appointment_id)
            .outerjoin(StaffUser, StaffUser.id == SessionRecord.recorded_by_id)
            .where(Appointment.patient_id == patient.id)
            .order_by(SessionRecord.recorded_at.desc())
        ).all()
    ]
    courses = _courses(patient.id, visits, now)

    texts = text_queries.outgoing_texts(patient.id)
    waiting = set(text_queries.UPCOMING_STATUSES)
    replies = list(
        db.session.scalars(
            select(InboundText)
            .where(InboundText.patient_id == patient.id)
            .order_by(InboundText.received_at.desc(), InboundText.id.desc())
        )
    )
    alerts = list(
        db.session.scalars(
            select(StaffAlert)
            .where(StaffAlert.patient_id == patient.id)
            .order_by(StaffAlert.created_at.desc(), StaffAlert.id.desc())
        )
    )
    return PatientRecord(
        patient=patient,
        mobile=national(patient.phone),
        fingerprint=contact_fingerprint(patient),
        suppressed=suppression.is_suppressed(patient.phone),
        upcoming=upcoming,
        past=past,
        screenings=screenings,
        consents=consents,
        sessions=sessions,
        courses=courses,
        texts_planned=[t for t in texts if t.status in waiting],
        texts_done=sorted(
            (t for t in texts if t.status not in waiting),
            key=lambda t: (t.sent_at or t.updated_at, t.id),
            reverse=True,
        ),
        replies=replies,
        open_alerts=[a for a in alerts if a.acknowledged_at is None],
        acknowledged_alerts=[a for a in alerts if a.acknowledged_at is not None],
        duplicates=_duplicates(patient),
    )


def _courses(patient_id: int, visits: list[Appointment], now: datetime) -> list[CourseProgress]:
    done: Counter[int] = Counter()
    booked: Counter[int] = Counter()
    for visit in visits:
        if visit.course_id is None:
            continue
        if visit.status == lifecycle.State.COMPLETED:
            done[visit.course_id] += 1
        elif visit.status in _AHEAD and visit.end_at > now:
            booked[visit.course_id] += 1
    courses = db.session.scalars(
        select(Course)
        .where(Course.patient_id == patient_id)
        .options(joinedload(Course.service))
        .order_by(Course.id.desc())
    )
    return [
        CourseProgress(
            course=course,
            done=done[course.id],
            booked=booked[course.id],
            planned=course.sessions_planned,
        )
        for course in courses
    ]


def _duplicates(patient: Patient) -> list[Duplicate]:
    """Records that may be this same person: the one this record's flag points at, and the
    flagged records that point at this one. Merged records are done with and left out."""
    others = db.session.scalars(
        select(Patient)
        .where(
            Patient.merged_into_id.is_(None),
            Patient.id != patient.id,
            or_(
                Patient.id == patient.possible_duplicate_of_id,
                Patient.possible_duplicate_of_id == patient.id,
            ),
        )
        .order_by(Patient.id)
    )
    return [
        Duplicate(
            patient=other,
            mobile=national(other.phone),
            flagged=other if other.possible_duplicate_of_id == patient.id else patient,
        )
        for other in others
    ]
