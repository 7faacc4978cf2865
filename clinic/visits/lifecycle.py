"""The visit lifecycle: the one place a visit's status changes.

States and events are data: ``RULES`` says, for every event, the states it may leave from, the
state it leads to, who may do it and when. ``transition()`` refuses anything else with a
``TransitionRefused`` (a 409 in the API, a message on pages), applies the change and publishes
it on ``visit_changed`` inside the caller's transaction. The texts, the availability cache and
the audit log subscribe (see clinic/visits/subscribers.py); nothing else assigns a status.

Pure: no Flask and no database. A visit is any object with ``status``, ``start_at``,
``needles`` and ``timezone`` (the Appointment model); times are aware UTC.
"""

from __future__ import annotations

import contextlib
import contextvars
import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import Any

from blinker import Namespace

from clinic.actors import Actor, ActorKind

signals = Namespace()
visit_changed = signals.signal("visit-changed")


class State(enum.StrEnum):
    NEEDS_REVIEW = "needs_review"  # held: a practitioner must clear the screening first
    BOOKED = "booked"
    CONFIRMED = "confirmed"
    CHECKED_IN = "checked_in"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"


class Event(enum.StrEnum):
    BOOK = "book"
    HOLD = "hold"
    APPROVE = "approve"
    DECLINE = "decline"
    CONFIRM = "confirm"
    MOVE = "move"
    CANCEL = "cancel"
    CHECK_IN = "check_in"
    UNDO_CHECK_IN = "undo_check_in"
    COMPLETE = "complete"
    NO_SHOW = "no_show"
    UNDO_NO_SHOW = "undo_no_show"


class When(enum.StrEnum):
    """Time rules, judged against the visit's start (as it is before the change)."""

    ANYTIME = "anytime"
    BEFORE_START = "before_start"
    # Patients change a visit online only until the clinic's change window before it.
    BEFORE_CHANGE_DEADLINE = "before_change_deadline"
    ON_VISIT_DAY = "on_visit_day"  # the visit's local calendar day, in the clinic's zone
    AFTER_START = "after_start"


class Refusal(enum.StrEnum):
    """Why a transition is refused: stable names that tests and API clients can match."""

    WRONG_STATE = "wrong_state"
    ACTOR_NOT_PERMITTED = "actor_not_permitted"
    TOO_EARLY = "too_early"
    TOO_LATE = "too_late"
    NOT_VISIT_DAY = "not_visit_day"


# Where a visit goes: a state, or back where it was before (undo), or where it is (move).
PREVIOUS = "previous"
SAME = "same"

NEW = None  # the "state" of a visit that does not exist yet

STAFF = frozenset({ActorKind.DESK, ActorKind.PRACTITIONER, ActorKind.ADMIN})
CLINICIANS = frozenset({ActorKind.PRACTITIONER, ActorKind.ADMIN})
UPCOMING = frozenset({State.NEEDS_REVIEW, State.BOOKED, State.CONFIRMED})


@dataclass(frozen=True)
class Rule:
    sources: frozenset  # states (or NEW) the event may leave from
    target: str  # a State, PREVIOUS or SAME
    actors: frozenset[ActorKind]
    when: When = When.ANYTIME
    # A different time rule for patients acting themselves (link or text).
    when_patient: When | None = None
    # Who may do it when the visit needles someone: a clinician's event then.
    needling_actors: frozenset[ActorKind] | None = None


RULES: dict[Event, Rule] = {
    Event.BOOK: Rule(
        frozenset({NEW}),
        State.BOOKED,
        STAFF | {ActorKind.PATIENT_LINK, ActorKind.SYSTEM},
        When.BEFORE_START,
    ),
    # Booked with an answer a clinician must check, or re-screened at the desk with one.
    Event.HOLD: Rule(
        frozenset({NEW, *UPCOMING}),
        State.NEEDS_REVIEW,
        STAFF | {ActorKind.PATIENT_LINK, ActorKind.SYSTEM},
        When.ANYTIME,
        when_patient=When.BEFORE_START,
    ),
    # Only a clinician clears a hold; the desk never can.
    Event.APPROVE: Rule(frozenset({State.NEEDS_REVIEW}), State.CONFIRMED, CLINICIANS),
    Event.DECLINE: Rule(
        frozenset({*UPCOMING, State.CHECKED_IN}), State.CANCELLED, CLINICIANS, When.ANYTIME
    ),
    Event.CONFIRM: Rule(
        frozenset({State.BOOKED, State.CONFIRMED}),
        State.CONFIRMED,
        STAFF | {ActorKind.PATIENT_LINK, ActorKind.PATIENT_TEXT},
        When.BEFORE_START,
    ),
    Event.MOVE: Rule(
        UPCOMING,
        SAME,
        STAFF | {ActorKind.PATIENT_LINK},
        When.ANYTIME,
        when_patient=When.BEFORE_CHANGE_DEADLINE,
    ),
    Event.CANCEL: Rule(
        UPCOMING,
        State.CANCELLED,
        STAFF | {ActorKind.PATIENT_LINK, ActorKind.SYSTEM},
        When.ANYTIME,
        when_patient=When.BEFORE_CHANGE_DEADLINE,
    ),
    # A visit held for review is not checked in: its hold must be cleared first.
    Event.CHECK_IN: Rule(
        frozenset({State.BOOKED, State.CONFIRMED}), State.CHECKED_IN, STAFF, When.ON_VISIT_DAY
    ),
    Event.UNDO_CHECK_IN: Rule(frozenset({State.CHECKED_IN}), PREVIOUS, STAFF, When.ON_VISIT_DAY),
    Event.COMPLETE: Rule(
        frozenset({State.CHECKED_IN}),
        State.COMPLETED,
        STAFF,
        When.AFTER_START,
        needling_actors=CLINICIANS,
    ),
    Event.NO_SHOW: Rule(UPCOMING, State.NO_SHOW, STAFF | {ActorKind.SYSTEM}, When.AFTER_START),
    Event.UNDO_NO_SHOW: Rule(frozenset({State.NO_SHOW}), PREVIOUS, STAFF, When.ON_VISIT_DAY),
}

# States that free the chair: everything else holds its time.
RELEASED = frozenset({State.CANCELLED, State.NO_SHOW})
# States in which the visit has not happened yet and may still go ahead.
OPEN = frozenset({*UPCOMING, State.CHECKED_IN})
# Undo returns here when a visit holds no record of where it was.
UNDO_FALLBACK = State.BOOKED

STATE_WORDS = {
    State.NEEDS_REVIEW: "held for a clinician's review",
    State.BOOKED: "booked",
    State.CONFIRMED: "confirmed",
    State.CHECKED_IN: "checked in",
    State.COMPLETED: "completed",
    State.CANCELLED: "cancelled",
    State.NO_SHOW: "marked as a no-show",
}
EVENT_VERBS = {
    Event.BOOK: "book it",
    Event.HOLD: "hold it for review",
    Event.APPROVE: "approve it",
    Event.DECLINE: "decline it",
    Event.CONFIRM: "confirm it",
    Event.MOVE: "move it",
    Event.CANCEL: "cancel it",
    Event.CHECK_IN: "check it in",
    Event.UNDO_CHECK_IN: "undo its check-in",
    Event.COMPLETE: "complete it",
    Event.NO_SHOW: "mark it as a no-show",
    Event.UNDO_NO_SHOW: "undo its no-show",
}


class TransitionRefused(Exception):
    """A change the lifecycle does not allow. ``refusal`` names why; ``message`` is for people.

    Services turn it into clinic.errors.ChangeNotAllowed (see clinic/visits/changes.py)."""

    def __init__(self, refusal: Refusal, message: str, *, event: Event, state):
        super().__init__(message)
        self.refusal = refusal
        self.message = message
        self.event = event
        self.state = state


@dataclass(frozen=True)
class Change:
    """What the lifecycle publishes: one transition of one visit."""

    visit: Any
    event: Event
    before: State | None
    after: State
    by: Actor
    at: datetime
    reason: str = ""
    # Every changed field, status included: {name: (before, after)}.
    fields: Mapping[str, tuple] = field(default_factory=dict)
    # What subscribers may need beyond the visit (e.g. {"confirm": False} for a course's later
    # sessions, which get no confirmation text of their own).
    context: Mapping[str, Any] = field(default_factory=dict)


def _state(value) -> State | None:
    return None if value is None else State(value)


def decide(
    state,
    event: Event,
    actor: ActorKind,
    *,
    now: datetime,
    start: datetime,
    tz: tzinfo,
    needles: bool = True,
    change_window: timedelta = timedelta(0),
    previous=None,
) -> State:
    """The state ``event`` leads to, or TransitionRefused. Pure: the table test drives it."""
    event = Event(event)
    rule = RULES[event]
    current = _state(state)
    if current not in rule.sources:
        raise TransitionRefused(
            Refusal.WRONG_STATE,
            _wrong_state_message(current, event),
            event=event,
            state=current,
        )
    actors = rule.needling_actors if needles and rule.needling_actors else rule.actors
    if actor not in actors:
        raise TransitionRefused(
            Refusal.ACTOR_NOT_PERMITTED,
            _actor_message(event, needles and rule.needling_actors is not None),
            event=event,
            state=current,
        )
    patient = actor in (ActorKind.PATIENT_LINK, ActorKind.PATIENT_TEXT)
    when = rule.when_patient if patient and rule.when_patient else rule.when
    _check_time(
        when, now=now, start=start, tz=tz, change_window=change_window, event=event, state=current
    )
    if rule.target == SAME:
        return current
    if rule.target == PREVIOUS:
        back = _state(previous)
        return back if back in UPCOMING else UNDO_FALLBACK
    return State(rule.target)


def permits(state, event: Event, actor: ActorKind, **timing) -> bool:
    """Whether ``decide`` would allow it: for pages that show or hide a button."""
    try:
        decide(state, event, actor, **timing)
    except TransitionRefused:
        return False
    return True


def allows_from(state, event: Event) -> bool:
    """Whether the event may leave this state at all (for anyone, at some time)."""
    return _state(state) in RULES[Event(event)].sources


def _check_time(when: When, *, now, start, tz, change_window, event, state) -> None:
    if when is When.ANYTIME:
        return
    if when is When.BEFORE_START and now >= start:
        raise TransitionRefused(
            Refusal.TOO_LATE,
            f"This visit has already started, so you can no longer {EVENT_VERBS[event]}.",
            event=event,
            state=state,
        )
    if when is When.BEFORE_CHANGE_DEADLINE and now > start - change_window:
        hours = int(change_window.total_seconds() // 3600)
        raise TransitionRefused(
            Refusal.TOO_LATE,
            f"Visits can be changed online up to {hours} hours before they start.",
            event=event,
            state=state,
        )
    if when is When.AFTER_START and now < start:
        raise TransitionRefused(
            Refusal.TOO_EARLY,
            f"This visit has not started yet, so you cannot {EVENT_VERBS[event]} yet.",
            event=event,
            state=state,
        )
    if when is When.ON_VISIT_DAY:
        today, day = now.astimezone(tz).date(), start.astimezone(tz).date()
        if today != day:
            raise TransitionRefused(
                Refusal.NOT_VISIT_DAY,
                f"You can {EVENT_VERBS[event]} only on the day of the visit "
                f"({day:%A} {day.day} {day:%B}).",
                event=event,
                state=state,
            )


def _wrong_state_message(state: State | None, event: Event) -> str:
    if state is None:
        return "This visit does not exist yet."
    return f"This visit is {STATE_WORDS[state]}, so you cannot {EVENT_VERBS[event]}."


def _actor_message(event: Event, clinical: bool) -> str:
    if clinical:
        return f"Only a practitioner can {EVENT_VERBS[event]}: it is a treatment session."
    return f"Your account cannot {EVENT_VERBS[event]}."


# --- applying a transition --------------------------------------------------------------------

_assigning = contextvars.ContextVar("lifecycle_assigning", default=False)


def assigning() -> bool:
    """True while the lifecycle (or a history import) sets a status; the model refuses others."""
    return _assigning.get()


@contextlib.contextmanager
def importing_history():
    """Write visits that already happened as they were (the demo's past diary, a data import):
    no rules, no events. Never for a change happening now."""
    token = _assigning.set(True)
    try:
        yield
    finally:
        _assigning.reset(token)


# The timestamps each target state stamps on the visit.
_STAMPS = {
    State.CHECKED_IN: "checked_in_at",
    State.COMPLETED: "completed_at",
    State.CANCELLED: "cancelled_at",
}
# Calendar files carry a sequence number; these events change what the patient's calendar shows.
_CALENDAR_EVENTS = frozenset(
    {Event.APPROVE, Event.DECLINE, Event.MOVE, Event.CANCEL, Event.HOLD, Event.UNDO_NO_SHOW}
)


def transition(
    visit,
    event: Event,
    *,
    by: Actor,
    now: datetime,
    reason: str = "",
    change_window: timedelta = timedelta(0),
    changes: Mapping[str, Any] | None = None,
    context: Mapping[str, Any] | None = None,
) -> Change:
    """Apply ``event`` to ``visit`` (with any field ``changes``, such as a move's new times) and
    publish it. Raises TransitionRefused, leaving the visit untouched."""
    event = Event(event)
    before = _state(visit.status)
    after = decide(
        before,
        event,
        by.kind,
        now=now,
        start=visit.start_at,
        tz=visit.timezone,
        needles=bool(visit.needles),
        change_window=change_window,
        previous=getattr(visit, "undo_status", None),
    )
    fields: dict[str, tuple] = {}

    def put(name: str, value) -> None:
        old = getattr(visit, name, None)
        if old != value:
            fields[name] = (old, value)
            setattr(visit, name, value)

    token = _assigning.set(True)
    try:
        for name, value in (changes or {}).items():
            put(name, value)
        if before != after or before is None:
            put("status", after)
        if event in (Event.CHECK_IN, Event.NO_SHOW):
            put("undo_status", before)  # where an undo on the day returns the visit to
        elif event in (Event.UNDO_CHECK_IN, Event.UNDO_NO_SHOW):
            put("undo_status", None)
            stamp = _STAMPS.get(before)
            if stamp:
                put(stamp, None)
        stamp = _STAMPS.get(after)
        if stamp and before != after:
            put(stamp, now)
        if after is State.CANCELLED and before != after:
            put("cancel_reason", (reason or "").strip()[:300])
        # The calendar file changes only when what it shows does: the status or the time.
        shown = {"status", "start_at", "end_at"} & set(fields)
        if event in _CALENDAR_EVENTS and before is not None and shown:
            put("ics_sequence", (getattr(visit, "ics_sequence", 0) or 0) + 1)
        if before is None:
            visit.ics_sequence = 0  # a new visit's first calendar file: nothing changed yet
        visit.updated_at = now
    finally:
        _assigning.reset(token)
    change = Change(
        visit=visit,
        event=event,
        before=before,
        after=after,
        by=by,
        at=now,
        reason=(reason or "").strip()[:300],
        fields=fields,
        context=dict(context or {}),
    )
    visit_changed.send(change)
    return change
