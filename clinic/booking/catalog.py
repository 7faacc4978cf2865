"""The clinic's set-up as availability needs it, kept in memory per web process.

Every availability answer needs the service's terms, who offers it with their weekly hours and
zones, and the rooms of their locations. Reading them on every request cost about as much as
finding the free times, while they change a few times a week. ``Catalog`` holds them as plain
values, labelled with the catalog version (clinic.catalog.version) that was current when they
were read; the availability read fetches the version with the window's visits, and a different
value means the copy is old: it is read again before the answer is given.
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select

from clinic.booking.slots import WorkingBlock
from clinic.catalog.models import (
    Location,
    Practitioner,
    Room,
    Service,
    WorkingHours,
    practitioner_services,
)
from clinic.catalog.version import version_query
from clinic.database import read


@dataclass(frozen=True)
class Terms:
    """What availability needs of a service."""

    id: int
    slug: str
    duration_minutes: int
    buffer_after_minutes: int
    needles: bool
    bookable_online: bool


@dataclass(frozen=True)
class StaffMember:
    id: int
    location_id: int
    zone: ZoneInfo
    working: tuple[WorkingBlock, ...]


# No version row (a database the 0010v migration has not reached): never trust a copy.
UNKNOWN = object()


@dataclass(frozen=True)
class Catalog:
    version: object
    # Active services by slug.
    services: dict[str, Terms]
    # Active practitioners offering each service, by id.
    staff: dict[int, list[StaffMember]]
    # Active rooms of each location, by id: the first free one is chosen in this order.
    rooms: dict[int, list[int]]

    def staff_for(self, service_id: int) -> list[StaffMember]:
        return self.staff.get(service_id, [])


def read_version():
    rows = read(version_query())
    return rows[0][0] if rows else UNKNOWN


def load() -> Catalog:
    """Read the set-up. The version is read first: whatever changes after it, the copy is at
    least that new, so its label can only make it look older than it is (and be read again),
    never newer."""
    version = read_version()
    services = {row[1]: Terms(*row) for row in read(_services_query())}
    working: dict[int, list[WorkingBlock]] = {}
    for practitioner_id, weekday, start, end in read(_hours_query()):
        working.setdefault(practitioner_id, []).append(WorkingBlock(weekday, start, end))
    zones: dict[str, ZoneInfo] = {}
    members: dict[int, StaffMember] = {}
    staff: dict[int, list[StaffMember]] = {}
    for service_id, practitioner_id, location_id, zone in read(_staff_query()):
        member = members.get(practitioner_id)
        if member is None:
            zone_info = zones.get(zone) or zones.setdefault(zone, ZoneInfo(zone))
            member = members[practitioner_id] = StaffMember(
                practitioner_id,
                location_id,
                zone_info,
                tuple(working.get(practitioner_id, ())),
            )
        staff.setdefault(service_id, []).append(member)
    rooms: dict[int, list[int]] = {}
    for room_id, location_id in read(_rooms_query()):
        rooms.setdefault(location_id, []).append(room_id)
    return Catalog(version, services, staff, rooms)


class CatalogHolder:
    """The process's current copy for one app (one database)."""

    def __init__(self):
        self._catalog: Catalog | None = None
        self._lock = threading.Lock()

    def get(self) -> Catalog:
        catalog = self._catalog
        if catalog is None:
            catalog = self.reload()
        return catalog

    def reload(self) -> Catalog:
        with self._lock:
            catalog = load()
            if catalog.version is not UNKNOWN:
                self._catalog = catalog
            return catalog

    def forget(self) -> None:
        self._catalog = None


def current() -> Catalog:
    return current_app.extensions["booking_catalog"].get()


def reload() -> Catalog:
    return current_app.extensions["booking_catalog"].reload()


def init_app(app) -> None:
    app.extensions["booking_catalog"] = CatalogHolder()


@functools.cache
def _services_query():
    return (
        select(
            Service.id,
            Service.slug,
            Service.duration_minutes,
            Service.buffer_after_minutes,
            Service.needles,
            Service.bookable_online,
        )
        .where(Service.active)
        .order_by(Service.id)
    )


@functools.cache
def _hours_query():
    # In id order, as the hours were entered: the engine's answers do not depend on it, but a
    # layout is kept per tuple of hours, so the same hours should make the same tuple.
    return select(
        WorkingHours.practitioner_id,
        WorkingHours.weekday,
        WorkingHours.start_time,
        WorkingHours.end_time,
    ).order_by(WorkingHours.practitioner_id, WorkingHours.id)


@functools.cache
def _staff_query():
    offers = practitioner_services.c
    return (
        select(offers.service_id, Practitioner.id, Practitioner.location_id, Location.timezone)
        .join(Practitioner, Practitioner.id == offers.practitioner_id)
        .join(Location, Location.id == Practitioner.location_id)
        .where(Practitioner.active)
        .order_by(offers.service_id, Practitioner.id)
    )


@functools.cache
def _rooms_query():
    return select(Room.id, Room.location_id).where(Room.active).order_by(Room.id)
