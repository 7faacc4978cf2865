"""Unit tests for the pure availability engine in clinic.booking.slots."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from clinic.booking.slots import (
    BookingPolicy,
    Interval,
    PractitionerCalendar,
    RoomCalendar,
    Slot,
    WorkingBlock,
    bookable_slots,
    local_day_bounds,
    needling_gap_ok,
)

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")

MONDAY = date(2026, 6, 1)  # an ordinary summer Monday, no clock change nearby
HOUR = timedelta(hours=1)
MINUTES_15 = timedelta(minutes=15)

NY_SPRING_FORWARD = date(2026, 3, 8)
NY_FALL_BACK = date(2026, 11, 1)
LONDON_SPRING_FORWARD = date(2026, 3, 29)
LONDON_FALL_BACK = date(2026, 10, 25)


def at(day: date, hour: int, minute: int = 0, tz: ZoneInfo = LONDON, fold: int = 0) -> datetime:
    """A local wall-clock time as an aware UTC instant."""
    return datetime.combine(day, time(hour, minute, fold=fold), tzinfo=tz).astimezone(UTC)


def local_window(day: date, start: tuple[int, int], end: tuple[int, int], tz=LONDON) -> Interval:
    return Interval(at(day, *start, tz=tz), at(day, *end, tz=tz))


def every_day(start: time = time(9), end: time = time(17)) -> tuple[WorkingBlock, ...]:
    return tuple(WorkingBlock(weekday, start, end) for weekday in range(7))


def practitioner(pid: int = 1, *, busy=(), working=None) -> PractitionerCalendar:
    return PractitionerCalendar(
        practitioner_id=pid,
        working=every_day() if working is None else working,
        busy=tuple(busy),
    )


def find_slots(**overrides) -> list[Slot]:
    """bookable_slots for one London Monday, 9-17, 60 min + 15 min cleanup, one room."""
    day = overrides.pop("day", MONDAY)
    tz = overrides.get("tz", LONDON)
    arguments = {
        "now": at(day - timedelta(days=1), 8, tz=tz),
        "tz": tz,
        "first_day": day,
        "last_day": day,
        "duration": HOUR,
        "buffer_after": MINUTES_15,
        "practitioners": [practitioner()],
        "rooms": [RoomCalendar(10)],
    }
    arguments.update(overrides)
    return bookable_slots(**arguments)


def local_starts(slots: list[Slot], pid: int | None = None, tz: ZoneInfo = LONDON) -> list[str]:
    return [
        slot.start.astimezone(tz).strftime("%H:%M")
        for slot in slots
        if pid is None or slot.practitioner_id == pid
    ]


def all_quarter_hours(first: str, last: str) -> list[str]:
    start = datetime.strptime(first, "%H:%M")
    stop = datetime.strptime(last, "%H:%M")
    faces = []
    while start <= stop:
        faces.append(start.strftime("%H:%M"))
        start += MINUTES_15
    return faces


# --- the basic grid ----------------------------------------------------------------------------


def test_free_day_offers_every_step_where_session_and_cleanup_fit_in_working_hours():
    slots = find_slots()

    assert local_starts(slots) == all_quarter_hours("09:00", "15:45")
    assert slots[-1].blocked_until == at(MONDAY, 17)


def test_slot_end_is_start_plus_duration_and_blocked_until_adds_the_buffer():
    first = find_slots()[0]

    assert first == Slot(
        start=at(MONDAY, 9),
        end=at(MONDAY, 10),
        blocked_until=at(MONDAY, 10, 15),
        practitioner_id=1,
        room_id=10,
    )


def test_working_blocks_apply_only_on_their_weekday():
    mondays_only = (WorkingBlock(0, time(9), time(17)),)

    monday = find_slots(practitioners=[practitioner(working=mondays_only)])
    tuesday = find_slots(
        day=MONDAY + timedelta(days=1), practitioners=[practitioner(working=mondays_only)]
    )

    assert len(monday) == 28
    assert tuesday == []


def test_lunch_break_between_working_blocks_is_respected():
    split = (WorkingBlock(0, time(9), time(12)), WorkingBlock(0, time(13), time(17)))

    starts = local_starts(find_slots(practitioners=[practitioner(working=split)]))

    assert starts == all_quarter_hours("09:00", "10:45") + all_quarter_hours("13:00", "15:45")


def test_touching_working_blocks_let_a_session_run_across_the_seam():
    touching = (WorkingBlock(0, time(9), time(12)), WorkingBlock(0, time(12), time(17)))

    starts = local_starts(find_slots(practitioners=[practitioner(working=touching)]))

    assert starts == all_quarter_hours("09:00", "15:45")


def test_overlapping_working_blocks_do_not_duplicate_slots():
    overlapping = (WorkingBlock(0, time(9), time(13)), WorkingBlock(0, time(11), time(17)))

    starts = local_starts(find_slots(practitioners=[practitioner(working=overlapping)]))

    assert starts == all_quarter_hours("09:00", "15:45")


def test_block_ending_at_midnight_runs_to_the_end_of_the_day():
    evening = (WorkingBlock(0, time(20), time(0)),)

    slots = find_slots(practitioners=[practitioner(working=evening)])

    assert local_starts(slots) == all_quarter_hours("20:00", "22:45")
    assert slots[-1].blocked_until == at(MONDAY + timedelta(days=1), 0)


def test_step_comes_from_the_policy():
    slots = find_slots(policy=BookingPolicy(step=timedelta(minutes=30)))

    assert local_starts(slots) == [f"{h:02d}:{m:02d}" for h in range(9, 16) for m in (0, 30)]


# --- buffers -----------------------------------------------------------------------------------


def test_buffer_after_blocks_the_next_start():
    # An existing 10:00-11:00 appointment with a 15 minute cleanup blocks until 11:15.
    existing = local_window(MONDAY, (10, 0), (11, 15))

    starts = local_starts(find_slots(practitioners=[practitioner(busy=[existing])]))

    assert "11:00" not in starts
    assert "11:15" in starts


def test_own_buffer_must_clear_the_next_appointment():
    existing = local_window(MONDAY, (10, 15), (11, 30))

    starts = local_starts(find_slots(practitioners=[practitioner(busy=[existing])]))

    assert "09:00" in starts  # 09:00-10:00 plus cleanup ends exactly at 10:15
    assert "09:15" not in starts  # its cleanup would run into the 10:15 appointment


def test_room_stays_blocked_through_another_sessions_buffer():
    room_in_use = local_window(MONDAY, (10, 0), (11, 15))

    starts = local_starts(find_slots(rooms=[RoomCalendar(10, busy=(room_in_use,))]))

    assert "08:45" not in starts
    assert "09:00" not in starts  # would need the room until 10:15
    assert "11:00" not in starts
    assert "11:15" in starts


def test_cleanup_buffer_counts_as_working_time():
    starts = local_starts(find_slots(buffer_after=timedelta(minutes=30)))

    assert starts[-1] == "15:30"


# --- rooms -------------------------------------------------------------------------------------


def test_two_rooms_cannot_host_a_third_concurrent_session():
    ten_o_clock = local_window(MONDAY, (10, 0), (11, 15))
    slots = find_slots(
        practitioners=[
            practitioner(1, busy=[ten_o_clock]),
            practitioner(2, busy=[ten_o_clock]),
            practitioner(3),
        ],
        rooms=[RoomCalendar(10, busy=(ten_o_clock,)), RoomCalendar(20, busy=(ten_o_clock,))],
    )

    third = local_starts(slots, pid=3)
    assert "10:00" not in third
    assert "09:00" not in third  # would still be in a room at 10:00
    assert "08:45" not in third
    assert "11:15" in third
    assert not any(s.start < ten_o_clock.end and s.blocked_until > ten_o_clock.start for s in slots)


def test_a_second_room_lets_concurrent_sessions_happen():
    busy_room = local_window(MONDAY, (10, 0), (11, 15))

    slots = find_slots(
        practitioners=[practitioner(1), practitioner(2)],
        rooms=[RoomCalendar(10, busy=(busy_room,)), RoomCalendar(20)],
    )

    at_ten = [s for s in slots if s.start == at(MONDAY, 10)]
    assert [(s.practitioner_id, s.room_id) for s in at_ten] == [(1, 20), (2, 20)]


def test_each_slot_gets_the_first_free_room_in_the_given_order():
    room_20_busy = local_window(MONDAY, (10, 0), (11, 15))
    rooms = [RoomCalendar(20, busy=(room_20_busy,)), RoomCalendar(10)]

    slots = find_slots(rooms=rooms)
    room_by_start = dict(zip(local_starts(slots), (s.room_id for s in slots), strict=True))

    assert room_by_start["09:00"] == 10  # room 20 is needed from 10:00
    assert room_by_start["11:00"] == 10
    assert room_by_start["11:15"] == 20  # free again, and listed first
    assert room_by_start["15:45"] == 20


def test_no_rooms_means_no_slots():
    assert find_slots(rooms=[]) == []


def test_no_slot_when_every_room_is_busy():
    all_day = local_window(MONDAY, (0, 0), (23, 0))

    assert find_slots(rooms=[RoomCalendar(10, busy=(all_day,))]) == []


# --- closures and time off ---------------------------------------------------------------------


def test_clinic_closure_removes_overlapping_slots_for_everyone():
    closure = local_window(MONDAY, (12, 0), (14, 0))

    slots = find_slots(practitioners=[practitioner(1), practitioner(2)], closures=[closure])

    for pid in (1, 2):
        starts = local_starts(slots, pid=pid)
        assert "10:45" in starts  # ends with cleanup exactly when the closure begins
        assert "11:00" not in starts
        assert "13:45" not in starts
        assert "14:00" in starts


def test_closure_covering_the_whole_day_leaves_only_other_days():
    tuesday = MONDAY + timedelta(days=1)
    closure = Interval(local_day_bounds(MONDAY, LONDON).start, local_day_bounds(MONDAY, LONDON).end)

    slots = find_slots(last_day=tuesday, closures=[closure])

    assert slots
    assert {s.start.astimezone(LONDON).date() for s in slots} == {tuesday}


def test_practitioner_time_off_only_affects_that_practitioner():
    morning_off = local_window(MONDAY, (9, 0), (13, 0))

    slots = find_slots(practitioners=[practitioner(1, busy=[morning_off]), practitioner(2)])

    assert local_starts(slots, pid=1) == all_quarter_hours("13:00", "15:45")
    assert local_starts(slots, pid=2) == all_quarter_hours("09:00", "15:45")


def test_time_off_that_began_before_the_window_still_blocks():
    from_sunday_evening = Interval(at(MONDAY - timedelta(days=1), 18), at(MONDAY, 10))

    starts = local_starts(find_slots(practitioners=[practitioner(busy=[from_sunday_evening])]))

    assert starts[0] == "10:00"


def test_unsorted_overlapping_busy_intervals_all_block():
    busy = [
        local_window(MONDAY, (14, 0), (15, 0)),
        local_window(MONDAY, (9, 30), (10, 30)),
        local_window(MONDAY, (10, 0), (12, 0)),
        local_window(MONDAY, (9, 45), (10, 0)),
    ]

    starts = local_starts(find_slots(practitioners=[practitioner(busy=busy)]))

    assert starts == ["12:00", "12:15", "12:30", "12:45", "15:00", "15:15", "15:30", "15:45"]


# --- half-open boundaries ----------------------------------------------------------------------


def test_busy_interval_ending_exactly_at_start_does_not_block():
    busy = local_window(MONDAY, (8, 0), (9, 0))

    assert local_starts(find_slots(practitioners=[practitioner(busy=[busy])]))[0] == "09:00"


def test_busy_interval_starting_exactly_at_blocked_until_does_not_block():
    busy = local_window(MONDAY, (10, 15), (17, 0))

    assert local_starts(find_slots(practitioners=[practitioner(busy=[busy])])) == ["09:00"]


def test_busy_interval_overlapping_by_one_minute_blocks():
    busy = local_window(MONDAY, (10, 14), (17, 0))

    assert find_slots(practitioners=[practitioner(busy=[busy])]) == []


def test_empty_busy_interval_blocks_nothing():
    empty = local_window(MONDAY, (10, 0), (10, 0))

    assert len(find_slots(practitioners=[practitioner(busy=[empty])])) == 28


# --- minimum notice and horizon ----------------------------------------------------------------


def test_minimum_notice_hides_starts_that_are_too_soon():
    starts = local_starts(find_slots(now=at(MONDAY, 8)))

    assert starts[0] == "10:00"  # exactly now + 2 hours is allowed


def test_minimum_notice_keeps_starts_on_the_working_hours_grid():
    starts = local_starts(find_slots(now=at(MONDAY, 8, 7)))

    assert starts[0] == "10:15"


def test_minimum_notice_comes_from_the_policy():
    policy = BookingPolicy(min_notice=timedelta(hours=24))

    assert find_slots(now=at(MONDAY, 8), policy=policy) == []
    assert local_starts(find_slots(now=at(MONDAY - timedelta(days=1), 11), policy=policy))[0] == (
        "11:00"
    )


def test_start_exactly_at_horizon_is_allowed_and_later_starts_are_not():
    now = at(MONDAY, 12) - timedelta(days=90)  # absolute days: the clocks changed in between

    starts = local_starts(find_slots(now=now))

    assert starts[-1] == "12:00"


def test_days_beyond_the_horizon_offer_nothing():
    now = at(MONDAY, 12) - timedelta(days=91)

    assert find_slots(now=now) == []


def test_wide_day_range_is_clipped_to_notice_and_horizon():
    now = at(MONDAY, 8)
    policy = BookingPolicy(horizon=timedelta(days=1, hours=1))

    slots = find_slots(
        now=now, first_day=date(2000, 1, 1), last_day=date(2100, 1, 1), policy=policy
    )

    assert slots[0].start == at(MONDAY, 10)
    assert slots[-1].start == at(MONDAY + timedelta(days=1), 9)
    assert len(slots) == len(all_quarter_hours("10:00", "15:45")) + 1


# --- the needling gap --------------------------------------------------------------------------


def test_needling_within_seven_local_days_of_a_previous_session_is_refused():
    six_days_before = at(MONDAY - timedelta(days=6), 16)

    assert find_slots(needling=True, patient_needling_starts=[six_days_before]) == []


def test_needling_seven_calendar_days_later_is_allowed_even_under_168_hours():
    seven_days_before_late = at(MONDAY - timedelta(days=7), 16)

    slots = find_slots(needling=True, patient_needling_starts=[seven_days_before_late])

    assert local_starts(slots)[0] == "09:00"  # only 161 hours after the previous session


def test_needling_gap_counts_sessions_already_booked_in_the_future():
    booked_next_week = at(MONDAY + timedelta(days=7), 9)
    tuesday = MONDAY + timedelta(days=1)

    slots = find_slots(last_day=tuesday, needling=True, patient_needling_starts=[booked_next_week])

    assert {s.start.astimezone(LONDON).date() for s in slots} == {MONDAY}


def test_needling_rule_does_not_apply_when_needling_is_false():
    yesterday = at(MONDAY - timedelta(days=1), 9)

    assert len(find_slots(needling=False, patient_needling_starts=[yesterday])) == 28


def test_needling_gap_days_come_from_the_policy():
    three_days_before = at(MONDAY - timedelta(days=3), 9)

    def slots_with_gap(days):
        return find_slots(
            needling=True,
            patient_needling_starts=[three_days_before],
            policy=BookingPolicy(needling_gap_days=days),
        )

    assert len(slots_with_gap(3)) == 28
    assert slots_with_gap(4) == []


def test_needling_start_equal_to_an_existing_one_is_not_ok():
    start = at(MONDAY, 10)

    assert not needling_gap_ok(start, [start], LONDON, 7)


def test_needling_gap_ok_with_no_history():
    assert needling_gap_ok(at(MONDAY, 10), [], LONDON, 7)


def test_needling_gap_uses_local_dates_not_utc_dates():
    # 21:00 New York time is already the next day in UTC.
    previous = at(date(2026, 6, 1), 21, tz=NEW_YORK)
    next_week_morning = at(date(2026, 6, 8), 10, tz=NEW_YORK)

    assert (next_week_morning.date() - previous.date()).days == 6
    assert needling_gap_ok(next_week_morning, [previous], NEW_YORK, 7)


@pytest.mark.parametrize(
    ("previous_day", "next_day", "real_hours"),
    [
        (date(2026, 3, 7), date(2026, 3, 14), 167),  # across spring-forward
        (date(2026, 10, 31), date(2026, 11, 7), 169),  # across fall-back
    ],
)
def test_needling_same_weekday_next_week_is_ok_across_a_dst_change(
    previous_day, next_day, real_hours
):
    previous = at(previous_day, 10, tz=NEW_YORK)
    same_time_next_week = at(next_day, 10, tz=NEW_YORK)
    one_day_short = at(next_day - timedelta(days=1), 10, tz=NEW_YORK)

    assert same_time_next_week - previous == timedelta(hours=real_hours)
    assert needling_gap_ok(same_time_next_week, [previous], NEW_YORK, 7)
    assert not needling_gap_ok(one_day_short, [previous], NEW_YORK, 7)


def test_needling_slots_reopen_on_the_same_weekday_after_spring_forward():
    previous = at(date(2026, 3, 7), 10, tz=NEW_YORK)

    slots = find_slots(
        tz=NEW_YORK,
        now=at(date(2026, 3, 1), 9, tz=NEW_YORK),
        first_day=date(2026, 3, 13),
        last_day=date(2026, 3, 14),
        needling=True,
        patient_needling_starts=[previous],
    )

    assert {s.start.astimezone(NEW_YORK).date() for s in slots} == {date(2026, 3, 14)}
    assert at(date(2026, 3, 14), 10, tz=NEW_YORK) in {s.start for s in slots}


# --- daylight saving time ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tz", "day", "expected_count"),
    [
        (NEW_YORK, NY_SPRING_FORWARD, 12),  # 00:00-04:00 is only 3 real hours
        (NEW_YORK, NY_FALL_BACK, 20),  # ... and 5 real hours when 01:xx happens twice
        (LONDON, LONDON_SPRING_FORWARD, 12),
        (LONDON, LONDON_FALL_BACK, 20),
    ],
)
def test_small_hours_on_dst_days_give_every_real_instant_once(tz, day, expected_count):
    night = every_day(time(0), time(4))

    slots = find_slots(
        tz=tz,
        day=day,
        duration=MINUTES_15,
        buffer_after=timedelta(0),
        practitioners=[practitioner(working=night)],
    )

    starts = [s.start for s in slots]
    assert len(starts) == expected_count
    assert len(set(starts)) == expected_count
    assert all(b - a == MINUTES_15 for a, b in zip(starts, starts[1:], strict=False))
    assert starts[0] == local_day_bounds(day, tz).start
    assert slots[-1].end == at(day, 4, tz=tz)


def test_spring_forward_night_has_no_nonexistent_local_times():
    slots = find_slots(
        tz=NEW_YORK,
        day=NY_SPRING_FORWARD,
        duration=MINUTES_15,
        buffer_after=timedelta(0),
        practitioners=[practitioner(working=every_day(time(0), time(4)))],
    )

    faces = local_starts(slots, tz=NEW_YORK)
    assert not any(face.startswith("02:") for face in faces)
    assert faces[7:9] == ["01:45", "03:00"]


def test_fall_back_night_offers_the_repeated_hour_twice():
    slots = find_slots(
        tz=NEW_YORK,
        day=NY_FALL_BACK,
        duration=MINUTES_15,
        buffer_after=timedelta(0),
        practitioners=[practitioner(working=every_day(time(0), time(4)))],
    )

    faces = local_starts(slots, tz=NEW_YORK)
    assert faces.count("01:30") == 2
    assert faces.count("00:30") == 1
    assert faces.count("03:30") == 1


@pytest.mark.parametrize(
    ("tz", "day"),
    [
        (NEW_YORK, NY_SPRING_FORWARD),
        (NEW_YORK, NY_FALL_BACK),
        (LONDON, LONDON_SPRING_FORWARD),
        (LONDON, LONDON_FALL_BACK),
    ],
)
def test_nine_to_five_on_a_dst_day_still_runs_nine_to_five_local(tz, day):
    slots = find_slots(tz=tz, day=day)

    faces = local_starts(slots, tz=tz)
    assert faces == all_quarter_hours("09:00", "15:45")
    assert slots[0].start == at(day, 9, tz=tz)
    assert slots[-1].blocked_until == at(day, 17, tz=tz)


def test_block_starting_inside_the_spring_forward_gap_moves_forward_by_the_gap():
    # One rule for every wall time (clinic.localtime): 02:30 that night is 03:30 EDT.
    gap_start = (WorkingBlock(6, time(2, 30), time(4)),)

    slots = find_slots(
        tz=NEW_YORK,
        day=NY_SPRING_FORWARD,
        duration=MINUTES_15,
        buffer_after=timedelta(0),
        practitioners=[practitioner(working=gap_start)],
    )

    assert slots[0].start == datetime(2026, 3, 8, 7, 30, tzinfo=UTC)  # 03:30 EDT
    assert local_starts(slots, tz=NEW_YORK) == all_quarter_hours("03:30", "03:45")


def test_block_entirely_inside_the_spring_forward_gap_moves_forward_with_it():
    lost_hour = (WorkingBlock(6, time(2, 0), time(2, 45)),)

    slots = find_slots(
        tz=NEW_YORK,
        day=NY_SPRING_FORWARD,
        duration=MINUTES_15,
        buffer_after=timedelta(0),
        practitioners=[practitioner(working=lost_hour)],
    )

    # 02:00-02:45 read forward by the gap is 03:00-03:45 EDT.
    assert local_starts(slots, tz=NEW_YORK) == all_quarter_hours("03:00", "03:30")


def test_ambiguous_block_start_uses_the_first_occurrence():
    from_half_one = (WorkingBlock(6, time(1, 30), time(3)),)

    slots = find_slots(
        tz=NEW_YORK,
        day=NY_FALL_BACK,
        duration=MINUTES_15,
        buffer_after=timedelta(0),
        practitioners=[practitioner(working=from_half_one)],
    )

    assert slots[0].start == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # 01:30 EDT
    assert slots[-1].end == datetime(2026, 11, 1, 8, 0, tzinfo=UTC)  # 03:00 EST
    assert len(slots) == 10


@pytest.mark.parametrize(
    ("tz", "day", "hours"),
    [
        (NEW_YORK, NY_SPRING_FORWARD, 23),
        (NEW_YORK, NY_FALL_BACK, 25),
        (LONDON, LONDON_SPRING_FORWARD, 23),
        (LONDON, LONDON_FALL_BACK, 25),
        (LONDON, MONDAY, 24),
    ],
)
def test_local_day_bounds_span_local_midnight_to_local_midnight(tz, day, hours):
    bounds = local_day_bounds(day, tz)

    assert bounds.end - bounds.start == timedelta(hours=hours)
    assert bounds.start.tzinfo is UTC
    assert bounds.start.astimezone(tz).replace(tzinfo=None) == datetime.combine(day, time(0))
    assert bounds.end.astimezone(tz).date() == day + timedelta(days=1)


def test_local_day_bounds_when_midnight_itself_is_skipped():
    # Chile springs forward at local midnight, so the day starts at 01:00.
    santiago = ZoneInfo("America/Santiago")
    day = date(2026, 9, 6)

    bounds = local_day_bounds(day, santiago)

    assert bounds.start.astimezone(santiago).replace(tzinfo=None) == datetime(2026, 9, 6, 1, 0)
    assert bounds.end - bounds.start == timedelta(hours=23)


# --- output shape ------------------------------------------------------------------------------


def test_slots_are_sorted_by_start_then_practitioner_id():
    slots = find_slots(practitioners=[practitioner(3), practitioner(1), practitioner(2)])

    keys = [(s.start, s.practitioner_id) for s in slots]
    assert keys == sorted(keys)
    assert [s.practitioner_id for s in slots[:3]] == [1, 2, 3]
    assert len(slots) == 3 * 28


def test_slots_are_sorted_across_days():
    tuesday = MONDAY + timedelta(days=1)

    slots = find_slots(last_day=tuesday, practitioners=[practitioner(2), practitioner(1)])

    keys = [(s.start, s.practitioner_id) for s in slots]
    assert keys == sorted(keys)
    assert len(slots) == 2 * 2 * 28


def test_all_returned_datetimes_are_utc_even_when_inputs_use_other_zones():
    busy_in_new_york_time = local_window(MONDAY, (10, 0), (11, 15)).start.astimezone(NEW_YORK)
    busy = Interval(busy_in_new_york_time, busy_in_new_york_time + 75 * timedelta(minutes=1))

    slots = find_slots(
        now=at(MONDAY, 7).astimezone(NEW_YORK), practitioners=[practitioner(busy=[busy])]
    )

    assert slots
    assert "11:00" not in local_starts(slots)
    for slot in slots:
        assert slot.start.tzinfo is UTC
        assert slot.end.tzinfo is UTC
        assert slot.blocked_until.tzinfo is UTC


# --- validation --------------------------------------------------------------------------------


def test_naive_now_is_rejected():
    with pytest.raises(ValueError, match="now"):
        find_slots(now=datetime(2026, 5, 31, 8, 0))


def test_last_day_before_first_day_is_rejected():
    with pytest.raises(ValueError, match="last_day"):
        find_slots(first_day=MONDAY, last_day=MONDAY - timedelta(days=1))


@pytest.mark.parametrize("duration", [timedelta(0), timedelta(minutes=-30)])
def test_non_positive_duration_is_rejected(duration):
    with pytest.raises(ValueError, match="duration"):
        find_slots(duration=duration)


@pytest.mark.parametrize("step", [timedelta(0), timedelta(minutes=-15)])
def test_non_positive_step_is_rejected(step):
    with pytest.raises(ValueError, match="step"):
        find_slots(policy=BookingPolicy(step=step))


def test_naive_busy_interval_is_rejected():
    naive = Interval(datetime(2026, 6, 1, 10), datetime(2026, 6, 1, 11))

    with pytest.raises(ValueError, match="aware"):
        find_slots(practitioners=[practitioner(busy=[naive])])


def test_naive_needling_start_is_rejected():
    with pytest.raises(ValueError, match="aware"):
        needling_gap_ok(at(MONDAY, 10), [datetime(2026, 5, 1, 10)], LONDON, 7)


def test_working_block_ending_before_it_starts_is_rejected():
    backwards = (WorkingBlock(0, time(17), time(9)),)

    with pytest.raises(ValueError, match="working block"):
        find_slots(practitioners=[practitioner(working=backwards)])


# --- cost follows the window -------------------------------------------------------------------


def test_ten_thousand_busy_intervals_outside_the_window_do_not_change_the_result():
    history_start = at(MONDAY - timedelta(days=800), 9)
    history = tuple(
        Interval(history_start + n * HOUR, history_start + n * HOUR + 75 * timedelta(minutes=1))
        for n in range(10_000)
    )
    assert history[-1].end < at(MONDAY, 0)
    days = {"first_day": MONDAY, "last_day": MONDAY + timedelta(days=13)}
    policy = BookingPolicy(min_notice=timedelta(0))
    now = at(MONDAY, 0)
    plain = find_slots(
        now=now,
        policy=policy,
        practitioners=[practitioner(pid) for pid in (1, 2, 3)],
        rooms=[RoomCalendar(10), RoomCalendar(20)],
        **days,
    )

    with_history = find_slots(
        now=now,
        policy=policy,
        practitioners=[practitioner(pid, busy=history) for pid in (1, 2, 3)],
        rooms=[RoomCalendar(10, busy=history), RoomCalendar(20, busy=history)],
        closures=history,
        **days,
    )

    assert with_history == plain
    assert len(plain) == 14 * 3 * 28
