"""The waitlist's pure rules: which freed time suits a request, and how long an offer runs."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from clinic.waitlist.rules import (
    FreedTime,
    Wish,
    fits_time_of_day,
    matches,
    offer_expiry,
    worth_offering,
)

LONDON = ZoneInfo("Europe/London")


def wish(**overrides) -> Wish:
    values = dict(
        service_id=1,
        practitioner_id=None,
        first_day=date(2026, 3, 3),
        last_day=date(2026, 3, 6),
        time_of_day="any",
    )
    values.update(overrides)
    return Wish(**values)


def freed(day=date(2026, 3, 4), at=time(10), service_id=1, practitioner_id=7) -> FreedTime:
    return FreedTime(service_id, practitioner_id, datetime.combine(day, at, tzinfo=LONDON))


@pytest.mark.parametrize(
    ("part", "start", "fits"),
    [
        ("morning", time(11, 59), True),
        ("morning", time(12), False),
        ("afternoon", time(12), True),
        ("afternoon", time(16, 45), True),
        ("afternoon", time(17), False),
        ("evening", time(17), True),
        ("evening", time(16, 59), False),
        ("any", time(7), True),
    ],
)
def test_parts_of_the_day_split_at_noon_and_five_as_the_booking_pages_do(part, start, fits):
    assert fits_time_of_day(wish(time_of_day=part), start) is fits


def test_between_two_times_includes_both_ends():
    between = wish(time_of_day="between", time_from=time(9, 30), time_to=time(11))
    assert [
        fits_time_of_day(between, t) for t in (time(9, 15), time(9, 30), time(11), time(11, 15))
    ] == [
        False,
        True,
        True,
        False,
    ]


def test_between_without_both_times_fits_nothing():
    assert not fits_time_of_day(wish(time_of_day="between", time_from=time(9)), time(10))


def test_a_freed_time_matches_on_service_days_and_practitioner():
    assert matches(wish(), freed())
    assert not matches(wish(), freed(service_id=2))
    assert not matches(wish(), freed(day=date(2026, 3, 7)))
    assert matches(wish(), freed(day=date(2026, 3, 6)))  # the last day is included
    assert not matches(wish(practitioner_id=8), freed())
    assert matches(wish(practitioner_id=7), freed())


def test_an_offer_runs_its_minutes_from_when_it_is_sent_but_never_past_the_time_itself():
    sent = datetime(2026, 3, 3, 9, tzinfo=UTC)
    assert offer_expiry(sent, 60, sent + timedelta(days=1)) == sent + timedelta(minutes=60)
    assert offer_expiry(sent, 60, sent + timedelta(minutes=20)) == sent + timedelta(minutes=20)


def test_a_time_too_close_to_book_online_when_the_text_goes_is_not_offered():
    sent = datetime(2026, 3, 3, 9, tzinfo=UTC)
    notice = timedelta(hours=2)
    assert worth_offering(sent, sent + timedelta(hours=3), notice)
    assert not worth_offering(sent, sent + timedelta(hours=2), notice)
