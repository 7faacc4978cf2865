"""Patient pages: choose a service, a day and a time, give details, then manage the visit.

Every step is a plain link or form, so booking works with JavaScript switched off. Domain
errors the views do not catch (unknown service, bad or expired link) become error pages.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, timedelta

from flask import (
    Blueprint,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)

from clinic.audit.context import patient_actor
from clinic.booking import identity, services
from clinic.booking.forms import CancelForm, RescheduleForm, details_form
from clinic.booking.ics import appointment_ics, ics_filename
from clinic.booking.models import AppointmentStatus
from clinic.booking.slots import Slot
from clinic.booking.tokens import appointment_from_token, manage_token, manage_url
from clinic.catalog.policy import clinic_policy
from clinic.clock import utcnow
from clinic.errors import ChangeNotAllowed, ScreeningStopped, SlotUnavailable, ValidationFailed
from clinic.screening import services as screening_services
from clinic.screening.models import ReviewStatus
from clinic.web.formatting import format_when

bp = Blueprint("booking", __name__)

DAYS_SHOWN = 14
NEXT_DAYS_OFFERED = 5
# Far enough for any booking horizon a clinic would set; refusing days and times beyond it
# keeps date arithmetic on absurd values (year 9999) from overflowing into a 500.
FURTHEST_DAY = timedelta(days=366)
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_ID = re.compile(r"[0-9]{1,9}")


@bp.after_request
def keep_private(response):
    # Free times change by the minute and later pages hold personal details and the private
    # manage link: nothing here belongs in a shared or browser cache, or a search index.
    response.headers.setdefault("Cache-Control", "no-store")
    if request.view_args and "token" in request.view_args:
        response.headers.setdefault("X-Robots-Tag", "noindex, nofollow")
    return response


# --- booking -------------------------------------------------------------------------------


@bp.get("/")
def start():
    return render_template("booking/start.html", services=services.online_services())


@bp.get("/book/<slug>")
def choose_day(slug: str):
    service = services.service_by_slug(slug)
    practitioners = services.practitioners_for(service)
    chosen = _practitioner_choice(practitioners)
    first = _today()
    days = [first + timedelta(days=n) for n in range(DAYS_SHOWN)]
    slots = services.find_slots(service, days[0], days[-1], practitioner_id=_id(chosen))
    return render_template(
        "booking/choose_day.html",
        service=service,
        practitioners=practitioners,
        chosen=chosen,
        days=days,
        times_by_day=_times_by_day(slots),
        further_day=days[-1] + timedelta(days=1),
    )


@bp.get("/book/<slug>/slots")
def choose_time(slug: str):
    service = services.service_by_slug(slug)
    practitioners = services.practitioners_for(service)
    chosen = _practitioner_choice(practitioners)
    day = _parse_day(request.args.get("day"))
    # One look covers the day and the days after it, to offer those if the day is full.
    slots = services.find_slots(
        service, day, day + timedelta(days=DAYS_SHOWN - 1), practitioner_id=_id(chosen)
    )
    return render_template(
        "booking/slots.html",
        service=service,
        chosen=chosen,
        **_day_view(day, slots),
    )


@bp.route("/book/<slug>/details", methods=["GET", "POST"])
def details(slug: str):
    service = services.service_by_slug(slug)
    chosen = _practitioner_choice(services.practitioners_for(service))
    # After a clash the patient picks one of the offered times inside the form itself.
    start = _parse_start(request.form.get("start") or request.args.get("start"))
    intake = screening_services.intake(service)
    form = details_form(intake)

    def page(status: int, **extra):
        return render_template(
            "booking/details.html",
            service=service,
            chosen=chosen,
            start=start,
            form=form,
            consent=intake["consent"],
            consent_sections=_sections(intake["consent"]["text"]) if intake["consent"] else [],
            **extra,
        ), status

    if not form.validate_on_submit():
        return page(422 if form.is_submitted() else 200)
    booking = form.booking_request(
        slug,
        start,
        _id(chosen),
        ip_address=request.remote_addr or "",
        user_agent=request.user_agent.string[:300],
    )
    try:
        appointment = services.book(booking, by=patient_actor())
    except ScreeningStopped as exc:
        # Nothing was booked or stored. The page repeats only the service's general message,
        # never which answer stopped it: it may be read over the patient's shoulder.
        return render_template("booking/stopped.html", service=service, stop=exc), exc.status
    except SlotUnavailable:
        alternatives = services.alternatives_near(service, start, practitioner_id=_id(chosen))
        return page(409, taken=True, alternatives=[slot.start for slot in alternatives])
    except ValidationFailed as exc:
        return page(422, problems=form.add_service_errors(exc.errors))
    # Whether texts were asked for: a number that said STOP is then told how to resume.
    asked = {"texts": "asked"} if booking.sms_opt_in else {}
    return redirect(url_for(".confirmed", token=manage_token(appointment), **asked), code=303)


def _sections(text: str) -> list[tuple[str, str]]:
    """Split a consent text into (heading, paragraph) pairs for reading on any screen width.

    Each block of the stored text is a heading line followed by its hard-wrapped paragraph; a
    one-line block is a paragraph without a heading.
    """
    sections = []
    for block in re.split(r"\n\s*\n", text.strip()):
        lines = [line.strip() for line in block.splitlines() if line.strip()]
        if len(lines) == 1:
            sections.append(("", lines[0]))
        elif lines:
            sections.append((lines[0], " ".join(lines[1:])))
    return sections


# --- managing a booking --------------------------------------------------------------------


@bp.get("/manage/<token>/confirmed")
def confirmed(token: str):
    appointment = appointment_from_token(token)
    if not appointment.is_active:
        return redirect(url_for(".manage", token=token))
    return render_template(
        "booking/confirmed.html",
        appointment=appointment,
        token=token,
        manage_link=manage_url(appointment),
        texts_held_back=identity.texts_held_back(
            appointment.patient, asked=request.args.get("texts") == "asked"
        ),
    )


@bp.get("/manage/<token>")
def manage(token: str):
    return _manage_page(appointment_from_token(token), token)


@bp.get("/manage/<token>/calendar.ics")
def calendar(token: str):
    appointment = appointment_from_token(token)
    response = make_response(appointment_ics(appointment))
    response.headers["Content-Type"] = "text/calendar; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{ics_filename(appointment)}"'
    return response


@bp.post("/manage/<token>/cancel")
def cancel(token: str):
    appointment = appointment_from_token(token)
    form = CancelForm()
    if not form.validate():
        return _manage_page(appointment, token, cancel_form=form, status=422)
    try:
        services.cancel(appointment, reason=form.reason.data or "", by=patient_actor())
    except ChangeNotAllowed as exc:
        return _manage_page(appointment, token, problem=exc.message, status=409)
    flash("Your visit has been cancelled. We hope to see you another time.", "success")
    # Cancelling closed this link (clinic.visits.subscribers.close_manage_link): back to the
    # booking page, which is where the patient would go next.
    return redirect(url_for(".start"), code=303)


@bp.post("/manage/<token>/texts")
def texts(token: str):
    """The patient's own text choice, from their private page (the CSRF token was checked)."""
    appointment = appointment_from_token(token)
    wanted = request.form.get("wanted") == "yes"
    shown = identity.MANAGE_PAGE_TEXTS_WORDING if wanted else identity.MANAGE_PAGE_STOP_WORDING
    going = identity.set_text_consent(
        appointment.patient, wanted, by=patient_actor(), source="manage", wording=shown
    )
    if wanted and not going:
        flash("Saved. This number asked us to stop texting it: text START to get texts.", "info")
    else:
        flash("Your text choice is saved.", "success")
    return redirect(url_for(".manage", token=token), code=303)


@bp.get("/manage/<token>/reschedule")
def reschedule(token: str):
    appointment = appointment_from_token(token)
    try:
        services.ensure_patient_can_change(appointment)
    except ChangeNotAllowed as exc:
        return _manage_page(appointment, token, problem=exc.message, status=409)
    day = _parse_day(request.args.get("day")) if request.args.get("day") else _today()
    slots = services.find_slots(
        appointment.service,
        day,
        day + timedelta(days=DAYS_SHOWN - 1),
        patient=appointment.patient,
        ignore_appointment_id=appointment.id,
    )
    return render_template(
        "booking/reschedule.html",
        appointment=appointment,
        token=token,
        form=RescheduleForm(),
        **_day_view(day, slots),
    )


@bp.post("/manage/<token>/reschedule")
def reschedule_submit(token: str):
    appointment = appointment_from_token(token)
    form = RescheduleForm()
    if not form.validate():
        abort(400, "Please choose a new time from the list.")
    start = _parse_start(form.start.data)

    def page(status: int, **extra):
        return render_template(
            "booking/reschedule.html",
            appointment=appointment,
            token=token,
            form=form,
            day=start.astimezone(services.clinic_timezone()).date(),
            **extra,
        ), status

    try:
        services.reschedule(appointment, start, by=patient_actor())
    except ChangeNotAllowed as exc:
        return _manage_page(appointment, token, problem=exc.message, status=409)
    except SlotUnavailable:
        alternatives = services.alternatives_near(
            appointment.service,
            start,
            patient=appointment.patient,
            ignore_appointment_id=appointment.id,
        )
        return page(409, taken=True, alternatives=[slot.start for slot in alternatives])
    except ValidationFailed as exc:
        return page(422, problems=[m for messages in exc.errors.values() for m in messages])
    flash(f"Your visit has been moved to {format_when(appointment.start_at)}.", "success")
    return redirect(url_for(".manage", token=token), code=303)


def _manage_page(appointment, token: str, *, problem=None, cancel_form=None, status=200):
    screening = screening_services.latest_for(appointment)
    return render_template(
        "booking/manage.html",
        appointment=appointment,
        token=token,
        # The clinician's note stays inside the clinic; the patient is only asked to call.
        declined_after_review=appointment.status == AppointmentStatus.CANCELLED
        and screening is not None
        and screening.review_status == ReviewStatus.DECLINED,
        can_change=services.patient_can_change(appointment),
        change_deadline=services.patient_change_deadline(appointment),
        change_window_hours=clinic_policy().cancellation_window_hours,
        cancel_form=cancel_form or CancelForm(formdata=None),
        problem=problem,
        texts_held_back=identity.texts_held_back(appointment.patient),
        texts_wording=identity.MANAGE_PAGE_TEXTS_WORDING,
        stop_wording=identity.MANAGE_PAGE_STOP_WORDING,
    ), status


# --- reading the query string ----------------------------------------------------------------


def _today() -> date:
    return utcnow().astimezone(services.clinic_timezone()).date()


def _parse_day(raw: str | None) -> date:
    if not raw or not _DAY.fullmatch(raw):
        abort(400, "We could not read that day. Please choose a day from the list.")
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        abort(400, "That day does not exist in the calendar. Please choose a day from the list.")
    if abs(day - _today()) > FURTHEST_DAY:
        abort(400, "That day is too far away. Please choose a day from the list.")
    return day


def _parse_start(raw: str | None) -> datetime:
    message = "We could not read that time. Please choose a time from the list."
    if not raw or len(raw) > 40:
        abort(400, message)
    try:
        start = datetime.fromisoformat(raw)
    except ValueError:
        abort(400, message)
    if start.utcoffset() is None:
        # Without an offset the time is ambiguous on the nights the clocks change.
        abort(400, message)
    if abs(start - utcnow()) > FURTHEST_DAY:
        abort(400, message)
    return start


def _practitioner_choice(practitioners):
    """The practitioner asked for in ?practitioner=, or None for "anyone"."""
    raw = request.args.get("practitioner", "")
    if not raw:
        return None
    if _ID.fullmatch(raw):
        for practitioner in practitioners:
            if practitioner.id == int(raw):
                return practitioner
    abort(400, "That practitioner does not offer this service online. Please choose again.")


def _id(practitioner) -> int | None:
    return practitioner.id if practitioner else None


# --- shaping free slots for the pages ---------------------------------------------------------


def _times_by_day(slots: Iterable[Slot]) -> dict[date, list[datetime]]:
    """Distinct local start times per local day: patients choose a time, not a practitioner."""
    tz = services.clinic_timezone()
    starts = sorted({slot.start for slot in slots})
    by_day: dict[date, list[datetime]] = defaultdict(list)
    for start in starts:
        local = start.astimezone(tz)
        by_day[local.date()].append(local)
    return dict(by_day)


def _day_view(day: date, slots: Iterable[Slot]) -> dict:
    by_day = _times_by_day(slots)
    today = _today()
    return {
        "day": day,
        "times": _by_part_of_day(by_day.get(day, [])),
        "later_days": [d for d in sorted(by_day) if d > day][:NEXT_DAYS_OFFERED],
        "previous_day": day - timedelta(days=1) if day > today else None,
        "next_day": day + timedelta(days=1),
    }


def _by_part_of_day(times: list[datetime]) -> list[tuple[str, list[datetime]]]:
    parts = [("Morning", 0, 12), ("Afternoon", 12, 17), ("Evening", 17, 24)]
    grouped = [(name, [t for t in times if low <= t.hour < high]) for name, low, high in parts]
    return [(name, group) for name, group in grouped if group]
