"""The printable day sheet's rows: the day's visits per practitioner, in time order, with the
flags the desk acts on. No health answers: a flag says that something is missing or waiting,
never what a patient answered.

Pure: the caller passes plain rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

import phonenumbers

# Visits a flag still matters for: the session has not happened yet or is happening.
OPEN = frozenset({"needs_review", "booked", "confirmed", "checked_in"})

CONSENT_MISSING = "Consent missing"
NEEDS_REVIEW = "Needs clinical review"
SCREEN_AGAIN = "Screen again"


@dataclass(frozen=True)
class SheetVisit:
    appointment_id: int
    start_at: datetime
    end_at: datetime
    practitioner_id: int
    practitioner: str
    patient: str
    phone: str  # E.164 as stored
    service: str
    room: str
    status: str
    needles: bool
    rescreen_required: bool
    has_consent: bool  # a signature of the current form that covers the visit


@dataclass(frozen=True)
class SheetLine:
    visit: SheetVisit
    phone: str  # national format
    flags: tuple[str, ...]


@dataclass(frozen=True)
class PractitionerDay:
    practitioner: str
    lines: tuple[SheetLine, ...]


@dataclass(frozen=True)
class DaySheet:
    day: date
    location: str
    timezone: str
    practitioners: tuple[PractitionerDay, ...]

    @property
    def visit_count(self) -> int:
        return sum(len(group.lines) for group in self.practitioners)


def national(e164: str) -> str:
    """The number as people of its country write it ("07911 123456"); as stored if unreadable."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)


def flags(visit: SheetVisit) -> tuple[str, ...]:
    if visit.status not in OPEN:
        return ()
    found = []
    if visit.status == "needs_review":
        found.append(NEEDS_REVIEW)
    if visit.needles and visit.rescreen_required:
        found.append(SCREEN_AGAIN)
    if visit.needles and not visit.has_consent:
        found.append(CONSENT_MISSING)
    return tuple(found)


def day_sheet(day: date, location: str, timezone: str, visits: Iterable[SheetVisit]) -> DaySheet:
    """Visits grouped by practitioner (by name), each group in start order."""
    groups: dict[tuple[str, int], list[SheetVisit]] = defaultdict(list)
    for visit in visits:
        groups[(visit.practitioner, visit.practitioner_id)].append(visit)
    return DaySheet(
        day=day,
        location=location,
        timezone=timezone,
        practitioners=tuple(
            PractitionerDay(
                practitioner=key[0],
                lines=tuple(
                    SheetLine(visit, national(visit.phone), flags(visit))
                    for visit in sorted(groups[key], key=lambda v: (v.start_at, v.appointment_id))
                ),
            )
            for key in sorted(groups)
        ),
    )
