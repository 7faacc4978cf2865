"""Settings for who works when: practitioners, weekly hours, time off and closures.

The rules (the week's blocks, local time to UTC on daylight-saving days) are tested as pure
functions; the use cases on SQLite and PostgreSQL, with their audit rows and what they refuse.
"""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from clinic.actors import Actor
from clinic.audit.models import AuditEvent
from clinic.booking import services as booking
from clinic.booking.models import Appointment
from clinic.catalog.models import Location, Practitioner, TimeOff, WorkingHours
from clinic.errors import NotFound, ValidationFailed
from clinic.extensions import db
from clinic.settings import practitioners_services as settings
from clinic.settings.practitioners_forms import parse_day
from clinic.settings.practitioners_services import (
    PractitionerDetails,
    TimeOffInput,
    check_week,
    inside_hours,
    time_off_span,
)
from tests.factories import add_time_off, make_booking, make_clinic
from tests.helpers import make_staff

LONDON = ZoneInfo("Europe/London")
TUESDAY = date(2026, 3, 3)
TUESDAY_10 = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)  # London is on GMT in early March


@pytest.fixture
def admin(any_app):
    return Actor.staff(make_staff(role="admin", email="admin@example.com", name="Kim Admin"))


@pytest.fixture
def clinic(any_app):
    return make_clinic(practitioners=2, rooms=2)


def audit_rows(action: str) -> list[AuditEvent]:
    db.session.rollback()
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def starts_on(day: date, practitioner_id: int, slug: str = "consultation") -> list[datetime]:
    service = booking.service_by_slug(slug)
    return [
        slot.start
        for slot in booking.find_slots(service, day, day, practitioner_id=practitioner_id)
    ]


def week(**days: str) -> dict[int, list[tuple[time, time]]]:
    return {day: parse_day(days.get(name, "")) for day, name in enumerate(settings.WEEKDAYS)}


# --- the week's rules (pure) ----------------------------------------------------------------


def test_a_day_is_read_as_blocks_of_24_hour_time():
    assert parse_day("9:00-13:00, 14:00 – 17:30") == [
        (time(9), time(13)),
        (time(14), time(17, 30)),
    ]
    assert parse_day("") == []
    for unreadable in ("9-5", "09:00", "25:00-26:00", "9am-5pm", "09:00-13:00 14:00-17:00"):
        with pytest.raises(ValueError):
            parse_day(unreadable)


def test_a_week_of_sensible_blocks_passes():
    assert check_week(week(monday="09:00-12:00, 12:00-17:00", friday="07:30-23:55")) == {}


def test_a_block_that_ends_before_it_starts_is_refused_on_its_day():
    errors = check_week(week(tuesday="17:00-09:00"))
    assert list(errors) == ["tuesday"]
    assert "ends before it starts" in errors["tuesday"][0]


def test_overlapping_blocks_are_refused():
    errors = check_week(week(wednesday="09:00-13:00, 12:30-17:00"))
    assert "overlaps" in errors["wednesday"][0]


def test_times_off_the_five_minute_grid_are_refused():
    errors = check_week(week(thursday="09:02-17:00"))
    assert "5-minute" in errors["thursday"][0]


def test_a_day_holds_at_most_four_blocks():
    five = "08:00-09:00, 10:00-11:00, 12:00-13:00, 14:00-15:00, 16:00-17:00"
    assert "at most 4" in check_week(week(monday=five))["monday"][0]


def test_a_visit_inside_touching_blocks_is_inside_the_hours():
    hours = week(tuesday="09:00-12:00, 12:00-17:00")
    across_the_seam = (
        datetime(2026, 3, 3, 11, 30, tzinfo=UTC),
        datetime(2026, 3, 3, 12, 30, tzinfo=UTC),
    )
    assert inside_hours(*across_the_seam, hours, LONDON)
    late = (datetime(2026, 3, 3, 16, 30, tzinfo=UTC), datetime(2026, 3, 3, 17, 15, tzinfo=UTC))
    assert not inside_hours(*late, hours, LONDON)
    assert not inside_hours(*across_the_seam, week(tuesday="09:00-12:00"), LONDON)


# --- local time to UTC on daylight-saving days (pure) --------------------------------------


def test_a_whole_day_closure_on_the_spring_forward_day_lasts_23_hours():
    start, end = time_off_span(
        TimeOffInput(date(2026, 3, 29), date(2026, 3, 29), whole_days=True), LONDON
    )
    assert start == datetime(2026, 3, 29, 0, 0, tzinfo=UTC)
    assert end == datetime(2026, 3, 29, 23, 0, tzinfo=UTC)


def test_a_whole_day_closure_on_the_autumn_day_lasts_25_hours():
    start, end = time_off_span(
        TimeOffInput(date(2026, 10, 25), date(2026, 10, 25), whole_days=True), LONDON
    )
    assert start == datetime(2026, 10, 24, 23, 0, tzinfo=UTC)
    assert end == datetime(2026, 10, 26, 0, 0, tzinfo=UTC)
    assert end - start == timedelta(hours=25)


def test_a_skipped_wall_time_moves_forward_and_a_repeated_one_is_its_first_occurrence():
    spring = TimeOffInput(date(2026, 3, 29), date(2026, 3, 29), time(1, 30), time(3, 0))
    assert time_off_span(spring, LONDON) == (
        datetime(2026, 3, 29, 1, 30, tzinfo=UTC),  # 01:30 does not exist: 02:30 BST
        datetime(2026, 3, 29, 2, 0, tzinfo=UTC),
    )
    autumn = TimeOffInput(date(2026, 10, 25), date(2026, 10, 25), time(1, 30), time(2, 30))
    assert time_off_span(autumn, LONDON) == (
        datetime(2026, 10, 25, 0, 30, tzinfo=UTC),  # the first 01:30, still BST
        datetime(2026, 10, 25, 2, 30, tzinfo=UTC),
    )


# --- weekly hours ---------------------------------------------------------------------------


def test_saving_hours_replaces_the_week_and_availability_follows_at_once(clinic, admin):
    first = clinic.practitioners[0]
    assert TUESDAY_10 in starts_on(TUESDAY, first.id)
    member = settings.practitioner(first.id)
    outside = settings.replace_hours(
        first.id,
        week(tuesday="13:00-17:00", wednesday="09:00-12:00, 13:00-17:00"),
        fingerprint=settings.hours_fingerprint(member),
        by=admin,
    )
    assert outside == []
    db.session.rollback()
    rows = db.session.scalars(
        select(WorkingHours).where(WorkingHours.practitioner_id == first.id)
    ).all()
    assert sorted((r.weekday, r.start_time, r.end_time) for r in rows) == [
        (1, time(13), time(17)),
        (2, time(9), time(12)),
        (2, time(13), time(17)),
    ]
    offered = starts_on(TUESDAY, first.id)
    assert TUESDAY_10 not in offered
    assert datetime(2026, 3, 3, 13, 0, tzinfo=UTC) in offered
    assert starts_on(TUESDAY - timedelta(days=1), first.id) == []  # Monday: not working now

    (event,) = audit_rows("settings.hours_changed")
    assert event.staff_id == admin.staff_id
    assert event.changes["monday"] == ["09:00-17:00", "not working"]
    assert event.changes["wednesday"] == ["09:00-17:00", "09:00-12:00, 13:00-17:00"]
    assert "tuesday" in event.changes and "saturday" in event.changes


def test_visits_left_outside_new_hours_are_kept_and_listed(clinic, admin):
    first = clinic.practitioners[0]
    visit = make_booking("consultation", TUESDAY_10, practitioner_id=first.id)
    member = settings.practitioner(first.id)
    outside = settings.replace_hours(
        first.id,
        week(tuesday="13:00-17:00"),
        fingerprint=settings.hours_fingerprint(member),
        by=admin,
    )
    assert [v.id for v in outside] == [visit.id]
    assert outside[0].patient_name == "Alex Morgan"
    db.session.rollback()
    assert db.session.get(type(visit), visit.id).status == "booked"


def test_hours_saved_over_a_changed_week_are_refused_and_nothing_is_written(clinic, admin):
    first = clinic.practitioners[0]
    stale = settings.hours_fingerprint(settings.practitioner(first.id))
    settings.replace_hours(first.id, week(monday="10:00-16:00"), fingerprint=stale, by=admin)
    with pytest.raises(settings.StaleSettings):
        settings.replace_hours(first.id, week(friday="09:00-10:00"), fingerprint=stale, by=admin)
    db.session.rollback()
    member = settings.practitioner(first.id)
    assert settings.week_text(settings.week_of(member))[0] == "10:00-16:00"
    assert len(audit_rows("settings.hours_changed")) == 1


def test_a_week_breaking_the_rules_is_refused_before_anything_is_read(clinic, admin):
    first = clinic.practitioners[0]
    with pytest.raises(ValidationFailed) as refused:
        settings.replace_hours(
            first.id, week(monday="12:00-11:00"), fingerprint="anything", by=admin
        )
    assert list(refused.value.errors) == ["monday"]
    assert audit_rows("settings.hours_changed") == []


# --- practitioners --------------------------------------------------------------------------


def details(clinic, **overrides) -> PractitionerDetails:
    values = dict(
        name="Dr Nia Obi",
        location_id=clinic.location.id,
        service_ids=frozenset({clinic.services["consultation"].id}),
        active=True,
    )
    return PractitionerDetails(**(values | overrides))


def test_adding_a_practitioner_records_who_added_them(clinic, admin):
    member = settings.add_practitioner(details(clinic), by=admin)
    db.session.rollback()
    stored = db.session.get(Practitioner, member.id)
    assert (stored.name, stored.active, [s.slug for s in stored.services]) == (
        "Dr Nia Obi",
        True,
        ["consultation"],
    )
    assert stored.working_hours == []  # set on the hours page
    (event,) = audit_rows("settings.practitioner_added")
    assert event.changes["name"] == [None, "Dr Nia Obi"]
    assert event.changes["services"] == [None, "Hair-loss consultation"]


def test_two_practitioners_at_one_location_cannot_share_a_name(clinic, admin):
    with pytest.raises(settings.NameTaken):
        settings.add_practitioner(details(clinic, name="practitioner 1"), by=admin)
    assert audit_rows("settings.practitioner_added") == []


def test_unknown_locations_and_services_are_field_errors(clinic, admin):
    with pytest.raises(ValidationFailed) as refused:
        settings.add_practitioner(
            details(clinic, location_id=999, service_ids=frozenset({998})), by=admin
        )
    assert set(refused.value.errors) == {"location_id", "service_ids"}


def test_deactivating_a_practitioner_with_visits_to_come_is_refused_with_the_visits(clinic, admin):
    first = clinic.practitioners[0]
    visit = make_booking("consultation", TUESDAY_10, practitioner_id=first.id)
    member = settings.practitioner(first.id)
    with pytest.raises(settings.VisitsToMove) as refused:
        settings.change_practitioner(
            first.id,
            details(clinic, name=member.name, active=False),
            fingerprint=settings.practitioner_fingerprint(member),
            by=admin,
        )
    assert refused.value.status == 409
    assert [v.id for v in refused.value.visits] == [visit.id]
    db.session.rollback()
    assert db.session.get(Practitioner, first.id).active
    assert audit_rows("settings.practitioner_changed") == []


def test_a_practitioner_whose_visits_are_past_can_be_deactivated(clinic, admin, clock):
    first = clinic.practitioners[0]
    make_booking("consultation", TUESDAY_10, practitioner_id=first.id)
    clock.set(TUESDAY_10 + timedelta(hours=1))
    member = settings.practitioner(first.id)
    changed = settings.change_practitioner(
        first.id,
        details(clinic, name=member.name, active=False),
        fingerprint=settings.practitioner_fingerprint(member),
        by=admin,
    )
    assert changed["active"] == (True, False)
    assert "services" in changed  # they offered every service; now only the consultation
    db.session.rollback()
    assert not db.session.get(Practitioner, first.id).active
    (event,) = audit_rows("settings.practitioner_changed")
    assert event.changes["active"] == [True, False]
    assert starts_on(TUESDAY + timedelta(days=1), first.id) == []


def test_moving_a_practitioner_to_another_location_waits_for_their_visits(clinic, admin):
    first = clinic.practitioners[0]
    north = Location(name="North", phone="+44 20 7946 0001", timezone="Europe/London")
    db.session.add(north)
    db.session.commit()
    visit = make_booking("consultation", TUESDAY_10, practitioner_id=first.id)
    member = settings.practitioner(first.id)
    moved = details(clinic, name=member.name, location_id=north.id)
    with pytest.raises(settings.VisitsToMove) as refused:
        settings.change_practitioner(
            first.id, moved, fingerprint=settings.practitioner_fingerprint(member), by=admin
        )
    assert [v.id for v in refused.value.visits] == [visit.id]
    assert "before you move" in refused.value.message

    booking.cancel(fresh_visit(visit.id), reason="Moving clinic", by=admin)
    member = settings.practitioner(first.id)
    changed = settings.change_practitioner(
        first.id, moved, fingerprint=settings.practitioner_fingerprint(member), by=admin
    )
    assert changed["location"] == ("Test Clinic", "North")
    assert audit_rows("settings.practitioner_changed")[0].changes["location"] == [
        "Test Clinic",
        "North",
    ]


def fresh_visit(visit_id: int) -> Appointment:
    db.session.rollback()
    return db.session.get(Appointment, visit_id)


def test_an_edit_over_changed_details_is_refused(clinic, admin):
    first = clinic.practitioners[0]
    member = settings.practitioner(first.id)
    stale = settings.practitioner_fingerprint(member)
    settings.change_practitioner(
        first.id, details(clinic, name="Dr Rao"), fingerprint=stale, by=admin
    )
    with pytest.raises(settings.StaleSettings):
        settings.change_practitioner(
            first.id, details(clinic, name="Dr Rao-Smith"), fingerprint=stale, by=admin
        )
    db.session.rollback()
    assert db.session.get(Practitioner, first.id).name == "Dr Rao"


# --- time off and closures ------------------------------------------------------------------


def test_time_off_blocks_booking_lists_the_visits_inside_it_and_is_audited(clinic, admin):
    first = clinic.practitioners[0]
    visit = make_booking("consultation", TUESDAY_10, practitioner_id=first.id)
    off, inside = settings.add_time_off(
        first.id,
        TimeOffInput(TUESDAY, TUESDAY, time(9), time(12), reason="Training"),
        by=admin,
    )
    assert [v.id for v in inside] == [visit.id]
    assert (off.start_at, off.end_at) == (
        datetime(2026, 3, 3, 9, 0, tzinfo=UTC),
        datetime(2026, 3, 3, 12, 0, tzinfo=UTC),
    )
    offered = starts_on(TUESDAY, first.id)
    assert offered and min(offered) >= datetime(2026, 3, 3, 12, 0, tzinfo=UTC)
    (event,) = audit_rows("settings.time_off_added")
    assert event.changes["practitioner_id"] == [None, first.id]
    assert event.changes["start_at"] == [None, "2026-03-03T09:00:00+00:00"]
    assert event.changes["reason"] == [None, "Training"]

    settings.remove_time_off(first.id, off.id, by=admin)
    assert min(starts_on(TUESDAY, first.id)) < datetime(2026, 3, 3, 12, 0, tzinfo=UTC)
    (removed,) = audit_rows("settings.time_off_removed")
    assert removed.changes["end_at"] == ["2026-03-03T12:00:00+00:00", None]


def test_time_off_overlapping_time_off_already_recorded_is_refused(clinic, admin):
    first = clinic.practitioners[0]
    entry = TimeOffInput(TUESDAY, TUESDAY, whole_days=True)
    settings.add_time_off(first.id, entry, by=admin)
    with pytest.raises(settings.OverlappingTimeOff):
        settings.add_time_off(first.id, entry, by=admin)  # the form sent twice
    # Another practitioner's time off, and the location's closures, are other calendars.
    settings.add_time_off(clinic.practitioners[1].id, entry, by=admin)
    db.session.rollback()
    assert len(db.session.scalars(select(TimeOff)).all()) == 2


@pytest.mark.parametrize(
    ("entry", "field"),
    [
        (TimeOffInput(TUESDAY, TUESDAY, time(12), time(9)), "end_time"),
        (TimeOffInput(TUESDAY, TUESDAY - timedelta(days=1), whole_days=True), "end_day"),
        (TimeOffInput(date(2026, 2, 2), date(2026, 2, 3), whole_days=True), "end_day"),
        (TimeOffInput(TUESDAY, TUESDAY + timedelta(days=400), whole_days=True), "end_day"),
        (TimeOffInput(TUESDAY, TUESDAY, whole_days=True, reason="x" * 201), "reason"),
    ],
    ids=["ends-before-it-starts", "last-day-first", "in-the-past", "over-a-year", "long-reason"],
)
def test_time_off_that_cannot_be_is_a_field_error(clinic, admin, entry, field):
    with pytest.raises(ValidationFailed) as refused:
        settings.add_time_off(clinic.practitioners[0].id, entry, by=admin)
    assert field in refused.value.errors
    db.session.rollback()
    assert db.session.scalars(select(TimeOff)).all() == []


def test_time_off_is_removed_only_from_its_own_practitioner(clinic, admin):
    first, second = clinic.practitioners
    off = add_time_off(clinic.location, TUESDAY_10, TUESDAY_10 + timedelta(hours=2), first)
    closure = add_time_off(clinic.location, TUESDAY_10, TUESDAY_10 + timedelta(hours=2))
    with pytest.raises(NotFound):
        settings.remove_time_off(second.id, off.id, by=admin)
    with pytest.raises(NotFound):
        settings.remove_time_off(first.id, closure.id, by=admin)
    with pytest.raises(NotFound):
        settings.remove_closure(off.id, by=admin)
    settings.remove_time_off(first.id, off.id, by=admin)
    with pytest.raises(settings.StaleSettings):
        settings.remove_time_off(first.id, off.id, by=admin)
    db.session.rollback()
    assert [row.id for row in db.session.scalars(select(TimeOff))] == [closure.id]


def test_a_closure_on_the_spring_forward_day_closes_its_23_hours_for_everyone(clinic, admin, clock):
    clock.set(datetime(2026, 3, 20, 8, 0, tzinfo=UTC))
    spring = date(2026, 3, 29)  # a Sunday: give the practitioners Sunday hours first
    for member in clinic.practitioners:
        current = settings.practitioner(member.id)
        settings.replace_hours(
            member.id,
            week(sunday="00:00-23:55", monday="09:00-17:00"),
            fingerprint=settings.hours_fingerprint(current),
            by=admin,
        )
    assert starts_on(spring, clinic.practitioners[0].id)
    closure, inside = settings.add_closure(
        clinic.location.id, TimeOffInput(spring, spring, whole_days=True), by=admin
    )
    assert inside == []
    assert closure.end_at - closure.start_at == timedelta(hours=23)
    for member in clinic.practitioners:
        assert starts_on(spring, member.id) == []
        assert starts_on(spring + timedelta(days=1), member.id)  # Monday is open
    (event,) = audit_rows("settings.closure_added")
    assert event.changes["start_at"] == [None, "2026-03-29T00:00:00+00:00"]
    assert event.changes["end_at"] == [None, "2026-03-29T23:00:00+00:00"]
    assert "practitioner_id" not in event.changes

    settings.remove_closure(closure.id, by=admin)
    assert starts_on(spring, clinic.practitioners[0].id)
    assert len(audit_rows("settings.closure_removed")) == 1


def test_a_closure_on_the_autumn_day_lists_the_visits_inside_it(clinic, admin, clock):
    clock.set(datetime(2026, 10, 20, 8, 0, tzinfo=UTC))
    autumn = date(2026, 10, 25)  # Sunday
    for member in clinic.practitioners:
        current = settings.practitioner(member.id)
        settings.replace_hours(
            member.id,
            week(sunday="00:00-23:55"),
            fingerprint=settings.hours_fingerprint(current),
            by=admin,
        )
    # 01:30 GMT is the second 01:30 of the night, inside the 25-hour day.
    visit = make_booking("consultation", datetime(2026, 10, 25, 1, 30, tzinfo=UTC))
    closure, inside = settings.add_closure(
        clinic.location.id, TimeOffInput(autumn, autumn, whole_days=True), by=admin
    )
    assert closure.end_at - closure.start_at == timedelta(hours=25)
    assert [v.id for v in inside] == [visit.id]
    assert [entry.visits[0].id for entry in settings.upcoming_closures()] == [visit.id]


def test_a_closure_needs_a_real_location(clinic, admin):
    with pytest.raises(ValidationFailed) as refused:
        settings.add_closure(None, TimeOffInput(TUESDAY, TUESDAY, whole_days=True), by=admin)
    assert "location_id" in refused.value.errors


def test_time_off_sent_at_once_from_several_tabs_is_recorded_once(any_app, clinic, admin):
    """The overlap check and the insert run under one write lock, so racers cannot both pass
    the check: one records the time off, the others are told it overlaps."""
    first_id = clinic.practitioners[0].id
    racers = 6
    barrier = threading.Barrier(racers)
    outcomes: list = [None] * racers

    def run(index: int) -> None:
        with any_app.app_context():
            try:
                barrier.wait(timeout=30)
                outcomes[index] = settings.add_time_off(
                    first_id, TimeOffInput(TUESDAY, TUESDAY, whole_days=True), by=admin
                )
            except Exception as exc:
                outcomes[index] = exc
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(n,), daemon=True) for n in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    refused = [o for o in outcomes if isinstance(o, settings.OverlappingTimeOff)]
    assert len(refused) == racers - 1, outcomes
    db.session.rollback()
    assert len(db.session.scalars(select(TimeOff)).all()) == 1
    assert len(audit_rows("settings.time_off_added")) == 1
