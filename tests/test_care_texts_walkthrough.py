"""A visit's texts from booking to the one-week check, walked with the test clock.

Each step moves the clock and runs one dispatcher pass, as the scheduler would every 30 seconds:
a text goes when its row says and not a minute before, exactly once. Texts go through the console
sender (no Twilio credentials in tests).
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import select

from clinic.booking.models import AppointmentStatus
from clinic.booking.services import cancel, reschedule
from clinic.extensions import db
from clinic.sms import inbound
from clinic.sms.dispatch import dispatch_pass
from clinic.sms.kinds import Kind
from clinic.sms.models import OutboundText, TextStatus
from clinic.sms.senders import get_sender
from clinic.visits import services as visits
from clinic.visits.services import SessionInput
from tests.factories import make_booking, make_clinic
from tests.helpers import make_staff

THURSDAY_10 = datetime(2026, 3, 5, 10, 0, tzinfo=UTC)  # London is on GMT: UTC = local
SESSION = SessionInput(
    device="pen",
    needle_depth_mm=1.0,
    areas=("crown",),
    numbing_used=False,
    add_ons=(),
    cartridge_lot="CT-2291",
)
AFTERCARE = (
    Kind.AFTERCARE_2H,
    Kind.AFTERCARE_24H,
    Kind.AFTERCARE_48H,
    Kind.INFECTION_72H,
    Kind.REVIEW_7D,
)


@pytest.fixture
def app_config():
    return {"SMS_SEGMENTS_PER_SECOND": 0}


@pytest.fixture
def practitioner(app):
    return make_staff(role="practitioner", email="dr@example.com", name="Dr Rao")


def sent() -> list[tuple[str, str, str]]:
    """(sid, to, body) of every text the console sender has sent, in order."""
    return get_sender().sent


def text(appointment, kind: Kind) -> OutboundText:
    db.session.commit()
    return db.session.scalar(
        select(OutboundText).where(
            OutboundText.appointment_id == appointment.id, OutboundText.kind == kind
        )
    )


def texts(appointment) -> dict[str, OutboundText]:
    db.session.commit()
    rows = db.session.scalars(
        select(OutboundText).where(OutboundText.appointment_id == appointment.id)
    )
    return {row.kind: row for row in rows}


def run_at(clock, when: datetime):
    clock.set(when)
    return dispatch_pass()


def goes_at(clock, appointment, kind: Kind, when: datetime) -> str:
    """Assert ``kind`` is still waiting a minute before ``when``, goes at ``when``, and goes
    once; return its body."""
    before = len(sent())
    run_at(clock, when - timedelta(minutes=1))
    assert len(sent()) == before, f"{kind} went early"
    assert text(appointment, kind).status == TextStatus.PENDING
    run_at(clock, when)
    row = text(appointment, kind)
    assert (row.status, row.sent_at) == (TextStatus.SENT, when)
    assert len(sent()) == before + 1 and sent()[-1][0] == row.provider_sid
    run_at(clock, when + timedelta(minutes=1))
    assert len(sent()) == before + 1, f"{kind} went twice"
    return row.body


def complete_session(clock, appointment, practitioner, ended: datetime):
    clock.set(appointment.start_at - timedelta(minutes=5))
    visits.check_in(appointment.id, changes_since_last_visit=False)
    clock.set(ended)
    visits.complete(appointment.id, SESSION, practitioner)


def book(start=THURSDAY_10, **overrides):
    overrides.setdefault("sms_opt_in", True)
    return make_booking("microneedling", start, **overrides)


# --- the whole way through ------------------------------------------------------------------


def test_a_visit_gets_every_text_once_each_at_its_time(app, clock, practitioner):
    make_clinic()
    appointment = book()
    # Booked at 08:00, still quiet hours: the confirmation answers the booking, so it goes now.
    dispatch_pass()
    confirmation = text(appointment, Kind.CONFIRMATION)
    assert (confirmation.status, confirmation.sent_at) == (TextStatus.SENT, clock.now())
    assert "Thursday 5 March at 10:00" in confirmation.body
    assert confirmation.body.endswith("Reply STOP to opt out.")
    # Booked three days ahead: the pre-care advice goes with it, not a week before.
    advice = text(appointment, Kind.PRECARE_NOW)
    assert (advice.status, advice.sent_at) == (TextStatus.SENT, clock.now())
    assert "retinol or acid skin products" in advice.body

    body = goes_at(clock, appointment, Kind.REMINDER_48H, datetime(2026, 3, 3, 10, 0, tzinfo=UTC))
    assert "Thursday 5 March at 10:00" in body
    assert not body.endswith("Reply STOP to opt out.")  # only the first text says it
    body = goes_at(clock, appointment, Kind.REMINDER_24H, datetime(2026, 3, 4, 10, 0, tzinfo=UTC))
    assert "Reply C to confirm" in body

    ended = datetime(2026, 3, 5, 10, 45, tzinfo=UTC)
    complete_session(clock, appointment, practitioner, ended)
    assert appointment.status == AppointmentStatus.COMPLETED
    for kind, offset in zip(
        AFTERCARE,
        (timedelta(hours=2), timedelta(hours=24), timedelta(hours=48), timedelta(hours=72)),
        strict=False,
    ):
        goes_at(clock, appointment, kind, ended + offset)
    body = goes_at(clock, appointment, Kind.REVIEW_7D, ended + timedelta(days=7))
    assert "Book your next visit: http://clinic.test/" in body

    rows = texts(appointment)
    assert sorted(rows) == sorted(
        [Kind.CONFIRMATION, Kind.PRECARE_NOW, Kind.REMINDER_48H, Kind.REMINDER_24H, *AFTERCARE]
    )
    assert all(row.status == TextStatus.SENT and row.attempts == 1 for row in rows.values())
    assert len(sent()) == 9
    assert all(to == appointment.patient.phone for _sid, to, _body in sent())


def test_the_one_week_check_names_the_next_visit_when_there_is_one(app, clock, practitioner):
    make_clinic()
    appointment = book()
    follow_up = book(datetime(2026, 3, 19, 11, 0, tzinfo=UTC))
    ended = datetime(2026, 3, 5, 10, 45, tzinfo=UTC)
    complete_session(clock, appointment, practitioner, ended)
    clock.set(ended + timedelta(days=7))
    dispatch_pass()
    assert follow_up.id != appointment.id
    assert "Your next visit: Thursday 19 March at 11:00." in text(appointment, Kind.REVIEW_7D).body


# --- quiet hours ----------------------------------------------------------------------------


def test_an_evening_sessions_two_hour_note_goes_at_the_next_opening(app, clock, practitioner):
    # Due at 21:30, in quiet hours: it goes at 09:00 the next morning, and its 10 hours of life
    # count from there, so it is not dropped overnight.
    make_clinic(hours=(time(9), time(22)))
    appointment = book(datetime(2026, 3, 5, 18, 45, tzinfo=UTC))
    ended = datetime(2026, 3, 5, 19, 30, tzinfo=UTC)
    complete_session(clock, appointment, practitioner, ended)
    note = text(appointment, Kind.AFTERCARE_2H)
    assert note.send_at == datetime(2026, 3, 6, 9, 0, tzinfo=UTC)
    assert note.expires_at == datetime(2026, 3, 6, 19, 0, tzinfo=UTC)
    before = len(sent())
    run_at(clock, datetime(2026, 3, 5, 21, 30, tzinfo=UTC))
    assert len(sent()) == before
    body = goes_at(clock, appointment, Kind.AFTERCARE_2H, datetime(2026, 3, 6, 9, 0, tzinfo=UTC))
    assert "normal today" in body and "For 24 hours" in body
    # The next one keeps its own time: the +24 h text goes at 19:30 the next day.
    goes_at(clock, appointment, Kind.AFTERCARE_24H, ended + timedelta(hours=24))


def test_a_late_sessions_two_hour_note_waits_until_nine(app, clock, practitioner):
    # Due at 23:15, still worth sending until 09:15: it goes at 09:00, not in the night.
    make_clinic(hours=(time(9), time(22)))
    appointment = book(datetime(2026, 3, 5, 20, 30, tzinfo=UTC))
    ended = datetime(2026, 3, 5, 21, 15, tzinfo=UTC)
    complete_session(clock, appointment, practitioner, ended)
    before = len(sent())
    run_at(clock, ended + timedelta(hours=2))
    assert len(sent()) == before
    goes_at(clock, appointment, Kind.AFTERCARE_2H, datetime(2026, 3, 6, 9, 0, tzinfo=UTC))
    # The +24 h text, due at 21:15 on Friday, waits for Saturday 09:00 in the same way.
    goes_at(clock, appointment, Kind.AFTERCARE_24H, datetime(2026, 3, 7, 9, 0, tzinfo=UTC))


def test_a_text_the_dispatcher_reaches_only_at_night_waits_for_the_morning(
    app, clock, practitioner
):
    make_clinic()
    appointment = book()
    ended = datetime(2026, 3, 5, 10, 45, tzinfo=UTC)
    complete_session(clock, appointment, practitioner, ended)
    run_at(clock, ended + timedelta(hours=24))
    # The dispatcher was down from Saturday morning: the +48 h text (due 10:45, good for a day)
    # is found at 21:00 and moved to Sunday 09:00 rather than sent at night.
    report = run_at(clock, datetime(2026, 3, 7, 21, 0, tzinfo=UTC))
    assert report.counts["deferred (quiet hours)"] == 1
    row = text(appointment, Kind.AFTERCARE_48H)
    assert (row.status, row.send_at, row.attempts) == (
        TextStatus.PENDING,
        datetime(2026, 3, 8, 9, 0, tzinfo=UTC),
        0,
    )
    goes_at(clock, appointment, Kind.AFTERCARE_48H, datetime(2026, 3, 8, 9, 0, tzinfo=UTC))


# --- expiry ---------------------------------------------------------------------------------


def test_after_a_day_without_a_dispatcher_the_stale_note_is_skipped_not_sent(
    app, clock, practitioner
):
    make_clinic()
    appointment = book()
    run_at(clock, clock.now())
    ended = datetime(2026, 3, 5, 10, 45, tzinfo=UTC)
    complete_session(clock, appointment, practitioner, ended)
    before = len(sent())
    report = run_at(clock, datetime(2026, 3, 6, 11, 0, tzinfo=UTC))
    stale = text(appointment, Kind.AFTERCARE_2H)
    assert (stale.status, stale.sent_at) == (TextStatus.SKIPPED, None)
    assert stale.error_message == "expired before it could go"
    fresh = text(appointment, Kind.AFTERCARE_24H)
    assert (fresh.status, fresh.sent_at) == (TextStatus.SENT, clock.now())
    assert [body for _sid, _to, body in sent()[before:]] == [fresh.body]
    assert report.counts["sent"] == 1 and report.counts["skipped (expired)"] >= 1


# --- the change to summer time --------------------------------------------------------------


def test_texts_after_the_clocks_go_forward_keep_to_local_opening_hours(app, clock, practitioner):
    # Clocks go forward at 01:00 UTC on Sunday 29 March 2026. A session ending Saturday 07:30
    # (GMT) has its +24 h text due Sunday 07:30 UTC, which is 08:30 BST: quiet, so it waits for
    # 09:00 BST, which is 08:00 UTC (a fixed GMT offset would say 09:00 UTC).
    make_clinic(hours=(time(6), time(21)))
    clock.set(datetime(2026, 3, 23, 10, 0, tzinfo=UTC))
    appointment = book(datetime(2026, 3, 28, 6, 45, tzinfo=UTC))
    run_at(clock, clock.now())
    # Reminders due at 06:45 on Thursday and Friday (GMT) wait for 09:00, which is 09:00 UTC.
    body = goes_at(clock, appointment, Kind.REMINDER_48H, datetime(2026, 3, 26, 9, 0, tzinfo=UTC))
    assert "Saturday 28 March at 06:45" in body
    goes_at(clock, appointment, Kind.REMINDER_24H, datetime(2026, 3, 27, 9, 0, tzinfo=UTC))

    ended = datetime(2026, 3, 28, 7, 30, tzinfo=UTC)
    complete_session(clock, appointment, practitioner, ended)
    goes_at(clock, appointment, Kind.AFTERCARE_2H, datetime(2026, 3, 28, 9, 30, tzinfo=UTC))
    for kind, day in (
        (Kind.AFTERCARE_24H, 29),
        (Kind.AFTERCARE_48H, 30),
        (Kind.INFECTION_72H, 31),
    ):
        goes_at(clock, appointment, kind, datetime(2026, 3, day, 8, 0, tzinfo=UTC))
    goes_at(clock, appointment, Kind.REVIEW_7D, datetime(2026, 4, 4, 8, 0, tzinfo=UTC))


# --- a visit that changes ---------------------------------------------------------------------


def test_rescheduling_moves_the_reminders_and_reminds_again_of_the_new_time(app, clock):
    make_clinic()
    appointment = book()
    run_at(clock, clock.now())
    goes_at(clock, appointment, Kind.REMINDER_48H, datetime(2026, 3, 3, 10, 0, tzinfo=UTC))
    clock.set(datetime(2026, 3, 3, 10, 30, tzinfo=UTC))
    new_start = datetime(2026, 3, 10, 14, 0, tzinfo=UTC)
    reschedule(appointment, new_start)
    rows = texts(appointment)
    assert rows[Kind.REMINDER_48H].status == TextStatus.PENDING
    assert rows[Kind.REMINDER_48H].send_at == datetime(2026, 3, 8, 14, 0, tzinfo=UTC)
    assert rows[Kind.REMINDER_24H].send_at == datetime(2026, 3, 9, 14, 0, tzinfo=UTC)
    # A week ahead again: the pre-care texts are planned for the new time; the advice already
    # given at booking is not repeated at once.
    assert rows[Kind.PRECARE_7D].send_at == datetime(2026, 3, 3, 14, 0, tzinfo=UTC)
    assert rows[Kind.PRECARE_3D].send_at == datetime(2026, 3, 7, 14, 0, tzinfo=UTC)
    assert rows[Kind.PRECARE_NOW].status == TextStatus.SENT
    body = goes_at(clock, appointment, Kind.PRECARE_7D, datetime(2026, 3, 3, 14, 0, tzinfo=UTC))
    assert "Tuesday 10 March at 14:00" in body
    # Nothing goes at the old visit's reminder time.
    before = len(sent())
    run_at(clock, datetime(2026, 3, 4, 10, 0, tzinfo=UTC))
    run_at(clock, datetime(2026, 3, 5, 10, 0, tzinfo=UTC))
    assert len(sent()) == before
    goes_at(clock, appointment, Kind.PRECARE_3D, datetime(2026, 3, 7, 14, 0, tzinfo=UTC))
    body = goes_at(clock, appointment, Kind.REMINDER_48H, datetime(2026, 3, 8, 14, 0, tzinfo=UTC))
    assert "Tuesday 10 March at 14:00" in body
    body = goes_at(clock, appointment, Kind.REMINDER_24H, datetime(2026, 3, 9, 14, 0, tzinfo=UTC))
    assert "Tuesday 10 March at 14:00" in body
    bodies = [b for _sid, _to, b in sent()]
    assert sum("Thursday 5 March" in b for b in bodies) == 2  # confirmation, first reminder
    assert sum("Tuesday 10 March" in b for b in bodies) == 4  # two pre-care, two reminders


def test_a_visit_moved_close_and_then_out_again_gets_its_reminders_back(app, clock):
    make_clinic()
    appointment = book()
    reschedule(appointment, datetime(2026, 3, 2, 14, 0, tzinfo=UTC), by_patient=False)
    assert text(appointment, Kind.REMINDER_48H).status == TextStatus.CANCELLED
    reschedule(appointment, datetime(2026, 3, 12, 10, 0, tzinfo=UTC), by_patient=False)
    for kind, due in (
        (Kind.REMINDER_48H, datetime(2026, 3, 10, 10, 0, tzinfo=UTC)),
        (Kind.REMINDER_24H, datetime(2026, 3, 11, 10, 0, tzinfo=UTC)),
    ):
        row = text(appointment, kind)
        assert (row.status, row.send_at) == (TextStatus.PENDING, due)


def test_a_cancelled_visit_gets_nothing_more(app, clock):
    make_clinic()
    appointment = book()
    run_at(clock, clock.now())
    clock.set(datetime(2026, 3, 2, 12, 0, tzinfo=UTC))
    cancel(appointment, reason="Away")
    rows = texts(appointment)
    assert rows[Kind.CONFIRMATION].status == TextStatus.SENT
    for kind in (Kind.REMINDER_48H, Kind.REMINDER_24H):
        assert rows[kind].status == TextStatus.CANCELLED
        assert rows[kind].error_message == "visit cancelled"
    before = len(sent())
    for hours in range(0, 24 * 10, 6):
        run_at(clock, datetime(2026, 3, 2, 12, 0, tzinfo=UTC) + timedelta(hours=hours))
    assert len(sent()) == before
    assert all(row.status != TextStatus.PENDING for row in texts(appointment).values())


def test_a_no_show_cancels_what_was_waiting_and_gets_no_aftercare(app, clock):
    make_clinic()
    appointment = book()
    run_at(clock, clock.now())
    goes_at(clock, appointment, Kind.REMINDER_48H, datetime(2026, 3, 3, 10, 0, tzinfo=UTC))
    # No dispatcher on Wednesday: the day-before reminder is still waiting when the visit
    # is marked a no-show.
    clock.set(datetime(2026, 3, 5, 10, 20, tzinfo=UTC))
    visits.mark_no_show(appointment.id)
    waiting = text(appointment, Kind.REMINDER_24H)
    assert (waiting.status, waiting.error_message) == (TextStatus.CANCELLED, "no-show")
    before = len(sent())
    for hours in range(0, 24 * 9, 6):
        run_at(clock, datetime(2026, 3, 5, 10, 20, tzinfo=UTC) + timedelta(hours=hours))
    assert len(sent()) == before
    assert text(appointment, Kind.REMINDER_24H).status == TextStatus.CANCELLED
    assert set(texts(appointment)) == {
        Kind.CONFIRMATION,
        Kind.PRECARE_NOW,
        Kind.REMINDER_48H,
        Kind.REMINDER_24H,
    }


def test_without_consent_to_texts_every_row_is_skipped_and_nothing_is_sent(
    app, clock, practitioner
):
    make_clinic()
    appointment = book(sms_opt_in=False)
    for day in (2, 3, 4):
        run_at(clock, datetime(2026, 3, day, 10, 0, tzinfo=UTC))
    ended = datetime(2026, 3, 5, 10, 45, tzinfo=UTC)
    complete_session(clock, appointment, practitioner, ended)
    for hours in range(0, 24 * 8, 3):
        run_at(clock, ended + timedelta(hours=hours))
    rows = texts(appointment)
    assert len(rows) == 9
    for row in rows.values():
        assert (row.status, row.sent_at, row.provider_sid) == (TextStatus.SKIPPED, None, None)
        assert row.error_message == "no consent to texts"
    assert sent() == []


def test_stop_mid_way_through_aftercare_ends_the_rest(app, clock, practitioner):
    make_clinic()
    appointment = book()
    run_at(clock, clock.now())
    ended = datetime(2026, 3, 5, 10, 45, tzinfo=UTC)
    complete_session(clock, appointment, practitioner, ended)
    goes_at(clock, appointment, Kind.AFTERCARE_2H, ended + timedelta(hours=2))
    goes_at(clock, appointment, Kind.AFTERCARE_24H, ended + timedelta(hours=24))
    # Friday 22:00, quiet hours: the patient replies STOP. The confirmation of it still goes.
    clock.set(datetime(2026, 3, 6, 22, 0, tzinfo=UTC))
    inbound.receive("SM" + "5" * 32, appointment.patient.phone, "+447700900000", "STOP")
    for kind in (Kind.AFTERCARE_48H, Kind.INFECTION_72H, Kind.REVIEW_7D):
        row = text(appointment, kind)
        assert (row.status, row.error_message) == (TextStatus.CANCELLED, "patient replied STOP")
    before = len(sent())
    dispatch_pass()
    assert len(sent()) == before + 1
    assert "you will get no more texts from us" in sent()[-1][2]
    for hours in range(0, 24 * 8, 3):
        run_at(clock, datetime(2026, 3, 6, 22, 0, tzinfo=UTC) + timedelta(hours=hours))
    assert len(sent()) == before + 1
