from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from clinic.courses.plan import TEMPLATES, series_starts, shift_later, template

LONDON = ZoneInfo("Europe/London")


def test_templates_follow_the_published_protocols():
    shapes = {(t.interval_days, t.sessions) for t in TEMPLATES}
    assert {(7, 12), (14, 6), (28, 4), (28, 6), (21, 3)} <= shapes
    assert all(t.interval_days >= 7 for t in TEMPLATES)
    with pytest.raises(LookupError):
        template("daily-30")


def test_series_keeps_the_local_time_across_the_clock_change():
    first = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)  # 10:00 GMT
    starts = series_starts(first, 28, 6, LONDON)
    assert len(starts) == 6
    assert [s.astimezone(LONDON).hour for s in starts] == [10] * 6
    assert starts[1] == datetime(2026, 4, 7, 9, 0, tzinfo=UTC)  # 10:00 BST


def test_series_on_a_missing_local_time_moves_an_hour_later():
    first = datetime(2026, 3, 22, 1, 30, tzinfo=UTC)  # 01:30 GMT; 29 March 01:30 does not exist
    starts = series_starts(first, 7, 2, LONDON)
    assert starts[1].astimezone(LONDON).hour == 2


def test_moving_session_two_shifts_the_later_ones_and_keeps_the_earlier():
    starts = series_starts(datetime(2026, 3, 3, 10, 0, tzinfo=UTC), 28, 6, LONDON)
    new_second = datetime(2026, 4, 2, 13, 0, tzinfo=UTC)  # two days later, 14:00 BST
    moved = shift_later(starts, 1, new_second, LONDON)
    assert moved[0] == starts[0]
    assert moved[1] == new_second
    for before, after in zip(starts[2:], moved[2:], strict=True):
        assert (after.astimezone(LONDON).date() - before.astimezone(LONDON).date()).days == 2
        assert after.astimezone(LONDON).hour == 14
