"""The calendar's pure layout: rows, cells, blocks and gaps from plain values, without an app."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from clinic.calendar.grid import (
    BLOCK,
    BUFFER,
    CLOSED,
    COVERED,
    FREE,
    OFF,
    OUT,
    PAST,
    SKIPPED,
    Booker,
    Column,
    Hours,
    Span,
    VisitFacts,
    day_grid,
    week_grid,
)

LONDON = ZoneInfo("Europe/London")
MONDAY = date(2026, 3, 2)
EARLY = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
WEEKDAYS_9_TO_5 = tuple(Hours(day, time(9), time(17)) for day in range(5))
ALL_DAY = tuple(Hours(day, time(0), time(0)) for day in range(7))


def at(hour: int, minute: int = 0, day: date = MONDAY) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=UTC)


def visit(visit_id, start, minutes=30, buffer=0, *, status="booked", practitioner=1, room=1):
    return VisitFacts(
        id=visit_id,
        start=start,
        end=start + timedelta(minutes=minutes),
        blocked_until=start + timedelta(minutes=minutes + buffer),
        patient_name=f"Patient {visit_id}",
        service_name="Consultation",
        status=status,
        practitioner_id=practitioner,
        practitioner_name="P",
        room_id=room,
        room_name="R",
        active=status not in ("cancelled", "no_show"),
    )


def practitioner(key=1, hours=WEEKDAYS_9_TO_5, visits=(), off=()):
    busy = tuple(Span(v.start, v.blocked_until) for v in visits if v.active) + tuple(off)
    return Column(key, f"P{key}", tuple(visits), tuple(off), (Booker(key, hours, busy),))


def kinds(grid, column=0):
    return [row.cells[column].kind for row in grid.rows]


def test_rows_are_quarter_hours_over_the_working_day():
    grid = day_grid(day=MONDAY, tz=LONDON, now=EARLY, columns=[practitioner()])
    assert [row.label for row in grid.rows][:3] == ["09:00", "09:15", "09:30"]
    assert len(grid.rows) == 32 and grid.rows[-1].label == "16:45"
    assert set(kinds(grid)) == {FREE}


def test_the_day_spans_the_earliest_start_to_the_latest_end_of_the_columns():
    late = tuple(Hours(0, time(12), time(19)) for _ in range(1))
    grid = day_grid(
        day=MONDAY, tz=LONDON, now=EARLY, columns=[practitioner(1), practitioner(2, late)]
    )
    assert grid.rows[0].label == "09:00" and grid.rows[-1].label == "18:45"
    assert kinds(grid, 0)[-1] == OUT and kinds(grid, 1)[0] == OUT


def test_a_visit_is_one_block_spanning_its_rows_and_its_cleanup_is_not_free():
    booked = visit(7, at(10), minutes=45, buffer=15)
    grid = day_grid(day=MONDAY, tz=LONDON, now=EARLY, columns=[practitioner(visits=[booked])])
    cells = kinds(grid)
    block = grid.rows[4].cells[0]
    assert (block.kind, block.rowspan, block.visits) == (BLOCK, 3, (booked,))
    assert cells[5:7] == [COVERED, COVERED]
    assert cells[7] == BUFFER and cells[8] == FREE


def test_a_visit_off_the_quarter_hours_covers_every_row_it_touches():
    booked = visit(1, at(10, 10), minutes=20)
    grid = day_grid(day=MONDAY, tz=LONDON, now=EARLY, columns=[practitioner(visits=[booked])])
    assert grid.rows[4].cells[0].rowspan == 2  # 10:00 and 10:15


def test_overlapping_visits_share_one_block():
    first, second = visit(1, at(10), 30), visit(2, at(10, 15), 30)
    grid = day_grid(
        day=MONDAY, tz=LONDON, now=EARLY, columns=[practitioner(visits=[first, second])]
    )
    block = grid.rows[4].cells[0]
    assert block.visits == (first, second) and block.rowspan == 3


def test_cancelled_visits_free_their_time_and_are_listed_apart():
    gone = visit(3, at(10), status="cancelled")
    grid = day_grid(day=MONDAY, tz=LONDON, now=EARLY, columns=[practitioner(visits=[gone])])
    assert BLOCK not in kinds(grid)
    assert grid.released == [gone]


def test_a_visit_outside_working_hours_widens_the_day():
    evening = visit(4, at(18, 30), 30)
    grid = day_grid(day=MONDAY, tz=LONDON, now=EARLY, columns=[practitioner(visits=[evening])])
    assert grid.rows[-1].label == "18:45"
    assert grid.rows[-2].cells[0].kind == BLOCK


def test_closures_and_time_off_are_shaded_before_anything_else():
    off = Span(at(11), at(12))
    closure = Span(at(15), at(16))
    grid = day_grid(
        day=MONDAY,
        tz=LONDON,
        now=EARLY,
        columns=[practitioner(off=[off])],
        closures=[closure],
    )
    cells = kinds(grid)
    assert cells[8:12] == [OFF] * 4
    assert cells[24:28] == [CLOSED] * 4


def test_past_cells_are_not_offered_and_the_now_row_is_marked():
    now = at(10, 20)
    grid = day_grid(day=MONDAY, tz=LONDON, now=now, columns=[practitioner()])
    cells = kinds(grid)
    assert cells[:6] == [PAST] * 6  # up to the 10:15 row, which has begun
    assert cells[6] == FREE
    assert [row.label for row in grid.rows if row.is_now] == ["10:15"]


def test_free_runs_are_gaps_with_their_end():
    booked = visit(1, at(12), 60)
    grid = day_grid(day=MONDAY, tz=LONDON, now=EARLY, columns=[practitioner(visits=[booked])])
    starts = [(row.label, row.cells[0].gap_end) for row in grid.rows if row.cells[0].gap_start]
    assert starts == [("09:00", at(12)), ("13:00", at(17))]


def test_a_free_cell_books_its_practitioner_and_a_rooms_column_the_first_free_one():
    busy_first = visit(1, at(10), 60, practitioner=1, room=2)
    bookers = (
        Booker(1, WEEKDAYS_9_TO_5, (Span(busy_first.start, busy_first.blocked_until),)),
        Booker(2, WEEKDAYS_9_TO_5),
    )
    room = Column(1, "Room 1", (), (), bookers, room_id=1)
    grid = day_grid(day=MONDAY, tz=LONDON, now=EARLY, columns=[room])
    assert grid.rows[0].cells[0].practitioner_id == 1
    ten = grid.rows[4].cells[0]
    assert (ten.kind, ten.practitioner_id, ten.room_id) == (FREE, 2, 1)


def test_nobody_working_falls_back_to_ordinary_hours_with_nothing_free():
    grid = day_grid(day=date(2026, 3, 8), tz=LONDON, now=EARLY, columns=[practitioner()])
    assert grid.rows[0].label == "09:00" and len(grid.rows) == 32
    assert set(kinds(grid)) == {OUT}


def test_no_columns_still_gives_the_rows():
    grid = day_grid(day=MONDAY, tz=LONDON, now=EARLY, columns=[])
    assert len(grid.rows) == 32 and grid.rows[0].cells == []


@pytest.mark.parametrize(
    ("day", "rows", "present", "absent"),
    [
        (date(2026, 3, 29), 92, ["00:45 GMT", "02:00 BST"], ["01:00 GMT", "01:00 BST"]),
        (date(2026, 10, 25), 100, ["01:45 BST", "01:00 GMT", "01:45 GMT"], []),
        (date(2026, 3, 2), 96, ["01:00"], []),
    ],
)
def test_clock_change_days_have_their_real_hours_and_say_which_side(day, rows, present, absent):
    grid = day_grid(day=day, tz=LONDON, now=EARLY, columns=[practitioner(hours=ALL_DAY)])
    labels = [row.label for row in grid.rows]
    assert len(labels) == rows
    for label in present:
        assert label in labels
    for label in absent:
        assert label not in labels
    assert all(b.start - a.start == timedelta(minutes=15) for a, b in _pairs(grid))


def _pairs(grid):
    spans = [row.cells[0].span for row in grid.rows]
    return [(a, b) for a, b in zip(spans, spans[1:], strict=False)]


def test_a_visit_in_the_repeated_autumn_hour_lands_in_its_own_row():
    day = date(2026, 10, 25)
    second_one_am = datetime(2026, 10, 25, 1, 0, tzinfo=UTC)  # 01:00 GMT, after the change
    booked = visit(1, second_one_am, 30)
    grid = day_grid(
        day=day, tz=LONDON, now=EARLY, columns=[practitioner(hours=ALL_DAY, visits=[booked])]
    )
    (row,) = [row for row in grid.rows if row.cells[0].kind == BLOCK]
    assert row.label == "01:00 GMT"


def test_week_has_a_column_per_day_and_rows_of_wall_time():
    booked = visit(1, at(10, day=date(2026, 3, 4)), 30)
    grid = week_grid(first_day=MONDAY, tz=LONDON, now=EARLY, column=practitioner(visits=[booked]))
    assert grid.column_days == [MONDAY + timedelta(days=n) for n in range(7)]
    assert grid.rows[0].label == "09:00" and len(grid.rows) == 32
    assert grid.rows[4].cells[2].kind == BLOCK
    assert {row.cells[5].kind for row in grid.rows} == {OUT}  # Saturday is not worked


def test_week_across_spring_forward_keeps_wall_times_and_marks_the_skipped_hour():
    first_day = date(2026, 3, 23)
    grid = week_grid(first_day=first_day, tz=LONDON, now=EARLY, column=practitioner(hours=ALL_DAY))
    one_am = next(row for row in grid.rows if row.label == "01:00")
    assert one_am.cells[6].kind == SKIPPED  # Sunday 29 March
    assert one_am.cells[5].kind == FREE
    nine = next(row for row in grid.rows if row.label == "09:00")
    assert nine.cells[6].span.start == datetime(2026, 3, 29, 8, 0, tzinfo=UTC)  # 09:00 BST


def test_now_must_be_aware():
    with pytest.raises(ValueError, match="aware"):
        day_grid(day=MONDAY, tz=LONDON, now=datetime(2026, 3, 2, 9), columns=[])
