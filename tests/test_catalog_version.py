"""Each web process keeps the clinic's set-up in memory (clinic.booking.catalog) and sees a
change made by any other process at its next answer: every write to the set-up changes the
catalog version in the same transaction, and availability reads that version with the visits."""

from __future__ import annotations

from datetime import date, time

import pytest
import sqlalchemy as sa

from clinic.booking.models import Appointment
from clinic.booking.services import online_free_times
from clinic.catalog import version as catalog_version
from clinic.catalog.models import CatalogVersion, Room, Service, TimeOff, WorkingHours
from clinic.extensions import db
from tests.factories import make_booking, make_clinic
from tests.helpers import START, make_app

# START is Monday 2 March 2026, 08:00 UTC (London is on GMT); Tuesday's answers are all ahead.
URL = "/api/v1/availability?service=consultation&from=2026-03-03&to=2026-03-03"


def starts(app) -> list[str]:
    with app.app_context():
        response = app.test_client().get(URL)
        assert response.status_code == 200, response.get_data(as_text=True)
        return [slot["start"] for slot in response.get_json()["slots"]]


def version() -> int:
    return db.session.scalar(sa.select(CatalogVersion.version))


@pytest.fixture
def two_processes(any_app, clock, tmp_path):
    """The test's app and a second app on the same database, as a second web process would
    be; both have answered once, so both hold a copy of the set-up."""
    other = make_app(any_app.config["SQLALCHEMY_DATABASE_URI"], clock, tmp_path)
    clinic = make_clinic(practitioners=1, rooms=1)
    db.session.remove()
    assert starts(any_app) == starts(other)
    yield any_app, other, clinic
    with other.app_context():
        db.session.remove()
        db.engine.dispose()


def test_changed_hours_in_one_process_show_in_the_others_next_answer(two_processes):
    app, other, _clinic = two_processes
    before = starts(other)
    assert before[0] == "2026-03-03T09:00:00+00:00"

    with app.app_context():
        hours = db.session.scalars(
            sa.select(WorkingHours).where(WorkingHours.weekday == 1)  # Tuesday
        ).one()
        hours.start_time = time(13)
        db.session.commit()

    after = starts(other)
    assert after[0] == "2026-03-03T13:00:00+00:00"
    assert after == starts(app)


def test_a_service_taken_offline_elsewhere_is_not_found_at_once(two_processes):
    app, other, _clinic = two_processes
    with app.app_context():
        consultation = db.session.scalars(
            sa.select(Service).where(Service.slug == "consultation")
        ).one()
        consultation.bookable_online = False
        db.session.commit()

    with other.app_context():
        assert other.test_client().get(URL).status_code == 404


def test_a_room_closed_by_a_bulk_update_elsewhere_shows_at_once(two_processes):
    app, other, _clinic = two_processes
    with app.app_context():
        db.session.execute(sa.update(Room).values(active=False))
        db.session.commit()

    assert starts(other) == []


def test_a_write_on_a_plain_connection_changes_the_version_too(any_app):
    make_clinic(practitioners=1, rooms=1)
    before = version()
    db.session.remove()
    engine = sa.create_engine(any_app.config["SQLALCHEMY_DATABASE_URI"])
    try:
        with engine.begin() as connection:
            connection.execute(sa.update(Service.__table__).values(description="Changed"))
    finally:
        engine.dispose()

    assert version() != before


def test_a_rolled_back_change_leaves_no_trace_in_any_copy(any_app):
    make_clinic(practitioners=1, rooms=1)
    before = version()
    original = starts(any_app)

    db.session.remove()
    tuesday = date(2026, 3, 3)

    # Inside the transaction the change is seen (and this process's copy is read with it)...
    db.session.execute(sa.update(WorkingHours).values(start_time=time(15)))
    inside = online_free_times("consultation", tuesday, tuesday).table.starts
    db.session.rollback()

    assert inside and len(inside) < len(original)
    assert version() == before
    # ...and after the rollback the copy read inside it can never pass for the current one.
    assert starts(any_app) == original


def test_visits_leave_the_catalog_version_alone(any_app):
    make_clinic(practitioners=1, rooms=1)
    before = version()
    make_booking("consultation", START.replace(day=3, hour=10))
    db.session.execute(sa.update(Appointment).values(ics_sequence=1))
    db.session.commit()

    assert version() == before


def test_a_closure_changes_the_catalog_version(any_app):
    clinic = make_clinic(practitioners=1, rooms=1)
    before = version()
    db.session.add(
        TimeOff(
            location_id=clinic.location.id,
            start_at=START.replace(day=3, hour=0),
            end_at=START.replace(day=4, hour=0),
            reason="Closed",
        )
    )
    db.session.commit()

    assert version() != before


@pytest.fixture
def two_caching_processes(any_app, clock, tmp_path):
    """Two web processes on one database, both keeping availability answers for 10 minutes."""
    any_app.config["AVAILABILITY_CACHE_SECONDS"] = 600
    other = make_app(
        any_app.config["SQLALCHEMY_DATABASE_URI"],
        clock,
        tmp_path,
        AVAILABILITY_CACHE_SECONDS=600,
    )
    location_id = make_clinic(practitioners=1, rooms=1).location.id
    db.session.remove()
    yield any_app, other, location_id
    with other.app_context():
        db.session.remove()
        db.engine.dispose()


def test_a_closure_saved_in_one_process_clears_the_others_cached_answers(
    two_caching_processes, clock
):
    app, other, location_id = two_caching_processes
    assert starts(other)  # answered, and kept

    with app.app_context():
        db.session.add(
            TimeOff(
                location_id=location_id,
                start_at=START.replace(day=3, hour=0),
                end_at=START.replace(day=4, hour=0),
                reason="Closed",
            )
        )
        db.session.commit()

    # Within the same second the other process may still answer from memory...
    clock.advance(seconds=1)
    # ...and a second later it has looked at the version and forgotten what it kept.
    assert starts(other) == []
    assert starts(app) == []


def test_a_process_asks_about_the_set_up_at_most_once_a_second(two_caching_processes, clock):
    app, other, _location_id = two_caching_processes
    kept = starts(other)

    with app.app_context():
        hours = db.session.scalars(
            sa.select(WorkingHours).where(WorkingHours.weekday == 1)  # Tuesday
        ).one()
        hours.start_time = time(13)
        db.session.commit()

    # Asked within the second of its last look, the other process answers from memory.
    assert starts(other) == kept
    clock.advance(seconds=1)
    assert starts(other)[0] == "2026-03-03T13:00:00+00:00"


def test_catalog_changed_command_tells_every_process(any_app):
    make_clinic(practitioners=1, rooms=1)
    before = version()
    db.session.remove()

    result = any_app.test_cli_runner().invoke(args=["catalog-changed"])

    assert result.exit_code == 0, result.output
    assert version() != before


def test_every_table_of_the_set_up_is_watched():
    assert {
        "service",
        "practitioner",
        "practitioner_service",
        "working_hours",
        "room",
        "location",
    } == catalog_version.CATALOG_TABLES


def test_migrations_change_the_version_once_at_the_end_not_per_write(any_app):
    make_clinic(practitioners=1, rooms=1)
    before = version()
    connection = db.session.connection()

    # A data migration may write these tables before migration 0010v made catalog_version.
    with catalog_version.migrating():
        connection.execute(sa.update(Service.__table__).values(description="Changed"))
    assert version() == before

    catalog_version.bump_after_migrations(connection)
    assert version() != before
