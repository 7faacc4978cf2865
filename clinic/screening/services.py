"""Screening use cases: what to ask, what the answers decide, and the practitioners' review."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from flask import current_app
from sqlalchemy import select

from clinic.actors import Actor
from clinic.audit import services as audit
from clinic.booking.models import Appointment, AppointmentStatus
from clinic.clock import utcnow
from clinic.consent import services as consent_services
from clinic.database import write_transaction
from clinic.errors import ChangeNotAllowed, NotFound, ScreeningStopped, ValidationFailed
from clinic.extensions import db
from clinic.screening import questions
from clinic.screening.models import ReviewStatus, Screening
from clinic.screening.rules import ScreeningResult, ServiceProfile, evaluate, questions_for
from clinic.visits import changes, lifecycle
from clinic.visits.lifecycle import Event

# What the patient's visit says when a clinician declines: the note stays inside the clinic.
DECLINED_REASON = "Not cleared after health review: please call the clinic."

# What the patient reads when screening stops a booking: kind, plain, no medical advice.
STOP_MESSAGES = {
    questions.Outcome.BLOCK: (
        "Thank you for answering honestly. From your answers, we need to talk with you before "
        "this treatment can be booked, so we can't take this booking online. Please call us on "
        "{phone} and we will explain your options."
    ),
    questions.Outcome.DEFER: (
        "Thank you for answering honestly. From your answers, it is best to wait before this "
        "treatment, so we can't take this booking yet. Please book again once it has cleared, "
        "or call us on {phone} if you would like to talk it through."
    ),
}


def intake(service) -> dict:
    """What a client must show before booking this service (the API's intake document)."""
    questionnaire = questions.current()
    asked = questions_for(questionnaire, ServiceProfile.of(service))
    consent = consent_services.current_form() if service.needles else None
    return {
        "questionnaire_version": questionnaire.version,
        "questions": [{"key": q.key, "text": q.text} for q in asked],
        "consent": None
        if consent is None
        else {
            "version": consent.version,
            "title": consent.title,
            "text": consent.text,
            "sha256": consent.sha256,
        },
    }


def assess(
    service, answers: Mapping[str, object] | None, *, date_of_birth: date, on: date, phone: str
) -> ScreeningResult:
    """Evaluate answers for a booking; raise for missing answers and for BLOCK or DEFER."""
    result = evaluate(
        questions.current(),
        ServiceProfile.of(service),
        answers or {},
        date_of_birth=date_of_birth,
        on=on,
    )
    # A decisive "yes" (or the date of birth) settles it even if other answers are missing.
    if result.stops_booking:
        keys = result.blocking if result.outcome is questions.Outcome.BLOCK else result.deferring
        raise ScreeningStopped(
            STOP_MESSAGES[result.outcome].format(phone=phone),
            keys=keys,
            outcome=result.outcome.value,
            phone=phone,
        )
    if result.missing:
        raise ValidationFailed(
            {f"screening.{key}": ["Please answer yes or no."] for key in result.missing},
            message="Please answer every health question.",
        )
    return result


def record(
    patient,
    appointment,
    service,
    answers: Mapping[str, bool],
    result: ScreeningResult,
    *,
    source: str,
) -> Screening:
    """Keep the answers beside the version they answered (inside the caller's transaction)."""
    questionnaire = questions.current()
    asked = [q.key for q in questions_for(questionnaire, ServiceProfile.of(service))]
    screening = Screening(
        patient_id=patient.id,
        appointment_id=appointment.id if appointment is not None else None,
        service_id=service.id,
        questionnaire_version=questionnaire.version,
        answers={key: bool(answers[key]) for key in asked},
        asked=asked,
        flagged=list(result.flagged),
        outcome=result.outcome.value,
        source=source,
        created_at=utcnow(),
        review_status=ReviewStatus.PENDING
        if result.outcome is questions.Outcome.REVIEW
        else ReviewStatus.NOT_NEEDED,
    )
    db.session.add(screening)
    return screening


def latest_for(appointment) -> Screening | None:
    return db.session.scalars(
        select(Screening)
        .where(Screening.appointment_id == appointment.id)
        .order_by(Screening.created_at.desc(), Screening.id.desc())
    ).first()


def _visits_covered(appointment) -> list[int]:
    """The visits whose screenings speak for this one: itself, and its course's sessions."""
    if appointment.course_id is None:
        return [appointment.id]
    return list(
        db.session.scalars(
            select(Appointment.id).where(Appointment.course_id == appointment.course_id)
        )
    )


def valid_screening_for(appointment) -> Screening | None:
    """The most recent screening answered for this visit (or its course) that covers this
    service and is still in date.

    A screening answered for another visit never clears this one: each visit is judged by its
    own answers. It must answer the current questionnaire's questions for this service and be
    younger than SCREENING_VALID_DAYS on the visit day; a course's later sessions reuse the
    course's screening until then.
    """
    valid_days = current_app.config["SCREENING_VALID_DAYS"]
    needed = {
        q.key for q in questions_for(questions.current(), ServiceProfile.of(appointment.service))
    }
    candidates = db.session.scalars(
        select(Screening)
        .where(
            Screening.patient_id == appointment.patient_id,
            Screening.appointment_id.in_(_visits_covered(appointment)),
            Screening.questionnaire_version == questions.CURRENT_VERSION,
            Screening.created_at >= appointment.start_at - timedelta(days=valid_days),
        )
        .order_by(Screening.created_at.desc(), Screening.id.desc())
    )
    for screening in candidates:
        if needed <= set(screening.asked):
            return screening
    return None


def review_holds(appointment) -> list[Screening]:
    """Screenings of this visit (or its course) still waiting for a clinician, or declined.
    Any one of them stops the session, whatever newer screenings say."""
    return list(
        db.session.scalars(
            select(Screening)
            .where(
                Screening.appointment_id.in_(_visits_covered(appointment)),
                Screening.review_status.in_((ReviewStatus.PENDING, ReviewStatus.DECLINED)),
            )
            .order_by(Screening.created_at, Screening.id)
        )
    )


# --- the practitioners' review queue ---------------------------------------------------------


def review_queue() -> list[Screening]:
    return list(
        db.session.scalars(
            select(Screening)
            .where(Screening.review_status == ReviewStatus.PENDING)
            .order_by(Screening.created_at, Screening.id)
        )
    )


def get_screening(screening_id: int) -> Screening:
    screening = db.session.get(Screening, screening_id)
    if screening is None:
        raise NotFound("No such screening.")
    return screening


@dataclass(frozen=True)
class ReviewDecision:
    """What a review decision did, so the page can say exactly that."""

    screening: Screening
    appointment: Appointment | None
    visit_event: Event | None  # what happened to the visit: approved, declined, or nothing
    still_held: bool = False  # approved, but another answer of this visit still waits


def approve(screening_id: int, staff, *, by: Actor | None = None) -> ReviewDecision:
    by = by or Actor.staff(staff)
    _clinician(by)
    with write_transaction("review"):
        screening = _pending(screening_id)
        _decide(screening, staff, ReviewStatus.APPROVED, "", by)
        appointment = _appointment(screening)
        event, still_held = None, False
        if appointment is not None and appointment.status == AppointmentStatus.NEEDS_REVIEW:
            db.session.flush()
            if any(s.review_status == ReviewStatus.PENDING for s in review_holds(appointment)):
                still_held = True  # another answer of this visit still waits for a clinician
            else:
                changes.apply(appointment, Event.APPROVE, by)
                event = Event.APPROVE
    return ReviewDecision(screening, appointment, event, still_held)


def decline(screening_id: int, staff, reason: str, *, by: Actor | None = None) -> ReviewDecision:
    """Decline the answers: the visit ends, whatever state it reached before completion, and
    the patient is told to call (a text if they take texts, and a task for the desk)."""
    reason = " ".join((reason or "").split())
    if not reason:
        raise ValidationFailed({"reason": ["Please give a reason; the desk will see it."]})
    by = by or Actor.staff(staff)
    _clinician(by)
    with write_transaction("review"):
        screening = _pending(screening_id)
        _decide(screening, staff, ReviewStatus.DECLINED, reason[:500], by)
        appointment = _appointment(screening)
        event = None
        if appointment is not None and lifecycle.allows_from(appointment.status, Event.DECLINE):
            changes.apply(appointment, Event.DECLINE, by, reason=DECLINED_REASON)
            event = Event.DECLINE
    return ReviewDecision(screening, appointment, event)


def _clinician(by: Actor) -> None:
    """Only a clinician decides on answers, whatever state the visit is in."""
    if by.kind not in lifecycle.CLINICIANS:
        raise ChangeNotAllowed("Only a practitioner can review a patient's answers.")


def _pending(screening_id: int) -> Screening:
    screening = get_screening(screening_id)
    db.session.refresh(screening)
    if screening.review_status != ReviewStatus.PENDING:
        raise ChangeNotAllowed("This screening has already been reviewed.")
    return screening


def _decide(screening: Screening, staff, status: ReviewStatus, note: str, by: Actor) -> None:
    before = screening.review_status
    screening.review_status = status
    screening.reviewed_by_id = staff.id
    screening.reviewed_at = utcnow()
    screening.review_note = note
    # The decision, by whom and from where; the clinician's note stays with the screening.
    audit.record(
        by,
        f"screening.review_{status.value}",
        at=screening.reviewed_at,
        patient_id=screening.patient_id,
        appointment_id=screening.appointment_id,
        changes={"screening_id": (None, screening.id), "review_status": (before, status.value)},
    )


def _appointment(screening: Screening) -> Appointment | None:
    if screening.appointment_id is None:
        return None
    return db.session.get(Appointment, screening.appointment_id)
