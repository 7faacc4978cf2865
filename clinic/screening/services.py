"""Screening use cases: what to ask, what the answers decide, and the practitioners' review."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta

from flask import current_app
from sqlalchemy import select

from clinic.booking.models import Appointment, AppointmentStatus
from clinic.clock import utcnow
from clinic.consent import texts as consent_texts
from clinic.database import write_transaction
from clinic.errors import ChangeNotAllowed, NotFound, ScreeningStopped, ValidationFailed
from clinic.extensions import db
from clinic.screening import questions
from clinic.screening.models import ReviewStatus, Screening
from clinic.screening.rules import ScreeningResult, ServiceProfile, evaluate, questions_for
from clinic.sms import outbox

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
    consent = consent_texts.current() if service.needles else None
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


def valid_screening_for(appointment) -> Screening | None:
    """The patient's most recent screening that covers this visit and is still in date.

    It must answer the current questionnaire's questions for this service and be younger than
    SCREENING_VALID_DAYS on the visit day; later sessions of a course reuse it until then.
    """
    valid_days = current_app.config["SCREENING_VALID_DAYS"]
    needed = {
        q.key for q in questions_for(questions.current(), ServiceProfile.of(appointment.service))
    }
    candidates = db.session.scalars(
        select(Screening)
        .where(
            Screening.patient_id == appointment.patient_id,
            Screening.questionnaire_version == questions.CURRENT_VERSION,
            Screening.created_at >= appointment.start_at - timedelta(days=valid_days),
        )
        .order_by(Screening.created_at.desc(), Screening.id.desc())
    )
    for screening in candidates:
        if needed <= set(screening.asked):
            return screening
    return None


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


def approve(screening_id: int, staff) -> Screening:
    with write_transaction("review"):
        screening = _pending(screening_id)
        _decide(screening, staff, ReviewStatus.APPROVED, "")
        appointment = _appointment(screening)
        if appointment is not None and appointment.status == "needs_review":
            appointment.status = AppointmentStatus.CONFIRMED
            appointment.updated_at = utcnow()
    return screening


def decline(screening_id: int, staff, reason: str) -> Screening:
    reason = " ".join((reason or "").split())
    if not reason:
        raise ValidationFailed({"reason": ["Please give a reason; the desk will see it."]})
    with write_transaction("review"):
        screening = _pending(screening_id)
        _decide(screening, staff, ReviewStatus.DECLINED, reason[:500])
        appointment = _appointment(screening)
        if appointment is not None and appointment.status == "needs_review":
            now = utcnow()
            appointment.status = AppointmentStatus.CANCELLED
            appointment.cancel_reason = "Not cleared after health review: please call the clinic."
            appointment.cancelled_at = now
            appointment.updated_at = now
            outbox.visit_called_off(appointment, "declined on review")
    return screening


def _pending(screening_id: int) -> Screening:
    screening = get_screening(screening_id)
    db.session.refresh(screening)
    if screening.review_status != ReviewStatus.PENDING:
        raise ChangeNotAllowed("This screening has already been reviewed.")
    return screening


def _decide(screening: Screening, staff, status: ReviewStatus, note: str) -> None:
    screening.review_status = status
    screening.reviewed_by_id = staff.id
    screening.reviewed_at = utcnow()
    screening.review_note = note


def _appointment(screening: Screening) -> Appointment | None:
    if screening.appointment_id is None:
        return None
    return db.session.get(Appointment, screening.appointment_id)
