"""The desk's booking page: a patient who phones or walks in, booked into a free time.

One address, /desk/book, in plain steps that work without script: find (or enter) the patient,
choose the service, practitioner and day (a GET form that shows that day's free times), then
choose a time, the source and whether to ask the health questions now, and book. The calendar's
free gaps link here with ``practitioner``, ``start``, ``room`` and ``service`` filled in.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from clinic.audit.context import staff_actor
from clinic.booking import desk
from clinic.booking.desk_forms import desk_booking_form
from clinic.booking.slots import Slot
from clinic.clock import utcnow
from clinic.errors import ScreeningStopped, SlotUnavailable, ValidationFailed
from clinic.staff.auth import any_staff_member
from clinic.staff.forms import record_id
from clinic.web.formatting import format_time, format_when

# Nested in the staff area (clinic/staff/area.py) at /desk/book.
bp = Blueprint("desk_booking", __name__)

_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_SLUG = re.compile(r"[a-z0-9-]{1,60}")
# Beyond any desk horizon a clinic would set; keeps date arithmetic far from overflowing.
FURTHEST = timedelta(days=5 * 366)


@bp.route("", methods=["GET", "POST"])
@any_staff_member
def new():
    chosen = _chosen()
    page = desk.booking_page(**chosen)
    form = desk_booking_form(page.questions, new_patient=page.new_patient)
    form.start.choices = [(slot.start.isoformat(), _label(slot, page)) for slot in page.offered()]
    if request.method == "GET" and page.asked_free:
        # The offered values are the engine's UTC starts; a link may give another offset.
        form.start.data = page.asked_start.astimezone(UTC).isoformat()
    if request.method == "GET" or not form.validate_on_submit():
        return _render(page, form, chosen, 422 if form.is_submitted() else 200)
    if page.service is None or not page.patient_chosen:
        return _render(page, form, chosen, 422, ["Choose the patient and the service first."])
    practitioner_id = page.practitioner.id if page.practitioner else None
    patient_id = page.patient.id if page.patient else None
    try:
        appointment = desk.book_at_desk(
            form.booking_request(page.service.slug, patient_id, practitioner_id),
            by=staff_actor(),
        )
    except ScreeningStopped as exc:
        return _render(page, form, chosen, exc.status, [f"Not booked: {exc.message}"])
    except SlotUnavailable as exc:
        wanted = form.chosen_start()
        page = desk.booking_page(**{**chosen, "start": wanted, "day": None})
        form.start.choices = [(s.start.isoformat(), _label(s, page)) for s in page.offered()]
        form.start.data = None
        return _render(page, form, chosen, 409, [exc.message])
    except ValidationFailed as exc:
        return _render(page, form, chosen, 422, form.add_service_errors(exc.errors))
    flash(_booked_words(appointment), "success")
    if desk.texts_held_back(appointment):
        flash("This number asked us to stop texting it: no texts go until it texts START.", "info")
    return redirect(url_for("staff.visits.visit", appointment_id=appointment.id), code=303)


def _render(page, form, chosen, status: int, problems=()):
    return render_template(
        "desk/book.html",
        page=page,
        form=form,
        problems=list(problems),
        carry=_carry(chosen),
    ), status


def _booked_words(appointment) -> str:
    """The flash travels in the readable session cookie: no name, service or health outcome;
    the visit page it leads to shows them."""
    how = {"phone": "by phone", "walk_in": "as a walk-in"}.get(appointment.source, "at the desk")
    words = f"Booked {how} for {format_when(appointment.start_at)}."
    if appointment.needles:
        words += " The patient signs the consent here at the desk before the session."
    return words


def _label(slot: Slot, page) -> str:
    name = page.names.get(slot.practitioner_id, "")
    same_day = page.day == _local_day(slot.start)
    when = format_time(slot.start) if same_day else format_when(slot.start)
    return f"{when} ({name})" if name else when


def _local_day(instant: datetime) -> date:
    return instant.astimezone(desk.services.clinic_timezone()).date()


# --- reading the query string ----------------------------------------------------------------


def _chosen() -> dict:
    """The page's choices from the query string; malformed values are a bad request (400),
    well-formed ones naming nothing are not found (404, from clinic.booking.desk)."""
    args = request.args
    return {
        "patient_id": _optional_id(args.get("patient"), "patient"),
        "new_patient": args.get("new") == "1",
        "query": (args.get("q") or "")[:120],
        "service_slug": _slug(args.get("service")),
        "practitioner_id": _optional_id(args.get("practitioner"), "practitioner"),
        "room_id": _optional_id(args.get("room"), "room"),
        "day": _day(args.get("day")),
        "start": _start(args.get("start")),
    }


def _carry(chosen: dict) -> dict:
    """The choices as query arguments, for links and forms that keep them."""
    values = {
        "patient": chosen["patient_id"],
        "new": "1" if chosen["new_patient"] and chosen["patient_id"] is None else None,
        "service": chosen["service_slug"],
        "practitioner": chosen["practitioner_id"],
        "room": chosen["room_id"],
        "day": chosen["day"].isoformat() if chosen["day"] else None,
        "start": chosen["start"].isoformat() if chosen["start"] else None,
    }
    return {key: value for key, value in values.items() if value not in (None, "")}


def _optional_id(raw: str | None, what: str) -> int | None:
    if raw in (None, "", "any"):
        return None
    return record_id(raw, what)


def _slug(raw: str | None) -> str | None:
    if not raw:
        return None
    if not _SLUG.fullmatch(raw):
        abort(400, description="That service reference is not valid.")
    return raw


def _day(raw: str | None) -> date | None:
    if not raw:
        return None
    message = "That day could not be read: give it as YYYY-MM-DD."
    if not _DAY.fullmatch(raw):
        abort(400, description=message)
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        abort(400, description=message)
    if abs(day - desk.today()) > FURTHEST:
        abort(400, description="That day is too far away.")
    return day


def _start(raw: str | None) -> datetime | None:
    if not raw:
        return None
    message = "That time could not be read: give it in ISO 8601 with its UTC offset."
    # An offset's "+" left unencoded in a typed link arrives as a space.
    raw = re.sub(r" ([0-9]{2}:?[0-9]{2})$", r"+\1", raw)
    if len(raw) > 40:
        abort(400, description=message)
    try:
        start = datetime.fromisoformat(raw)
    except ValueError:
        abort(400, description=message)
    if start.utcoffset() is None:
        abort(400, description=message)
    if abs(start - utcnow()) > FURTHEST:
        abort(400, description="That time is too far away.")
    return start
