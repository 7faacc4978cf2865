"""Finding a patient the way the desk asks: by name, mobile number or date of birth, or a mix.

"smith", "07700 900123", "+447700900123", "12/03/1980", "12/03/80", "12 March 1980",
"1980-03-12" and "ann smith 12/03/1980" all work. Every word of the query must match: a name
word matches any part of the folded name, a number matches the mobile (whatever spacing or
prefix was typed), a date matches the date of birth. Apostrophes do not count ("obrien" finds
O'Brien). Records merged into another are left out: the record they went into is the patient.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

import phonenumbers
from sqlalchemy import and_, func, or_, select

from clinic.clock import utcnow
from clinic.extensions import db
from clinic.patients.models import Patient
from clinic.patients.names import fold_name

MAX_QUERY_LENGTH = 120
DEFAULT_LIMIT = 25
_DATE_SHAPES = (
    re.compile(r"^(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})$"),
    re.compile(r"^(?P<d>\d{1,2})([/.\-])(?P<m>\d{1,2})\2(?P<y>\d{4})$"),
)
_US_DATE = re.compile(r"^(?P<m>\d{1,2})([/.\-])(?P<d>\d{1,2})\2(?P<y>\d{4})$")
# Two-digit years: the century that puts the birthday in the past.
_SHORT_DATE = re.compile(r"^(?P<d>\d{1,2})([/.\-])(?P<m>\d{1,2})\2(?P<yy>\d{2})$")
_US_SHORT_DATE = re.compile(r"^(?P<m>\d{1,2})([/.\-])(?P<d>\d{1,2})\2(?P<yy>\d{2})$")
# "12 March 1980", "3rd mar. 1975".
_WRITTEN_DATE = re.compile(
    r"(?<!\w)(?P<d>\d{1,2})(?:st|nd|rd|th)?\s+(?P<month>[^\W\d_]{3,9})\.?,?\s+(?P<y>\d{4})(?!\w)"
)
_MONTHS = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)
_APOSTROPHES = "'\u2019\u2018`"
_PHONE_CHARS = re.compile(r"^\+?[\d ()\-]{3,}$")
# Regions that write dates month first.
_MONTH_FIRST_REGIONS = frozenset({"US", "CA"})


@dataclass(frozen=True)
class Query:
    """A search broken into what each part can match."""

    names: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()  # digit strings, national and international forms
    dates: tuple[date, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.names or self.phones or self.dates)


def parse(text: str, region: str = "GB", *, today: date | None = None) -> Query:
    """Split the desk's words into name parts, phone digits and dates of birth. ``today``
    decides the century of a two-digit year (without it, two-digit years are not dates)."""
    # Control characters match nothing, and PostgreSQL refuses a NUL in a query outright.
    text = "".join(ch if unicodedata.category(ch)[0] != "C" else " " for ch in text or "")
    text = text.strip()[:MAX_QUERY_LENGTH]
    names: list[str] = []
    phones: list[str] = []
    dates: list[date] = []
    # Dates first (their digits would read as a number), then phone numbers, which are often
    # typed with spaces: runs of digit groups go together.
    for match in list(_WRITTEN_DATE.finditer(text)):
        day = _written_date(match)
        if day is not None:
            dates.append(day)
            text = text.replace(match.group(0), " ", 1)
    words = []
    for word in text.split():
        day = _as_date(word, region, today)
        if day is not None:
            dates.append(day)
        else:
            words.append(word)
    text = " ".join(words)
    for run in re.findall(r"\+?\d[\d ()\-]{5,}\d", text):
        digits = _phone_digits(run, region)
        if digits:
            phones.append(digits)
            text = text.replace(run, " ", 1)
    for word in text.split():
        if _PHONE_CHARS.match(word) and sum(ch.isdigit() for ch in word) >= 3:
            phones.append(_phone_digits(word, region) or re.sub(r"\D", "", word))
        else:
            folded = _bare(fold_name(word))
            if any(char.isalnum() for char in folded):
                names.append(folded)
    return Query(tuple(names), tuple(phones), tuple(dates))


def search(text: str, *, region: str = "GB", limit: int = DEFAULT_LIMIT) -> list[Patient]:
    """Patients matching every part of the query, best first (exact name start, then name)."""
    query = parse(text, region, today=utcnow().date())
    if query.empty:
        return []
    conditions = [Patient.merged_into_id.is_(None)]
    bare_name = Patient.name_key
    for mark in _APOSTROPHES:
        bare_name = func.replace(bare_name, mark, "")
    for name in query.names:
        pattern = f"%{_escape(name)}%"
        conditions.append(bare_name.like(pattern, escape="\\"))
    for digits in query.phones:
        conditions.append(Patient.phone.like(f"%{_escape(digits)}%", escape="\\"))
    if query.dates:
        conditions.append(or_(*(Patient.date_of_birth == day for day in query.dates)))
    found = db.session.scalars(
        select(Patient).where(and_(*conditions)).order_by(Patient.name_key, Patient.id).limit(500)
    ).all()
    first = query.names[0] if query.names else ""

    def rank(patient: Patient) -> tuple:
        words = _bare(patient.name_key).split()
        return (
            0 if first and any(word.startswith(first) for word in words) else 1,
            patient.name_key,
            patient.id,
        )

    return sorted(found, key=rank)[:limit]


def _phone_digits(raw: str, region: str) -> str | None:
    """The digits to look for in a stored E.164 number: the whole number when it parses, else
    the typed digits without a national leading zero."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        number = None
    if number is not None and phonenumbers.is_valid_number(number):
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164).lstrip("+")
    digits = re.sub(r"\D", "", raw)
    return digits.lstrip("0") or None


def _as_date(word: str, region: str, today: date | None = None) -> date | None:
    month_first = region in _MONTH_FIRST_REGIONS
    shapes = (_DATE_SHAPES[0], _US_DATE) if month_first else _DATE_SHAPES
    for shape in shapes:
        match = shape.match(word)
        if match:
            return _date(int(match["y"]), int(match["m"]), int(match["d"]))
    match = (_US_SHORT_DATE if month_first else _SHORT_DATE).match(word)
    if match and today is not None:
        year = 2000 + int(match["yy"])
        if year > today.year:
            year -= 100
        found = _date(year, int(match["m"]), int(match["d"]))
        if found is not None and found > today:
            found = _date(year - 100, int(match["m"]), int(match["d"]))
        return found
    return None


def _written_date(match: re.Match) -> date | None:
    written = fold_name(match["month"])
    written = "sep" if written == "sept" else written  # how many people shorten September
    number = next((n for n, name in enumerate(_MONTHS, 1) if name.startswith(written)), None)
    if number is None:
        return None
    return _date(int(match["y"]), number, int(match["d"]))


def _date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _bare(name: str) -> str:
    return "".join(char for char in name if char not in _APOSTROPHES)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
