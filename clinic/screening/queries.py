"""What the practitioners' review pages show: read-only views over screenings and history.

Answers are always read against the questionnaire version they were given to, so a later
version of a question never changes what a patient is shown to have said.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from clinic.booking.models import Appointment
from clinic.catalog.models import Service
from clinic.clock import utcnow
from clinic.extensions import db
from clinic.patients.models import Patient
from clinic.screening import questions
from clinic.screening import services as screening_services
from clinic.screening.models import Screening
from clinic.screening.rules import age_on
from clinic.staff.models import StaffUser
from clinic.web.formatting import clinic_tz


@dataclass(frozen=True)
class Answer:
    key: str
    text: str
    yes: bool
    outcome: str  # what a "yes" to this question leads to: block, defer or review


@dataclass(frozen=True)
class PastScreening:
    screening: Screening
    service: Service
    flagged: list[Answer]
    reviewer: StaffUser | None


@dataclass(frozen=True)
class ReviewItem:
    """One screening as the review pages show it, with the patient's history."""

    screening: Screening
    patient: Patient
    age: int
    service: Service
    appointment: Appointment | None
    answers: list[Answer]
    reviewer: StaffUser | None
    earlier_visits: list[Appointment]
    earlier_screenings: list[PastScreening]
    starts_soon: bool  # the visit starts within REVIEW_WARNING_HOURS

    @property
    def flagged(self) -> list[Answer]:
        return [answer for answer in self.answers if answer.yes]


def answers_of(screening: Screening) -> list[Answer]:
    """Every question asked, in the order asked, in the words of the version answered."""
    try:
        questionnaire = questions.version(screening.questionnaire_version)
    except LookupError:
        questionnaire = None
    answers = []
    for key in screening.asked:
        text, outcome = key, ""
        if questionnaire is not None:
            try:
                question = questionnaire.question(key)
                text, outcome = question.text, question.outcome.value
            except KeyError:
                pass
        answers.append(Answer(key, text, bool(screening.answers.get(key)), outcome))
    return answers


def review_queue() -> list[ReviewItem]:
    """Pending screenings, oldest first, each with what the practitioner needs to decide."""
    return [_item(screening) for screening in screening_services.review_queue()]


def review_item(screening_id: int) -> ReviewItem:
    return _item(screening_services.get_screening(screening_id))


def appointment_of(screening: Screening) -> Appointment | None:
    if screening.appointment_id is None:
        return None
    return db.session.get(Appointment, screening.appointment_id)


def _item(screening: Screening) -> ReviewItem:
    appointment = appointment_of(screening)
    patient = screening.patient
    return ReviewItem(
        screening=screening,
        patient=patient,
        age=age_on(patient.date_of_birth, _today()),
        service=db.session.get(Service, screening.service_id),
        appointment=appointment,
        answers=answers_of(screening),
        reviewer=_staff(screening.reviewed_by_id),
        earlier_visits=_earlier_visits(patient.id, appointment),
        earlier_screenings=_earlier_screenings(screening),
        starts_soon=appointment is not None and _starts_soon(appointment),
    )


def _starts_soon(appointment: Appointment) -> bool:
    now = utcnow()
    warning = timedelta(hours=current_app.config["REVIEW_WARNING_HOURS"])
    return appointment.end_at > now and appointment.start_at <= now + warning


def _earlier_visits(patient_id: int, appointment: Appointment | None) -> list[Appointment]:
    query = (
        select(Appointment)
        .where(Appointment.patient_id == patient_id)
        .options(selectinload(Appointment.service), selectinload(Appointment.practitioner))
        .order_by(Appointment.start_at.desc(), Appointment.id.desc())
    )
    if appointment is not None:
        query = query.where(
            Appointment.id != appointment.id, Appointment.start_at < appointment.start_at
        )
    else:
        query = query.where(Appointment.start_at < utcnow())
    return list(db.session.scalars(query))


def _earlier_screenings(screening: Screening) -> list[PastScreening]:
    query = (
        select(Screening)
        .where(
            Screening.patient_id == screening.patient_id,
            Screening.id != screening.id,
            Screening.created_at <= screening.created_at,
        )
        .order_by(Screening.created_at.desc(), Screening.id.desc())
    )
    return [
        PastScreening(
            screening=earlier,
            service=db.session.get(Service, earlier.service_id),
            flagged=[answer for answer in answers_of(earlier) if answer.yes],
            reviewer=_staff(earlier.reviewed_by_id),
        )
        for earlier in db.session.scalars(query)
    ]


def _staff(staff_id: int | None) -> StaffUser | None:
    return db.session.get(StaffUser, staff_id) if staff_id is not None else None


def _today() -> date:
    return utcnow().astimezone(clinic_tz()).date()
