"""``flask seed-demo``: a believable small clinic to click through, with a few weeks of diary.

The set-up (location, services, people, hours, closures, accounts and the diary up to now, with
the screenings, signatures and session records of the visits already held) is written in one
transaction. Appointments from now on are booked through the booking and course services, one
at a time, so they obey exactly the rules a real booking does: two online bookings wait for
clinical review (one of them soon enough for the desk's warning) and one patient has a course.
"""

from __future__ import annotations

import math
import os
import random
import secrets
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select, update

from clinic import localtime
from clinic.actors import Actor
from clinic.booking.models import DESK_SOURCES, Appointment, AppointmentStatus, BookingSource
from clinic.booking.services import (
    BookingRequest,
    PatientDetails,
    book,
    cancel,
    clinic_timezone,
    find_slots,
    policy,
)
from clinic.booking.slots import local_day_bounds, needling_gap_ok
from clinic.catalog.defaults import STANDARD_SERVICES
from clinic.catalog.models import Location, Practitioner, Room, Service, TimeOff, WorkingHours
from clinic.clock import utcnow
from clinic.consent import services as consent_services
from clinic.consent.models import SignedConsent
from clinic.consent.services import ConsentInput
from clinic.courses.services import CourseRequest, book_course
from clinic.courses.services import sessions as course_sessions
from clinic.database import write_transaction
from clinic.errors import SlotUnavailable, ValidationFailed
from clinic.extensions import db
from clinic.patients.models import Patient
from clinic.screening import questions
from clinic.screening.models import ReviewStatus, Screening
from clinic.screening.questions import Outcome
from clinic.screening.rules import ServiceProfile, questions_for
from clinic.sms.models import OutboundText, TextStatus
from clinic.staff.models import Role, StaffUser
from clinic.staff.services import build_staff
from clinic.visits import lifecycle
from clinic.visits.models import ADD_ONS, AREAS, DEVICES, SessionRecord

# A fixed seed: the same day gives the same diary, so a demo can be rebuilt and compared.
SEED = 20260302
PAST_DAYS = 21
# UK mobiles kept for fiction: 07700 900000 to 07700 900999.
FICTIONAL_MOBILE_PREFIX = "+447700900"
DEMO_HISTORY = "demo history"
FUTURE_DAYS = 28
LOGINS_FILENAME = "demo-logins.txt"
ADDRESS = "14 Marlowe Street, Islington, London N1 7GH"

# How often each service is booked, roughly: treatment sessions outnumber first visits.
SERVICE_WEIGHTS = {
    "consultation": 3,
    "microneedling": 5,
    "microneedling-prp": 2,
    "microneedling-steroid": 2,
}

ALL_SERVICES = tuple(SERVICE_WEIGHTS)
PRACTITIONERS = [
    # Tuesday to Saturday, late on Thursdays for people who work office hours.
    dict(
        name="Dr Priya Shah",
        services=ALL_SERVICES,
        hours={1: ("09:00", "17:00"), 2: ("09:00", "17:00"), 3: ("12:00", "20:00"),
               4: ("09:00", "17:00"), 5: ("09:00", "14:00")},
    ),
    # Does not do PRP.
    dict(
        name="Tom Okafor",
        services=("consultation", "microneedling", "microneedling-steroid"),
        hours={0: ("10:00", "18:00"), 1: ("10:00", "18:00"), 2: ("10:00", "18:00"),
               3: ("10:00", "18:00"), 4: ("10:00", "16:00")},
    ),
    dict(
        name="Hannah Reid",
        services=ALL_SERVICES,
        hours={0: ("08:30", "16:30"), 2: ("08:30", "16:30"), 4: ("08:30", "16:30"),
               5: ("09:00", "13:00")},
    ),
]  # fmt: skip
ROOMS = ["Treatment room 1", "Treatment room 2"]
STAFF = [
    ("admin@example.com", "Morgan Clarke", Role.ADMIN),
    ("desk@example.com", "Jo Ellis", Role.DESK),
    ("practitioner@example.com", None, Role.PRACTITIONER),  # named after the first practitioner
]

FIRST_NAMES = [
    "Aaron", "Adaeze", "Ben", "Callum", "Chloe", "Daniel", "Deepa", "Eilidh", "Farah", "George",
    "Grace", "Harvey", "Imran", "Isla", "Jack", "Jasmine", "Kemi", "Liam", "Lucy", "Marcus",
    "Mei", "Nathan", "Niamh", "Oliver", "Owen", "Priti", "Rhys", "Rosa", "Sam", "Sophie",
    "Theo", "Tomasz", "Uma", "Will", "Yusuf", "Zara",
]  # fmt: skip
LAST_NAMES = [
    "Ahmed", "Bennett", "Campbell", "Davies", "Evans", "Fraser", "Green", "Hughes", "Iqbal",
    "Jones", "Kowalski", "Lewis", "Murphy", "Nowak", "O'Brien", "Patel", "Quinn", "Roberts",
    "Singh", "Taylor", "Walsh", "Wright", "Young",
]  # fmt: skip
CANCEL_REASONS = ["Called to rearrange", "Work clash", "Travel plans changed", ""]

# Online bookings held for review: (service, questions answered yes, window in hours from now).
# The first starts within the desk's REVIEW_WARNING_HOURS (48 by default), so it is flagged.
REVIEW_BOOKINGS = [
    ("microneedling", {"anticoagulant"}, (2, 40)),
    ("microneedling-prp", {"isotretinoin_6m", "prp_relative"}, (5 * 24, 12 * 24)),
]
# REVIEW questions some past patients answered yes to, before a practitioner cleared them.
PAST_REVIEW_KEYS = ["metal_allergy", "cold_sores", "scalp_dermatosis", "anticoagulant"]
COURSE_TEMPLATE = "four-weekly-6"
SESSION_NOTES = [
    "",
    "",
    "Tolerated well.",
    "Mild pinpoint bleeding at the crown, settled with pressure.",
    "Patient asked for a short pause midway; completed without problems.",
    "Aftercare explained; patient happy to continue the plan.",
]
ONLINE_BROWSERS = [
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/122.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/122.0.0.0 Safari/537.36",
]
# Signatures come from documentation addresses (RFC 5737); the desk's are made on its tablet.
DESK_BROWSER = (
    "Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Mobile/15E148 Safari/604.1"
)


@click.command("seed-demo")
@click.option(
    "--if-empty",
    is_flag=True,
    help="When the database already holds a clinic, change nothing and print the demo logins.",
)
@click.option(
    "--allow-texts",
    is_flag=True,
    help="Seed even with Twilio credentials set (the demo's numbers are fictional).",
)
@with_appcontext
def seed_demo_command(if_empty: bool, allow_texts: bool) -> None:
    """Seed a demo clinic with staff logins and a few weeks of appointments."""
    config = current_app.config
    if (config["TWILIO_ACCOUNT_SID"] or config["TWILIO_AUTH_TOKEN"]) and not allow_texts:
        raise click.ClickException(
            "Twilio credentials are set (TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN), so the demo's "
            "texts would really be sent. Unset them, or add --allow-texts if you mean it."
        )
    base_url = config["PUBLIC_BASE_URL"]
    if db.session.scalar(select(Location.id).limit(1)) is not None:
        if not if_empty:
            raise click.ClickException(
                "the database already holds a clinic; seed-demo fills only an empty database "
                "(add --if-empty to print the demo logins instead)."
            )
        click.echo("The demo clinic is already set up.")
        click.echo(_sign_in_text(base_url, _recorded_logins()))
        return
    password = current_app.config.get("DEMO_PASSWORD") or secrets.token_urlsafe(12)
    try:
        summary = seed_demo(password)
    except ValidationFailed as exc:
        problems = "; ".join(m for messages in exc.errors.values() for m in messages)
        raise click.ClickException(f"the demo was not set up: {problems}") from exc
    click.echo(
        f"Seeded {summary.location_name}: {summary.practitioners} practitioners, "
        f"{summary.rooms} rooms, {summary.services} services, "
        f"{summary.appointments} appointments."
    )
    click.echo(f"Booking page:  {base_url}/")
    click.echo(_sign_in_text(base_url, summary.logins))


@dataclass
class Summary:
    location_name: str
    practitioners: int
    rooms: int
    services: int
    appointments: int
    logins: str


@dataclass
class _Diary:
    """What has been placed so far, so the next appointment can avoid it."""

    tz: ZoneInfo
    gap_days: int
    room_busy: dict[int, list[tuple[datetime, datetime]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    patient_days: dict[int, set[date]] = field(default_factory=lambda: defaultdict(set))
    patient_needling: dict[int, list[datetime]] = field(default_factory=lambda: defaultdict(list))
    count: int = 0

    def free_room(self, rooms: list[Room], start: datetime, until: datetime) -> Room | None:
        for room in rooms:
            if all(until <= s or start >= e for s, e in self.room_busy[room.id]):
                return room
        return None

    def patient_for(self, rng: random.Random, patients: list[Patient], start, needles: bool):
        day = start.astimezone(self.tz).date()
        for index in rng.sample(range(len(patients)), len(patients)):
            if day in self.patient_days[index]:
                continue
            if needles and not needling_gap_ok(
                start, self.patient_needling[index], self.tz, self.gap_days
            ):
                continue
            return index
        return None

    def record(self, index: int, start: datetime, room_id: int, until: datetime, needles: bool):
        self.room_busy[room_id].append((start, until))
        self.patient_days[index].add(start.astimezone(self.tz).date())
        if needles:
            self.patient_needling[index].append(start)
        self.count += 1


def seed_demo(password: str) -> Summary:
    now = utcnow()
    tz = clinic_timezone()
    today = now.astimezone(tz).date()
    rng = random.Random(SEED)
    config = current_app.config
    diary = _Diary(tz=tz, gap_days=config["NEEDLING_MIN_GAP_DAYS"])

    with write_transaction("seed"):
        location = Location(
            name=config["CLINIC_NAME"],
            address=ADDRESS,
            phone=config["CLINIC_PHONE"],
            timezone=config["CLINIC_TIMEZONE"],
        )
        services = {spec["slug"]: Service(**spec) for spec in STANDARD_SERVICES}
        practitioners = [_practitioner(location, spec, services) for spec in PRACTITIONERS]
        rooms = [Room(location=location, name=name) for name in ROOMS]
        db.session.add_all([location, *services.values(), *practitioners, *rooms])
        db.session.flush()

        off = _time_off(location, practitioners, today, tz)
        db.session.add_all(off)
        logins, accounts = _staff_accounts(password, practitioners[0])
        patients = _patients(rng, now)
        db.session.add_all(patients)
        db.session.flush()

        cutoff = now + policy().min_notice
        held: list[Appointment] = []
        for day in _days(today - timedelta(days=PAST_DAYS), today):
            for practitioner in practitioners:
                held += _fill_past_day(
                    rng, diary, day, practitioner, rooms, patients, off, now, cutoff, location
                )
        db.session.flush()
        _clinical_records(rng, held, accounts[Role.PRACTITIONER])
        _write_logins(logins)

    # Booked before the everyday diary so that they find room near the start of it.
    for slug, yes, window in REVIEW_BOOKINGS:
        _book_for_review(rng, diary, services[slug], yes, window, patients)
    # Every four weeks, six sessions: the plan studied with plasma.
    _book_course(rng, diary, services["microneedling-prp"], patients, accounts[Role.DESK])
    # Phone bookings are the demo desk account's, in the audit log as everywhere else.
    desk = Actor.staff(accounts[Role.DESK])
    for day in _days(today, today + timedelta(days=FUTURE_DAYS)):
        for _ in range(_bookings_wanted(rng, (day - today).days)):
            _book_future(rng, diary, day, services, patients, desk)
    _retire_due_texts(utcnow())

    return Summary(
        location_name=location.name,
        practitioners=len(practitioners),
        rooms=len(rooms),
        services=len(services),
        appointments=diary.count,
        logins=logins,
    )


def _retire_due_texts(now: datetime) -> int:
    """The demo's history planned texts that are already due (confirmations, reminders of
    visits it placed in the past): skip them, so the first dispatch pass sends none at once."""
    with write_transaction("seed"):
        result = db.session.execute(
            update(OutboundText)
            .where(OutboundText.status == TextStatus.PENDING, OutboundText.send_at <= now)
            .values(status=TextStatus.SKIPPED, error_message=DEMO_HISTORY, updated_at=now)
        )
    return result.rowcount


# --- set-up --------------------------------------------------------------------------------


def _practitioner(location: Location, spec: dict, services: dict[str, Service]) -> Practitioner:
    practitioner = Practitioner(location=location, name=spec["name"])
    practitioner.services = [services[slug] for slug in spec["services"]]
    practitioner.working_hours = [
        WorkingHours(weekday=day, start_time=time.fromisoformat(a), end_time=time.fromisoformat(b))
        for day, (a, b) in sorted(spec["hours"].items())
    ]
    return practitioner


def _time_off(location, practitioners, today: date, tz: ZoneInfo) -> list[TimeOff]:
    holiday, holiday_name = next_bank_holiday(today)
    leave_start = today + timedelta(days=9)
    return [
        TimeOff(
            location_id=location.id,
            start_at=local_day_bounds(holiday, tz).start,
            end_at=local_day_bounds(holiday, tz).end,
            reason=f"Bank holiday ({holiday_name})",
        ),
        TimeOff(
            location_id=location.id,
            practitioner_id=practitioners[1].id,
            start_at=local_day_bounds(leave_start, tz).start,
            end_at=local_day_bounds(leave_start + timedelta(days=2), tz).end,
            reason="Annual leave",
        ),
    ]


def _staff_accounts(password: str, linked: Practitioner) -> tuple[str, dict[Role, StaffUser]]:
    lines, accounts = [], {}
    for email, name, role in STAFF:
        accounts[role] = build_staff(
            email=email,
            name=name or linked.name,
            role=role,
            password=password,
            practitioner_id=linked.id if role == Role.PRACTITIONER else None,
        )
        lines.append(f"  {role.value:<13} {email:<26} password: {password}")
    db.session.flush()
    return "\n".join(lines) + "\n", accounts


def _patients(rng: random.Random, now: datetime) -> list[Patient]:
    names = sorted({(rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)) for _ in range(48)})
    patients = []
    for number, (first, last) in enumerate(names):
        opted_in = rng.random() < 0.7
        email_name = f"{first}.{last}".lower().replace("'", "")
        patients.append(
            Patient(
                full_name=f"{first} {last}",
                phone=demo_phone(number),
                email=f"{email_name}@example.com",
                date_of_birth=date(rng.randint(1962, 2003), rng.randint(1, 12), rng.randint(1, 28)),
                sms_opt_in=opted_in,
                sms_opt_in_at=now - timedelta(days=PAST_DAYS + rng.randint(5, 200)),
                sms_opt_in_source=rng.choice([BookingSource.ONLINE, BookingSource.DESK]),
                created_at=now - timedelta(days=PAST_DAYS + rng.randint(5, 200)),
            )
        )
    return patients


def demo_phone(number: int) -> str:
    """07700 900xxx: the range Ofcom keeps for drama, so no text can reach a real person.
    phonenumbers calls these numbers not valid, so they are stored as they are, without the
    booking form's check; the booking services take numbers already in E.164."""
    return f"{FICTIONAL_MOBILE_PREFIX}{100 + number:03d}"


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


# --- the diary -----------------------------------------------------------------------------


def _fill_past_day(
    rng, diary: _Diary, day, practitioner, rooms, patients, off, now, cutoff, location
) -> list[Appointment]:
    """Lay out one practitioner's day back to back with gaps, until the booking cut-off."""
    placed: list[Appointment] = []
    step = timedelta(minutes=15)
    weights = [SERVICE_WEIGHTS[s.slug] for s in practitioner.services]
    for block in practitioner.working_hours:
        if block.weekday != day.weekday():
            continue
        start, block_end = working_span(day, block.start_time, block.end_time, diary.tz)
        while start < min(block_end, cutoff):
            if rng.random() < 0.5:  # free half hours: the diary was never quite full
                start += 2 * step
                continue
            service = rng.choices(practitioner.services, weights)[0]
            end = start + timedelta(minutes=service.duration_minutes)
            until = end + timedelta(minutes=service.buffer_after_minutes)
            if until > block_end:
                break
            room = diary.free_room(rooms, start, until)
            index = diary.patient_for(rng, patients, start, service.needles)
            if room is None or index is None or _is_off(off, practitioner.id, start, until):
                start += step
                continue
            appointment = _past_appointment(
                rng, patients[index], service, practitioner, room, location, start, now
            )
            db.session.add(appointment)
            placed.append(appointment)
            diary.record(index, start, room.id, until, service.needles)
            start += math.ceil((until - start) / step) * step  # back on the block's grid
    return placed


def _past_appointment(rng, patient, service, practitioner, room, location, start, now):
    end = start + timedelta(minutes=service.duration_minutes)
    created = min(now, start - timedelta(days=rng.randint(1, 20), minutes=rng.randint(0, 600)))
    if end <= now:
        status = rng.choices(
            [AppointmentStatus.COMPLETED, AppointmentStatus.NO_SHOW, AppointmentStatus.CANCELLED],
            [85, 5, 10],
        )[0]
    elif start <= now:
        status = AppointmentStatus.CHECKED_IN
    else:
        status = rng.choice([AppointmentStatus.BOOKED, AppointmentStatus.CONFIRMED])
    cancelled_at = None
    if status == AppointmentStatus.CANCELLED:
        cancelled_at = max(created, start - timedelta(hours=rng.randint(2, 72)))
    checked_in_at = None
    if status in (AppointmentStatus.CHECKED_IN, AppointmentStatus.COMPLETED):
        checked_in_at = start - timedelta(minutes=rng.randint(2, 12))
    # The diary already held: written as it was, not replayed through today's rules.
    with lifecycle.importing_history():
        return _historical_visit(
            patient=patient,
            service=service,
            practitioner_id=practitioner.id,
            room_id=room.id,
            location_id=location.id,
            start_at=start,
            end_at=end,
            blocked_until=end + timedelta(minutes=service.buffer_after_minutes),
            status=status,
            source=rng.choices([BookingSource.ONLINE, *DESK_SOURCES], [65, 25, 5, 5])[0],
            needles=service.needles,
            cancel_reason=rng.choice(CANCEL_REASONS) if cancelled_at else "",
            manage_key=secrets.token_hex(16),
            created_at=created,
            updated_at=cancelled_at or created,
            cancelled_at=cancelled_at,
            checked_in_at=checked_in_at,
            completed_at=end if status == AppointmentStatus.COMPLETED else None,
        )


def _historical_visit(**values) -> Appointment:
    return Appointment(**values)


# --- the clinical record of visits already held ----------------------------------------------


def _clinical_records(rng, held: list[Appointment], practitioner_account: StaffUser) -> None:
    """Every treatment that went ahead had a cleared screening, a signature and, once done, a
    session record; a few screenings needed a practitioner's review first."""
    form = consent_services.stored_current_form()
    questionnaire = questions.current()
    for appointment in held:
        if not appointment.needles or appointment.status not in (
            AppointmentStatus.CHECKED_IN,
            AppointmentStatus.COMPLETED,
        ):
            continue
        service = appointment.service
        asked = [q.key for q in questions_for(questionnaire, ServiceProfile.of(service))]
        # Online bookings answered when booking; desk bookings at the desk before the session.
        online = appointment.source == BookingSource.ONLINE
        answered_at = appointment.created_at if online else appointment.checked_in_at
        flagged = [rng.choice(PAST_REVIEW_KEYS)] if rng.random() < 0.08 else []
        screening = Screening(
            patient_id=appointment.patient.id,
            appointment_id=appointment.id,
            service_id=service.id,
            questionnaire_version=questionnaire.version,
            answers={key: key in flagged for key in asked},
            asked=asked,
            flagged=flagged,
            outcome=Outcome.REVIEW if flagged else Outcome.CLEAR,
            source=appointment.source,
            created_at=answered_at,
            review_status=ReviewStatus.APPROVED if flagged else ReviewStatus.NOT_NEEDED,
        )
        if flagged:
            screening.reviewed_by_id = practitioner_account.id
            screening.reviewed_at = min(
                answered_at + timedelta(hours=rng.randint(1, 20)), appointment.checked_in_at
            )
        db.session.add(screening)
        db.session.add(
            SignedConsent(
                patient_id=appointment.patient.id,
                consent_form_id=form.id,
                appointment_id=appointment.id,
                form_version=form.version,
                form_sha256=form.sha256,
                signed_name=appointment.patient.full_name,
                agreed=True,
                clinical_photos=rng.random() < 0.8,
                care_texts=appointment.patient.sms_opt_in,
                signed_at=answered_at,
                ip_address=f"198.51.100.{rng.randint(2, 250)}" if online else "192.0.2.10",
                user_agent=rng.choice(ONLINE_BROWSERS) if online else DESK_BROWSER,
            )
        )
        if appointment.status == AppointmentStatus.COMPLETED:
            db.session.add(_session_record(rng, appointment, practitioner_account))


def _session_record(rng, appointment: Appointment, account: StaffUser) -> SessionRecord:
    service = appointment.service
    return SessionRecord(
        appointment_id=appointment.id,
        practitioner_id=appointment.practitioner_id,
        device=rng.choice(DEVICES),
        needle_depth_mm=rng.choice([0.5, 0.75, 1.0, 1.25, 1.5]),
        areas=sorted(rng.sample(AREAS, rng.randint(1, 3)), key=AREAS.index),
        numbing_used=service.uses_numbing,
        add_ons=[name for name in ADD_ONS if name in service.ingredients],
        cartridge_lot=f"NC{rng.randint(24000, 24999)}",
        prp_kit_lot=f"PK-{rng.randint(100, 999)}" if service.uses_prp else "",
        notes=rng.choice(SESSION_NOTES),
        recorded_at=appointment.end_at,
        # The demo's practitioner account belongs to one practitioner; the others' records
        # were written by colleagues without demo logins.
        recorded_by_id=account.id
        if account.practitioner_id == appointment.practitioner_id
        else None,
    )


# --- bookings waiting for review, and a course -------------------------------------------------


def _book_for_review(rng, diary: _Diary, service: Service, yes, window, patients) -> None:
    """An online booking whose answers need a practitioner's review before it is confirmed."""
    now = utcnow()
    earliest, latest = (now + timedelta(hours=hours) for hours in window)
    first_day, last_day = (moment.astimezone(diary.tz).date() for moment in (earliest, latest))
    slots = [
        slot for slot in find_slots(service, first_day, last_day) if earliest <= slot.start < latest
    ]
    for slot in rng.sample(slots, len(slots)):
        index = diary.patient_for(rng, patients, slot.start, service.needles)
        if index is None:
            continue
        patient = patients[index]
        details = _details(patient)
        answers = {
            q.key: q.key in yes
            for q in questions_for(questions.current(), ServiceProfile.of(service))
        }
        consent = ConsentInput(
            version=consent_services.current_version(),
            signed_name=patient.full_name,
            agree=True,
            photos=True,
            care_texts=patient.sms_opt_in,
            ip_address=f"198.51.100.{rng.randint(2, 250)}",
            user_agent=rng.choice(ONLINE_BROWSERS),
        )
        request = BookingRequest(
            service_slug=service.slug,
            start=slot.start,
            patient=details,
            practitioner_id=slot.practitioner_id,
            sms_opt_in=patient.sms_opt_in,
            source=BookingSource.ONLINE,
            screening=answers,
            consent=consent,
        )
        try:
            book(request)
        except (SlotUnavailable, ValidationFailed):
            continue
        diary.record(index, slot.start, slot.room_id, slot.blocked_until, service.needles)
        return


def _book_course(rng, diary: _Diary, service: Service, patients, desk_account: StaffUser) -> None:
    """One patient starts a course of six sessions every four weeks, planned at the desk, with
    the course's consent signed there and then."""
    now = utcnow()
    today = now.astimezone(diary.tz).date()
    for index in rng.sample(range(len(patients)), len(patients)):
        treatments = diary.patient_needling[index]
        if any(start > now for start in treatments):
            continue  # someone with no treatment booked yet
        patient = patients[index]
        for day in _days(today + timedelta(days=3), today + timedelta(days=10)):
            for slot in find_slots(service, day, day, patient=patient, source=BookingSource.DESK):
                if not needling_gap_ok(slot.start, treatments, diary.tz, diary.gap_days):
                    break  # the same for every time that day
                request = CourseRequest(
                    patient_id=patient.id,
                    service_slug=service.slug,
                    template_key=COURSE_TEMPLATE,
                    first_start=slot.start,
                    practitioner_id=slot.practitioner_id,
                )
                try:
                    course = book_course(request, desk_account)
                except (SlotUnavailable, ValidationFailed):
                    continue
                with write_transaction("booking"):
                    consent_services.sign(
                        patient,
                        ConsentInput(
                            version=consent_services.current_version(),
                            signed_name=patient.full_name,
                            agree=True,
                            photos=True,
                            care_texts=patient.sms_opt_in,
                            ip_address="192.0.2.10",
                            user_agent=DESK_BROWSER,
                        ),
                        course=course,
                    )
                for session in course_sessions(course.id):
                    diary.record(
                        index, session.start_at, session.room_id, session.blocked_until, True
                    )
                return


def _details(patient: Patient) -> PatientDetails:
    return PatientDetails(
        full_name=patient.full_name,
        phone=patient.phone,
        email=patient.email,
        date_of_birth=patient.date_of_birth,
    )


def _bookings_wanted(rng: random.Random, days_ahead: int) -> int:
    # The diary thins out further ahead, as a real one does.
    if days_ahead < 7:
        return rng.randint(6, 10)
    if days_ahead < 14:
        return rng.randint(4, 8)
    return rng.randint(2, 6)


def _book_future(rng, diary: _Diary, day: date, services, patients, desk: Actor) -> None:
    slugs = list(SERVICE_WEIGHTS)
    service = services[rng.choices(slugs, [SERVICE_WEIGHTS[s] for s in slugs])[0]]
    slots = find_slots(service, day, day)
    if not slots:
        return
    slot = rng.choice(slots)
    index = diary.patient_for(rng, patients, slot.start, service.needles)
    if index is None:
        return
    patient = patients[index]
    request = BookingRequest(
        service_slug=service.slug,
        start=slot.start,
        patient=_details(patient),
        practitioner_id=slot.practitioner_id,
        sms_opt_in=patient.sms_opt_in,
        source=BookingSource.DESK,
    )
    try:
        appointment = book(request, by=desk)
    except (SlotUnavailable, ValidationFailed):
        return  # the diary moved on since the slots were read; the demo needs no retry
    diary.record(index, slot.start, slot.room_id, slot.blocked_until, service.needles)
    if rng.random() < 0.06:
        cancel(appointment, reason=rng.choice(CANCEL_REASONS), by=desk)


def _is_off(off: list[TimeOff], practitioner_id: int, start: datetime, until: datetime) -> bool:
    return any(
        entry.practitioner_id in (None, practitioner_id)
        and start < entry.end_at
        and until > entry.start_at
        for entry in off
    )


def working_span(day: date, start: time, end: time, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """Where working hours from ``start`` to ``end`` on ``day`` begin and end, read as the
    availability engine reads them (clinic.localtime's stretch rule; an end of 00:00 is the
    midnight ending the day)."""
    end_day = day + timedelta(days=1) if end == time(0) else day
    return localtime.to_utc(day, start, tz), localtime.to_utc(end_day, end, tz)


# --- bank holidays -------------------------------------------------------------------------


def easter_sunday(year: int) -> date:
    """Western Easter (the anonymous Gregorian computus)."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    l_ = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * l_) // 451
    month, day = divmod(h + l_ - 7 * m + 114, 31)
    return date(year, month, day + 1)


def england_bank_holidays(year: int) -> list[tuple[date, str]]:
    """The regular bank holidays of England and Wales, with weekend ones moved to a weekday."""

    def first_monday(month: int) -> date:
        first = date(year, month, 1)
        return first + timedelta(days=-first.weekday() % 7)

    def last_monday(month: int) -> date:
        last = date(year, month + 1, 1) - timedelta(days=1)
        return last - timedelta(days=last.weekday())

    easter = easter_sunday(year)
    named = [
        (date(year, 1, 1), "New Year's Day"),
        (easter - timedelta(days=2), "Good Friday"),
        (easter + timedelta(days=1), "Easter Monday"),
        (first_monday(5), "early May bank holiday"),
        (last_monday(5), "spring bank holiday"),
        (last_monday(8), "summer bank holiday"),
        (date(year, 12, 25), "Christmas Day"),
        (date(year, 12, 26), "Boxing Day"),
    ]
    # Weekday holidays keep their dates; weekend ones move to the next weekday still free.
    result = [(day, name) for day, name in named if day.weekday() < 5]
    taken = {day for day, _ in result}
    for day, name in named:
        if day.weekday() < 5:
            continue
        while day.weekday() >= 5 or day in taken:
            day += timedelta(days=1)
        taken.add(day)
        result.append((day, f"{name} (substitute day)"))
    return sorted(result)


def next_bank_holiday(after: date) -> tuple[date, str]:
    """The first bank holiday after ``after``: the demo's clinic closure."""
    upcoming = england_bank_holidays(after.year) + england_bank_holidays(after.year + 1)
    return next((day, name) for day, name in upcoming if day > after)


# --- the logins file -----------------------------------------------------------------------


def logins_path() -> Path:
    """Where the demo logins are kept: the instance folder unless DEMO_LOGINS_FILE says."""
    configured = current_app.config.get("DEMO_LOGINS_FILE")
    return Path(configured) if configured else Path(current_app.instance_path) / LOGINS_FILENAME


def _write_logins(text: str) -> None:
    path = logins_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    # Owner-only from the first byte: the file holds working passwords.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)


def _recorded_logins() -> str | None:
    path = logins_path()
    return path.read_text() if path.exists() else None


def _sign_in_text(base_url: str, logins: str | None) -> str:
    if logins is None:
        return (
            f"Staff sign-in: {base_url}/login\n"
            f"  (no demo logins recorded in {logins_path()}; "
            "make an account with `flask create-staff`)"
        )
    return f"Staff sign-in: {base_url}/login\n{logins.rstrip()}"
