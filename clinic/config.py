"""Settings, read from the environment (and an optional .env) when the app is created.

Every setting a clinic may change is listed in README.md under "Settings".
"""

from __future__ import annotations

import os
import re
from datetime import time
from pathlib import Path
from urllib.parse import urlsplit

import phonenumbers
from babel import Locale, UnknownLocaleError


def database_url(raw: str | None, instance_path: str) -> str:
    """Accept the URL forms hosting providers hand out and pick the installed driver."""
    if not raw:
        return f"sqlite:///{Path(instance_path) / 'clinic.sqlite'}"
    for prefix in ("postgres://", "postgresql://"):
        if raw.startswith(prefix):
            return "postgresql+psycopg://" + raw[len(prefix) :]
    return raw


def _int(env: dict, name: str, default: int) -> int:
    value = env.get(name)
    if value in (None, ""):
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise RuntimeError(f"setting {name} must be a whole number, got {value!r}") from exc


def _float(env: dict, name: str, default: float) -> float:
    value = env.get(name)
    if value in (None, ""):
        return default
    try:
        return float(value)
    except ValueError as exc:
        raise RuntimeError(f"setting {name} must be a number, got {value!r}") from exc


def _time(env: dict, name: str, default: str) -> time:
    value = env.get(name) or default
    try:
        return time.fromisoformat(value)
    except ValueError as exc:
        raise RuntimeError(f"setting {name} must look like 09:00, got {value!r}") from exc


# The number to call in an emergency, by the region the clinic's patients' numbers belong to.
EMERGENCY_NUMBERS = {"GB": "999", "US": "911", "CA": "911", "AU": "000", "NZ": "111"}
EU_REGIONS = frozenset(
    {"AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU"}
    | {"IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK"}
)
# 112 reaches the emergency services across Europe and from most mobiles elsewhere.
FALLBACK_EMERGENCY_NUMBER = "112"
OUT_OF_HOURS_ADVICE = {"GB": "For urgent advice call NHS 111."}
FALLBACK_OUT_OF_HOURS_ADVICE = "For urgent advice call your doctor's out-of-hours service."
_E164 = re.compile(r"\+[1-9][0-9]{6,14}")


def emergency_number(region: str) -> str:
    region = region.upper()
    if region in EU_REGIONS:
        return "112"
    return EMERGENCY_NUMBERS.get(region, FALLBACK_EMERGENCY_NUMBER)


def out_of_hours_advice(region: str) -> str:
    return OUT_OF_HOURS_ADVICE.get(region.upper(), FALLBACK_OUT_OF_HOURS_ADVICE)


def _e164(env: dict, name: str) -> str:
    value = (env.get(name) or "").replace(" ", "")
    if value and not _E164.fullmatch(value):
        raise RuntimeError(f"setting {name} must be a number like +447700900123, got {value!r}")
    return value


def regions(env: dict, name: str, default: str) -> tuple[str, ...]:
    """A comma-separated list of ISO regions (GB, US ...), as phonenumbers names them."""
    values = tuple(
        part.strip().upper() for part in (env.get(name) or default).split(",") if part.strip()
    )
    unknown = [value for value in values if value not in phonenumbers.SUPPORTED_REGIONS]
    if unknown or not values:
        raise RuntimeError(f"setting {name} must list regions like GB,IE, got {unknown or values}")
    return values


def clinic_locale(raw: str | None) -> str:
    """The clinic's locale as a language tag (en-GB, en-US, de-DE ...): ``<html lang>`` and how
    pages write dates and times. Any locale the CLDR data (Babel) knows."""
    value = (raw or "").strip().replace("_", "-")
    problem = f"setting CLINIC_LOCALE must be a locale like en-GB or en-US, got {raw!r}"
    try:
        parsed = Locale.parse(value, sep="-")
    except (UnknownLocaleError, ValueError) as exc:
        raise RuntimeError(problem) from exc
    # Babel maps some unknown territories to another (en-ZZ to en_US): refuse, not guess.
    if str(parsed).lower() != value.replace("-", "_").lower():
        raise RuntimeError(problem)
    return str(parsed).replace("_", "-")


def smtp_url(raw: str | None) -> str:
    """Empty switches email off; anything else must be an smtp:// or smtps:// address."""
    value = (raw or "").strip()
    if value and urlsplit(value).scheme not in ("smtp", "smtps"):
        raise RuntimeError("setting SMTP_URL must start with smtp:// or smtps://")
    return value


def ratelimit_storage(env: dict) -> str:
    """Where rate-limit counters live: Redis (shared by every worker and machine) when
    RATELIMIT_STORAGE_URI or REDIS_URL names it, else this process's memory."""
    explicit = (env.get("RATELIMIT_STORAGE_URI") or "").strip()
    if explicit:
        return explicit
    redis_url = (env.get("REDIS_URL") or "").strip()
    if not redis_url:
        return "memory://"
    if urlsplit(redis_url).scheme not in ("redis", "rediss", "redis+unix"):
        raise RuntimeError("setting REDIS_URL must start with redis://, rediss:// or redis+unix://")
    return redis_url


def from_environment(instance_path: str, env: dict | None = None) -> dict:
    env = dict(os.environ if env is None else env)
    public_base_url = (env.get("PUBLIC_BASE_URL") or "http://127.0.0.1:5000").rstrip("/")
    region = env.get("DEFAULT_PHONE_REGION") or "GB"
    return {
        "SECRET_KEY": env.get("SECRET_KEY") or None,
        "SQLALCHEMY_DATABASE_URI": database_url(env.get("DATABASE_URL"), instance_path),
        "PUBLIC_BASE_URL": public_base_url,
        "CLINIC_TIMEZONE": env.get("CLINIC_TIMEZONE") or "Europe/London",
        # <html lang> of every page and how pages write dates and times (not the texts).
        "CLINIC_LOCALE": clinic_locale(env.get("CLINIC_LOCALE") or "en-GB"),
        "CLINIC_NAME": env.get("CLINIC_NAME") or "Northside Hair Clinic",
        "CLINIC_PHONE": env.get("CLINIC_PHONE") or "+44 20 7946 0321",
        "DEFAULT_PHONE_REGION": region,
        "CLINIC_EMERGENCY_NUMBER": env.get("CLINIC_EMERGENCY_NUMBER") or emergency_number(region),
        # Checked like a text template when the app starts (clinic.sms.wording).
        "OUT_OF_HOURS_ADVICE": env.get("OUT_OF_HOURS_ADVICE") or out_of_hours_advice(region),
        # When a clinician answers the phone; an urgent reply outside them is told so.
        "CLINIC_OPEN_HOURS": env.get("CLINIC_OPEN_HOURS") or "Mon-Fri 09:00-18:00",
        # Empty: alerts stay on the desk's alerts page and nothing goes to a phone.
        "ON_CALL_PHONE": _e164(env, "ON_CALL_PHONE"),
        "ALERT_ESCALATE_EMERGENCY_MINUTES": _int(env, "ALERT_ESCALATE_EMERGENCY_MINUTES", 10),
        "ALERT_ESCALATE_URGENT_MINUTES": _int(env, "ALERT_ESCALATE_URGENT_MINUTES", 30),
        "ALERT_REPEAT_MINUTES": _int(env, "ALERT_REPEAT_MINUTES", 15),
        "ALERT_ESCALATION_MAX_TEXTS": _int(env, "ALERT_ESCALATION_MAX_TEXTS", 4),
        # Email goes out only when this is set (and only to patients who agreed to email).
        "SMTP_URL": smtp_url(env.get("SMTP_URL")),
        # Empty: "<CLINIC_NAME> <no-reply@<host of PUBLIC_BASE_URL>>".
        "EMAIL_FROM": env.get("EMAIL_FROM") or "",
        "API_RATE_LIMIT": env.get("API_RATE_LIMIT", "120/minute"),
        "LOGIN_RATE_LIMIT": env.get("LOGIN_RATE_LIMIT", "10/minute"),
        # A staff session ends this long after sign-in, or after this long without a request.
        "STAFF_SESSION_HOURS": _int(env, "STAFF_SESSION_HOURS", 12),
        "STAFF_IDLE_MINUTES": _int(env, "STAFF_IDLE_MINUTES", 60),
        "STAFF_INVITE_HOURS": _int(env, "STAFF_INVITE_HOURS", 72),
        "STAFF_RESET_HOURS": _int(env, "STAFF_RESET_HOURS", 24),
        "RATELIMIT_STORAGE_URI": ratelimit_storage(env),
        # Redis down: each worker counts in its own memory until it is back, rather than
        # every limited page answering 500.
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "BOOKING_MIN_NOTICE_MINUTES": _int(env, "BOOKING_MIN_NOTICE_MINUTES", 120),
        "BOOKING_HORIZON_DAYS": _int(env, "BOOKING_HORIZON_DAYS", 90),
        "DESK_HORIZON_DAYS": _int(env, "DESK_HORIZON_DAYS", 365),
        "SCREENING_VALID_DAYS": _int(env, "SCREENING_VALID_DAYS", 90),
        "REVIEW_WARNING_HOURS": _int(env, "REVIEW_WARNING_HOURS", 48),
        "BOOKING_SLOT_STEP_MINUTES": _int(env, "BOOKING_SLOT_STEP_MINUTES", 15),
        "AVAILABILITY_CACHE_SECONDS": _int(env, "AVAILABILITY_CACHE_SECONDS", 10),
        "NEEDLING_MIN_GAP_DAYS": _int(env, "NEEDLING_MIN_GAP_DAYS", 7),
        "CANCELLATION_WINDOW_HOURS": _int(env, "CANCELLATION_WINDOW_HOURS", 24),
        # The needle depths a clinic works within; a depth outside needs a stated reason.
        "SESSION_DEPTH_MIN_MM": _float(env, "SESSION_DEPTH_MIN_MM", 0.5),
        "SESSION_DEPTH_MAX_MM": _float(env, "SESSION_DEPTH_MAX_MM", 1.5),
        "MANAGE_LINK_MAX_AGE_DAYS": _int(env, "MANAGE_LINK_MAX_AGE_DAYS", 180),
        "MAX_CONTENT_LENGTH": _int(env, "MAX_CONTENT_LENGTH", 64 * 1024),
        "SMS_QUIET_START": _time(env, "SMS_QUIET_START", "20:00").isoformat("minutes"),
        "SMS_QUIET_END": _time(env, "SMS_QUIET_END", "09:00").isoformat("minutes"),
        "TWILIO_ACCOUNT_SID": env.get("TWILIO_ACCOUNT_SID") or "",
        "TWILIO_AUTH_TOKEN": env.get("TWILIO_AUTH_TOKEN") or "",
        "TWILIO_FROM_NUMBER": env.get("TWILIO_FROM_NUMBER") or "",
        "TWILIO_MESSAGING_SERVICE_SID": env.get("TWILIO_MESSAGING_SERVICE_SID") or "",
        "TWILIO_API_BASE_URL": (env.get("TWILIO_API_BASE_URL") or "").rstrip("/"),
        "TWILIO_TIMEOUT_SECONDS": _int(env, "TWILIO_TIMEOUT_SECONDS", 10),
        "SMS_SEGMENTS_PER_SECOND": _float(env, "SMS_SEGMENTS_PER_SECOND", 1.0),
        # Texts go only to mobile numbers of these regions (GB takes in GG, JE and IM).
        "SMS_ALLOWED_COUNTRIES": regions(env, "SMS_ALLOWED_COUNTRIES", region),
        # Daily caps (the clinic's local day) on texts sent; 0 switches a cap off.
        "SMS_MAX_PER_NUMBER_PER_DAY": _int(env, "SMS_MAX_PER_NUMBER_PER_DAY", 10),
        "SMS_MAX_PER_DAY": _int(env, "SMS_MAX_PER_DAY", 1000),
        "BOOKINGS_PER_NUMBER_PER_DAY": _int(env, "BOOKINGS_PER_NUMBER_PER_DAY", 3),
        # A freed time is offered to this many waitlisted patients at once; each offer stays
        # open this long from when its text may go out.
        "WAITLIST_OFFER_BATCH": _int(env, "WAITLIST_OFFER_BATCH", 2),
        "WAITLIST_OFFER_MINUTES": _int(env, "WAITLIST_OFFER_MINUTES", 60),
        "SMS_MAX_ATTEMPTS": _int(env, "SMS_MAX_ATTEMPTS", 8),
        "SMS_SEND_CONCURRENCY": _int(env, "SMS_SEND_CONCURRENCY", 1),
        "SMS_CLAIM_LEASE_SECONDS": _int(env, "SMS_CLAIM_LEASE_SECONDS", 300),
        "SMS_BATCH_SIZE": _int(env, "SMS_BATCH_SIZE", 100),
        "DISPATCH_INTERVAL_SECONDS": _int(env, "DISPATCH_INTERVAL_SECONDS", 30),
        "DEMO_PASSWORD": env.get("DEMO_PASSWORD") or None,
        "DEMO_LOGINS_FILE": env.get("DEMO_LOGINS_FILE") or None,
        "TRUSTED_PROXY_COUNT": _int(env, "TRUSTED_PROXY_COUNT", 0),
    }
