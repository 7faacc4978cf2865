"""Random clinics for comparing the availability engine with tests/reference_slots.py.

Each clinic comes from a seeded ``random.Random``, so a failing seed can be replayed alone. The
clinics lean on the awkward cases: days around daylight-saving changes in London, New York and
Lord Howe Island (a half-hour change), zones with half-hour offsets, working hours at odd minutes,
in the hours the clocks skip or repeat, touching, overlapping and midnight-ending blocks, busy
time and closures straddling midnight, odd steps, durations and buffers, notice and horizon
edges, and the needling gap.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from clinic.booking.slots import (
    BookingPolicy,
    Interval,
    PractitionerCalendar,
    RoomCalendar,
    WorkingBlock,
    local_day_bounds,
)

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")
KOLKATA = ZoneInfo("Asia/Kolkata")
ZONES = (LONDON, NEW_YORK, LONDON, NEW_YORK, ZoneInfo("UTC"), LORD_HOWE, KOLKATA)
CLOCK_CHANGES = {
    LONDON: (date(2026, 3, 29), date(2026, 10, 25)),
    NEW_YORK: (date(2026, 3, 8), date(2026, 11, 1)),
    LORD_HOWE: (date(2026, 4, 5), date(2026, 10, 4)),
}
MINUTE = timedelta(minutes=1)


def random_zone(rng: random.Random) -> ZoneInfo:
    return rng.choice(ZONES)


def random_first_day(rng: random.Random, tz: ZoneInfo) -> date:
    changes = CLOCK_CHANGES.get(tz)
    if changes and rng.random() < 0.7:
        return rng.choice(changes) + timedelta(days=rng.randint(-3, 1))
    return date(2026, 1, 5) + timedelta(days=rng.randint(0, 360))


def random_wall_time(rng: random.Random) -> time:
    kind = rng.random()
    if kind < 0.35:
        # Around the hours clocks change in (00:00-03:59), where gaps and folds live.
        return time(rng.randint(0, 3), rng.choice((0, 15, 30, 45, 59)))
    if kind < 0.75:
        return time(rng.randint(6, 20), rng.choice((0, 15, 30, 45)))
    if kind < 0.97:
        return time(rng.randint(0, 23), rng.randint(0, 59))
    return time(rng.randint(0, 23), rng.randint(0, 59), rng.randint(1, 59))


def random_blocks(
    rng: random.Random, *, midnight_ends: bool = True, count: int | None = None
) -> tuple[WorkingBlock, ...]:
    blocks = []
    for _ in range(rng.choice((0, 2, 4, 6, 8)) if count is None else count):
        weekday = rng.randint(0, 6)
        start = random_wall_time(rng)
        if midnight_ends and rng.random() < 0.15:
            end = time(0)  # until the midnight that ends the day
        else:
            later = datetime.combine(date(2026, 1, 1), start) + rng.choice(
                (MINUTE * rng.randint(1, 90), timedelta(hours=rng.randint(1, 10)))
            )
            if later.date() != date(2026, 1, 1) or later.time() == time(0):
                if not midnight_ends:
                    continue
                end = time(0)
            else:
                end = later.time()
        blocks.append(WorkingBlock(weekday, start, end))
        if rng.random() < 0.2 and end != time(0):
            # A block that touches the previous one: a seam a session may run across.
            seam_end = (datetime.combine(date(2026, 1, 1), end) + timedelta(hours=2)).time()
            if seam_end > end:
                blocks.append(WorkingBlock(weekday, end, seam_end))
    return tuple(blocks)


def random_instant(rng: random.Random, around: datetime, days: int) -> datetime:
    """An instant within ``days`` days either side of ``around``, mostly on whole minutes."""
    instant = around + MINUTE * rng.randint(-days * 24 * 60, days * 24 * 60)
    if rng.random() < 0.6:
        # Mostly on the quarter hours working hours and steps fall on, so edges meet.
        instant -= MINUTE * (instant.minute % 15)
    odd = rng.random()
    if odd < 0.05:
        instant += timedelta(seconds=rng.randint(1, 59), microseconds=rng.randint(0, 999_999))
    elif odd < 0.3:
        # One microsecond either side of a whole minute: the edges of half-open intervals.
        instant += timedelta(microseconds=rng.choice((-1, 1)))
    return instant


def random_length(rng: random.Random, longest: timedelta = timedelta(hours=12)) -> timedelta:
    length = rng.choice(
        (
            MINUTE * rng.choice((5, 15, 20, 30, 45, 60, 75, 90, 120)),
            MINUTE * rng.randint(1, 300),
            timedelta(hours=rng.randint(3, 12)),
        )
    )
    return min(length, longest)


def random_now(rng: random.Random, midnight: datetime) -> datetime:
    """Mostly a day or two before the first day asked about; sometimes inside or after it."""
    if rng.random() < 0.75:
        return random_instant(rng, midnight - timedelta(days=1), 1)
    return random_instant(rng, midnight, 3)


def random_policy(rng: random.Random) -> BookingPolicy:
    return BookingPolicy(
        min_notice=rng.choice(
            (timedelta(0), MINUTE * 15, timedelta(hours=2), timedelta(hours=26), MINUTE * 7)
        ),
        horizon=rng.choice(
            (
                timedelta(days=1),
                timedelta(days=3),
                timedelta(days=10),
                timedelta(days=90),
                timedelta(days=90),
            )
        ),
        step=MINUTE * rng.choice((5, 7, 10, 15, 15, 15, 20, 25, 30, 45, 60)),
        needling_gap_days=rng.choice((0, 1, 3, 7, 7)),
    )


def random_duration(rng: random.Random) -> tuple[timedelta, timedelta]:
    duration = MINUTE * rng.choice((5, 15, 20, 30, 37, 45, 45, 60, 75, 90, 120, 240))
    buffer_after = MINUTE * rng.choice((0, 0, 5, 13, 15, 15, 30))
    return duration, buffer_after


def random_engine_arguments(seed: int) -> dict:
    """Keyword arguments for bookable_slots: one random clinic, calendar and question."""
    rng = random.Random(seed)
    tz = random_zone(rng)
    first_day = random_first_day(rng, tz)
    last_day = first_day + timedelta(days=rng.randint(0, 6))
    midnight = local_day_bounds(first_day, tz).start
    span = (last_day - first_day).days + 2
    now = random_now(rng, midnight)
    duration, buffer_after = random_duration(rng)

    def busy(count: int) -> tuple[Interval, ...]:
        intervals = []
        for _ in range(count):
            start = random_instant(rng, midnight + timedelta(days=span // 2), span)
            intervals.append(Interval(start, start + random_length(rng)))
        return tuple(intervals)

    ids = rng.sample(range(1, 40), 8)
    practitioners = [
        PractitionerCalendar(ids.pop(), random_blocks(rng), busy(rng.randint(0, 8)))
        for _ in range(rng.choice((0, 1, 1, 2, 2, 3, 3, 3, 4, 4)))
    ]
    rooms = [
        RoomCalendar(ids.pop(), busy(rng.randint(0, 6)))
        for _ in range(rng.choice((0, 1, 1, 2, 2, 2, 3, 3, 3, 3)))
    ]
    closures = []
    for _ in range(rng.choice((0, 0, 0, 1, 2))):
        if rng.random() < 0.5:
            day = first_day + timedelta(days=rng.randint(-1, span))
            closures.append(local_day_bounds(day, tz))
        else:
            closures.extend(busy(1))
    needling = rng.random() < 0.4
    patient_starts = [random_instant(rng, midnight, 12) for _ in range(rng.choice((0, 1, 2, 3)))]
    return dict(
        now=now.astimezone(UTC) if rng.random() < 0.8 else now.astimezone(tz),
        tz=tz,
        first_day=first_day,
        last_day=last_day,
        duration=duration,
        buffer_after=buffer_after,
        practitioners=practitioners,
        rooms=rooms,
        closures=closures,
        policy=random_policy(rng),
        needling=needling,
        patient_needling_starts=patient_starts,
    )


# --- clinics as database rows -------------------------------------------------------------


ACTIVE_STATUSES = ("needs_review", "booked", "confirmed", "checked_in", "completed")
RELEASED = ("cancelled", "no_show")


@dataclass
class ClinicRows:
    """One random clinic as the rows of its tables, plus the question asked of it."""

    now: datetime
    first_day: date
    last_day: date
    locations: list[dict] = field(default_factory=list)
    services: list[dict] = field(default_factory=list)
    practitioners: list[dict] = field(default_factory=list)
    offers: list[dict] = field(default_factory=list)
    working_hours: list[dict] = field(default_factory=list)
    rooms: list[dict] = field(default_factory=list)
    patients: list[dict] = field(default_factory=list)
    appointments: list[dict] = field(default_factory=list)
    time_off: list[dict] = field(default_factory=list)
    # find_slots' keyword arguments, with ids in place of objects.
    practitioner_id: int | None = None
    patient_id: int | None = None
    ignore_appointment_id: int | None = None
    source: str = "online"


def random_clinic_rows(seed: int) -> ClinicRows:
    rng = random.Random(seed)
    ids = iter(rng.sample(range(1, 10_000), 400))
    tz = random_zone(rng)
    first_day = random_first_day(rng, tz)
    last_day = first_day + timedelta(days=rng.randint(0, 6))
    midnight = local_day_bounds(first_day, tz).start
    span = (last_day - first_day).days + 2
    now = random_now(rng, midnight).replace(second=0, microsecond=0)
    clinic = ClinicRows(now=now, first_day=first_day, last_day=last_day)

    zones = [tz] if rng.random() < 0.8 else [tz, random_zone(rng)]
    for n, zone in enumerate(zones):
        clinic.locations.append(
            dict(
                id=next(ids),
                name=f"Location {n}",
                address="",
                phone="+44 20 7946 0000",
                timezone=zone.key,
            )
        )
    duration, buffer_after = random_duration(rng)
    needles = rng.random() < 0.4
    clinic.services.append(
        dict(
            id=next(ids),
            name="Service",
            slug="service",
            description="",
            duration_minutes=duration // MINUTE,
            buffer_after_minutes=buffer_after // MINUTE,
            price_pence=0,
            needles=needles,
            uses_numbing=False,
            uses_minoxidil=False,
            uses_prp=False,
            uses_steroid=False,
            bookable_online=True,
            active=True,
        )
    )
    service_id = clinic.services[0]["id"]
    for location in clinic.locations:
        for n in range(rng.choice((1, 1, 2, 3))):
            clinic.rooms.append(
                dict(
                    id=next(ids),
                    location_id=location["id"],
                    name=f"Room {n}",
                    active=rng.random() < 0.9,
                )
            )
    for n in range(rng.choice((1, 2, 2, 3, 4))):
        location = rng.choice(clinic.locations)
        practitioner_id = next(ids)
        clinic.practitioners.append(
            dict(
                id=practitioner_id,
                location_id=location["id"],
                name=f"Practitioner {n}",
                active=rng.random() < 0.9,
            )
        )
        if rng.random() < 0.9:
            clinic.offers.append(dict(practitioner_id=practitioner_id, service_id=service_id))
        for block in random_blocks(rng, midnight_ends=False, count=rng.randint(0, 6)):
            clinic.working_hours.append(
                dict(
                    id=next(ids),
                    practitioner_id=practitioner_id,
                    weekday=block.weekday,
                    start_time=block.start,
                    end_time=block.end,
                )
            )
    for n in range(rng.choice((1, 2, 3))):
        clinic.patients.append(
            dict(
                id=next(ids),
                full_name=f"Patient {n}",
                phone=f"+4479000{seed % 10_000:04d}{n}",
                email="",
                date_of_birth=date(1980, 1, 1),
                sms_opt_in=False,
                sms_opt_in_source="",
                created_at=now,
            )
        )

    # Active visits never overlap in a practitioner's or a room's time (PostgreSQL's exclusion
    # constraints refuse that); released ones may.
    taken: dict[tuple[str, int], list[tuple[datetime, datetime]]] = {}
    for n in range(rng.randint(0, 14)):
        practitioner = rng.choice(clinic.practitioners)
        rooms = [r for r in clinic.rooms if r["location_id"] == practitioner["location_id"]]
        room = rng.choice(rooms)
        start = random_instant(rng, midnight + timedelta(days=span // 2), span)
        start = start.replace(second=0, microsecond=0)
        length = MINUTE * rng.choice((15, 20, 45, 60, 75, 90, 200))
        buffer = MINUTE * rng.choice((0, 15, 15, 30))
        end, blocked_until = start + length, start + length + buffer
        status = rng.choice(ACTIVE_STATUSES + RELEASED)
        if status in ACTIVE_STATUSES:
            keys = [("practitioner", practitioner["id"]), ("room", room["id"])]
            if any(s < blocked_until and start < e for key in keys for s, e in taken.get(key, ())):
                status = "cancelled"
            else:
                for key in keys:
                    taken.setdefault(key, []).append((start, blocked_until))
        clinic.appointments.append(
            dict(
                id=next(ids),
                patient_id=rng.choice(clinic.patients)["id"],
                service_id=service_id,
                practitioner_id=practitioner["id"],
                room_id=room["id"],
                location_id=practitioner["location_id"],
                start_at=start,
                end_at=end,
                blocked_until=blocked_until,
                status=status,
                source=rng.choice(("online", "desk")),
                needles=rng.random() < 0.6,
                cancel_reason="",
                manage_key=f"k{seed:012d}{n:04d}",
                created_at=now,
                updated_at=now,
                cancelled_at=None,
            )
        )
    # Needling sessions of the patient asked about, days away, for the gap rule.
    for n in range(rng.choice((0, 0, 1, 2))):
        practitioner = rng.choice(clinic.practitioners)
        room = rng.choice(
            [r for r in clinic.rooms if r["location_id"] == practitioner["location_id"]]
        )
        start = random_instant(rng, midnight, 12).replace(second=0, microsecond=0)
        clinic.appointments.append(
            dict(
                id=next(ids),
                patient_id=clinic.patients[0]["id"],
                service_id=service_id,
                practitioner_id=practitioner["id"],
                room_id=room["id"],
                location_id=practitioner["location_id"],
                start_at=start,
                end_at=start + MINUTE * 45,
                blocked_until=start + MINUTE * 45,
                status=rng.choice(("booked", "completed", "cancelled")),
                source="desk",
                needles=True,
                cancel_reason="",
                manage_key=f"n{seed:012d}{n:04d}",
                created_at=now,
                updated_at=now,
                cancelled_at=None,
            )
        )
        if clinic.appointments[-1]["status"] != "cancelled":
            keys = [("practitioner", practitioner["id"]), ("room", room["id"])]
            window = (start, start + MINUTE * 45)
            if any(s < window[1] and window[0] < e for key in keys for s, e in taken.get(key, ())):
                clinic.appointments[-1]["status"] = "cancelled"
            else:
                for key in keys:
                    taken.setdefault(key, []).append(window)
    for _ in range(rng.choice((0, 0, 1, 2, 3))):
        location = rng.choice(clinic.locations)
        staff = [p for p in clinic.practitioners if p["location_id"] == location["id"]]
        whose = rng.choice(staff)["id"] if staff and rng.random() < 0.6 else None
        if rng.random() < 0.4:
            zone = ZoneInfo(location["timezone"])
            bounds = local_day_bounds(first_day + timedelta(days=rng.randint(-1, span)), zone)
            start, end = bounds.start, bounds.end
        else:
            start = random_instant(rng, midnight + timedelta(days=span // 2), span)
            end = start + random_length(rng, timedelta(days=2))
        clinic.time_off.append(
            dict(
                id=next(ids),
                location_id=location["id"],
                practitioner_id=whose,
                start_at=start,
                end_at=end,
                reason="",
            )
        )

    if rng.random() < 0.25:
        clinic.practitioner_id = rng.choice(clinic.practitioners)["id"]
    if needles and rng.random() < 0.7:
        clinic.patient_id = clinic.patients[0]["id"]
    if clinic.appointments and rng.random() < 0.3:
        clinic.ignore_appointment_id = rng.choice(clinic.appointments)["id"]
    clinic.source = rng.choice(("online", "desk"))
    return clinic
