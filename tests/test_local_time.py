"""One local-time rule: a skipped wall time moves forward by the gap, a repeated one is the first.

Pure tests over the daylight-saving days of London and New York (and the days either side),
then the places that turn wall time into UTC, checked to agree on one example: 01:30 in London
on 29 March 2026, a time the clocks skip.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from clinic import localtime
from clinic.booking.slots import (
    BookingPolicy,
    Interval,
    PractitionerCalendar,
    RoomCalendar,
    WorkingBlock,
    bookable_slots,
    local_day_bounds,
)
from clinic.courses.forms import local_start
from clinic.courses.plan import series_starts, shift_later
from clinic.demo.seed import working_span
from clinic.localtime import day_bounds, exists, naive_to_utc, to_utc
from clinic.sms.plan import CarePolicy, next_opening

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")  # its clocks move by 30 minutes

# (zone, spring-forward day, first skipped wall time, gap, autumn day, first repeated wall time)
DST_DAYS = [
    (LONDON, date(2026, 3, 29), time(1), timedelta(hours=1), date(2026, 10, 25), time(1)),
    (NEW_YORK, date(2026, 3, 8), time(2), timedelta(hours=1), date(2026, 11, 1), time(1)),
]
GAP_DAY = date(2026, 3, 29)
HALF_PAST_ONE = time(1, 30)
GAP_EXAMPLE_UTC = datetime(2026, 3, 29, 1, 30, tzinfo=UTC)  # 02:30 BST


def quarter_hours(day: date):
    return [datetime.combine(day, time()) + timedelta(minutes=15 * n) for n in range(96)]


def wall(instant: datetime, tz) -> datetime:
    return instant.astimezone(tz).replace(tzinfo=None)


# --- the rule -------------------------------------------------------------------------------


def test_the_gap_example_moves_forward_by_the_gap():
    assert to_utc(GAP_DAY, HALF_PAST_ONE, LONDON) == GAP_EXAMPLE_UTC
    assert wall(GAP_EXAMPLE_UTC, LONDON) == datetime(2026, 3, 29, 2, 30)


@pytest.mark.parametrize(("tz", "spring", "skipped", "gap", "_autumn", "_repeated"), DST_DAYS)
def test_on_the_spring_day_every_wall_time_is_itself_or_moved_on_by_the_gap(
    tz, spring, skipped, gap, _autumn, _repeated
):
    first_skipped = datetime.combine(spring, skipped)
    for local in quarter_hours(spring):
        instant = naive_to_utc(local, tz)
        assert instant.tzinfo is UTC
        in_gap = first_skipped <= local < first_skipped + gap
        assert wall(instant, tz) == (local + gap if in_gap else local), local
        assert exists(spring, local.time(), tz) is not in_gap, local


@pytest.mark.parametrize(("tz", "_spring", "_skipped", "gap", "autumn", "repeated"), DST_DAYS)
def test_on_the_autumn_day_a_repeated_wall_time_is_its_first_occurrence(
    tz, _spring, _skipped, gap, autumn, repeated
):
    first_repeated = datetime.combine(autumn, repeated)
    for local in quarter_hours(autumn):
        instant = naive_to_utc(local, tz)
        assert wall(instant, tz) == local
        assert exists(autumn, local.time(), tz)
        if first_repeated <= local < first_repeated + gap:
            # An hour later the clock reads the same again; an hour earlier it did not.
            assert wall(instant + gap, tz) == local
            assert wall(instant - gap, tz) != local


@pytest.mark.parametrize(("tz", "spring", "_skipped", "_gap", "autumn", "_repeated"), DST_DAYS)
def test_the_days_around_a_change_are_ordinary(tz, spring, _skipped, _gap, autumn, _repeated):
    for day in (spring - timedelta(days=1), spring + timedelta(days=1)):
        for change_day in (day, autumn + (day - spring)):
            for local in quarter_hours(change_day):
                instant = naive_to_utc(local, tz)
                assert wall(instant, tz) == local
                assert exists(change_day, local.time(), tz)


@pytest.mark.parametrize(
    ("tz", "day", "wall_time", "expected"),
    [
        (LONDON, date(2026, 3, 29), time(0, 59), datetime(2026, 3, 29, 0, 59, tzinfo=UTC)),
        (LONDON, date(2026, 3, 29), time(1, 0), datetime(2026, 3, 29, 1, 0, tzinfo=UTC)),
        (LONDON, date(2026, 3, 29), time(1, 59), datetime(2026, 3, 29, 1, 59, tzinfo=UTC)),
        (LONDON, date(2026, 3, 29), time(2, 0), datetime(2026, 3, 29, 1, 0, tzinfo=UTC)),
        (LONDON, date(2026, 10, 25), time(0, 59), datetime(2026, 10, 24, 23, 59, tzinfo=UTC)),
        (LONDON, date(2026, 10, 25), time(1, 0), datetime(2026, 10, 25, 0, 0, tzinfo=UTC)),
        (LONDON, date(2026, 10, 25), time(1, 30), datetime(2026, 10, 25, 0, 30, tzinfo=UTC)),
        (LONDON, date(2026, 10, 25), time(2, 0), datetime(2026, 10, 25, 2, 0, tzinfo=UTC)),
        (NEW_YORK, date(2026, 3, 8), time(2, 30), datetime(2026, 3, 8, 7, 30, tzinfo=UTC)),
        (NEW_YORK, date(2026, 3, 8), time(3, 0), datetime(2026, 3, 8, 7, 0, tzinfo=UTC)),
        (NEW_YORK, date(2026, 11, 1), time(1, 30), datetime(2026, 11, 1, 5, 30, tzinfo=UTC)),
        (NEW_YORK, date(2026, 11, 1), time(2, 0), datetime(2026, 11, 1, 7, 0, tzinfo=UTC)),
        # The gap is 30 minutes here, so "forward by the gap" is not "an hour later".
        (LORD_HOWE, date(2026, 10, 4), time(2, 15), datetime(2026, 10, 3, 15, 45, tzinfo=UTC)),
    ],
)
def test_edges_of_the_gap_and_the_fold(tz, day, wall_time, expected):
    assert to_utc(day, wall_time, tz) == expected
    assert naive_to_utc(datetime.combine(day, wall_time), tz) == expected


def test_lord_howe_moves_a_skipped_time_on_by_half_an_hour():
    assert not exists(date(2026, 10, 4), time(2, 15), LORD_HOWE)
    assert wall(to_utc(date(2026, 10, 4), time(2, 15), LORD_HOWE), LORD_HOWE) == datetime(
        2026, 10, 4, 2, 45
    )


def test_a_fold_given_on_the_wall_time_does_not_change_the_rule():
    later = time(1, 30, fold=1)
    assert to_utc(date(2026, 10, 25), later, LONDON) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    assert to_utc(GAP_DAY, time(1, 30, fold=1), LONDON) == GAP_EXAMPLE_UTC


def test_aware_input_is_refused():
    with pytest.raises(ValueError, match="naive"):
        naive_to_utc(datetime(2026, 3, 29, 1, 30, tzinfo=UTC), LONDON)
    with pytest.raises(ValueError, match="naive"):
        to_utc(GAP_DAY, time(1, 30, tzinfo=UTC), LONDON)
    with pytest.raises(ValueError, match="aware"):
        localtime.local_date(datetime(2026, 3, 29, 1, 30), LONDON)


# --- whole days ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tz", "day", "hours"),
    [
        (LONDON, date(2026, 3, 28), 24),
        (LONDON, date(2026, 3, 29), 23),
        (LONDON, date(2026, 3, 30), 24),
        (LONDON, date(2026, 10, 24), 24),
        (LONDON, date(2026, 10, 25), 25),
        (LONDON, date(2026, 10, 26), 24),
        (NEW_YORK, date(2026, 3, 7), 24),
        (NEW_YORK, date(2026, 3, 8), 23),
        (NEW_YORK, date(2026, 3, 9), 24),
        (NEW_YORK, date(2026, 10, 31), 24),
        (NEW_YORK, date(2026, 11, 1), 25),
        (NEW_YORK, date(2026, 11, 2), 24),
    ],
)
def test_local_day_bounds_run_midnight_to_midnight(tz, day, hours):
    start, end = day_bounds(day, tz)
    assert end - start == timedelta(hours=hours)
    assert wall(start, tz) == datetime.combine(day, time(0))
    assert wall(end, tz) == datetime.combine(day + timedelta(days=1), time(0))
    assert local_day_bounds(day, tz) == Interval(start, end)


# --- every caller agrees on the gap example ------------------------------------------------


def test_course_series_agree_on_the_gap_example():
    first = datetime(2026, 3, 22, 1, 30, tzinfo=UTC)  # 01:30 GMT, a week before the change
    assert series_starts(first, 7, 2, LONDON)[1] == GAP_EXAMPLE_UTC
    moved = shift_later([first, first + timedelta(days=14)], 0, first + timedelta(days=7), LONDON)
    assert moved[0] == GAP_EXAMPLE_UTC


def test_aftercare_quiet_hours_agree_on_the_gap_example():
    until_half_past_one = CarePolicy(quiet_start=time(20), quiet_end=HALF_PAST_ONE)
    late_saturday = datetime(2026, 3, 28, 23, 0, tzinfo=UTC)  # 23:00 GMT, in quiet hours
    assert next_opening(late_saturday, LONDON, until_half_past_one) == GAP_EXAMPLE_UTC


def test_the_desk_refuses_the_gap_example_rather_than_guess_but_reads_others_by_the_rule():
    with pytest.raises(ValueError, match="does not exist"):
        local_start(GAP_DAY, HALF_PAST_ONE, LONDON)
    autumn = date(2026, 10, 25)
    assert local_start(autumn, HALF_PAST_ONE, LONDON) == to_utc(autumn, HALF_PAST_ONE, LONDON)


def test_slots_and_the_demo_lay_out_working_hours_from_the_gap_example_alike():
    """Working hours from 01:30 on the night the clocks skip it begin where the one rule puts
    01:30: forward by the gap, 02:30 BST, which is 01:30 UTC, as for courses and texts."""
    start, end = working_span(GAP_DAY, HALF_PAST_ONE, time(4), LONDON)
    sunday = (WorkingBlock(GAP_DAY.weekday(), HALF_PAST_ONE, time(4)),)
    slots = bookable_slots(
        now=datetime(2026, 3, 27, 12, tzinfo=UTC),
        tz=LONDON,
        first_day=GAP_DAY,
        last_day=GAP_DAY,
        duration=timedelta(minutes=30),
        buffer_after=timedelta(0),
        practitioners=[PractitionerCalendar(1, sunday)],
        rooms=[RoomCalendar(1)],
        policy=BookingPolicy(step=timedelta(minutes=30)),
    )
    starts = [slot.start for slot in slots]
    assert starts[0] == start == GAP_EXAMPLE_UTC == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert slots[-1].end == end == to_utc(GAP_DAY, time(4), LONDON)
    assert all(wall(s, LONDON).time() >= HALF_PAST_ONE for s in starts)
