"""Booking use cases: find slots, book, reschedule, cancel. One commit per use case.

The HTML views, the JSON API and the CLI all call these; they raise domain errors (see
clinic.errors) that the callers turn into messages and status codes.
"""

from __future__ import annotations

import contextlib
import functools
import secrets
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import bindparam, func, literal, null, select, union_all
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import joinedload, selectinload

from clinic.actors import Actor, ActorKind
from clinic.audit import services as audit
from clinic.booking import catalog, identity
from clinic.booking.models import (
    RELEASED_STATUSES,
    Appointment,
    AppointmentStatus,
    BookingSource,
)
from clinic.booking.slots import (
    BookingPolicy,
    Interval,
    PractitionerCalendar,
    RoomCalendar,
    Slot,
    SlotTable,
    local_day_bounds,
    needling_gap_ok,
    slot_table,
)
from clinic.catalog import version as catalog_version
from clinic.catalog.models import (
    CatalogVersion,
    Location,
    Practitioner,
    Room,
    Service,
    TimeOff,
    practitioner_services,
)
from clinic.catalog.policy import clinic_policy
from clinic.clock import utcnow
from clinic.consent import services as consent_services
from clinic.consent.services import ConsentInput
from clinic.database import CompiledRead, read, write_transaction
from clinic.db_types import epoch_micros
from clinic.errors import ChangeNotAllowed, NotFound, SlotUnavailable, ValidationFailed
from clinic.extensions import db
from clinic.localtime import day_bounds, local_date
from clinic.patients import phones
from clinic.patients.models import Patient
from clinic.screening import services as screening_services
from clinic.screening.questions import Outcome
from clinic.visits import changes
from clinic.visits.lifecycle import Event

# No appointment blocks time for longer than this; it bounds the look-back when loading the
# appointments around a window, so the query reads the window and not the whole history.
LONGEST_BLOCK = timedelta(hours=12)
MAX_WINDOW_DAYS = 31


@dataclass(frozen=True)
class PatientDetails:
    full_name: str
    phone: str  # E.164, already normalised
    email: str
    date_of_birth: date


@dataclass(frozen=True)
class BookingRequest:
    service_slug: str
    start: datetime
    patient: PatientDetails
    practitioner_id: int | None = None
    sms_opt_in: bool = False
    # Email about this visit and its aftercare; None leaves a returning patient's choice as it was.
    email_opt_in: bool | None = None
    source: str = BookingSource.ONLINE
    # Health answers {question key: yes?}; required online, optional at the desk (where the
    # check-in gate asks for a screening later if none was given).
    screening: Mapping[str, object] | None = None
    # The signature given with the booking; required online for services that needle.
    consent: ConsentInput | None = None
    # The booking form's one-time key: the same form sent again returns the visit it made.
    submission_key: str | None = None


def policy(source: str = BookingSource.ONLINE) -> BookingPolicy:
    """The booking rules for a channel. The desk books by phone and plans courses, so it may
    book at short notice and further ahead than patients online."""
    config = current_app.config
    online = source == BookingSource.ONLINE
    return BookingPolicy(
        min_notice=timedelta(minutes=config["BOOKING_MIN_NOTICE_MINUTES"] if online else 0),
        horizon=timedelta(
            days=config["BOOKING_HORIZON_DAYS"] if online else config["DESK_HORIZON_DAYS"]
        ),
        step=timedelta(minutes=config["BOOKING_SLOT_STEP_MINUTES"]),
        needling_gap_days=config["NEEDLING_MIN_GAP_DAYS"],
    )


def clinic_timezone() -> ZoneInfo:
    return ZoneInfo(current_app.config["CLINIC_TIMEZONE"])


# --- reading -------------------------------------------------------------------------------


def online_services() -> list[Service]:
    query = select(Service).where(Service.active, Service.bookable_online).order_by(Service.id)
    return list(db.session.scalars(query))


# What the public API shows of a service, in its field names.
SERVICE_FIELDS = (
    "slug",
    "name",
    "description",
    "duration_minutes",
    "buffer_after_minutes",
    "price_pence",
    "needles",
)


def online_service_fields() -> list[dict]:
    """online_services as the public API shows them (SERVICE_FIELDS), read as plain rows:
    loading and tracking ORM objects cost more than the read itself."""
    return [dict(zip(SERVICE_FIELDS, row, strict=True)) for row in read(_online_fields_query(), {})]


@functools.cache
def _online_fields_query():
    return (
        select(*(getattr(Service, name) for name in SERVICE_FIELDS))
        .where(Service.active, Service.bookable_online)
        .order_by(Service.id)
    )


def service_by_slug(slug: str, *, online_only: bool = True) -> Service:
    service = db.session.scalar(_service_query(), {"slug": slug})
    if service is None or (online_only and not service.bookable_online):
        raise NotFound("We do not offer that service online.", field="service")
    return service


@functools.cache
def _service_query():
    return select(Service).where(Service.slug == bindparam("slug"), Service.active)


def practitioners_for(service: Service) -> list[Practitioner]:
    query = (
        select(Practitioner)
        .join(practitioner_services, practitioner_services.c.practitioner_id == Practitioner.id)
        .where(Practitioner.active, practitioner_services.c.service_id == service.id)
        .options(selectinload(Practitioner.working_hours), joinedload(Practitioner.location))
        .order_by(Practitioner.id)
    )
    return list(db.session.scalars(query))


@dataclass(frozen=True)
class FreeTimes:
    """find_slots' answer before any Slot is made, with what a caller needs to show it."""

    table: SlotTable
    # Every active practitioner offering the service (not only the one asked about), with the
    # time zone of their location.
    zones: dict[int, ZoneInfo]
    service_slug: str


def find_slots(
    service: Service,
    first_day: date,
    last_day: date,
    *,
    practitioner_id: int | None = None,
    patient: Patient | None = None,
    ignore_appointment_id: int | None = None,
    source: str = BookingSource.ONLINE,
) -> list[Slot]:
    """Bookable slots for a service over local days first_day..last_day (inclusive)."""
    return free_times(
        service,
        first_day,
        last_day,
        practitioner_id=practitioner_id,
        patient=patient,
        ignore_appointment_id=ignore_appointment_id,
        source=source,
    ).table.slots()


def free_times(
    service: Service,
    first_day: date,
    last_day: date,
    *,
    practitioner_id: int | None = None,
    patient: Patient | None = None,
    ignore_appointment_id: int | None = None,
    source: str = BookingSource.ONLINE,
) -> FreeTimes:
    """find_slots in compact form, for callers that print many slots (the JSON API).

    One query whatever the number of practitioners, locations or visits: the window's busy
    time and time off, with the catalog version that says whether this process's copy of the
    staff, their hours and the rooms (clinic.booking.catalog) is current (a second reads the
    patient's own sessions when a patient is given)."""
    _check_window(first_day, last_day)
    terms = catalog.Terms(
        service.id,
        service.slug,
        service.duration_minutes,
        service.buffer_after_minutes,
        service.needles,
        service.bookable_online,
    )
    return _free_times(
        lambda _catalog: terms,
        first_day,
        last_day,
        practitioner_id=practitioner_id,
        patient=patient,
        ignore_appointment_id=ignore_appointment_id,
        source=source,
    )


def online_free_times(
    slug: str, first_day: date, last_day: date, *, practitioner_id: int | None = None
) -> FreeTimes:
    """free_times for a service named by its slug, as the public API asks: the service, its
    staff and their hours from this process's catalog, the window's calendar in one query.

    Raises NotFound, as service_by_slug does, for a service not offered online."""
    _check_window(first_day, last_day)
    return _free_times(
        lambda current: _online_terms(current, slug),
        first_day,
        last_day,
        practitioner_id=practitioner_id,
    )


def _online_terms(current: catalog.Catalog, slug: str) -> catalog.Terms | None:
    terms = current.services.get(slug)
    return terms if terms is not None and terms.bookable_online else None


def _check_window(first_day: date, last_day: date) -> None:
    if last_day < first_day:
        raise ValidationFailed({"to": ["The end date must not be before the start date."]})
    if (last_day - first_day).days + 1 > MAX_WINDOW_DAYS:
        raise ValidationFailed({"to": [f"Ask for at most {MAX_WINDOW_DAYS} days at a time."]})


# A copy found old is read again; after this many tries in one request (the set-up changing
# under every read) the answer comes from the newest copy, as it did when each request read
# the set-up and the visits in two statements.
_CATALOG_TRIES = 3


def _free_times(
    terms_of: Callable[[catalog.Catalog], catalog.Terms | None],
    first_day: date,
    last_day: date,
    *,
    practitioner_id: int | None = None,
    patient: Patient | None = None,
    ignore_appointment_id: int | None = None,
    source: str = BookingSource.ONLINE,
) -> FreeTimes:
    current = catalog.current()
    for tries_left in range(_CATALOG_TRIES - 1, -1, -1):
        service = terms_of(current)
        staff = current.staff_for(service.id) if service is not None else []
        by_location: dict[int, list[catalog.StaffMember]] = defaultdict(list)
        for member in staff:
            if practitioner_id is None or member.id == practitioner_id:
                by_location[member.location_id].append(member)
        if not by_location:
            # Nothing to read the calendar for: the version alone says whether that is so.
            calendar = None
            version = catalog.read_version()
        else:
            windows = {
                location_id: Interval(
                    local_day_bounds(first_day, members[0].zone).start,
                    local_day_bounds(last_day, members[0].zone).end,
                )
                for location_id, members in by_location.items()
            }
            # One read for every location: the union of their windows (a day's bounds differ by
            # zone only by hours); the engine drops whatever lies outside a location's window.
            reach = Interval(
                min(window.start for window in windows.values()),
                max(window.end for window in windows.values()),
            )
            calendar = _calendar(list(by_location), reach, ignore_appointment_id)
            version = calendar.version
        if version == current.version or not tries_left:
            break
        current = catalog.reload()

    if service is None:
        raise NotFound("We do not offer that service online.", field="service")
    zones = {member.id: member.zone for member in staff}
    duration = timedelta(minutes=service.duration_minutes)
    buffer_after = timedelta(minutes=service.buffer_after_minutes)
    if calendar is None:
        return FreeTimes(SlotTable.empty(duration, buffer_after), zones, service.slug)

    needling_starts = (
        _needling_starts(patient, reach, ignore_appointment_id) if service.needles else ()
    )
    now = utcnow()
    rules = policy(source)
    tables = []
    busy = calendar.busy_by_practitioner
    for location_id, members in by_location.items():
        tables.append(
            slot_table(
                now=now,
                tz=members[0].zone,
                first_day=first_day,
                last_day=last_day,
                duration=duration,
                buffer_after=buffer_after,
                practitioners=[
                    PractitionerCalendar(member.id, member.working, tuple(busy[member.id]))
                    for member in members
                ],
                rooms=[
                    RoomCalendar(room_id, tuple(calendar.busy_by_room[room_id]))
                    for room_id in current.rooms.get(location_id, ())
                ],
                closures=calendar.closures_by_location[location_id],
                policy=rules,
                needling=service.needles,
                patient_needling_starts=needling_starts,
            )
        )
    return FreeTimes(SlotTable.merged(tables), zones, service.slug)


@dataclass
class _Calendar:
    # Busy time as integer pairs, micros() of start and end: what the engine computes on.
    busy_by_practitioner: dict[int, list[tuple[int, int]]]
    busy_by_room: dict[int, list[tuple[int, int]]]
    closures_by_location: dict[int, list[tuple[int, int]]]
    version: object = catalog.UNKNOWN


_APPOINTMENT, _TIME_OFF, _VERSION = 0, 1, 2


def _calendar(location_ids: list[int], window: Interval, ignore_id: int | None) -> _Calendar:
    """The locations' active visits and time off around the window, and the catalog
    version, in one query (a UNION ALL of three small selects)."""
    calendar = _Calendar(defaultdict(list), defaultdict(list), defaultdict(list))
    one = len(location_ids) == 1
    parameters = {
        "location_ids": location_ids[0] if one else location_ids,
        "visits_from": window.start - LONGEST_BLOCK,
        "window_start": window.start,
        "window_end": window.end,
        # Ids start at 1, so 0 leaves every visit in.
        "ignore_id": ignore_id or 0,
    }
    if one:
        rows = _one_location_calendar().rows(parameters)
    else:
        rows = read(_calendar_query(one_location=False), parameters)
    busy_by_practitioner = calendar.busy_by_practitioner
    for kind, location_id, practitioner_id, room_id, start, end in rows:
        if kind == _APPOINTMENT:
            interval = (start, end)
            busy_by_practitioner[practitioner_id].append(interval)
            calendar.busy_by_room[room_id].append(interval)
        elif kind == _TIME_OFF:
            interval = (start, end)
            if practitioner_id is None:
                calendar.closures_by_location[location_id].append(interval)
            else:
                busy_by_practitioner[practitioner_id].append(interval)
        else:
            calendar.version = practitioner_id
    return calendar


@functools.cache
def _calendar_query(*, one_location: bool):
    # One location (every single-site clinic) compares with a plain parameter: an expanding
    # IN list re-renders the statement's SQL on every execution.
    if one_location:
        parameter = bindparam("location_ids")

        def at(column):
            return column == parameter
    else:
        parameter = bindparam("location_ids", expanding=True)

        def at(column):
            return column.in_(parameter)

    visits = select(
        literal(_APPOINTMENT).label("kind"),
        Appointment.location_id,
        Appointment.practitioner_id,
        Appointment.room_id,
        epoch_micros(Appointment.start_at),
        epoch_micros(Appointment.blocked_until),
    ).where(
        at(Appointment.location_id),
        Appointment.start_at >= bindparam("visits_from"),
        Appointment.start_at < bindparam("window_end"),
        Appointment.status.not_in(RELEASED_STATUSES),
        Appointment.id != bindparam("ignore_id"),
    )
    time_off = select(
        literal(_TIME_OFF),
        TimeOff.location_id,
        TimeOff.practitioner_id,
        null(),
        epoch_micros(TimeOff.start_at),
        epoch_micros(TimeOff.end_at),
    ).where(
        at(TimeOff.location_id),
        TimeOff.end_at > bindparam("window_start"),
        TimeOff.start_at < bindparam("window_end"),
    )
    # The version rides in the practitioner column: an integer, like the catalog version.
    version = select(
        literal(_VERSION), null(), CatalogVersion.version, null(), null(), null()
    ).where(CatalogVersion.id == catalog_version.ROW_ID)
    return union_all(visits, time_off, version)


@functools.cache
def _one_location_calendar() -> CompiledRead:
    # Every single-site clinic's every answer: read past SQLAlchemy's per-execution work. Every
    # column is an integer already (the times as epoch_micros).
    return CompiledRead(_calendar_query(one_location=True))


def _needling_starts(patient: Patient | None, window: Interval, ignore_id: int | None):
    if patient is None or patient.id is None:
        return ()
    reach = timedelta(days=current_app.config["NEEDLING_MIN_GAP_DAYS"] + 1)
    query = select(Appointment.start_at).where(
        Appointment.patient_id == patient.id,
        Appointment.needles,
        Appointment.status.not_in(RELEASED_STATUSES),
        Appointment.start_at >= window.start - reach,
        Appointment.start_at < window.end + reach,
    )
    if ignore_id is not None:
        query = query.where(Appointment.id != ignore_id)
    return tuple(db.session.scalars(query))


def alternatives_near(service: Service, start: datetime, *, limit: int = 6, **kwargs) -> list[Slot]:
    """Free slots on the requested day and the next few, nearest to the requested time first."""
    tz = clinic_timezone()
    day = start.astimezone(tz).date()
    today = utcnow().astimezone(tz).date()
    first = max(day, today)
    slots = find_slots(service, first, first + timedelta(days=6), **kwargs)
    unique = {slot.start: slot for slot in reversed(slots)}  # first practitioner per time
    ordered = sorted(unique.values(), key=lambda s: (abs(s.start - start), s.start))
    return sorted(ordered[:limit], key=lambda s: s.start)


# --- writing -------------------------------------------------------------------------------


def default_actor(source: str) -> Actor:
    """Who books through a channel when the caller names nobody: the patient online, else the
    desk."""
    return Actor(ActorKind.PATIENT_LINK if source == BookingSource.ONLINE else ActorKind.DESK)


def book(request: BookingRequest, *, by: Actor | None = None) -> Appointment:
    """Screen, then hold the slot for the patient.

    Raises ScreeningStopped (BLOCK/DEFER: nothing is written), ValidationFailed (missing answers,
    consent, rules), SlotUnavailable or NotFound. A REVIEW answer books as needs_review: the
    lifecycle's "hold", which the texts present honestly as held, not booked.
    """
    by = by or default_actor(request.source)
    online = request.source == BookingSource.ONLINE
    earlier = _submitted(request.submission_key)
    if earlier is not None:
        return earlier
    check_text_country(request.patient.phone, request.sms_opt_in)
    if online:
        check_bookings_per_number(request.patient.phone)
    service = service_by_slug(request.service_slug, online_only=online)
    start = require_aware(request.start)
    location_id = check_start_window(service, start, request.source)
    answers = dict(request.screening or {})
    screening = _screen(service, start, request, answers, location_id)
    with conflicts_mean_taken(), write_transaction("booking"):
        earlier = _submitted(request.submission_key)  # under the lock: a resend racing the first
        if earlier is not None:
            return earlier
        patient = _find_or_create_patient(
            request.patient, request.sms_opt_in, request.source, request.email_opt_in
        )
        if online:
            _refuse_second_booking_that_day(patient, service, start)
        appointment = hold(
            service,
            start,
            request.practitioner_id,
            patient,
            source=request.source,
            by=by,
            held_for_review=screening is not None and screening.outcome is Outcome.REVIEW,
        )
        appointment.submission_key = request.submission_key or None
        if screening is not None:
            screening_services.record(
                patient, appointment, service, answers, screening, source=request.source
            )
        if request.consent is not None and service.needles:
            # Only a needling service shows (and so can carry) a consent form; _screen has
            # checked it.
            signature = consent_services.sign(patient, request.consent, appointment=appointment)
            record_signature(by, signature, appointment)
    return appointment


def check_text_country(phone: str, sms_opt_in: bool) -> None:
    """Texts go only to numbers of SMS_ALLOWED_COUNTRIES: the door to SMS pumping stays shut.
    Booking without texts is always possible, so the message offers it."""
    allowed = current_app.config["SMS_ALLOWED_COUNTRIES"]
    if sms_opt_in and not phones.may_text(phone, allowed):
        raise ValidationFailed({"sms_opt_in": [phones.texts_not_allowed_message(allowed)]})


def check_bookings_per_number(phone: str) -> None:
    """At most BOOKINGS_PER_NUMBER_PER_DAY online bookings per mobile number per local day
    (0: no limit). The message says nothing of the bookings already made."""
    limit = current_app.config["BOOKINGS_PER_NUMBER_PER_DAY"]
    if limit <= 0:
        return
    tz = clinic_timezone()
    day_start, _ = day_bounds(local_date(utcnow(), tz), tz)
    made = db.session.scalar(
        select(func.count(Appointment.id))
        .join(Patient, Patient.id == Appointment.patient_id)
        .where(
            Patient.phone == phone,
            Appointment.source == BookingSource.ONLINE,
            Appointment.created_at >= day_start,
        )
    )
    if made >= limit:
        raise ValidationFailed(
            {
                "phone": [
                    "We cannot take more online bookings for this mobile number today. "
                    f"Please call us on {current_app.config['CLINIC_PHONE']} to book."
                ]
            },
            message="Too many online bookings for this number today.",
        )


def _submitted(key: str | None) -> Appointment | None:
    if not key:
        return None
    return db.session.scalar(select(Appointment).where(Appointment.submission_key == key))


def _refuse_second_booking_that_day(patient: Patient, service: Service, start: datetime) -> None:
    """An online booking for a patient who already holds this service that local day is most
    likely the same booking sent twice. The refusal names nothing of the other visit: whoever
    typed these details may not be that patient."""
    if patient.id is None:
        return
    tz = clinic_timezone()
    day = local_day_bounds(start.astimezone(tz).date(), tz)
    clash = db.session.scalar(
        select(Appointment.id)
        .where(
            Appointment.patient_id == patient.id,
            Appointment.service_id == service.id,
            Appointment.status.not_in(RELEASED_STATUSES),
            Appointment.start_at >= day.start,
            Appointment.start_at < day.end,
        )
        .limit(1)
    )
    if clash is not None:
        raise ValidationFailed(
            {"start": [DUPLICATE_BOOKING_MESSAGE]},
            message=DUPLICATE_BOOKING_MESSAGE,
        )


DUPLICATE_BOOKING_MESSAGE = (
    "There is already a booking for this service on that day. To see or change it, use the "
    "link in your confirmation text or email."
)


def gap_refusal_message(phone: str) -> str:
    return f"We could not book this time for you; please call us on {phone}."


def record_signature(by: Actor, signature, appointment) -> None:
    """A signed consent in the audit log: which form version, for which visit (or course)."""
    db.session.flush()
    audit.record(
        by,
        "consent.signed",
        at=signature.signed_at,
        patient_id=signature.patient_id,
        appointment_id=appointment.id if appointment is not None else None,
        changes={
            "signed_consent_id": (None, signature.id),
            "form_version": (None, signature.form_version),
        },
    )


@contextlib.contextmanager
def conflicts_mean_taken(message: str = "That time has just been taken."):
    """Database refusals of a booking write mean the slot is taken: PostgreSQL's exclusion
    constraints caught an overlap (a write that bypassed these services, say), or two writers
    deadlocked on them. Nothing was written; the caller answers 409."""
    try:
        yield
    except IntegrityError as exc:
        raise SlotUnavailable(message) from exc
    except OperationalError as exc:
        if getattr(exc.orig, "sqlstate", None) in ("40P01", "40001"):
            raise SlotUnavailable(message) from exc
        raise


def hold(
    service: Service,
    start: datetime,
    practitioner_id: int | None,
    patient: Patient,
    *,
    source: str,
    by: Actor | None = None,
    held_for_review: bool = False,
    course_id: int | None = None,
    course_position: int | None = None,
    confirm: bool = True,
) -> Appointment:
    """Claim the slot and add the appointment, inside the caller's write transaction.

    The lifecycle's "book" (or "hold", for answers a clinician must check) gives it its status
    and plans its texts; ``confirm=False`` skips the confirmation text (a course's later
    sessions, confirmed together with the first)."""
    slot = _claim(
        service,
        start,
        practitioner_id,
        patient,
        None,
        source=source,
        generic_refusal=source == BookingSource.ONLINE,
    )
    now = utcnow()
    practitioner = db.session.get(Practitioner, slot.practitioner_id)
    appointment = Appointment(
        patient=patient,
        service=service,
        practitioner=practitioner,
        room_id=slot.room_id,
        # The chosen practitioner's location: availability reads appointments per location.
        location_id=practitioner.location_id,
        start_at=slot.start,
        end_at=slot.end,
        blocked_until=slot.blocked_until,
        source=source,
        needles=service.needles,
        manage_key=secrets.token_hex(16),
        course_id=course_id,
        course_position=course_position,
        created_at=now,
        updated_at=now,
    )
    db.session.add(appointment)
    changes.apply(
        appointment,
        Event.HOLD if held_for_review else Event.BOOK,
        by or default_actor(source),
        context={"confirm": confirm},
    )
    db.session.flush()
    return appointment


def _screen(service, start, request: BookingRequest, answers, location_id):
    """Decide from the answers before anything is held; field errors for what is missing.

    Online, answers are required (and a consent for a needling service); at the desk they are
    optional, but whatever is given is checked the same way. None when nothing was screened.
    """
    online = request.source == BookingSource.ONLINE
    location = db.session.get(Location, location_id)
    visit_day = start.astimezone(ZoneInfo(location.timezone)).date()
    result, errors = None, {}
    if online or request.screening is not None:
        try:
            result = screening_services.assess(
                service,
                answers,
                date_of_birth=request.patient.date_of_birth,
                on=visit_day,
                phone=location.phone,
            )
        except ValidationFailed as missing:
            errors = dict(missing.errors)
    if service.needles and (online or request.consent is not None):
        errors.update(consent_services.check_input(request.consent, request.patient.full_name))
    if errors:
        raise ValidationFailed(errors, message="Please answer every question and sign the consent.")
    return result


def _actor(by: Actor | None, by_patient: bool) -> Actor:
    if by is not None:
        return by
    return Actor(ActorKind.PATIENT_LINK if by_patient else ActorKind.DESK)


def reschedule(
    appointment: Appointment,
    new_start: datetime,
    *,
    practitioner_id: int | None = None,
    room_id: int | None = None,
    by_patient: bool = True,
    by: Actor | None = None,
) -> Appointment:
    by = _actor(by, by_patient)
    if by.kind is ActorKind.PATIENT_LINK:
        ensure_patient_can_change(appointment)
    else:
        changes.check(appointment, Event.MOVE, by)
    source = BookingSource.ONLINE if by.kind is ActorKind.PATIENT_LINK else BookingSource.DESK
    new_start = require_aware(new_start)
    check_start_window(appointment.service, new_start, source)
    with conflicts_mean_taken(), write_transaction("booking"):
        move(
            appointment,
            new_start,
            practitioner_id=practitioner_id,
            room_id=room_id,
            source=source,
            by=by,
        )
    return appointment


def move(
    appointment: Appointment,
    new_start: datetime,
    *,
    practitioner_id: int | None = None,
    room_id: int | None = None,
    source: str = BookingSource.DESK,
    by: Actor | None = None,
) -> Appointment:
    """Move a visit inside the caller's write transaction, keeping its practitioner if free.

    ``room_id`` asks for that room (refused when it is taken then); without it the visit keeps
    its room when that is free at the new time, and otherwise takes the first free one."""
    db.session.refresh(appointment)
    by = by or default_actor(source)
    changes.check(appointment, Event.MOVE, by)
    slot = _claim(
        appointment.service,
        new_start,
        practitioner_id,
        appointment.patient,
        appointment.id,
        prefer=practitioner_id or appointment.practitioner_id,
        source=source,
    )
    chosen_room = _room_for(slot, appointment, room_id)
    changes.apply(
        appointment,
        Event.MOVE,
        by,
        changes={
            "start_at": slot.start,
            "end_at": slot.end,
            "blocked_until": slot.blocked_until,
            "practitioner_id": slot.practitioner_id,
            "room_id": chosen_room,
            "location_id": db.session.get(Practitioner, slot.practitioner_id).location_id,
        },
    )
    db.session.flush()
    # The relationships still point at the old practitioner and room until read again.
    db.session.refresh(appointment, ["practitioner", "room"])
    return appointment


def _room_for(slot: Slot, appointment: Appointment, room_id: int | None) -> int:
    """The room a moved visit goes to: the one asked for, else its own, else the slot's."""
    location_id = db.session.get(Practitioner, slot.practitioner_id).location_id
    if room_id is not None:
        room = db.session.get(Room, room_id)
        if room is None or not room.active or room.location_id != location_id:
            raise ValidationFailed({"room": ["Choose a room at the practitioner's location."]})
        if not _room_free(room_id, slot, appointment.id):
            raise SlotUnavailable("That room is taken at that time.")
        return room_id
    own = appointment.room_id
    if own != slot.room_id:
        room = db.session.get(Room, own)
        usable = room is not None and room.active and room.location_id == location_id
        if usable and _room_free(own, slot, appointment.id):
            return own
    return slot.room_id


def _room_free(room_id: int, slot: Slot, ignore_id: int) -> bool:
    clash = select(Appointment.id).where(
        Appointment.room_id == room_id,
        Appointment.id != ignore_id,
        Appointment.status.not_in(RELEASED_STATUSES),
        Appointment.start_at < slot.blocked_until,
        Appointment.blocked_until > slot.start,
    )
    return db.session.scalar(clash.limit(1)) is None


def cancel(
    appointment: Appointment,
    *,
    reason: str = "",
    by_patient: bool = True,
    by: Actor | None = None,
) -> Appointment:
    by = _actor(by, by_patient)
    if by.kind is ActorKind.PATIENT_LINK:
        ensure_patient_can_change(appointment)
    with write_transaction("booking"):
        db.session.refresh(appointment)
        if appointment.status == AppointmentStatus.CANCELLED:
            return appointment  # cancelling twice is harmless
        changes.apply(appointment, Event.CANCEL, by, reason=reason)
    return appointment


def patient_change_deadline(appointment: Appointment) -> datetime:
    return appointment.start_at - changes.change_window()


def patient_can_change(appointment: Appointment) -> bool:
    return changes.permitted(appointment, Event.CANCEL, ActorKind.PATIENT_LINK)


def ensure_patient_can_change(appointment: Appointment) -> None:
    if appointment.status == AppointmentStatus.CANCELLED:
        raise ChangeNotAllowed("This visit has already been cancelled.")
    if not patient_can_change(appointment):
        hours = clinic_policy().cancellation_window_hours
        phone = appointment.practitioner.location.phone
        raise ChangeNotAllowed(
            f"Visits can be changed online up to {hours} hours before they start. "
            f"Please call us on {phone}.",
            details={"phone": phone},
        )


# --- helpers -------------------------------------------------------------------------------


def require_aware(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationFailed({"start": ["Give the time with its UTC offset."]})
    return value


def check_start_window(service: Service, start: datetime, source: str) -> int:
    """Refuse past, too-soon and too-far starts with a field message; return the location."""
    rules = policy(source)
    now = utcnow()
    if start < now:
        raise ValidationFailed({"start": ["That time has already passed; please choose another."]})
    if start < now + rules.min_notice:
        hours = rules.min_notice.total_seconds() / 3600
        raise ValidationFailed(
            {"start": [f"Online bookings need at least {hours:g} hours' notice; please call us."]}
        )
    if start > now + rules.horizon:
        raise ValidationFailed(
            {"start": [f"We take bookings up to {rules.horizon.days} days ahead."]}
        )
    practitioners = practitioners_for(service)
    if not practitioners:
        raise SlotUnavailable("Nobody offers this service at the moment.")
    return practitioners[0].location_id


def _claim(
    service: Service,
    start: datetime,
    practitioner_id: int | None,
    patient: Patient,
    ignore_appointment_id: int | None,
    *,
    prefer: int | None = None,
    source: str = BookingSource.ONLINE,
    generic_refusal: bool = False,
) -> Slot:
    """Re-check inside the write lock that the slot is still free and return it.

    ``generic_refusal``: the needling gap refuses without saying why, for a new online booking
    whose details may not be the patient's own (the reason would tell a stranger that this
    person has a session near that date)."""
    tz = clinic_timezone()
    day = start.astimezone(tz).date()
    free = [
        slot
        for slot in find_slots(
            service,
            day,
            day,
            practitioner_id=practitioner_id,
            ignore_appointment_id=ignore_appointment_id,
            source=source,
        )
        if slot.start == start
    ]
    if not free:
        raise SlotUnavailable("Sorry, that time is no longer free.")
    if service.needles:
        others = _needling_starts(patient, Interval(start, start), ignore_appointment_id)
        days = policy(source).needling_gap_days
        if not needling_gap_ok(start, others, tz, days):
            if generic_refusal:
                phone = db.session.get(Practitioner, free[0].practitioner_id).location.phone
                message = gap_refusal_message(phone)
                raise ValidationFailed({"start": [message]}, message=message)
            raise ValidationFailed(
                {
                    "start": [
                        f"Treatment sessions need at least {days} days between them; "
                        "please choose a later or earlier date."
                    ]
                }
            )
    return _pick(free, prefer)


def still_free(appointment: Appointment) -> bool:
    """Whether nothing active overlaps the visit's practitioner or room time (a no-show undone
    on the day takes back its chair only if nobody was booked into it meanwhile)."""
    overlapping = select(Appointment.id).where(
        Appointment.id != appointment.id,
        Appointment.status.not_in(RELEASED_STATUSES),
        Appointment.start_at < appointment.blocked_until,
        Appointment.blocked_until > appointment.start_at,
        (Appointment.practitioner_id == appointment.practitioner_id)
        | (Appointment.room_id == appointment.room_id),
    )
    return db.session.scalar(overlapping.limit(1)) is None


def _pick(free: Iterable[Slot], prefer: int | None) -> Slot:
    free = list(free)
    for slot in free:
        if slot.practitioner_id == prefer:
            return slot
    return free[0]


def _find_or_create_patient(
    details: PatientDetails, sms_opt_in: bool, source: str, email_opt_in: bool | None = None
) -> Patient:
    return identity.find_or_create_patient(details, sms_opt_in, source, email_opt_in)
