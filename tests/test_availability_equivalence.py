"""The fast availability engine gives the reference engine's answers, slot for slot.

tests/reference_slots.py keeps the engine as it was before it worked on integer intervals: a
plain walk over every candidate start. These tests feed both the same random clinics (see
tests/random_clinics.py): first the pure engines directly, then find_slots reading the rows
from SQLite and PostgreSQL against the reference fed by the same rows. A failure names its
seed; ``random_engine_arguments(seed)`` or ``random_clinic_rows(seed)`` replays it alone.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from clinic.api.slot_json import availability_json
from clinic.booking import slots
from clinic.booking.models import Appointment
from clinic.booking.services import LONGEST_BLOCK, find_slots, policy
from clinic.booking.slots import (
    Interval,
    PractitionerCalendar,
    RoomCalendar,
    WorkingBlock,
    bookable_slots,
    local_day_bounds,
    slot_table,
)
from clinic.catalog.models import (
    Location,
    Practitioner,
    Room,
    Service,
    TimeOff,
    WorkingHours,
    practitioner_services,
)
from clinic.extensions import db
from clinic.patients.models import Patient
from tests.random_clinics import (
    RELEASED,
    ClinicRows,
    random_clinic_rows,
    random_engine_arguments,
)
from tests.reference_slots import reference_bookable_slots

PURE_CLINICS = 1_000
PURE_CHUNKS = 10
# The measure: 1,000 random clinics through SQLite, a few hundred through PostgreSQL.
DB_CLINICS = {"sqlite": 1_000, "postgresql": 300}
DB_CHUNKS = 10


@pytest.mark.parametrize("chunk", range(PURE_CHUNKS))
def test_engine_matches_the_reference_on_random_clinics(chunk):
    per_chunk = PURE_CLINICS // PURE_CHUNKS
    answered = 0
    for seed in range(chunk * per_chunk, (chunk + 1) * per_chunk):
        arguments = random_engine_arguments(seed)
        expected = reference_bookable_slots(**arguments)

        found = bookable_slots(**arguments)

        assert found == expected, f"seed {seed}"
        assert all(slot.start.tzinfo is UTC for slot in found), f"seed {seed}"
        answered += bool(expected)
    # The clinics must be worth comparing: most have free times, some have none.
    assert per_chunk * 0.3 <= answered < per_chunk


def test_engine_answers_the_same_with_its_day_layouts_kept_or_dropped(monkeypatch):
    """Each answer twice: once laying out its days, once from the kept layouts; and with a
    bound so small that layouts are dropped in the middle of answers."""
    for seed in range(100):
        arguments = random_engine_arguments(seed)
        expected = reference_bookable_slots(**arguments)
        assert bookable_slots(**arguments) == expected, f"seed {seed}"
        assert bookable_slots(**arguments) == expected, f"seed {seed}, kept layouts"
    monkeypatch.setattr(slots, "_STARTS_KEPT", 50)
    for seed in range(100, 200):
        arguments = random_engine_arguments(seed)
        assert bookable_slots(**arguments) == reference_bookable_slots(**arguments), f"seed {seed}"


@pytest.mark.parametrize("chunk", range(DB_CHUNKS))
@pytest.mark.parametrize("database", sorted(DB_CLINICS))
def test_find_slots_matches_the_reference_fed_the_same_rows(request, clock, database, chunk):
    request.getfixturevalue("app" if database == "sqlite" else "pg_app")
    per_chunk = DB_CLINICS[database] // DB_CHUNKS
    answered = 0
    for seed in range(chunk * per_chunk, (chunk + 1) * per_chunk):
        clinic = random_clinic_rows(seed)
        clock.set(clinic.now)
        try:
            insert(clinic)
            expected = reference_answer(clinic)

            found = find_slots(
                db.session.get(Service, clinic.services[0]["id"]),
                clinic.first_day,
                clinic.last_day,
                practitioner_id=clinic.practitioner_id,
                patient=db.session.get(Patient, clinic.patient_id) if clinic.patient_id else None,
                ignore_appointment_id=clinic.ignore_appointment_id,
                source=clinic.source,
            )
        finally:
            # Every clinic lives only in this transaction: the next starts from empty tables.
            db.session.rollback()
            db.session.expunge_all()

        assert found == expected, f"seed {seed}"
        answered += bool(expected)
    assert per_chunk * 0.1 <= answered < per_chunk


COMMITTED_CLINICS = {"sqlite": 40, "postgresql": 40}


@pytest.mark.parametrize("database", sorted(COMMITTED_CLINICS))
def test_find_slots_outside_a_transaction_matches_the_reference(request, clock, database):
    """Committed rows read with no session transaction open: the one statement runs on a DBAPI
    cursor and the set-up comes from the process's catalog copy, which every clinic replaces
    (same ids, new hours and rooms), so a stale copy would show."""
    request.getfixturevalue("app" if database == "sqlite" else "pg_app")
    answered = 0
    for seed in range(COMMITTED_CLINICS[database]):
        clinic = random_clinic_rows(seed)
        clock.set(clinic.now)
        insert(clinic)
        db.session.commit()
        try:
            expected = reference_answer(clinic)
            service = db.session.get(Service, clinic.services[0]["id"])
            patient = db.session.get(Patient, clinic.patient_id) if clinic.patient_id else None
            # Detached with what find_slots reads of them loaded, so no transaction is open
            # while the free times are read.
            db.session.expunge_all()
            db.session.rollback()
            assert not db.session().in_transaction()

            found = find_slots(
                service,
                clinic.first_day,
                clinic.last_day,
                practitioner_id=clinic.practitioner_id,
                patient=patient,
                ignore_appointment_id=clinic.ignore_appointment_id,
                source=clinic.source,
            )
        finally:
            db.session.rollback()
            delete_all()

        assert found == expected, f"seed {seed}"
        answered += bool(expected)
    assert answered >= COMMITTED_CLINICS[database] * 0.1


def delete_all() -> None:
    for table in (
        TimeOff.__table__,
        Appointment.__table__,
        Patient.__table__,
        Room.__table__,
        WorkingHours.__table__,
        practitioner_services,
        Practitioner.__table__,
        Service.__table__,
        Location.__table__,
    ):
        db.session.execute(sa.delete(table))
    db.session.commit()
    db.session.expunge_all()


def insert(clinic: ClinicRows) -> None:
    for table, rows in (
        (Location.__table__, clinic.locations),
        (Service.__table__, clinic.services),
        (Practitioner.__table__, clinic.practitioners),
        (practitioner_services, clinic.offers),
        (WorkingHours.__table__, clinic.working_hours),
        (Room.__table__, clinic.rooms),
        (Patient.__table__, clinic.patients),
        (Appointment.__table__, clinic.appointments),
        (TimeOff.__table__, clinic.time_off),
    ):
        if rows:
            db.session.execute(sa.insert(table), rows)


def reference_answer(clinic: ClinicRows):
    """What the old find_slots computed from these rows: per location, its window's visits,
    time off and rooms, through the reference engine."""
    service = clinic.services[0]
    offering = {offer["practitioner_id"] for offer in clinic.offers}
    staff = sorted(
        (p for p in clinic.practitioners if p["active"] and p["id"] in offering),
        key=lambda p: p["id"],
    )
    if clinic.practitioner_id is not None:
        staff = [p for p in staff if p["id"] == clinic.practitioner_id]
    by_location = defaultdict(list)
    for practitioner in staff:
        by_location[practitioner["location_id"]].append(practitioner)
    rules = policy(clinic.source)
    slots = []
    for location_id, members in by_location.items():
        location = next(loc for loc in clinic.locations if loc["id"] == location_id)
        tz = ZoneInfo(location["timezone"])
        window = Interval(
            local_day_bounds(clinic.first_day, tz).start,
            local_day_bounds(clinic.last_day, tz).end,
        )
        active = [
            a
            for a in clinic.appointments
            if a["location_id"] == location_id
            and a["status"] not in RELEASED
            and a["id"] != clinic.ignore_appointment_id
            and window.start - LONGEST_BLOCK <= a["start_at"] < window.end
        ]
        time_off = [
            t
            for t in clinic.time_off
            if t["location_id"] == location_id
            and t["end_at"] > window.start
            and t["start_at"] < window.end
        ]
        reach = timedelta(days=rules.needling_gap_days + 1)
        needling_starts = [
            a["start_at"]
            for a in clinic.appointments
            if clinic.patient_id is not None
            and a["patient_id"] == clinic.patient_id
            and a["needles"]
            and a["status"] not in RELEASED
            and a["id"] != clinic.ignore_appointment_id
            and window.start - reach <= a["start_at"] < window.end + reach
        ]
        slots += reference_bookable_slots(
            now=clinic.now,
            tz=tz,
            first_day=clinic.first_day,
            last_day=clinic.last_day,
            duration=timedelta(minutes=service["duration_minutes"]),
            buffer_after=timedelta(minutes=service["buffer_after_minutes"]),
            practitioners=[
                PractitionerCalendar(
                    practitioner_id=p["id"],
                    working=tuple(
                        WorkingBlock(h["weekday"], h["start_time"], h["end_time"])
                        for h in clinic.working_hours
                        if h["practitioner_id"] == p["id"]
                    ),
                    busy=tuple(
                        Interval(a["start_at"], a["blocked_until"])
                        for a in active
                        if a["practitioner_id"] == p["id"]
                    )
                    + tuple(
                        Interval(t["start_at"], t["end_at"])
                        for t in time_off
                        if t["practitioner_id"] == p["id"]
                    ),
                )
                for p in members
            ],
            rooms=[
                RoomCalendar(
                    r["id"],
                    tuple(
                        Interval(a["start_at"], a["blocked_until"])
                        for a in active
                        if a["room_id"] == r["id"]
                    ),
                )
                for r in sorted(clinic.rooms, key=lambda r: r["id"])
                if r["location_id"] == location_id and r["active"]
            ],
            closures=[
                Interval(t["start_at"], t["end_at"])
                for t in time_off
                if t["practitioner_id"] is None
            ],
            policy=rules,
            needling=bool(service["needles"]),
            patient_needling_starts=needling_starts,
        )
    return sorted(slots, key=lambda slot: (slot.start, slot.practitioner_id))


@pytest.mark.parametrize("chunk", range(4))
def test_availability_json_is_what_the_json_provider_writes(app, chunk):
    """The API writes its availability JSON by hand from the table; the bytes must be the ones
    Flask's provider writes for the same answer built as dicts of aware datetimes."""
    written = 0
    for seed in range(chunk * 100, (chunk + 1) * 100):
        arguments = random_engine_arguments(seed)
        table = slot_table(**arguments)
        zone = arguments["tz"]
        # Some practitioners are shown in another zone, as at a second location.
        zones = {
            pid: (zone if pid % 3 else ZoneInfo("Australia/Lord_Howe"))
            for pid in table.practitioner_ids
        }
        expected = app.json.dumps(
            {
                "service": "micro\u00e9needling",
                "time_zone": zone.key,
                "slots": [
                    {
                        "start": slot.start.astimezone(zones[slot.practitioner_id]).isoformat(),
                        "end": slot.end.astimezone(zones[slot.practitioner_id]).isoformat(),
                        "practitioner_id": slot.practitioner_id,
                    }
                    for slot in table.slots()
                ],
            }
        )

        body = availability_json("micro\u00e9needling", zone.key, table, zones, zone)

        assert body == expected, f"seed {seed}"
        written += len(table)
    assert written > 0
