"""seed-demo: a believable clinic whose diary obeys the same rules as real bookings."""

from __future__ import annotations

import os
import re
import shutil
import stat
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import phonenumbers
import pytest
from sqlalchemy import func, select

from clinic import create_app
from clinic.booking.models import RELEASED_STATUSES, Appointment, AppointmentStatus
from clinic.catalog.models import Location, Practitioner, Room, Service, TimeOff
from clinic.clock import FrozenClock
from clinic.consent.models import SignedConsent
from clinic.courses.models import Course
from clinic.demo.seed import england_bank_holidays, next_bank_holiday
from clinic.extensions import db as _db
from clinic.patients.models import Patient
from clinic.screening.models import ReviewStatus, Screening
from clinic.screening.services import review_queue
from clinic.sms.dispatch import dispatch_pass
from clinic.sms.models import OutboundText, TextStatus
from clinic.staff.models import StaffUser
from clinic.visits.models import SessionRecord
from tests.helpers import START, copy_sqlite_template, make_app, seal_sqlite

DEMO_PASSWORD = "demo password 2026"
LONDON = ZoneInfo("Europe/London")


@pytest.fixture
def app_config(tmp_path):
    return {"DEMO_PASSWORD": DEMO_PASSWORD, "DEMO_LOGINS_FILE": str(tmp_path / "demo-logins.txt")}


@pytest.fixture(scope="module")
def seeded_once(tmp_path_factory, sqlite_template):
    """seed-demo run once for this module, as the ``seeded`` tests' app would run it: the same
    settings and the same frozen start. Seeding takes seconds, copying its result none."""
    folder = tmp_path_factory.mktemp("seeded")
    config = {"DEMO_PASSWORD": DEMO_PASSWORD, "DEMO_LOGINS_FILE": str(folder / "demo-logins.txt")}
    app = make_app(
        copy_sqlite_template(sqlite_template, folder), FrozenClock(START), folder, **config
    )
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["seed-demo"])
        _db.session.remove()
        _db.engine.dispose()
    assert result.exit_code == 0, result.output
    seal_sqlite(folder / "test.sqlite")
    return folder, result


@pytest.fixture
def seeded(seeded_once, app):
    """The test's database and logins file replaced by the seeded ones; seed-demo's result."""
    folder, result = seeded_once
    database = Path(_db.engine.url.database)
    # No connection may stay open on the file being replaced.
    _db.session.remove()
    _db.engine.dispose()
    for leftover in ("-wal", "-shm"):
        database.with_name(database.name + leftover).unlink(missing_ok=True)
    shutil.copyfile(folder / "test.sqlite", database)
    shutil.copy(folder / "demo-logins.txt", app.config["DEMO_LOGINS_FILE"])
    return result


def count(db, model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def counts(db) -> dict[str, int]:
    models = (Location, Practitioner, Room, Service, StaffUser, Patient, Appointment, TimeOff)
    return {model.__name__: count(db, model) for model in models}


def test_seed_builds_one_believable_clinic(seeded, db, app):
    (location,) = db.session.scalars(select(Location)).all()
    assert location.name == app.config["CLINIC_NAME"]
    assert location.phone == app.config["CLINIC_PHONE"]
    assert location.timezone == "Europe/London"
    assert location.address
    assert count(db, Practitioner) == 3
    assert count(db, Room) == 2
    services = {s.slug: s for s in db.session.scalars(select(Service))}
    assert {
        slug: (s.duration_minutes, s.buffer_after_minutes, s.needles, s.ingredients)
        for slug, s in services.items()
    } == {
        "consultation": (20, 0, False, ()),
        "microneedling": (45, 15, True, ("numbing", "minoxidil")),
        "microneedling-prp": (75, 15, True, ("numbing", "prp")),
        "microneedling-steroid": (45, 15, True, ("numbing", "steroid")),
    }
    assert all(s.price_pence > 0 and s.bookable_online for s in services.values())
    skills = [{s.slug for s in p.services} for p in db.session.scalars(select(Practitioner))]
    assert any("microneedling-prp" not in own for own in skills)
    hours = [{h.weekday for h in p.working_hours} for p in db.session.scalars(select(Practitioner))]
    assert len({frozenset(days) for days in hours}) == 3  # nobody shares a week pattern


def test_seed_adds_a_bank_holiday_closure_and_some_leave(seeded, db):
    entries = db.session.scalars(select(TimeOff)).all()
    closures = [e for e in entries if e.practitioner_id is None]
    leave = [e for e in entries if e.practitioner_id is not None]
    assert len(closures) == 1 and len(leave) == 1
    assert closures[0].start_at.astimezone(LONDON).date() == date(2026, 4, 3)  # Good Friday
    assert "Bank holiday" in closures[0].reason


def test_demo_staff_sign_in_with_the_demo_password(seeded, app, db):
    accounts = {u.email: u for u in db.session.scalars(select(StaffUser))}
    assert {email: u.role for email, u in accounts.items()} == {
        "admin@example.com": "admin",
        "desk@example.com": "desk",
        "practitioner@example.com": "practitioner",
    }
    first = db.session.scalars(select(Practitioner).order_by(Practitioner.id)).first()
    assert accounts["practitioner@example.com"].practitioner_id == first.id
    for email in accounts:
        client = app.test_client()
        page = client.get("/login").get_data(as_text=True)
        token = re.search(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        response = client.post(
            "/login", data={"email": email, "password": DEMO_PASSWORD, "csrf_token": token}
        )
        assert response.headers["Location"] == "/desk", email
        assert client.get("/desk").status_code == 200


def test_seed_prints_the_address_and_the_three_logins(seeded):
    assert "http://clinic.test/login" in seeded.output
    for email in ("admin@example.com", "desk@example.com", "practitioner@example.com"):
        assert re.search(rf"{re.escape(email)}\s+password: {DEMO_PASSWORD}", seeded.output)


def test_seeded_diary_never_double_books_a_practitioner_or_a_room(seeded, db):
    appointments = db.session.scalars(select(Appointment)).all()
    assert len(appointments) > 60
    by_practitioner, by_room = defaultdict(list), defaultdict(list)
    for appt in appointments:
        if appt.status not in RELEASED_STATUSES:
            by_practitioner[appt.practitioner_id].append((appt.start_at, appt.blocked_until))
            by_room[appt.room_id].append((appt.start_at, appt.blocked_until))
    for diary in (*by_practitioner.values(), *by_room.values()):
        diary.sort()
        for (_, blocked_until), (next_start, _) in zip(diary, diary[1:], strict=False):
            assert blocked_until <= next_start


def test_seeded_diary_keeps_to_hours_skills_closures_and_the_needling_gap(seeded, db):
    closures = db.session.scalars(select(TimeOff)).all()
    needling = defaultdict(list)
    for appt in db.session.scalars(select(Appointment)):
        start, until = appt.start_at.astimezone(LONDON), appt.blocked_until.astimezone(LONDON)
        blocks = [h for h in appt.practitioner.working_hours if h.weekday == start.weekday()]
        assert any(h.start_time <= start.time() and until.time() <= h.end_time for h in blocks)
        assert appt.service in appt.practitioner.services
        assert appt.end_at == appt.start_at + timedelta(minutes=appt.service.duration_minutes)
        if appt.status in RELEASED_STATUSES:
            continue
        for entry in closures:
            if entry.practitioner_id in (None, appt.practitioner_id):
                assert appt.blocked_until <= entry.start_at or appt.start_at >= entry.end_at
        if appt.needles:
            needling[appt.patient_id].append(start.date())
    for days in needling.values():
        days.sort()
        assert all((b - a).days >= 7 for a, b in zip(days, days[1:], strict=False))


def test_seeded_diary_has_a_past_and_a_future(seeded, db, clock):
    now = clock.now()
    appointments = db.session.scalars(select(Appointment)).all()
    past = [a for a in appointments if a.end_at <= now]
    future = [a for a in appointments if a.start_at > now]
    assert {a.status for a in past} >= {AppointmentStatus.COMPLETED, AppointmentStatus.CANCELLED}
    assert {a.status for a in past} <= {
        AppointmentStatus.COMPLETED,
        AppointmentStatus.NO_SHOW,
        AppointmentStatus.CANCELLED,
    }
    assert min(a.start_at for a in past) < now - timedelta(days=14)
    assert max(a.start_at for a in future) > now + timedelta(days=21)
    today = now.astimezone(LONDON).date()
    assert any(a.start_at.astimezone(LONDON).date() == today for a in future)
    # Past the booking notice the diary was filled through the booking service, by the desk,
    # apart from the online bookings held for clinical review.
    booked = [a for a in future if a.start_at >= now + timedelta(hours=2)]
    assert len(booked) > 30
    assert {a.source for a in booked if a.status != AppointmentStatus.NEEDS_REVIEW} == {"desk"}
    assert {a.source for a in booked if a.status == AppointmentStatus.NEEDS_REVIEW} == {"online"}


def test_demo_patients_have_numbers_reserved_for_fiction(seeded, db):
    patients = db.session.scalars(select(Patient)).all()
    assert len(patients) >= 30
    for patient in patients:
        # 07700 900000 to 07700 900999: Ofcom's range for drama, which reaches nobody.
        assert re.fullmatch(r"\+447700900[0-9]{3}", patient.phone), patient.phone
        assert not phonenumbers.is_valid_number(phonenumbers.parse(patient.phone))
    assert len({patient.phone for patient in patients}) == len(patients)


def test_seed_leaves_no_text_already_due(seeded, db, clock):
    now = clock.now()
    statuses = dict(
        db.session.execute(
            select(OutboundText.status, func.count()).group_by(OutboundText.status)
        ).all()
    )
    due = db.session.scalar(
        select(func.count()).where(
            OutboundText.status == TextStatus.PENDING, OutboundText.send_at <= now
        )
    )
    assert due == 0
    # The history's texts that came due are kept, marked; the future's still wait their time.
    retired = db.session.scalar(
        select(func.count()).where(OutboundText.error_message == "demo history")
    )
    assert retired > 0
    assert statuses[TextStatus.SKIPPED] >= retired
    assert statuses[TextStatus.PENDING] > 0
    assert dispatch_pass().counts.get("sent", 0) == 0


def test_seed_again_with_if_empty_changes_nothing_and_reprints_the_logins(seeded, runner, db):
    before = counts(db)
    again = runner.invoke(args=["seed-demo", "--if-empty"])
    assert again.exit_code == 0, again.output
    assert counts(db) == before
    assert "already set up" in again.output
    assert "http://clinic.test/login" in again.output
    for email in ("admin@example.com", "desk@example.com", "practitioner@example.com"):
        assert re.search(rf"{re.escape(email)}\s+password: {DEMO_PASSWORD}", again.output)


def test_seed_without_if_empty_refuses_a_used_database(seeded, runner, db):
    before = counts(db)
    again = runner.invoke(args=["seed-demo"])
    assert again.exit_code == 1
    assert "already holds a clinic" in again.output
    assert counts(db) == before


@pytest.mark.postgres
def test_seeded_diary_passes_postgresqls_overlap_constraints(pg_app, db):
    # PostgreSQL's exclusion constraints refuse any overlapping active appointments, including
    # the ones the seed writes directly rather than through the booking service.
    result = pg_app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    assert count(db, Appointment) > 60
    assert count(db, StaffUser) == 3


def diary(db) -> list[tuple]:
    return [
        (a.start_at, a.practitioner_id, a.room_id, a.service_id, a.status, a.patient.full_name)
        for a in db.session.scalars(select(Appointment).order_by(Appointment.id))
    ]


def test_seed_is_reproducible_for_the_same_day(seeded, app, db, tmp_path, sqlite_template):
    other = create_app(
        {
            **{key: app.config[key] for key in ("TESTING", "SECRET_KEY", "PUBLIC_BASE_URL")},
            **{key: app.config[key] for key in ("CLOCK", "CLINIC_TIMEZONE", "DEMO_PASSWORD")},
            "SQLALCHEMY_DATABASE_URI": copy_sqlite_template(
                sqlite_template, tmp_path, "again.sqlite"
            ),
            "DEMO_LOGINS_FILE": str(tmp_path / "again.txt"),
        }
    )
    with other.app_context():
        assert other.test_cli_runner().invoke(args=["seed-demo"]).exit_code == 0
        second = diary(db)
        db.session.remove()
        db.engine.dispose()
    assert diary(db) == second


# --- without DEMO_PASSWORD ----------------------------------------------------------------


@pytest.fixture
def generated_password_app(app):
    app.config["DEMO_PASSWORD"] = None
    return app


def test_generated_password_is_kept_private_and_reprinted(generated_password_app, runner, db):
    path = generated_password_app.config["DEMO_LOGINS_FILE"]
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    password = re.search(r"admin@example\.com\s+password: (\S+)", first.output).group(1)
    assert len(password) >= 12
    assert db.session.scalar(select(StaffUser)).check_password(password)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    again = runner.invoke(args=["seed-demo", "--if-empty"])
    assert f"password: {password}" in again.output


def test_too_short_demo_password_leaves_the_database_empty(app, runner, db):
    app.config["DEMO_PASSWORD"] = "short"
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 1
    assert "at least 12 characters" in result.output
    assert count(db, Location) == 0
    assert not os.path.exists(app.config["DEMO_LOGINS_FILE"])


def test_if_empty_on_an_unseeded_clinic_without_logins_says_how_to_get_in(app, runner, db):
    db.session.add(Location(name="Elsewhere", phone="+44 20 7946 0000", timezone="Europe/London"))
    db.session.commit()
    result = runner.invoke(args=["seed-demo", "--if-empty"])
    assert result.exit_code == 0
    assert "create-staff" in result.output
    assert count(db, StaffUser) == 0


@pytest.mark.parametrize("setting", ["TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"])
def test_seed_refuses_with_twilio_credentials(app, runner, db, setting):
    app.config[setting] = "AC0123456789abcdef0123456789abcdef"
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 1
    assert "Twilio credentials are set" in result.output
    assert "--allow-texts" in result.output
    assert count(db, Location) == 0
    assert count(db, Patient) == 0


def test_allow_texts_lets_the_seed_run_with_twilio_credentials(app, runner, db):
    app.config["TWILIO_ACCOUNT_SID"] = "AC0123456789abcdef0123456789abcdef"
    app.config["TWILIO_AUTH_TOKEN"] = "secret"
    db.session.add(Location(name="Elsewhere", phone="+44 20 7946 0000", timezone="Europe/London"))
    db.session.commit()
    # --if-empty on a used database: past the credentials check, with no seeding to wait for.
    result = runner.invoke(args=["seed-demo", "--if-empty", "--allow-texts"])
    assert result.exit_code == 0, result.output
    assert "Twilio" not in result.output


# --- bank holidays ------------------------------------------------------------------------


def test_bank_holidays_follow_the_england_and_wales_rules():
    assert [day for day, _ in england_bank_holidays(2026)] == [
        date(2026, 1, 1),
        date(2026, 4, 3),
        date(2026, 4, 6),
        date(2026, 5, 4),
        date(2026, 5, 25),
        date(2026, 8, 31),
        date(2026, 12, 25),
        date(2026, 12, 28),  # Boxing Day falls on a Saturday
    ]
    # Christmas Day on a Sunday: Boxing Day keeps the Monday, Christmas moves to the Tuesday.
    assert england_bank_holidays(2022)[-2:] == [
        (date(2022, 12, 26), "Boxing Day"),
        (date(2022, 12, 27), "Christmas Day (substitute day)"),
    ]
    assert next_bank_holiday(date(2026, 12, 28)) == (date(2027, 1, 1), "New Year's Day")


# --- screening, consent, session records and courses -------------------------------------


def sign_in_as(app, email: str):
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    client.post("/login", data={"email": email, "password": DEMO_PASSWORD, "csrf_token": token})
    return client


def test_seed_holds_two_online_bookings_for_review_one_of_them_soon(seeded, db, clock, app):
    queue = review_queue()
    assert len(queue) == 2
    held = [db.session.get(Appointment, s.appointment_id) for s in queue]
    assert {(a.status, a.source) for a in held} == {("needs_review", "online")}
    assert all(s.flagged and s.outcome == "review" for s in queue)
    hours = app.config["REVIEW_WARNING_HOURS"]
    soon = [a for a in held if a.start_at <= clock.now() + timedelta(hours=hours)]
    assert len(soon) == 1
    # Each came with the patient's signature, as an online booking must.
    for appointment in held:
        assert db.session.scalar(
            select(SignedConsent).where(SignedConsent.appointment_id == appointment.id)
        )
    desk = sign_in_as(app, "desk@example.com").get("/desk").get_data(as_text=True)
    assert "1 booking in the next 48 hours still needs clinical review" in desk
    assert soon[0].patient.full_name in desk


def test_seed_books_a_course_of_six_sessions_every_four_weeks(seeded, db):
    (course,) = db.session.scalars(select(Course)).all()
    assert (course.template_key, course.sessions_planned) == ("four-weekly-6", 6)
    sessions = db.session.scalars(
        select(Appointment).where(Appointment.course_id == course.id).order_by(Appointment.start_at)
    ).all()
    assert [s.course_position for s in sessions] == [1, 2, 3, 4, 5, 6]
    days = [s.start_at.astimezone(LONDON).date() for s in sessions]
    assert all((b - a).days == 28 for a, b in zip(days, days[1:], strict=False))
    assert {s.patient_id for s in sessions} == {course.patient_id}
    assert {s.status for s in sessions} == {"booked"}
    assert db.session.scalar(select(SignedConsent).where(SignedConsent.course_id == course.id))


def test_seeded_treatments_held_so_far_have_their_clinical_record(seeded, db):
    completed = db.session.scalars(
        select(Appointment).where(
            Appointment.status == AppointmentStatus.COMPLETED, Appointment.needles
        )
    ).all()
    assert len(completed) > 20
    for appointment in completed:
        screening = db.session.scalar(
            select(Screening).where(Screening.appointment_id == appointment.id)
        )
        assert screening is not None and screening.cleared
        assert screening.created_at <= appointment.start_at
        signature = db.session.scalar(
            select(SignedConsent).where(SignedConsent.appointment_id == appointment.id)
        )
        assert signature is not None and signature.signed_at <= appointment.start_at
        record = db.session.scalar(
            select(SessionRecord).where(SessionRecord.appointment_id == appointment.id)
        )
        assert record is not None and record.areas and record.cartridge_lot
        assert (record.prp_kit_lot != "") == appointment.service.uses_prp
        assert appointment.checked_in_at < appointment.completed_at == appointment.end_at
    reviewed = db.session.scalars(
        select(Screening).where(Screening.review_status == ReviewStatus.APPROVED)
    ).all()
    assert reviewed and all(s.reviewed_by_id for s in reviewed)


def test_the_staff_pages_open_on_the_seeded_clinic(seeded, db, app):
    client = sign_in_as(app, "practitioner@example.com")
    assert client.get("/review").status_code == 200
    for screening in review_queue():
        assert client.get(f"/review/{screening.id}").status_code == 200
    course = db.session.scalar(select(Course))
    assert client.get(f"/desk/courses/{course.id}").status_code == 200
    for appointment in db.session.scalars(select(Appointment).limit(40)):
        assert client.get(f"/desk/visits/{appointment.id}").status_code == 200
    signature = db.session.scalar(select(SignedConsent))
    assert client.get(f"/desk/visits/consents/{signature.id}").status_code == 200
