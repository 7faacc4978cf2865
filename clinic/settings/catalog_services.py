"""The clinic's set-up as an admin changes it: services, locations and their rooms.

Each change is one write transaction with its audit row. The booking lock is taken (the
default of ``write_transaction``) because these changes decide what can be booked: a room
deactivated while a booking takes it, or a service changed while a patient books it, must
happen one after the other. The availability answer cache forgets on commit by itself
(clinic/web/cache.py watches these tables).

Decisions a clinic would otherwise have to guess:

- A service's slug is fixed once the service exists. It is the service's address in public
  links (/book/<slug>, /waitlist/join/<slug>, the JSON API) that clinics print, advertise and
  hand to partners; nothing redirects an old slug, so a change would quietly break them. A new
  address is a new service (and the old one deactivated).
- Services, locations and rooms are never deleted: visits refer to them. Services and rooms
  are deactivated instead.
- A room holding a visit that has not ended yet cannot be deactivated (409, naming the visits):
  those visits would keep a room the calendar no longer shows. Move them first.
- A location's time zone cannot change while it has visits that have not ended: visits are
  stored as instants, working hours as wall-clock times, and patients were told a local time.
  A new zone would either move every visit on the wall clock or move it against its practitioner's
  hours, and the texts already sent would name the wrong time. An empty location (a mistake
  made while setting it up) can change freely.
"""

from __future__ import annotations

import functools
import hashlib
import re
import unicodedata
import zoneinfo
from dataclasses import astuple, dataclass

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from clinic.actors import Actor
from clinic.audit.services import record
from clinic.booking.models import Appointment
from clinic.catalog.models import INGREDIENTS, Location, Practitioner, Room, Service
from clinic.clock import utcnow
from clinic.database import write_transaction
from clinic.errors import ChangeNotAllowed, NotFound, ValidationFailed
from clinic.extensions import db
from clinic.patients.phones import InvalidPhone, normalize_phone
from clinic.visits import lifecycle

# Bounds a real service falls well inside; beyond them the number is a typing slip.
# Whole five-minute steps: the engine offers starts on BOOKING_SLOT_STEP_MINUTES' grid from
# each working block's start, and visits that last whole five minutes end on a grid of the
# same kind (a 20-minute consultation ends on a quarter hour's five-minute mark), so the
# desk calendar's quarter-hour rows and the times patients are told stay readable.
MINUTE_STEP = 5
MAX_DURATION_MINUTES = 8 * 60  # one working day
MAX_BUFFER_MINUTES = 120
MAX_PRICE_PENCE = 10_000_00  # £10,000
SLUG_PATTERN = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
MAX_SLUG_CHARS = 80
MAX_SERVICE_NAME_CHARS = 120
MAX_DESCRIPTION_CHARS = 500
MAX_LOCATION_NAME_CHARS = 120
MAX_ADDRESS_CHARS = 300
MAX_ROOM_NAME_CHARS = 80

# A visit that still holds its practitioner and room.
HOLDING_STATES = tuple(
    state.value
    for state in lifecycle.State
    if state not in lifecycle.RELEASED and state is not lifecycle.State.COMPLETED
)


class StaleForm(ChangeNotAllowed):
    """The record changed after the form was shown: saving would overwrite someone's change."""


class NameTaken(ChangeNotAllowed):
    """Another record already has this name (or slug): a clash, answered 409 on the field."""

    def __init__(self, message: str, *, field: str):
        super().__init__(message, field=field)


class InUse(ChangeNotAllowed):
    """The change would strand visits that have not ended yet; ``visits`` names them."""

    def __init__(self, message: str, *, visits: list[Appointment]):
        super().__init__(message, details={"visits": [visit.id for visit in visits]})
        self.visits = visits


def fingerprint(*values) -> str:
    """The editable fields as a form shows them, condensed: a form sent back with another
    fingerprint was filled in over a record that has since changed."""
    shown = "\x1f".join(repr(value) for value in values)
    return hashlib.sha256(shown.encode()).hexdigest()[:24]


def _check_version(version: str, current: str, what: str) -> None:
    if version != current:
        raise StaleForm(
            f"Someone changed this {what} after this form was opened. Nothing was saved: "
            "check the details shown now and make the change again."
        )


CONTROL_MESSAGE = "Use letters, digits, spaces and punctuation only."


def _has_control(text: str, *, lines: bool = False) -> bool:
    """Control characters (a NUL, say, which PostgreSQL refuses to store) in what people typed;
    ``lines`` lets line breaks and tabs through, as a description or an address has them."""
    allowed = {"\n", "\r", "\t"} if lines else set()
    return any(unicodedata.category(char)[0] == "C" and char not in allowed for char in text)


def _changes(before: dict, after: dict) -> dict[str, tuple]:
    return {key: (before[key], after[key]) for key in after if before[key] != after[key]}


# --- services -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ServiceDetails:
    name: str
    description: str
    duration_minutes: int
    buffer_after_minutes: int
    price_pence: int
    needles: bool
    ingredients: tuple[str, ...]
    bookable_online: bool
    active: bool

    @classmethod
    def of(cls, service: Service) -> ServiceDetails:
        return cls(
            name=service.name,
            description=service.description or "",
            duration_minutes=service.duration_minutes,
            buffer_after_minutes=service.buffer_after_minutes,
            price_pence=service.price_pence,
            needles=service.needles,
            ingredients=service.ingredients,
            bookable_online=service.bookable_online,
            active=service.active,
        )

    def columns(self) -> dict:
        """The service's columns these details set, by column name (as the audit rows say)."""
        values = {
            "name": self.name,
            "description": self.description,
            "duration_minutes": self.duration_minutes,
            "buffer_after_minutes": self.buffer_after_minutes,
            "price_pence": self.price_pence,
            "needles": self.needles,
            "bookable_online": self.bookable_online,
            "active": self.active,
        }
        values.update({f"uses_{name}": name in self.ingredients for name in INGREDIENTS})
        return values


def service_version(service: Service) -> str:
    return fingerprint(*astuple(ServiceDetails.of(service)))


def services() -> list[Service]:
    """Every service, active ones first, then by name."""
    return list(db.session.scalars(select(Service).order_by(Service.active.desc(), Service.name)))


def service(service_id: int) -> Service:
    found = db.session.get(Service, service_id)
    if found is None:
        raise NotFound("There is no such service.")
    return found


def practitioners_offering(service_id: int) -> list[Practitioner]:
    """Who offers a service (set on each practitioner's page), active first."""
    return list(
        db.session.scalars(
            select(Practitioner)
            .where(Practitioner.services.any(Service.id == service_id))
            .order_by(Practitioner.active.desc(), Practitioner.name)
        )
    )


def suggested_slug(name: str) -> str:
    """A URL-safe slug from a service's name: "Microneedling + PRP" -> "microneedling-prp"."""
    plain = unicodedata.normalize("NFKD", name or "").encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", plain.lower())
    return "-".join(words)[:MAX_SLUG_CHARS].strip("-")


def _service_errors(details: ServiceDetails) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}

    def refuse(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    if not details.name.strip():
        refuse("name", "Enter the service's name.")
    elif len(details.name) > MAX_SERVICE_NAME_CHARS:
        refuse("name", f"Shorten the name to {MAX_SERVICE_NAME_CHARS} characters.")
    elif _has_control(details.name):
        refuse("name", CONTROL_MESSAGE)
    if len(details.description) > MAX_DESCRIPTION_CHARS:
        refuse("description", f"Shorten the description to {MAX_DESCRIPTION_CHARS} characters.")
    elif _has_control(details.description, lines=True):
        refuse("description", CONTROL_MESSAGE)
    duration = details.duration_minutes
    if not MINUTE_STEP <= duration <= MAX_DURATION_MINUTES:
        refuse(
            "duration_minutes",
            f"A visit lasts between {MINUTE_STEP} and {MAX_DURATION_MINUTES} minutes.",
        )
    elif duration % MINUTE_STEP:
        refuse("duration_minutes", f"Use whole {MINUTE_STEP}-minute steps (45, 50, 55...).")
    buffer = details.buffer_after_minutes
    if not 0 <= buffer <= MAX_BUFFER_MINUTES:
        refuse(
            "buffer_after_minutes",
            f"Cleanup time is between 0 and {MAX_BUFFER_MINUTES} minutes.",
        )
    elif buffer % MINUTE_STEP:
        refuse("buffer_after_minutes", f"Use whole {MINUTE_STEP}-minute steps (0, 5, 10...).")
    if not 0 <= details.price_pence <= MAX_PRICE_PENCE:
        refuse("price", f"Enter a price between £0 and £{MAX_PRICE_PENCE // 100:,}.")
    unknown = set(details.ingredients) - set(INGREDIENTS)
    if unknown:
        refuse("ingredients", "Choose among the ingredients listed.")
    elif details.ingredients and not details.needles:
        # Screening asks about ingredients only before needling (clinic/screening/rules.py):
        # a service that used them without needling would book with their questions unasked.
        refuse(
            "ingredients",
            "Only a service that needles can use these ingredients: tick needles, or clear them.",
        )
    return errors


def _check_service_unique(name: str, slug: str | None, *, other_than: int | None) -> None:
    others = select(Service.id).where(Service.id != (other_than or 0))
    taken = db.session.scalar(
        others.where(func.lower(Service.name) == name.strip().lower()).limit(1)
    )
    if taken is not None:
        raise NameTaken("Another service already has this name.", field="name")
    if slug is not None and db.session.scalar(others.where(Service.slug == slug).limit(1)):
        raise NameTaken(
            "Another service already uses this web address (slug); choose another.", field="slug"
        )


def add_service(details: ServiceDetails, slug: str, *, by: Actor) -> Service:
    """Add a service; ``slug`` empty takes one made from the name.

    Raises ValidationFailed (field errors) or NameTaken (name or slug in use).
    """
    slug = (slug or "").strip().lower() or suggested_slug(details.name)
    errors = _service_errors(details)
    if not SLUG_PATTERN.fullmatch(slug) or len(slug) > MAX_SLUG_CHARS:
        errors.setdefault("slug", []).append(
            "Use lower-case letters, digits and single hyphens, for example scalp-microneedling "
            f"(at most {MAX_SLUG_CHARS} characters)."
        )
    if errors:
        raise ValidationFailed(errors)
    with write_transaction() as session:
        _check_service_unique(details.name, slug, other_than=None)
        values = details.columns()
        added = Service(slug=slug, **values)
        session.add(added)
        try:
            session.flush()
        except IntegrityError as exc:  # a slug taken between the check and the insert
            raise NameTaken("Another service already uses this slug.", field="slug") from exc
        record(
            by,
            "settings.service_added",
            at=utcnow(),
            changes={"slug": (None, slug)} | {key: (None, value) for key, value in values.items()},
        )
    return added


def change_service(service_id: int, details: ServiceDetails, *, version: str, by: Actor) -> dict:
    """Save an edited service (its slug stays); returns the changes, empty when none.

    Raises NotFound, ValidationFailed, StaleForm (changed since ``version``) or NameTaken.
    """
    errors = _service_errors(details)
    if errors:
        raise ValidationFailed(errors)
    with write_transaction():
        current = service(service_id)
        _check_version(version, service_version(current), "service")
        before = ServiceDetails.of(current).columns()
        changes = _changes(before, details.columns())
        if not changes:
            return {}
        if "name" in changes:
            _check_service_unique(details.name, None, other_than=service_id)
        for key, (_, after) in changes.items():
            setattr(current, key, after)
        record(by, "settings.service_changed", at=utcnow(), changes=changes, detail=current.slug)
    return changes


# --- locations ------------------------------------------------------------------------------


@dataclass(frozen=True)
class LocationDetails:
    name: str
    address: str
    phone: str
    timezone: str

    @classmethod
    def of(cls, location: Location) -> LocationDetails:
        return cls(location.name, location.address or "", location.phone, location.timezone)


def location_version(location: Location) -> str:
    return fingerprint(*astuple(LocationDetails.of(location)))


def locations() -> list[Location]:
    return list(
        db.session.scalars(
            select(Location).options(selectinload(Location.rooms)).order_by(Location.name)
        )
    )


def location(location_id: int) -> Location:
    found = db.session.get(Location, location_id)
    if found is None:
        raise NotFound("There is no such location.")
    return found


@functools.cache
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _checked_location(details: LocationDetails, *, stored_phone: str = "") -> LocationDetails:
    """The details as stored (the phone in international format), or ValidationFailed."""
    errors: dict[str, list[str]] = {}
    if not details.name.strip():
        errors["name"] = ["Enter the location's name."]
    elif len(details.name) > MAX_LOCATION_NAME_CHARS:
        errors["name"] = [f"Shorten the name to {MAX_LOCATION_NAME_CHARS} characters."]
    elif _has_control(details.name):
        errors["name"] = [CONTROL_MESSAGE]
    if len(details.address) > MAX_ADDRESS_CHARS:
        errors["address"] = [f"Shorten the address to {MAX_ADDRESS_CHARS} characters."]
    elif _has_control(details.address, lines=True):
        errors["address"] = [CONTROL_MESSAGE]
    phone = details.phone.strip()
    if not (stored_phone and phone == stored_phone):
        # A number on record sent back unchanged stands as it is, as the patient contact form
        # lets it.
        try:
            phone = normalize_phone(phone, current_app.config["DEFAULT_PHONE_REGION"])
        except InvalidPhone as exc:
            errors["phone"] = [str(exc)]
    zone = details.timezone.strip()
    if zone not in _zones():
        errors["timezone"] = [
            "Enter a time zone by its IANA name, for example Europe/London or America/New_York."
        ]
    else:
        try:
            zoneinfo.ZoneInfo(zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            errors["timezone"] = ["This server does not know that time zone."]
    if errors:
        raise ValidationFailed(errors)
    return LocationDetails(details.name.strip(), details.address.strip(), phone, zone)


def _check_location_unique(name: str, *, other_than: int | None) -> None:
    taken = db.session.scalar(
        select(Location.id)
        .where(Location.id != (other_than or 0), func.lower(Location.name) == name.lower())
        .limit(1)
    )
    if taken is not None:
        raise NameTaken("Another location already has this name.", field="name")


def add_location(details: LocationDetails, *, by: Actor) -> Location:
    """Raises ValidationFailed or NameTaken."""
    details = _checked_location(details)
    with write_transaction() as session:
        _check_location_unique(details.name, other_than=None)
        added = Location(**vars(details))
        session.add(added)
        session.flush()
        record(
            by,
            "settings.location_added",
            at=utcnow(),
            changes={key: (None, value) for key, value in vars(details).items()},
        )
    return added


def change_location(location_id: int, details: LocationDetails, *, version: str, by: Actor) -> dict:
    """Save an edited location; returns the changes, empty when none.

    Raises NotFound, ValidationFailed, StaleForm, NameTaken, or InUse for a new time zone
    while visits there have not ended.
    """
    stored = db.session.get(Location, location_id)
    details = _checked_location(details, stored_phone=stored.phone if stored else "")
    with write_transaction():
        current = location(location_id)
        _check_version(version, location_version(current), "location")
        changes = _changes(vars(LocationDetails.of(current)), vars(details))
        if not changes:
            return {}
        if "name" in changes:
            _check_location_unique(details.name, other_than=location_id)
        if "timezone" in changes:
            pending = _visits_not_ended(Appointment.location_id == location_id)
            if pending:
                raise InUse(
                    "The time zone cannot change while this location has visits that have not "
                    "ended: patients were told their local times. Move or cancel these first.",
                    visits=pending,
                )
        for key, (_, after) in changes.items():
            setattr(current, key, after)
        record(by, "settings.location_changed", at=utcnow(), changes=changes)
    return changes


# --- rooms ----------------------------------------------------------------------------------


def room_version(room: Room) -> str:
    return fingerprint(room.name, room.active)


def room(room_id: int) -> Room:
    found = db.session.get(Room, room_id)
    if found is None:
        raise NotFound("There is no such room.")
    return found


def _room_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise ValidationFailed({"name": ["Enter the room's name."]})
    if len(name) > MAX_ROOM_NAME_CHARS:
        raise ValidationFailed({"name": [f"Shorten the name to {MAX_ROOM_NAME_CHARS} characters."]})
    if _has_control(name):
        raise ValidationFailed({"name": [CONTROL_MESSAGE]})
    return name


def _check_room_unique(location_id: int, name: str, *, other_than: int | None) -> None:
    taken = db.session.scalar(
        select(Room.id)
        .where(
            Room.location_id == location_id,
            Room.id != (other_than or 0),
            func.lower(Room.name) == name.lower(),
        )
        .limit(1)
    )
    if taken is not None:
        raise NameTaken("This location already has a room with this name.", field="name")


def add_room(location_id: int, name: str, *, by: Actor) -> Room:
    """Add an active room to a location: it takes bookings at once.

    Raises NotFound, ValidationFailed or NameTaken.
    """
    name = _room_name(name)
    with write_transaction() as session:
        place = location(location_id)
        _check_room_unique(location_id, name, other_than=None)
        added = Room(location_id=location_id, name=name, active=True)
        session.add(added)
        session.flush()
        record(
            by,
            "settings.room_added",
            at=utcnow(),
            changes={"name": (None, name), "location": (None, place.name)},
        )
    return added


def rename_room(room_id: int, name: str, *, version: str, by: Actor) -> dict:
    """Raises NotFound, ValidationFailed, StaleForm or NameTaken."""
    name = _room_name(name)
    with write_transaction():
        current = room(room_id)
        _check_version(version, room_version(current), "room")
        if name == current.name:
            return {}
        _check_room_unique(current.location_id, name, other_than=room_id)
        changes = {"name": (current.name, name)}
        current.name = name
        record(by, "settings.room_renamed", at=utcnow(), changes=changes)
    return changes


def set_room_active(room_id: int, active: bool, *, version: str, by: Actor) -> dict:
    """Deactivate (no new bookings, gone from the calendar) or reactivate a room.

    Raises NotFound, StaleForm, or InUse when a room to deactivate holds visits that have not
    ended.
    """
    with write_transaction():
        current = room(room_id)
        _check_version(version, room_version(current), "room")
        if current.active == active:
            return {}
        if not active:
            pending = _visits_not_ended(Appointment.room_id == room_id)
            if pending:
                raise InUse(
                    "This room has visits that have not ended yet. Move them to another room "
                    "first, then deactivate it.",
                    visits=pending,
                )
        changes = {"active": (current.active, active)}
        current.active = active
        record(
            by,
            "settings.room_reactivated" if active else "settings.room_deactivated",
            at=utcnow(),
            changes=changes,
            detail=current.name,
        )
    return changes


def _visits_not_ended(where) -> list[Appointment]:
    """Visits matching ``where`` that still hold their time (cleanup included), soonest first."""
    return list(
        db.session.scalars(
            select(Appointment)
            .where(
                where,
                Appointment.status.in_(HOLDING_STATES),
                Appointment.blocked_until > utcnow(),
            )
            .options(selectinload(Appointment.service), selectinload(Appointment.practitioner))
            .order_by(Appointment.start_at)
        )
    )


def visits_not_ended_count(location_id: int) -> int:
    return db.session.scalar(
        select(func.count(Appointment.id)).where(
            Appointment.location_id == location_id,
            Appointment.status.in_(HOLDING_STATES),
            Appointment.blocked_until > utcnow(),
        )
    )
