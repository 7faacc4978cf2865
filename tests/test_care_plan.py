"""The care-text plan as pure functions: offsets, quiet hours, expiry, DST."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from clinic.sms.kinds import Kind
from clinic.sms.plan import (
    CarePolicy,
    Step,
    next_opening,
    plan_aftercare,
    plan_booking,
    plan_course_nudge,
    plan_reminders,
    within_quiet_hours,
)

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
POLICY = CarePolicy()


def at(year, month, day, hour, minute=0, tz=LONDON):
    return datetime(year, month, day, hour, minute, tzinfo=tz).astimezone(UTC)


def kinds(texts):
    return [t.kind for t in texts]


def test_booking_plans_a_confirmation_now_and_both_reminders():
    now = at(2026, 3, 2, 10)
    start = at(2026, 3, 10, 14)
    texts = plan_booking(start=start, now=now, tz=LONDON)
    assert kinds(texts) == [Kind.CONFIRMATION, Kind.REMINDER_48H, Kind.REMINDER_24H]
    assert texts[0].send_at == now
    assert texts[1].send_at == start - timedelta(hours=48)
    assert texts[2].send_at == start - timedelta(hours=24)


def test_a_late_booking_skips_reminders_whose_time_has_passed():
    now = at(2026, 3, 9, 10)
    start = at(2026, 3, 10, 16)  # 30 hours ahead
    assert kinds(plan_booking(start=start, now=now, tz=LONDON)) == [
        Kind.CONFIRMATION,
        Kind.REMINDER_24H,
    ]


def test_a_reminder_due_at_night_moves_to_the_next_morning():
    start = at(2026, 3, 10, 8)  # 24 h before is 08:00, inside quiet hours until 09:00
    texts = plan_reminders(start=start, now=at(2026, 3, 1, 12), tz=LONDON)
    reminder_24h = next(t for t in texts if t.kind is Kind.REMINDER_24H)
    assert reminder_24h.send_at == at(2026, 3, 9, 9)


def test_a_reminder_that_quiet_hours_would_push_past_the_visit_is_not_planned():
    policy = CarePolicy(
        reminders=(Step(Kind.REMINDER_24H, timedelta(hours=-3), timedelta(hours=1)),)
    )
    now = at(2026, 3, 1, 12)
    early = at(2026, 3, 10, 8, 30)  # due 05:30, quiet until 09:00: after the visit
    assert plan_reminders(start=early, now=now, tz=LONDON, policy=policy) == []
    later = at(2026, 3, 10, 11)  # due 08:00, quiet: it goes at 09:00, good for an hour
    (reminder,) = plan_reminders(start=later, now=now, tz=LONDON, policy=policy)
    assert (reminder.send_at, reminder.expires_at) == (at(2026, 3, 10, 9), at(2026, 3, 10, 10))


def test_aftercare_follows_the_session_end_with_each_offset():
    end = at(2026, 3, 3, 11)
    texts = plan_aftercare(session_end=end, tz=LONDON)
    assert kinds(texts) == [
        Kind.AFTERCARE_2H,
        Kind.AFTERCARE_24H,
        Kind.AFTERCARE_48H,
        Kind.INFECTION_72H,
        Kind.REVIEW_7D,
    ]
    assert [t.send_at - end for t in texts] == [
        timedelta(hours=2),
        timedelta(hours=24),
        timedelta(hours=48),
        timedelta(hours=72),
        timedelta(days=7),
    ]
    assert all(t.expires_at > t.send_at for t in texts)


def test_an_evening_session_defers_the_two_hour_note_to_the_morning():
    end = at(2026, 3, 3, 19, 30)  # +2 h is 21:30, quiet from 20:00
    two_hour = plan_aftercare(session_end=end, tz=LONDON)[0]
    assert two_hour.send_at == at(2026, 3, 4, 9)
    # Its 10 hours of life count from 09:00, when it may first go, not from 21:30.
    assert two_hour.expires_at == at(2026, 3, 4, 19)


@pytest.mark.parametrize(
    ("session_end", "opening"),
    [
        # The evening before the clocks go forward (29 March 2026): 09:00 BST is 08:00 UTC.
        (at(2026, 3, 28, 19, 30), datetime(2026, 3, 29, 8, 0, tzinfo=UTC)),
        # The evening before they go back (25 October 2026): 09:00 GMT is 09:00 UTC.
        (at(2026, 10, 24, 19, 30), datetime(2026, 10, 25, 9, 0, tzinfo=UTC)),
    ],
)
def test_every_text_due_in_quiet_hours_lives_its_full_life_from_the_opening_across_dst(
    session_end, opening
):
    texts = plan_aftercare(session_end=session_end, tz=LONDON)
    two_hour = texts[0]
    assert two_hour.send_at == opening
    for planned, step in zip(texts, POLICY.aftercare, strict=True):
        assert planned.kind is step.kind
        assert planned.send_at >= session_end + step.offset
        assert not within_quiet_hours(planned.send_at, LONDON, POLICY)
        assert planned.expires_at == planned.send_at + step.lifetime


def test_pre_visit_texts_due_at_night_keep_their_life_from_the_opening_across_dst():
    # A visit at 07:30 BST on Monday 30 March 2026: every pre-visit text falls due at 07:30 local
    # time, quiet, and goes at 09:00 local, before and after the change alike.
    start = at(2026, 3, 30, 7, 30)
    texts = plan_booking(start=start, now=at(2026, 3, 1, 12), tz=LONDON, needles=True)
    goes = {t.kind: t for t in texts}
    assert goes[Kind.PRECARE_7D].send_at == datetime(2026, 3, 23, 9, 0, tzinfo=UTC)  # GMT
    assert goes[Kind.PRECARE_3D].send_at == datetime(2026, 3, 27, 9, 0, tzinfo=UTC)  # GMT
    assert goes[Kind.REMINDER_24H].send_at == datetime(2026, 3, 29, 8, 0, tzinfo=UTC)  # BST
    for planned in texts[1:]:
        assert planned.send_at.astimezone(LONDON).time() == time(9)
        step = next(s for s in (*POLICY.precare, *POLICY.reminders) if s.kind is planned.kind)
        assert planned.expires_at == planned.send_at + step.lifetime


# --- pre-care ---------------------------------------------------------------------------------


def test_a_needling_visit_booked_weeks_ahead_gets_pre_care_at_7_and_3_days():
    now = at(2026, 3, 2, 10)
    start = at(2026, 3, 20, 14)
    texts = plan_booking(start=start, now=now, tz=LONDON, needles=True)
    assert kinds(texts) == [
        Kind.CONFIRMATION,
        Kind.PRECARE_7D,
        Kind.PRECARE_3D,
        Kind.REMINDER_48H,
        Kind.REMINDER_24H,
    ]
    assert texts[1].send_at == start - timedelta(days=7)
    assert texts[2].send_at == start - timedelta(days=3)


def test_a_consultation_gets_no_pre_care():
    now = at(2026, 3, 2, 10)
    for start in (at(2026, 3, 20, 14), at(2026, 3, 4, 14)):
        texts = plan_booking(start=start, now=now, tz=LONDON, needles=False)
        assert not {Kind.PRECARE_7D, Kind.PRECARE_3D, Kind.PRECARE_NOW} & set(kinds(texts))


def test_booked_inside_the_week_the_missed_advice_goes_with_the_confirmation():
    now = at(2026, 3, 2, 10)
    five_days = plan_booking(start=at(2026, 3, 7, 14), now=now, tz=LONDON, needles=True)
    assert kinds(five_days) == [
        Kind.CONFIRMATION,
        Kind.PRECARE_NOW,
        Kind.PRECARE_3D,
        Kind.REMINDER_48H,
        Kind.REMINDER_24H,
    ]
    assert five_days[1].send_at == now
    two_days = plan_booking(start=at(2026, 3, 4, 14), now=now, tz=LONDON, needles=True)
    assert kinds(two_days) == [
        Kind.CONFIRMATION,
        Kind.PRECARE_NOW,
        Kind.REMINDER_48H,
        Kind.REMINDER_24H,
    ]
    assert two_days[1].send_at == now
    # The 3-day advice due only hours after the at-once advice would just repeat it.
    three_days = plan_booking(start=at(2026, 3, 5, 14), now=now, tz=LONDON, needles=True)
    assert Kind.PRECARE_3D not in kinds(three_days)


def test_quiet_hours_are_local_wall_clock_hours_across_dst():
    # 20:30 London on the evening before the spring change, then the morning after.
    evening = at(2026, 3, 28, 20, 30)
    assert within_quiet_hours(evening, LONDON, POLICY)
    opening = next_opening(evening, LONDON, POLICY)
    assert opening == datetime(2026, 3, 29, 8, 0, tzinfo=UTC)  # 09:00 BST
    autumn = at(2026, 10, 24, 22)
    assert next_opening(autumn, LONDON, POLICY) == datetime(2026, 10, 25, 9, 0, tzinfo=UTC)


def test_aftercare_across_the_new_york_fall_back_keeps_local_opening():
    end = at(2026, 10, 31, 19, tz=NEW_YORK)  # +2 h = 21:00 local, quiet
    two_hour = plan_aftercare(session_end=end, tz=NEW_YORK)[0]
    assert two_hour.send_at.astimezone(NEW_YORK).hour == 9
    assert two_hour.send_at == datetime(2026, 11, 1, 14, 0, tzinfo=UTC)  # EST after the change


def test_daytime_is_not_quiet():
    assert not within_quiet_hours(at(2026, 3, 3, 9), LONDON, POLICY)
    assert not within_quiet_hours(at(2026, 3, 3, 19, 59), LONDON, POLICY)
    assert within_quiet_hours(at(2026, 3, 3, 20), LONDON, POLICY)
    assert within_quiet_hours(at(2026, 3, 3, 8, 59), LONDON, POLICY)


def test_course_nudge_waits_after_the_due_date_and_respects_quiet_hours():
    due = at(2026, 4, 7, 23)
    nudge = plan_course_nudge(due=due, tz=LONDON)
    assert nudge.kind is Kind.COURSE_NUDGE
    assert nudge.send_at == at(2026, 4, 10, 9)
