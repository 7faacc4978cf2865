"""Local time exists only at the edges: these helpers turn stored UTC into the clinic's time,
written the way the clinic's locale (CLINIC_LOCALE) writes dates and times.

Pages keep their English wording; only dates and times follow the locale (phone numbers: the
``phone`` filter, registered by the app factory from clinic.patients.phones). The
texts (SMS) have wording rules of their own and do not use these helpers.
"""

from __future__ import annotations

import functools
import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date as babel_date
from babel.dates import format_skeleton
from babel.dates import format_time as babel_time
from flask import Flask, current_app
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup

DEFAULT_LOCALE = "en-GB"
# Where the house style differs from the CLDR's full date: "Monday 2 March 2026", no comma,
# as the clinic's letters, texts and signs have always written it.
FULL_DATE_PATTERNS = {"en_GB": "EEEE d MMMM y"}
# The year at the end of a full date pattern, with what joins it on ("d MMMM 'de' y").
_TRAILING_YEAR = re.compile(r"[\s,.]*(?:'[^']*'\s*)?y+\.?$")


def clinic_tz() -> ZoneInfo:
    return ZoneInfo(current_app.config["CLINIC_TIMEZONE"])


def clinic_locale() -> str:
    return current_app.config.get("CLINIC_LOCALE", DEFAULT_LOCALE)


def local(value: datetime, tz: str | ZoneInfo | None = None) -> datetime:
    zone = ZoneInfo(tz) if isinstance(tz, str) else (tz or clinic_tz())
    return value.astimezone(zone)


@functools.cache
def _locale(tag: str) -> Locale:
    return Locale.parse(tag, sep="-")


@functools.cache
def _patterns(tag: str) -> tuple[str, str]:
    """(full date, the same without the year) for the locale ``tag``."""
    locale = _locale(tag)
    full = FULL_DATE_PATTERNS.get(str(locale)) or locale.date_formats["full"].pattern
    without_year = _TRAILING_YEAR.sub("", full)
    # A pattern with the year elsewhere (ja: "y年M月d日EEEE") keeps it.
    return full, without_year if "y" not in without_year else full


def _calendar_day(value: date | datetime, tz=None) -> date:
    """A stored instant becomes its day in the clinic's zone; a plain date is that day."""
    return local(value, tz).date() if isinstance(value, datetime) else value


def format_day(value: date | datetime, tz=None, locale: str | None = None) -> str:
    """Monday 2 March 2026 (en-GB); Monday, March 2, 2026 (en-US)."""
    tag = locale or clinic_locale()
    return babel_date(_calendar_day(value, tz), _patterns(tag)[0], locale=_locale(tag))


def format_day_short(value: date | datetime, tz=None, locale: str | None = None) -> str:
    """The day without its year: Tuesday 3 March (en-GB); Tuesday, March 3 (en-US)."""
    tag = locale or clinic_locale()
    return babel_date(_calendar_day(value, tz), _patterns(tag)[1], locale=_locale(tag))


def format_weekday(value: date | datetime, tz=None, locale: str | None = None) -> str:
    tag = locale or clinic_locale()
    return babel_date(_calendar_day(value, tz), "EEEE", locale=_locale(tag))


def format_day_month(value: date | datetime, tz=None, locale: str | None = None) -> str:
    """3 March (en-GB); March 3 (en-US)."""
    tag = locale or clinic_locale()
    return format_skeleton("MMMMd", _calendar_day(value, tz), locale=_locale(tag))


def format_long_date(value: date | datetime, tz=None, locale: str | None = None) -> str:
    """A date without its weekday: 2 March 2026 (en-GB); March 2, 2026 (en-US)."""
    tag = locale or clinic_locale()
    return babel_date(_calendar_day(value, tz), "long", locale=_locale(tag))


def format_numeric_date(value: date | datetime, tz=None, locale: str | None = None) -> str:
    """Dates of birth and the like: 12/04/1988 (en-GB); 4/12/1988 (en-US); 12.4.1988 (de-DE)."""
    tag = locale or clinic_locale()
    return format_skeleton("yMMdd", _calendar_day(value, tz), locale=_locale(tag))


def format_time(
    value: datetime, tz=None, locale: str | None = None, *, seconds: bool = False
) -> str:
    """14:05 (en-GB, 24-hour); 2:05 PM (en-US, 12-hour), as the locale's clocks read;
    ``seconds``: 14:05:09, for records that need them."""
    tag = locale or clinic_locale()
    return babel_time(local(value, tz), "medium" if seconds else "short", locale=_locale(tag))


def format_when(
    value: datetime, tz=None, locale: str | None = None, *, seconds: bool = False
) -> str:
    """Monday 2 March 2026 at 14:05: the pages' English "at" in English locales, the locale's
    own joining (", ") in others."""
    tag = locale or clinic_locale()
    day = format_day(value, tz, tag)
    time = format_time(value, tz, tag, seconds=seconds)
    if _locale(tag).language == "en":
        return f"{day} at {time}"
    return _locale(tag).datetime_formats["full"].format(time, day)


def format_price(pence: int) -> str:
    return f"£{pence / 100:,.2f}" if pence % 100 else f"£{pence // 100:,}"


def csrf_field() -> Markup:
    """The form's CSRF token as a hidden input without an id: a page may hold many forms, and
    ids must be unique on a page (WTForms' ``form.csrf_token`` renders ``id="csrf_token"``)."""
    return Markup('<input type="hidden" name="csrf_token" value="{}">').format(generate_csrf())


def init_app(app: Flask) -> None:
    app.add_template_global(csrf_field)
    app.add_template_filter(format_day, "day")
    app.add_template_filter(format_day_short, "day_short")
    app.add_template_filter(format_weekday, "weekday")
    app.add_template_filter(format_day_month, "day_month")
    app.add_template_filter(format_long_date, "long_date")
    app.add_template_filter(format_numeric_date, "numeric_date")
    app.add_template_filter(format_time, "clock")
    app.add_template_filter(format_when, "when")
    app.add_template_filter(format_price, "price")

    @app.context_processor
    def clinic_identity():
        return {
            "clinic_name": current_app.config["CLINIC_NAME"],
            "clinic_phone": current_app.config["CLINIC_PHONE"],
            "clinic_locale": clinic_locale(),
        }
