"""The day of the visit: the check-in gate, re-screening at the desk, recording the session."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from clinic.booking.models import Appointment, AppointmentStatus
from clinic.clock import utcnow
from clinic.consent import services as consent_services
from clinic.database import write_transaction
from clinic.errors import ChangeNotAllowed, NotFound, ValidationFailed, VisitBlocked
from clinic.extensions import db
from clinic.screening import questions
from clinic.screening import services as screening_services
from clinic.screening.rules import ServiceProfile, evaluate
from clinic.sms import outbox
from clinic.visits.gate import GateFacts, reasons_blocked
from clinic.visits.models import ADD_ONS, AREAS, DEVICES, SessionRecord

# A visit awaiting review reaches the gate too, which then says why it cannot start.
READY_FOR_CHECK_IN = (
    AppointmentStatus.NEEDS_REVIEW,
    AppointmentStatus.BOOKED,
    AppointmentStatus.CONFIRMED,
)


@dataclass(frozen=True)
class SessionInput:
    device: str
    needle_depth_mm: float
    areas: tuple[str, ...]
    numbing_used: bool
    add_ons: tuple[str, ...]
    cartridge_lot: str
    prp_kit_lot: str = ""
    notes: str = ""


def get_appointment(appointment_id: int) -> Appointment:
    appointment = db.session.get(Appointment, appointment_id)
    if appointment is None:
        raise NotFound("No such appointment.")
    return appointment


def gate_facts(appointment: Appointment) -> GateFacts:
    screening = screening_services.valid_screening_for(appointment)
    return GateFacts(
        needles=appointment.needles,
        has_screening=screening is not None,
        screening_outcome=screening.outcome if screening else None,
        review_status=screening.review_status if screening else None,
        changes_reported=appointment.rescreen_required,
        has_current_consent=consent_services.current_consent_for(appointment) is not None,
    )


def blocked_reasons(appointment: Appointment) -> list[str]:
    return reasons_blocked(gate_facts(appointment))


def check_in(appointment_id: int, *, changes_since_last_visit: bool) -> Appointment:
    """Check the patient in, unless the gate says no. "Yes, something changed" re-opens
    screening: the answer is kept (so the gate stays shut) until the patient is screened again."""
    appointment = get_appointment(appointment_id)
    with write_transaction("booking"):
        db.session.refresh(appointment)
        if appointment.status not in READY_FOR_CHECK_IN:
            raise ChangeNotAllowed(f"This visit is {appointment.status.replace('_', ' ')}.")
        if changes_since_last_visit and appointment.needles:
            appointment.rescreen_required = True
            appointment.updated_at = utcnow()
    if appointment.rescreen_required:
        raise VisitBlocked(blocked_reasons(appointment))
    reasons = blocked_reasons(appointment)
    if reasons:
        raise VisitBlocked(reasons)
    with write_transaction("booking"):
        db.session.refresh(appointment)
        now = utcnow()
        appointment.status = AppointmentStatus.CHECKED_IN
        appointment.checked_in_at = now
        appointment.updated_at = now
    return appointment


def rescreen_at_desk(appointment_id: int, answers: dict[str, bool]):
    """Screen again with the patient at the desk; REVIEW waits for a practitioner."""

    appointment = get_appointment(appointment_id)
    if appointment.status not in READY_FOR_CHECK_IN:
        raise ChangeNotAllowed(f"This visit is {appointment.status.replace('_', ' ')}.")
    patient = appointment.patient
    on = appointment.start_at.astimezone(
        ZoneInfo(appointment.practitioner.location.timezone)
    ).date()
    result = evaluate(
        questions.current(),
        ServiceProfile.of(appointment.service),
        answers,
        date_of_birth=patient.date_of_birth,
        on=on,
    )
    if result.missing:
        raise ValidationFailed(
            {f"screening.{k}": ["Please answer yes or no."] for k in result.missing}
        )
    with write_transaction("booking"):
        db.session.refresh(appointment)
        screening = screening_services.record(
            patient, appointment, appointment.service, answers, result, source="desk"
        )
        appointment.rescreen_required = False
        appointment.updated_at = utcnow()
    return screening


def complete(appointment_id: int, record: SessionInput, staff) -> SessionRecord:
    """Record what was done and complete the session: the event aftercare texts hang on."""
    appointment = get_appointment(appointment_id)
    errors = validate_session(record, appointment)
    if errors:
        raise ValidationFailed(errors)
    if appointment.status != AppointmentStatus.CHECKED_IN:
        raise ChangeNotAllowed("Check the patient in before completing the session.")
    reasons = blocked_reasons(appointment)
    if reasons:
        raise VisitBlocked(reasons)
    with write_transaction("booking"):
        db.session.refresh(appointment)
        if appointment.status != AppointmentStatus.CHECKED_IN:
            raise ChangeNotAllowed("This session has already been completed.")
        now = utcnow()
        session_record = SessionRecord(
            appointment_id=appointment.id,
            practitioner_id=appointment.practitioner_id,
            device=record.device,
            needle_depth_mm=round(float(record.needle_depth_mm), 2),
            areas=list(record.areas),
            numbing_used=record.numbing_used,
            add_ons=list(record.add_ons),
            cartridge_lot=record.cartridge_lot.strip(),
            prp_kit_lot=record.prp_kit_lot.strip(),
            notes=record.notes.strip(),
            recorded_at=now,
            recorded_by_id=getattr(staff, "id", None),
        )
        db.session.add(session_record)
        appointment.status = AppointmentStatus.COMPLETED
        appointment.completed_at = now
        appointment.updated_at = now
        db.session.flush()
        # Completing the session is the event the aftercare texts hang on.
        outbox.plan_for_completed_session(appointment)
    return session_record


def validate_session(record: SessionInput, appointment: Appointment) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if record.device not in DEVICES:
        errors["device"] = ["Choose roller or pen."]
    try:
        depth = float(record.needle_depth_mm)
    except (TypeError, ValueError):
        depth = -1.0
    if not 0.25 <= depth <= 2.5:
        errors["needle_depth_mm"] = ["Needle depth must be between 0.25 and 2.5 mm."]
    if not record.areas or any(area not in AREAS for area in record.areas):
        errors["areas"] = ["Choose at least one treated area."]
    if any(add_on not in ADD_ONS for add_on in record.add_ons):
        errors["add_ons"] = ["Unknown add-on."]
    if not record.cartridge_lot.strip() or len(record.cartridge_lot) > 60:
        errors["cartridge_lot"] = ["Enter the needle cartridge's lot number."]
    if "prp" in record.add_ons and not record.prp_kit_lot.strip():
        errors["prp_kit_lot"] = ["Enter the PRP kit's lot number."]
    if len(record.prp_kit_lot) > 60:
        errors["prp_kit_lot"] = ["Lot numbers are at most 60 characters."]
    if len(record.notes) > 5000:
        errors["notes"] = ["Notes are at most 5,000 characters."]
    return errors


def finish_consultation(appointment_id: int) -> Appointment:
    """Complete a visit that needles nobody: there is no session record and no aftercare."""
    appointment = get_appointment(appointment_id)
    if appointment.needles:
        raise ChangeNotAllowed("A treatment session is completed with its session record.")
    with write_transaction("booking"):
        db.session.refresh(appointment)
        if appointment.status != AppointmentStatus.CHECKED_IN:
            raise ChangeNotAllowed("Check the patient in before completing the visit.")
        now = utcnow()
        appointment.status = AppointmentStatus.COMPLETED
        appointment.completed_at = now
        appointment.updated_at = now
    return appointment


def mark_no_show(appointment_id: int) -> Appointment:
    """The patient did not come: the chair is released and their pending texts stop."""
    appointment = get_appointment(appointment_id)
    with write_transaction("booking"):
        db.session.refresh(appointment)
        if appointment.status not in READY_FOR_CHECK_IN:
            raise ChangeNotAllowed(f"This visit is {appointment.status.replace('_', ' ')}.")
        if appointment.start_at > utcnow():
            raise ChangeNotAllowed("A visit can be marked as a no-show only once it has started.")
        appointment.status = AppointmentStatus.NO_SHOW
        appointment.updated_at = utcnow()
        outbox.visit_called_off(appointment, "no-show")
    return appointment
