"""Local time exists only at the edges: these helpers turn stored UTC into the clinic's time."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Flask, current_app
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup


def clinic_tz() -> ZoneInfo:
    return ZoneInfo(current_app.config["CLINIC_TIMEZONE"])


def local(value: datetime, tz: str | ZoneInfo | None = None) -> datetime:
    zone = ZoneInfo(tz) if isinstance(tz, str) else (tz or clinic_tz())
    return value.astimezone(zone)


def format_day(value: datetime, tz=None) -> str:
    moment = local(value, tz)
    return f"{moment:%A} {moment.day} {moment:%B %Y}"


def format_time(value: datetime, tz=None) -> str:
    return local(value, tz).strftime("%H:%M")


def format_when(value: datetime, tz=None) -> str:
    return f"{format_day(value, tz)} at {format_time(value, tz)}"


def format_price(pence: int) -> str:
    return f"£{pence / 100:,.2f}" if pence % 100 else f"£{pence // 100:,}"


def csrf_field() -> Markup:
    """The form's CSRF token as a hidden input without an id: a page may hold many forms, and
    ids must be unique on a page (WTForms' ``form.csrf_token`` renders ``id="csrf_token"``)."""
    return Markup('<input type="hidden" name="csrf_token" value="{}">').format(generate_csrf())


def init_app(app: Flask) -> None:
    app.add_template_global(csrf_field)
    app.add_template_filter(format_day, "day")
    app.add_template_filter(format_time, "clock")
    app.add_template_filter(format_when, "when")
    app.add_template_filter(format_price, "price")

    @app.context_processor
    def clinic_identity():
        return {
            "clinic_name": current_app.config["CLINIC_NAME"],
            "clinic_phone": current_app.config["CLINIC_PHONE"],
        }
