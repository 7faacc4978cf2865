"""The visit lifecycle as a table: every (state, event, actor) is allowed or refused by name.

The expectations below are written out by hand from the rules the clinic works by, not read
from clinic.visits.lifecycle, so a change to the table that nobody meant fails here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from clinic.actors import Actor, ActorKind
from clinic.visits import lifecycle
from clinic.visits.lifecycle import Event, Refusal, State, TransitionRefused, decide, transition

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
START = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)  # a Tuesday morning in London (GMT)
WINDOW = timedelta(hours=24)

ALL_ACTORS = tuple(ActorKind)
STATES = (None, *State)  # None: a visit that does not exist yet
STAFF = "desk practitioner admin"


def _set(words: str) -> frozenset:
    return frozenset(None if word == "new" else word for word in words.split())


# event: (states it may leave, where it leads, who may do it [, who, when the visit needles])
EXPECTED = {
    Event.BOOK: ("new", "booked", f"patient_link system {STAFF}"),
    Event.HOLD: (
        "new needs_review booked confirmed",
        "needs_review",
        f"patient_link system {STAFF}",
    ),
    Event.APPROVE: ("needs_review", "confirmed", "practitioner admin"),
    Event.DECLINE: ("needs_review booked confirmed checked_in", "cancelled", "practitioner admin"),
    Event.CONFIRM: ("booked confirmed", "confirmed", f"patient_link patient_text {STAFF}"),
    Event.MOVE: ("needs_review booked confirmed", "same", f"patient_link {STAFF}"),
    Event.CANCEL: ("needs_review booked confirmed", "cancelled", f"patient_link system {STAFF}"),
    Event.CHECK_IN: ("booked confirmed", "checked_in", STAFF),
    Event.UNDO_CHECK_IN: ("checked_in", "previous", STAFF),
    Event.COMPLETE: ("checked_in", "completed", STAFF, "practitioner admin"),
    Event.NO_SHOW: ("needs_review booked confirmed", "no_show", f"system {STAFF}"),
    Event.UNDO_NO_SHOW: ("no_show", "previous", STAFF),
}

# A moment at which each event's time rule is met, for every actor who may do it.
GOOD_TIME = {
    Event.BOOK: START - timedelta(days=3),
    Event.HOLD: START - timedelta(days=3),
    Event.APPROVE: START - timedelta(days=3),
    Event.DECLINE: START - timedelta(days=3),
    Event.CONFIRM: START - timedelta(days=3),
    Event.MOVE: START - timedelta(days=3),
    Event.CANCEL: START - timedelta(days=3),
    Event.CHECK_IN: START - timedelta(minutes=20),
    Event.UNDO_CHECK_IN: START + timedelta(minutes=5),
    Event.COMPLETE: START + timedelta(minutes=50),
    Event.NO_SHOW: START + timedelta(minutes=30),
    Event.UNDO_NO_SHOW: START + timedelta(hours=2),
}


def expected(state, event: Event, actor: ActorKind, needles: bool):
    sources, target, actors, *clinical = EXPECTED[event]
    if state not in _set(sources):
        return Refusal.WRONG_STATE
    who = clinical[0] if clinical and needles else actors
    if actor not in _set(who):
        return Refusal.ACTOR_NOT_PERMITTED
    if target == "same":
        return State(state)
    if target == "previous":
        return State.BOOKED  # no record of where it was: the fallback
    return State(target)


def outcome(state, event: Event, actor: ActorKind, needles: bool, now=None):
    try:
        return decide(
            state,
            event,
            actor,
            now=now or GOOD_TIME[event],
            start=START,
            tz=LONDON,
            needles=needles,
            change_window=WINDOW,
        )
    except TransitionRefused as refused:
        assert refused.message  # people always get a sentence, not a code
        return refused.refusal


def test_the_table_names_every_event():
    assert set(lifecycle.RULES) == set(Event) == set(EXPECTED)


@pytest.mark.parametrize("state", STATES, ids=lambda s: s or "new")
@pytest.mark.parametrize("event", list(Event))
@pytest.mark.parametrize("actor", ALL_ACTORS)
def test_every_state_event_and_actor(state, event, actor):
    for needles in (True, False):
        assert outcome(state, event, actor, needles) == expected(state, event, actor, needles), (
            state,
            event,
            actor,
            needles,
        )


# --- time rules -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "event, actor, now, refusal",
    [
        (Event.BOOK, ActorKind.PATIENT_LINK, START, Refusal.TOO_LATE),
        (Event.BOOK, ActorKind.DESK, START + timedelta(hours=1), Refusal.TOO_LATE),
        (Event.CONFIRM, ActorKind.PATIENT_TEXT, START + timedelta(minutes=1), Refusal.TOO_LATE),
        # Patients change a visit online only until the change window before it...
        (Event.CANCEL, ActorKind.PATIENT_LINK, START - timedelta(hours=23), Refusal.TOO_LATE),
        (Event.MOVE, ActorKind.PATIENT_LINK, START - timedelta(hours=2), Refusal.TOO_LATE),
        # ... and the desk up to the last moment.
        (Event.CANCEL, ActorKind.DESK, START - timedelta(hours=1), None),
        (Event.MOVE, ActorKind.DESK, START - timedelta(minutes=10), None),
        (Event.CHECK_IN, ActorKind.DESK, START - timedelta(days=3), Refusal.NOT_VISIT_DAY),
        (Event.CHECK_IN, ActorKind.DESK, START - timedelta(hours=11), Refusal.NOT_VISIT_DAY),
        (Event.CHECK_IN, ActorKind.DESK, START + timedelta(days=1), Refusal.NOT_VISIT_DAY),
        (Event.CHECK_IN, ActorKind.DESK, START - timedelta(hours=9, minutes=59), None),
        (Event.COMPLETE, ActorKind.PRACTITIONER, START - timedelta(minutes=1), Refusal.TOO_EARLY),
        (Event.COMPLETE, ActorKind.PRACTITIONER, START - timedelta(days=3), Refusal.TOO_EARLY),
        (Event.COMPLETE, ActorKind.PRACTITIONER, START, None),
        (Event.NO_SHOW, ActorKind.DESK, START - timedelta(minutes=1), Refusal.TOO_EARLY),
        (Event.NO_SHOW, ActorKind.DESK, START, None),
        (Event.UNDO_CHECK_IN, ActorKind.DESK, START + timedelta(days=1), Refusal.NOT_VISIT_DAY),
        (Event.UNDO_NO_SHOW, ActorKind.DESK, START + timedelta(hours=14), Refusal.NOT_VISIT_DAY),
        (Event.HOLD, ActorKind.PATIENT_LINK, START, Refusal.TOO_LATE),
        (Event.HOLD, ActorKind.DESK, START + timedelta(minutes=10), None),
        (Event.APPROVE, ActorKind.PRACTITIONER, START + timedelta(days=30), None),
    ],
)
def test_time_rules(event, actor, now, refusal):
    state = {
        Event.BOOK: None,
        Event.HOLD: State.BOOKED,
        Event.APPROVE: State.NEEDS_REVIEW,
        Event.CHECK_IN: State.BOOKED,
        Event.COMPLETE: State.CHECKED_IN,
        Event.UNDO_CHECK_IN: State.CHECKED_IN,
        Event.UNDO_NO_SHOW: State.NO_SHOW,
    }.get(event, State.CONFIRMED)
    result = outcome(state, event, actor, True, now=now)
    if refusal is None:
        assert isinstance(result, State), result
    else:
        assert result == refusal


def test_the_visit_day_is_the_clinics_local_day_not_utcs():
    # 20:00 in New York on 28 Oct 2026 is 00:00 UTC on the 29th.
    evening = datetime(2026, 10, 29, 0, 0, tzinfo=UTC)
    earlier_that_day = datetime(2026, 10, 28, 14, 0, tzinfo=UTC)  # 10:00 in New York
    next_morning = datetime(2026, 10, 29, 13, 0, tzinfo=UTC)  # 09:00 in New York on the 29th
    rules = dict(start=evening, tz=NEW_YORK, needles=True)
    assert decide("booked", Event.CHECK_IN, ActorKind.DESK, now=earlier_that_day, **rules)
    with pytest.raises(TransitionRefused) as refused:
        decide("booked", Event.CHECK_IN, ActorKind.DESK, now=next_morning, **rules)
    assert refused.value.refusal is Refusal.NOT_VISIT_DAY


def test_the_visit_day_holds_across_the_spring_clock_change():
    # London, 29 March 2026: the clocks go forward at 01:00. A visit at 00:30 (GMT) and a
    # check-in at 23:30 (BST) belong to the same local day.
    start = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)
    late = datetime(2026, 3, 29, 22, 30, tzinfo=UTC)
    assert decide("booked", Event.CHECK_IN, ActorKind.DESK, now=late, start=start, tz=LONDON)
    with pytest.raises(TransitionRefused):
        decide(
            "booked",
            Event.CHECK_IN,
            ActorKind.DESK,
            now=datetime(2026, 3, 29, 23, 30, tzinfo=UTC),  # 00:30 BST on the 30th
            start=start,
            tz=LONDON,
        )


# --- applying a transition --------------------------------------------------------------------


@dataclass
class FakeVisit:
    status: str | None = None
    start_at: datetime = START
    needles: bool = True
    timezone: ZoneInfo = LONDON
    undo_status: str | None = None
    ics_sequence: int = 0
    updated_at: datetime | None = None
    checked_in_at: datetime | None = None
    completed_at: datetime | None = None
    cancelled_at: datetime | None = None
    cancel_reason: str = ""


DESK = Actor(ActorKind.DESK, staff_id=7, staff_name="Sam at the desk")
PRACTITIONER = Actor(ActorKind.PRACTITIONER, staff_id=3, staff_name="Dr Rao")


def test_a_transition_applies_stamps_and_publishes_one_change():
    visit = FakeVisit(status="confirmed")
    seen = []

    def listener(change):
        seen.append(change)

    lifecycle.visit_changed.connect(listener)
    try:
        change = transition(visit, Event.CHECK_IN, by=DESK, now=GOOD_TIME[Event.CHECK_IN])
    finally:
        lifecycle.visit_changed.disconnect(listener)
    assert seen == [change]
    assert (change.before, change.after, change.by) == (State.CONFIRMED, State.CHECKED_IN, DESK)
    assert visit.status == "checked_in" and visit.checked_in_at == GOOD_TIME[Event.CHECK_IN]
    assert change.fields["status"] == (State.CONFIRMED, State.CHECKED_IN)
    assert visit.undo_status == State.CONFIRMED


def test_undo_returns_the_visit_where_it_was_even_a_held_one():
    visit = FakeVisit(status="needs_review")
    transition(visit, Event.NO_SHOW, by=DESK, now=START + timedelta(minutes=20))
    assert visit.status == "no_show"
    transition(visit, Event.UNDO_NO_SHOW, by=DESK, now=START + timedelta(minutes=40))
    assert visit.status == "needs_review"  # never cleared by an undo
    assert visit.undo_status is None

    checked = FakeVisit(status="booked")
    transition(checked, Event.CHECK_IN, by=DESK, now=START - timedelta(minutes=5))
    transition(checked, Event.UNDO_CHECK_IN, by=DESK, now=START)
    assert (checked.status, checked.checked_in_at) == ("booked", None)


def test_a_refused_transition_changes_nothing_and_publishes_nothing():
    visit = FakeVisit(status="needs_review")
    seen = []

    def listener(change):
        seen.append(change)

    lifecycle.visit_changed.connect(listener)
    try:
        with pytest.raises(TransitionRefused) as refused:
            transition(visit, Event.CHECK_IN, by=DESK, now=GOOD_TIME[Event.CHECK_IN])
    finally:
        lifecycle.visit_changed.disconnect(listener)
    assert refused.value.refusal is Refusal.WRONG_STATE
    assert "held for a clinician's review" in refused.value.message
    assert seen == [] and visit.status == "needs_review" and visit.updated_at is None


def test_approval_and_moves_add_one_to_the_calendar_sequence():
    visit = FakeVisit()
    transition(visit, Event.HOLD, by=Actor(ActorKind.PATIENT_LINK), now=START - timedelta(days=5))
    assert (visit.status, visit.ics_sequence) == ("needs_review", 0)
    transition(visit, Event.APPROVE, by=PRACTITIONER, now=START - timedelta(days=4))
    assert (visit.status, visit.ics_sequence) == ("confirmed", 1)
    later = START + timedelta(days=1)
    change = transition(
        visit, Event.MOVE, by=DESK, now=START - timedelta(days=3), changes={"start_at": later}
    )
    assert (visit.start_at, visit.ics_sequence) == (later, 2)
    assert change.fields["start_at"] == (START, later)
    # The time rule judged the visit as it was: the desk moved it before it started.


def test_decline_ends_a_checked_in_visit_and_records_why():
    visit = FakeVisit(status="checked_in")
    now = START + timedelta(minutes=3)
    transition(visit, Event.DECLINE, by=PRACTITIONER, now=now, reason="not cleared")
    assert (visit.status, visit.cancelled_at, visit.cancel_reason) == (
        "cancelled",
        now,
        "not cleared",
    )


def test_a_desk_account_can_never_clear_a_hold():
    for event in (Event.APPROVE, Event.CHECK_IN, Event.CONFIRM):
        with pytest.raises(TransitionRefused):
            decide(
                "needs_review",
                event,
                ActorKind.DESK,
                now=START - timedelta(hours=1),
                start=START,
                tz=LONDON,
            )
