"""What the desk's visit pages show: read-only views over a visit and its records."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime

from flask import current_app
from sqlalchemy import select

from clinic.actors import ActorKind
from clinic.booking.models import Appointment
from clinic.catalog.models import Practitioner, Room
from clinic.consent import services as consent_services
from clinic.consent.models import ConsentForm, SignedConsent
from clinic.courses.models import Course
from clinic.errors import NotFound
from clinic.extensions import db
from clinic.patients.models import Patient
from clinic.screening import questions
from clinic.screening import services as screening_services
from clinic.screening.models import ReviewStatus, Screening
from clinic.screening.rules import ServiceProfile, questions_for
from clinic.staff.models import StaffUser
from clinic.visits import changes, lifecycle
from clinic.visits import services as visit_services
from clinic.visits.lifecycle import Event
from clinic.visits.models import SessionRecord
from clinic.visits.sheet import AftercareSheet, aftercare_sheet
from clinic.web.formatting import clinic_tz


@dataclass(frozen=True)
class RecordSummary:
    """What anyone at the desk may know of a session record: that it exists, when and by whom.

    The record itself (device, depth, areas, add-ons, lots, notes) is for practitioners and
    admins only.
    """

    recorded_at: datetime
    recorded_by: StaffUser | None
    aftercare_sheet_given_at: datetime | None


@dataclass(frozen=True)
class Visit:
    appointment: Appointment
    day: date  # the clinic's local day of the visit
    is_open: bool
    reasons: list[str]  # why the session may not start or complete; empty when it may
    # The screening the gate goes by: the patient's latest one that covers this service and is
    # still in date, whichever visit it was answered for.
    screening: Screening | None
    pending_review: Screening | None
    consent: SignedConsent | None  # the signature that covers this visit, if any
    signatures: list[SignedConsent]  # everything this patient has signed, newest first
    recorded: RecordSummary | None  # set once the session is recorded, for every role
    session_record: SessionRecord | None  # the clinical record: None unless asked for
    course: Course | None
    questions: tuple[questions.Question, ...]  # what a desk re-screen asks for this service
    questionnaire_version: int
    consent_text: ConsentForm  # the version in force, for the desk to have signed


def visit(appointment_id: int, *, clinical: bool = False) -> Visit:
    """The visit page's facts; ``clinical`` adds the session record (practitioners, admins)."""
    appointment = visit_services.get_appointment(appointment_id)
    # The check-in gate matters while the session has not happened yet.
    is_open = appointment.status in lifecycle.OPEN
    screening = screening_services.valid_screening_for(appointment)
    holds = screening_services.review_holds(appointment)
    record = db.session.scalar(
        select(SessionRecord).where(SessionRecord.appointment_id == appointment.id)
    )
    return Visit(
        appointment=appointment,
        day=appointment.start_at.astimezone(clinic_tz()).date(),
        is_open=is_open,
        reasons=visit_services.blocked_reasons(appointment) if is_open else [],
        screening=screening,
        pending_review=next((s for s in holds if s.review_status == ReviewStatus.PENDING), None),
        consent=consent_services.current_consent_for(appointment),
        signatures=list(
            db.session.scalars(
                select(SignedConsent)
                .where(SignedConsent.patient_id == appointment.patient_id)
                .order_by(SignedConsent.signed_at.desc(), SignedConsent.id.desc())
            )
        ),
        recorded=_summary(record),
        session_record=record if clinical else None,
        course=db.session.get(Course, appointment.course_id) if appointment.course_id else None,
        questions=questions_for(questions.current(), ServiceProfile.of(appointment.service)),
        questionnaire_version=questions.CURRENT_VERSION,
        consent_text=consent_services.current_form(),
    )


def _summary(record: SessionRecord | None) -> RecordSummary | None:
    if record is None:
        return None
    return RecordSummary(
        recorded_at=record.recorded_at,
        recorded_by=db.session.get(StaffUser, record.recorded_by_id)
        if record.recorded_by_id
        else None,
        aftercare_sheet_given_at=record.aftercare_sheet_given_at,
    )


def actions(appointment: Appointment, role: str) -> set[str]:
    """The lifecycle's events this staff member could take on the visit now: the page offers
    these buttons (the services still decide when pressed)."""
    kind = ActorKind(str(role))
    return {
        event.value
        for event in (
            Event.CHECK_IN,
            Event.UNDO_CHECK_IN,
            Event.COMPLETE,
            Event.NO_SHOW,
            Event.UNDO_NO_SHOW,
        )
        if changes.permitted(appointment, event, kind)
    }


@dataclass(frozen=True)
class ConsentRecord:
    signed: SignedConsent
    form: ConsentForm
    patient: Patient
    appointment: Appointment | None
    course: Course | None
    # The stored text still hashes to the fingerprint recorded at signing.
    text_matches: bool


def consent_record(signed_id: int) -> ConsentRecord:
    signed = db.session.get(SignedConsent, signed_id)
    if signed is None:
        raise NotFound("No such signed consent.")
    form = db.session.get(ConsentForm, signed.consent_form_id)
    return ConsentRecord(
        signed=signed,
        form=form,
        patient=db.session.get(Patient, signed.patient_id),
        appointment=db.session.get(Appointment, signed.appointment_id)
        if signed.appointment_id
        else None,
        course=db.session.get(Course, signed.course_id) if signed.course_id else None,
        text_matches=hashlib.sha256(form.text.encode("utf-8")).hexdigest() == signed.form_sha256,
    )


# Sessions whose aftercare sheet can be printed: ready in the chair, or done.
SHEET_STATUSES = frozenset({lifecycle.State.CHECKED_IN, lifecycle.State.COMPLETED})


@dataclass(frozen=True)
class SheetPage:
    appointment: Appointment
    patient_name: str
    day: date  # the session's local date
    treatment: str
    sheet: AftercareSheet
    session_record: SessionRecord | None


def aftercare_sheet_for(appointment: Appointment) -> AftercareSheet:
    config = current_app.config
    return aftercare_sheet(
        clinic=config["CLINIC_NAME"],
        clinic_phone=appointment.practitioner.location.phone or config["CLINIC_PHONE"],
        emergency_number=config["CLINIC_EMERGENCY_NUMBER"],
    )


def sheet_page(appointment_id: int) -> SheetPage:
    """The printable aftercare sheet of a session that needles, checked in or completed."""
    appointment = visit_services.get_appointment(appointment_id)
    if not appointment.needles or appointment.status not in SHEET_STATUSES:
        raise NotFound("This visit has no aftercare sheet.")
    return SheetPage(
        appointment=appointment,
        patient_name=appointment.patient.full_name,
        day=appointment.start_at.astimezone(appointment.timezone).date(),
        treatment=appointment.service.name,
        sheet=aftercare_sheet_for(appointment),
        session_record=db.session.scalar(
            select(SessionRecord).where(SessionRecord.appointment_id == appointment.id)
        ),
    )


@dataclass(frozen=True)
class MoveChoices:
    practitioners: list[Practitioner]
    rooms: list[Room]


def move_choices(appointment_id: int) -> MoveChoices:
    """Who and where a visit can move to: the active practitioners and rooms of its location."""
    appointment = visit_services.get_appointment(appointment_id)
    location_id = appointment.location_id
    return MoveChoices(
        practitioners=list(
            db.session.scalars(
                select(Practitioner)
                .where(Practitioner.location_id == location_id, Practitioner.active)
                .order_by(Practitioner.id)
            )
        ),
        rooms=list(
            db.session.scalars(
                select(Room).where(Room.location_id == location_id, Room.active).order_by(Room.id)
            )
        ),
    )
