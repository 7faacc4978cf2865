"""Availability answers are cached briefly per process and forgotten on any calendar change."""

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from clinic.catalog.models import TimeOff
from tests.factories import make_booking, make_clinic

TUESDAY_10 = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)
URL = "/api/v1/availability?service=consultation&from=2026-03-03&to=2026-03-03"


@pytest.fixture
def app_config():
    return {"AVAILABILITY_CACHE_SECONDS": 30}


def starts(client):
    response = client.get(URL)
    assert response.status_code == 200
    return [slot["start"] for slot in response.get_json()["slots"]]


def test_a_booking_in_this_process_clears_the_cache_at_once(client, app):
    make_clinic(practitioners=1, rooms=1)
    before = starts(client)
    assert "2026-03-03T10:00:00+00:00" in before
    make_booking("consultation", TUESDAY_10)
    assert "2026-03-03T10:00:00+00:00" not in starts(client)


def test_a_change_made_elsewhere_shows_once_the_answer_ages_out(client, app, clock):
    clinic = make_clinic(practitioners=1, rooms=1)
    before = starts(client)
    # Another process's write, on its own connection: this process's cache is not told.
    other_process = sa.create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    with other_process.begin() as connection:
        connection.execute(
            TimeOff.__table__.insert().values(
                location_id=clinic.location.id,
                start_at=TUESDAY_10,
                end_at=TUESDAY_10 + timedelta(hours=1),
                reason="",
            )
        )
    other_process.dispose()
    assert starts(client) == before
    clock.advance(seconds=31)
    assert "2026-03-03T10:00:00+00:00" not in starts(client)


def test_errors_are_not_cached(client, app):
    make_clinic()
    assert client.get(URL.replace("consultation", "nope")).status_code == 404
    assert client.get(URL).status_code == 200


def test_caching_can_be_switched_off(client, app):
    app.config["AVAILABILITY_CACHE_SECONDS"] = 0
    clinic = make_clinic(practitioners=1, rooms=1)
    assert "2026-03-03T10:00:00+00:00" in starts(client)
    other_process = sa.create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    with other_process.begin() as connection:
        connection.execute(
            TimeOff.__table__.insert().values(
                location_id=clinic.location.id,
                start_at=TUESDAY_10,
                end_at=TUESDAY_10 + timedelta(hours=1),
                reason="",
            )
        )
    other_process.dispose()
    assert "2026-03-03T10:00:00+00:00" not in starts(client)
