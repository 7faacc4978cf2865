"""The day of the visit: the check-in gate, re-screening at the desk, recording the session.

Every change of status goes through the visit lifecycle (clinic.visits.changes.apply), which
holds the rules of who may do what when; the gate below adds the clinical conditions.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select

from clinic.actors import Actor, ActorKind
from clinic.audit import services as audit
from clinic.booking.models import Appointment, AppointmentStatus
from clinic.booking.services import still_free
from clinic.clock import utcnow
from clinic.consent import services as consent_services
from clinic.database import write_transaction
from clinic.errors import (
    ChangeNotAllowed,
    NotFound,
    SlotUnavailable,
    ValidationFailed,
    VisitBlocked,
)
from clinic.extensions import db
from clinic.screening import questions
from clinic.screening import services as screening_services
from clinic.screening.models import ReviewStatus
from clinic.screening.questions import Outcome
from clinic.screening.rules import ServiceProfile, evaluate
from clinic.visits import changes, lifecycle
from clinic.visits.gate import GateFacts, reasons_blocked
from clinic.visits.lifecycle import Event
from clinic.visits.models import ADD_ON_NAMES, ADD_ONS, AREAS, DEVICES, SessionRecord


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
    # A depth outside the clinic's range is recorded only when confirmed, with the reason.
    depth_confirmed: bool = False
    depth_reason: str = ""
    # The printed aftercare sheet was handed to the patient as the session ended.
    aftercare_sheet_handed_over: bool = False


def get_appointment(appointment_id: int) -> Appointment:
    appointment = db.session.get(Appointment, appointment_id)
    if appointment is None:
        raise NotFound("No such appointment.")
    return appointment


def _actor(by: Actor | None) -> Actor:
    return by or Actor(ActorKind.DESK)


def gate_facts(appointment: Appointment) -> GateFacts:
    screening = screening_services.valid_screening_for(appointment)
    holds = screening_services.review_holds(appointment)
    return GateFacts(
        needles=appointment.needles,
        has_screening=screening is not None,
        screening_outcome=screening.outcome if screening else None,
        review_status=screening.review_status if screening else None,
        changes_reported=appointment.rescreen_required,
        has_current_consent=consent_services.current_consent_for(appointment) is not None,
        review_pending=any(s.review_status == ReviewStatus.PENDING for s in holds)
        or appointment.status == AppointmentStatus.NEEDS_REVIEW,
        review_declined=any(s.review_status == ReviewStatus.DECLINED for s in holds),
    )


def blocked_reasons(appointment: Appointment) -> list[str]:
    return reasons_blocked(gate_facts(appointment))


def check_in(
    appointment_id: int, *, changes_since_last_visit: bool, by: Actor | None = None
) -> Appointment:
    """Check the patient in, unless the lifecycle or the gate says no. "Yes, something changed"
    re-opens screening: the answer is kept (so the gate stays shut) until the patient is
    screened again."""
    by = _actor(by)
    appointment = get_appointment(appointment_id)
    changes.check(appointment, Event.CHECK_IN, by)
    if changes_since_last_visit and appointment.needles and not appointment.rescreen_required:
        with write_transaction("booking"):
            db.session.refresh(appointment)
            appointment.rescreen_required = True
            appointment.updated_at = utcnow()
    reasons = blocked_reasons(appointment)
    if reasons:
        raise VisitBlocked(reasons)
    with write_transaction("booking"):
        db.session.refresh(appointment)
        # Checked again under the lock: a review may have been asked for meanwhile.
        reasons = blocked_reasons(appointment)
        if reasons:
            raise VisitBlocked(reasons)
        changes.apply(appointment, Event.CHECK_IN, by)
    return appointment


def undo_check_in(appointment_id: int, *, by: Actor | None = None, reason: str = "") -> Appointment:
    """A check-in made by mistake, undone on the day: the visit is back where it was."""
    appointment = get_appointment(appointment_id)
    with write_transaction("booking"):
        db.session.refresh(appointment)
        changes.apply(appointment, Event.UNDO_CHECK_IN, _actor(by), reason=reason)
    return appointment


def rescreen_at_desk(appointment_id: int, answers: dict[str, bool], *, by: Actor | None = None):
    """Screen again with the patient at the desk: a new screening, never an edit of the old.

    A REVIEW answer puts the visit back under a clinician's review (the lifecycle's "hold");
    a clear answer never clears a review that is waiting or was declined.
    """
    by = _actor(by)
    appointment = get_appointment(appointment_id)
    if not lifecycle_open_before_check_in(appointment):
        raise ChangeNotAllowed(
            f"This visit is {appointment.status.replace('_', ' ')}: screening is done before "
            "check-in."
        )
    patient = appointment.patient
    on = appointment.start_at.astimezone(appointment.timezone).date()
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
        if not lifecycle_open_before_check_in(appointment):
            raise ChangeNotAllowed("This visit has moved on; screening is done before check-in.")
        screening = screening_services.record(
            patient, appointment, appointment.service, answers, result, source="desk"
        )
        appointment.rescreen_required = False
        appointment.updated_at = utcnow()
        db.session.flush()
        # That the patient was screened, by whom; the answers stay in the screening alone.
        audit.record(
            by,
            "screening.recorded",
            at=screening.created_at,
            patient_id=patient.id,
            appointment_id=appointment.id,
            changes={"screening_id": (None, screening.id)},
        )
        if result.outcome is Outcome.REVIEW:
            changes.apply(appointment, Event.HOLD, by, reason="answers need a clinician's review")
    return screening


def lifecycle_open_before_check_in(appointment: Appointment) -> bool:
    """Screening belongs before the session: while the visit is still ahead."""
    return appointment.status in lifecycle.UPCOMING


def complete(appointment_id: int, record: SessionInput, staff, *, by: Actor | None = None):
    """Record what was done and complete the session: the event aftercare texts hang on."""
    by = by or (Actor.staff(staff) if staff is not None else Actor(ActorKind.PRACTITIONER))
    appointment = get_appointment(appointment_id)
    changes.check(appointment, Event.COMPLETE, by)
    errors = validate_session(record, appointment)
    if errors:
        raise ValidationFailed(errors)
    reasons = blocked_reasons(appointment)
    if reasons:
        raise VisitBlocked(reasons)
    with write_transaction("booking"):
        db.session.refresh(appointment)
        reasons = blocked_reasons(appointment)  # again under the lock
        if reasons:
            raise VisitBlocked(reasons)
        now = utcnow()
        session_record = SessionRecord(
            appointment_id=appointment.id,
            practitioner_id=appointment.practitioner_id,
            device=record.device,
            needle_depth_mm=round(float(record.needle_depth_mm), 2),
            depth_override_reason=record.depth_reason.strip()[:300]
            if _depth_outside_range(record.needle_depth_mm)
            else "",
            areas=list(record.areas),
            numbing_used=record.numbing_used,
            add_ons=list(record.add_ons),
            cartridge_lot=record.cartridge_lot.strip(),
            prp_kit_lot=record.prp_kit_lot.strip(),
            notes=record.notes.strip(),
            recorded_at=now,
            recorded_by_id=getattr(staff, "id", None) or by.staff_id,
            aftercare_sheet_given_at=now if record.aftercare_sheet_handed_over else None,
        )
        db.session.add(session_record)
        db.session.flush()
        recorded = {"session_record_id": (None, session_record.id)}
        if record.aftercare_sheet_handed_over:
            recorded["aftercare_sheet_handed_over"] = (False, True)
        audit.record(
            by,
            "session.recorded",
            at=now,
            patient_id=appointment.patient_id,
            appointment_id=appointment.id,
            changes=recorded,
        )
        # The aftercare texts hang on this event, anchored to the recorded end: now.
        changes.apply(
            appointment, Event.COMPLETE, by, context={"session_record": session_record.id}
        )
    return session_record


def mark_sheet_handed_over(appointment_id: int, *, by: Actor | None = None) -> SessionRecord:
    """The printed aftercare sheet was handed over after the session was recorded without it."""
    by = _actor(by)
    with write_transaction("booking"):
        record = db.session.scalar(
            select(SessionRecord).where(SessionRecord.appointment_id == appointment_id)
        )
        if record is None:
            raise ChangeNotAllowed("Record the session first; the sheet is marked with it.")
        if record.aftercare_sheet_given_at is not None:
            raise ChangeNotAllowed("The aftercare sheet is already recorded as handed over.")
        now = utcnow()
        record.aftercare_sheet_given_at = now
        appointment = get_appointment(appointment_id)
        audit.record(
            by,
            "aftercare_sheet.handed_over",
            at=now,
            patient_id=appointment.patient_id,
            appointment_id=appointment.id,
            changes={"aftercare_sheet_handed_over": (False, True)},
        )
    return record


def depth_range() -> tuple[float, float]:
    config = current_app.config
    return float(config["SESSION_DEPTH_MIN_MM"]), float(config["SESSION_DEPTH_MAX_MM"])


def _depth_outside_range(depth) -> bool:
    low, high = depth_range()
    try:
        return not low <= float(depth) <= high
    except (TypeError, ValueError):
        return False


def add_ons_screened(appointment: Appointment) -> set[str]:
    """The add-ons whose own questions this visit's screening asked (all of them, when a
    product has none of its own)."""
    screening = screening_services.valid_screening_for(appointment)
    asked = set(screening.asked) if screening is not None else set()
    allowed = set()
    for add_on in ADD_ONS:
        own = {q.key for q in questions.current().questions if add_on in q.applies_to}
        if own <= asked:
            allowed.add(add_on)
    return allowed


def validate_session(record: SessionInput, appointment: Appointment) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if record.device not in DEVICES:
        errors["device"] = ["Choose roller or pen."]
    try:
        depth = float(record.needle_depth_mm)
    except (TypeError, ValueError):
        depth = -1.0
    low, high = depth_range()
    if not 0.25 <= depth <= 2.5:
        errors["needle_depth_mm"] = ["Needle depth must be between 0.25 and 2.5 mm."]
    elif not low <= depth <= high:
        if not record.depth_confirmed:
            errors["depth_confirmed"] = [
                f"{depth:g} mm is outside the clinic's usual {low:g}-{high:g} mm: confirm it "
                "and give the reason."
            ]
        if not record.depth_reason.strip():
            errors["depth_reason"] = ["Say why this depth was used."]
        elif len(record.depth_reason) > 300:
            errors["depth_reason"] = ["Keep the reason under 300 characters."]
    if not record.areas or any(area not in AREAS for area in record.areas):
        errors["areas"] = ["Choose at least one treated area."]
    if any(add_on not in ADD_ONS for add_on in record.add_ons):
        errors["add_ons"] = ["Unknown add-on."]
    else:
        unscreened = [a for a in record.add_ons if a not in add_ons_screened(appointment)]
        if unscreened:
            errors["add_ons"] = [
                "This visit's screening did not ask the questions for "
                + ", ".join(ADD_ON_NAMES[a] for a in unscreened)
                + ": it cannot be used in this session."
            ]
    if not record.cartridge_lot.strip() or len(record.cartridge_lot) > 60:
        errors["cartridge_lot"] = ["Enter the needle cartridge's lot number."]
    if "prp" in record.add_ons and not record.prp_kit_lot.strip():
        errors["prp_kit_lot"] = ["Enter the PRP kit's lot number."]
    if len(record.prp_kit_lot) > 60:
        errors["prp_kit_lot"] = ["Lot numbers are at most 60 characters."]
    if len(record.notes) > 5000:
        errors["notes"] = ["Notes are at most 5,000 characters."]
    return errors


def finish_consultation(appointment_id: int, *, by: Actor | None = None) -> Appointment:
    """Complete a visit that needles nobody: there is no session record and no aftercare."""
    appointment = get_appointment(appointment_id)
    if appointment.needles:
        raise ChangeNotAllowed("A treatment session is completed with its session record.")
    with write_transaction("booking"):
        db.session.refresh(appointment)
        changes.apply(appointment, Event.COMPLETE, _actor(by))
    return appointment


def mark_no_show(appointment_id: int, *, by: Actor | None = None) -> Appointment:
    """The patient did not come: the chair is released and their pending texts stop."""
    appointment = get_appointment(appointment_id)
    with write_transaction("booking"):
        db.session.refresh(appointment)
        changes.apply(appointment, Event.NO_SHOW, _actor(by))
    return appointment


def undo_no_show(appointment_id: int, *, by: Actor | None = None, reason: str = "") -> Appointment:
    """A no-show marked by mistake, undone on the day, if nobody has taken the time since."""
    appointment = get_appointment(appointment_id)
    with write_transaction("booking"):
        db.session.refresh(appointment)
        changes.check(appointment, Event.UNDO_NO_SHOW, _actor(by))
        if not still_free(appointment):
            raise SlotUnavailable(
                "That time has been given to someone else since; book the patient again instead."
            )
        changes.apply(appointment, Event.UNDO_NO_SHOW, _actor(by), reason=reason)
    return appointment
