"""Concurrent bookings never double-book a practitioner or a room, on SQLite and PostgreSQL.

Each racer runs in its own thread and app context (so its own session and connection), and a
barrier releases them together so their check-then-insert sequences really interleave.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import threading
import time
import urllib.error
import urllib.request
from datetime import UTC, date, datetime, timedelta
from itertools import combinations

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from werkzeug.serving import make_server

from clinic.booking.models import RELEASED_STATUSES, Appointment, AppointmentStatus
from clinic.booking.services import PatientDetails, find_slots
from clinic.consent import texts as consent_texts
from clinic.errors import SlotUnavailable
from clinic.extensions import db
from clinic.patients.models import Patient
from clinic.visits import lifecycle
from tests.factories import all_no, make_booking, make_clinic
from tests.helpers import START

RACERS = 24
# Tuesday 3 March 2026, 10:00 in London (GMT, so also 10:00 UTC): a day after the frozen clock.
SLOT = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)
# 45-minute microneedling + 15-minute buffer: starts 15 minutes apart overlap their neighbours.
BLOCK = timedelta(minutes=45 + 15)
OVERLAPPING_STARTS = [SLOT + timedelta(minutes=15 * n) for n in range(RACERS)]


def details(n: int) -> PatientDetails:
    return PatientDetails(
        full_name=f"Racer {n}",
        phone=f"+4479111{n:05d}",
        email=f"racer{n}@example.com",
        date_of_birth=date(1980, 1, 1) + timedelta(days=n),
    )


def race(app, jobs):
    """Run every job in its own thread and app context, released at once; return the outcomes.

    An outcome is the job's return value or the exception it raised.
    """
    barrier = threading.Barrier(len(jobs))
    outcomes: list = [None] * len(jobs)

    def run(index, job):
        with app.app_context():
            try:
                barrier.wait(timeout=30)
                outcomes[index] = job()
            except Exception as exc:
                outcomes[index] = exc

    threads = [threading.Thread(target=run, args=pair, daemon=True) for pair in enumerate(jobs)]
    start_and_join(threads)
    return outcomes


def start_and_join(threads: list[threading.Thread], seconds: float = 120) -> None:
    """Start the threads and wait for all of them, for ``seconds`` in total."""
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + seconds
    for thread in threads:
        thread.join(timeout=max(0.0, deadline - time.monotonic()))
    assert not any(thread.is_alive() for thread in threads), "a racer hung"


def booking_job(start: datetime, n: int):
    def job():
        # As a patient online books: screening answered all "no", consent signed.
        return make_booking("microneedling", start, patient=details(n)).id

    return job


def active_appointments() -> list[Appointment]:
    # End this session's read transaction: under SQLite's WAL it is a snapshot taken before the
    # racers committed.
    db.session.rollback()
    query = select(Appointment).where(Appointment.status.not_in(RELEASED_STATUSES))
    return list(db.session.scalars(query.order_by(Appointment.start_at)))


def assert_no_overlaps(appointments: list[Appointment]) -> None:
    for a, b in combinations(appointments, 2):
        shares = a.practitioner_id == b.practitioner_id or a.room_id == b.room_id
        overlap = a.start_at < b.blocked_until and b.start_at < a.blocked_until
        assert not (shares and overlap), f"double booking: {a.start_at} and {b.start_at}"


def overlaps_any(start: datetime, appointments: list[Appointment]) -> bool:
    blocked_until = start + BLOCK
    return any(a.start_at < blocked_until and start < a.blocked_until for a in appointments)


def assert_all_starts_free(clinic) -> None:
    """Guards the races below: each start must be bookable on its own, before anyone books."""
    free = {
        slot.start
        for slot in find_slots(clinic.services["microneedling"], SLOT.date(), SLOT.date())
    }
    assert set(OVERLAPPING_STARTS) <= free


# --- through the booking service ------------------------------------------------------------


def test_racers_for_one_slot_leave_one_booking_and_no_stray_patients(any_app):
    make_clinic(practitioners=1, rooms=1)

    outcomes = race(any_app, [booking_job(SLOT, n) for n in range(RACERS)])

    winners = [o for o in outcomes if isinstance(o, int)]
    losers = [o for o in outcomes if not isinstance(o, int)]
    assert len(winners) == 1, outcomes
    assert all(type(o) is SlotUnavailable for o in losers), losers
    booked = active_appointments()
    assert [a.id for a in booked] == winners
    assert booked[0].start_at == SLOT
    assert db.session.scalar(select(func.count()).select_from(Appointment)) == 1
    # Losers' patient rows were written inside the failed transaction and rolled back with it.
    assert db.session.scalar(select(func.count()).select_from(Patient)) == 1
    assert db.session.scalar(select(Patient.id)) == booked[0].patient_id


def test_racers_for_overlapping_slots_never_overlap(any_app):
    clinic = make_clinic(practitioners=1, rooms=1)
    assert_all_starts_free(clinic)

    jobs = [booking_job(start, n) for n, start in enumerate(OVERLAPPING_STARTS)]
    outcomes = race(any_app, jobs)

    winners = [o for o in outcomes if isinstance(o, int)]
    losers = [o for o in outcomes if not isinstance(o, int)]
    assert all(type(o) is SlotUnavailable for o in losers), losers
    booked = active_appointments()
    assert sorted(a.id for a in booked) == sorted(winners)
    assert_no_overlaps(booked)
    # Nobody was turned away for nothing: each refused start collides with a booked visit.
    for start, outcome in zip(OVERLAPPING_STARTS, outcomes, strict=True):
        if not isinstance(outcome, int):
            assert overlaps_any(start, booked), f"{start} was refused but is free"
    # 1 practitioner, 1 room, 60-minute blocks between 10:00 and 16:45: at most 6 fit.
    assert 1 <= len(winners) <= 6


# --- through the HTTP API on a real threaded server ------------------------------------------


@contextlib.contextmanager
def serving(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


def booking_body(start: datetime, n: int, screening: dict[str, bool]) -> dict:
    """A complete online booking: health answers all "no" and the current consent signed."""
    patient = details(n)
    return {
        "service": "microneedling",
        "start": start.isoformat(),
        "patient": {
            "full_name": patient.full_name,
            "phone": patient.phone,
            "email": patient.email,
            "date_of_birth": patient.date_of_birth.isoformat(),
        },
        "sms_opt_in": False,
        "screening": screening,
        "consent": {
            "version": consent_texts.BUILT_IN.version,
            "signed_name": patient.full_name,
            "agree": True,
            "photos": False,
        },
    }


def post_booking(base_url: str, body: dict):
    """POST one booking; return (status, JSON body)."""
    request = urllib.request.Request(
        f"{base_url}/api/v1/bookings",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Accept": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, json.loads(exc.read() or b"null")


def http_race(app, starts: list[datetime]):
    """Every start POSTed at once from its own thread; return [(status, body)] in order."""
    screening = all_no("microneedling")
    with serving(app) as base_url:
        barrier = threading.Barrier(len(starts))
        results: list = [None] * len(starts)

        def run(n, start):
            try:
                barrier.wait(timeout=30)
                results[n] = post_booking(base_url, booking_body(start, n, screening))
            except Exception as exc:
                results[n] = (None, repr(exc))

        threads = [
            threading.Thread(target=run, args=pair, daemon=True) for pair in enumerate(starts)
        ]
        start_and_join(threads)
    return results


def test_http_racers_for_one_slot_get_one_201_and_409s(any_app):
    make_clinic(practitioners=1, rooms=1)

    results = http_race(any_app, [SLOT] * RACERS)

    statuses = sorted(status for status, _ in results)
    assert statuses == [201] + [409] * (RACERS - 1), results
    assert all(body["error"] == "slot_unavailable" for status, body in results if status == 409)
    booked = active_appointments()
    assert len(booked) == 1
    assert booked[0].start_at == SLOT
    assert db.session.scalar(select(func.count()).select_from(Appointment)) == 1
    assert db.session.scalar(select(func.count()).select_from(Patient)) == 1


def test_http_racers_for_overlapping_slots_never_overlap(any_app):
    clinic = make_clinic(practitioners=1, rooms=1)
    assert_all_starts_free(clinic)

    results = http_race(any_app, OVERLAPPING_STARTS)

    statuses = [status for status, _ in results]
    assert set(statuses) <= {201, 409}, results
    booked = active_appointments()
    assert len(booked) == statuses.count(201)
    assert_no_overlaps(booked)
    for start, status in zip(OVERLAPPING_STARTS, statuses, strict=True):
        if status == 409:
            assert overlaps_any(start, booked), f"{start} was refused but is free"


# --- the database's own guard (PostgreSQL) ---------------------------------------------------


def raw_appointment(clinic, patient, start, *, practitioner, room, status=AppointmentStatus.BOOKED):
    """An appointment row written straight through the ORM, bypassing the booking service (and
    the lifecycle, as a data import would)."""
    service = clinic.services["microneedling"]
    with lifecycle.importing_history():
        return _row(clinic, patient, start, practitioner, room, status, service)


def _row(clinic, patient, start, practitioner, room, status, service):
    return Appointment(
        patient=patient,
        service=service,
        practitioner_id=practitioner.id,
        room_id=room.id,
        location_id=clinic.location.id,
        start_at=start,
        end_at=start + timedelta(minutes=service.duration_minutes),
        blocked_until=start
        + timedelta(minutes=service.duration_minutes + service.buffer_after_minutes),
        status=status,
        source="desk",
        needles=True,
        manage_key=secrets.token_hex(16),
        created_at=START,
        updated_at=START,
    )


def raw_patient():
    patient = Patient(
        full_name="Direct Write",
        phone="+447911100000",
        date_of_birth=date(1980, 1, 1),
        created_at=START,
    )
    db.session.add(patient)
    db.session.commit()
    return patient


@pytest.mark.postgres
@pytest.mark.parametrize("shared", ["practitioner", "room"])
def test_postgres_refuses_overlapping_rows_written_past_the_service(pg_app, shared):
    # Share only the resource under test, so only its exclusion constraint can fire.
    clinic = make_clinic(practitioners=2, rooms=2)
    patient = raw_patient()
    p1, p2 = clinic.practitioners
    r1, r2 = clinic.rooms
    second = (
        dict(practitioner=p1, room=r2)
        if shared == "practitioner"
        else dict(practitioner=p2, room=r1)
    )
    db.session.add(raw_appointment(clinic, patient, SLOT, practitioner=p1, room=r1))
    db.session.commit()

    db.session.add(raw_appointment(clinic, patient, SLOT + timedelta(minutes=30), **second))
    with pytest.raises(IntegrityError) as refused:
        db.session.flush()
    db.session.rollback()

    assert refused.value.orig.diag.constraint_name == f"appointment_{shared}_id_no_overlap"
    assert len(active_appointments()) == 1


@pytest.mark.postgres
def test_postgres_lets_released_and_back_to_back_rows_share_time(pg_app):
    clinic = make_clinic(practitioners=1, rooms=1)
    patient = raw_patient()
    chair = dict(practitioner=clinic.practitioners[0], room=clinic.rooms[0])
    db.session.add_all(
        [
            raw_appointment(clinic, patient, SLOT, **chair),
            raw_appointment(clinic, patient, SLOT, status=AppointmentStatus.CANCELLED, **chair),
            raw_appointment(clinic, patient, SLOT, status=AppointmentStatus.NO_SHOW, **chair),
            # Blocks are half-open: the next visit may start the minute the buffer ends.
            raw_appointment(clinic, patient, SLOT + timedelta(minutes=60), **chair),
        ]
    )
    db.session.commit()

    assert len(active_appointments()) == 2
