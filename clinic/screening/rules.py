"""Screening outcome: pure functions over the questionnaire, the service and the answers."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date

from clinic.screening.questions import NEEDLING, UNDER_AGE, Outcome, Question, Questionnaire


@dataclass(frozen=True)
class ServiceProfile:
    """What screening needs to know of a service."""

    needles: bool
    ingredients: tuple[str, ...] = ()

    @classmethod
    def of(cls, service) -> ServiceProfile:
        return cls(needles=bool(service.needles), ingredients=tuple(service.ingredients))


@dataclass(frozen=True)
class ScreeningResult:
    outcome: Outcome
    blocking: tuple[str, ...] = ()  # keys answered "yes" with BLOCK (or derived, like under_18)
    deferring: tuple[str, ...] = ()
    review: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    flagged: tuple[str, ...] = field(default=())  # every "yes", for the clinician's view

    @property
    def stops_booking(self) -> bool:
        return self.outcome in (Outcome.BLOCK, Outcome.DEFER)


def applies(question: Question, service: ServiceProfile) -> bool:
    if not service.needles:
        # A consultation needles nobody, but the clinician wants the general answers on record
        # before the first treatment; they never stop or hold a consultation (see evaluate).
        return NEEDLING in question.applies_to
    return any(
        target == NEEDLING or target in service.ingredients for target in question.applies_to
    )


def questions_for(questionnaire: Questionnaire, service: ServiceProfile) -> tuple[Question, ...]:
    """Only the questions that apply to the chosen service, in questionnaire order."""
    return tuple(q for q in questionnaire.questions if applies(q, service))


def age_on(date_of_birth: date, day: date) -> int:
    before_birthday = (day.month, day.day) < (date_of_birth.month, date_of_birth.day)
    return day.year - date_of_birth.year - before_birthday


def evaluate(
    questionnaire: Questionnaire,
    service: ServiceProfile,
    answers: Mapping[str, bool],
    *,
    date_of_birth: date,
    on: date,
) -> ScreeningResult:
    """The outcome of one screening for one service, as of the visit's local date ``on``."""
    asked = questions_for(questionnaire, service)
    missing = tuple(q.key for q in asked if not isinstance(answers.get(q.key), bool))
    yes = [q for q in asked if answers.get(q.key) is True]
    if not service.needles:
        return ScreeningResult(
            outcome=Outcome.CLEAR, missing=missing, flagged=tuple(q.key for q in yes)
        )
    blocking = [q.key for q in yes if q.outcome is Outcome.BLOCK]
    if service.needles and age_on(date_of_birth, on) < questionnaire.minimum_age:
        blocking.insert(0, UNDER_AGE)
    deferring = [q.key for q in yes if q.outcome is Outcome.DEFER]
    review = [q.key for q in yes if q.outcome is Outcome.REVIEW]
    outcome = _most_serious(
        [Outcome.BLOCK] * bool(blocking)
        + [Outcome.DEFER] * bool(deferring)
        + [Outcome.REVIEW] * bool(review)
    )
    return ScreeningResult(
        outcome=outcome,
        blocking=tuple(blocking),
        deferring=tuple(deferring),
        review=tuple(review),
        missing=missing,
        flagged=tuple(q.key for q in yes),
    )


def _most_serious(outcomes: Iterable[Outcome]) -> Outcome:
    return max(outcomes, key=lambda o: o.rank, default=Outcome.CLEAR)
