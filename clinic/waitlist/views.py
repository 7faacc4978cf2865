"""Patient pages of the waitlist: join from the "no free times" pages, see or leave the list
through the private entry link, and take a freed time through the offer link in the text."""

from __future__ import annotations

import re
from datetime import date, timedelta

from flask import Blueprint, flash, redirect, render_template, request, url_for

from clinic.audit.context import patient_actor
from clinic.booking import identity
from clinic.booking import services as booking
from clinic.booking.tokens import manage_token
from clinic.clock import utcnow
from clinic.errors import ScreeningStopped, ValidationFailed
from clinic.screening import services as screening_services
from clinic.waitlist import services
from clinic.waitlist.forms import JoinForm, offer_form
from clinic.waitlist.models import EntryStatus
from clinic.waitlist.services import OfferClosed

bp = Blueprint("waitlist", __name__)

_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# The range a join form suggests when the patient came from a day with no free times.
SUGGESTED_DAYS = 14


@bp.after_request
def keep_private(response):
    # The pages hold personal details and private links: never cached, never indexed.
    response.headers.setdefault("Cache-Control", "no-store")
    if request.view_args and "token" in request.view_args:
        response.headers.setdefault("X-Robots-Tag", "noindex, nofollow")
    return response


@bp.route("/join/<slug>", methods=["GET", "POST"])
def join(slug: str):
    service = booking.service_by_slug(slug)
    form = JoinForm()
    form.set_practitioners(booking.practitioners_for(service))
    if not form.is_submitted():
        first = _suggested_first_day()
        form.first_day.data = first
        form.last_day.data = first + timedelta(days=SUGGESTED_DAYS - 1)
        form.practitioner.data = request.args.get("practitioner", "")
    problems: list[str] = []
    if form.validate_on_submit():
        try:
            entry = services.join(form.join_request(slug), by=patient_actor())
        except ValidationFailed as exc:
            problems = form.add_service_errors(exc.errors)
        else:
            flash("You are on our waiting list. We will text when a time comes free.", "success")
            return redirect(url_for(".entry", token=services.entry_token(entry)), code=303)
    status = 422 if form.is_submitted() else 200
    return render_template(
        "waitlist/join.html", service=service, form=form, problems=problems
    ), status


@bp.get("/entry/<token>")
def entry(token: str):
    found = services.entry_from_token(token)
    return render_template(
        "waitlist/entry.html",
        entry=found,
        token=token,
        live=found.status in (EntryStatus.WAITING, EntryStatus.OFFERED),
        # The number said STOP: no offer reaches it until it texts START.
        texts_held_back=identity.number_suppressed(found.patient),
    )


@bp.post("/entry/<token>/withdraw")
def withdraw(token: str):
    found = services.entry_from_token(token)  # the CSRF token was checked before the view
    services.withdraw(found, by=patient_actor())
    flash("You are off our waiting list. You will get no more offers for this request.", "success")
    return redirect(url_for(".entry", token=token), code=303)


@bp.route("/offer/<token>", methods=["GET", "POST"])
def offer(token: str):
    found = services.offer_from_token(token)
    entry_token = services.entry_token(found.entry)
    try:
        services.ensure_open(found)
    except OfferClosed as closed:
        return _closed_page(closed, entry_token)
    intake = screening_services.intake(found.opening.service)
    form = offer_form(intake)

    def page(status: int, **extra):
        return render_template(
            "waitlist/offer.html",
            offer=found,
            form=form,
            consent=intake["consent"],
            consent_sections=_sections(intake["consent"]["text"]) if intake["consent"] else [],
            entry_token=entry_token,
            **extra,
        ), status

    if not form.validate_on_submit():
        return page(422 if form.is_submitted() else 200)
    consent = form.consent(request.remote_addr or "", request.user_agent.string[:300])
    try:
        appointment = services.take(found, form.answers(), consent, by=patient_actor())
    except OfferClosed as closed:
        return _closed_page(closed, entry_token)
    except ScreeningStopped as exc:
        # Nothing was booked or stored; the offer stays open until it runs out.
        service = found.opening.service
        return render_template("booking/stopped.html", service=service, stop=exc), exc.status
    except ValidationFailed as exc:
        return page(422, problems=form.add_service_errors(exc.errors))
    return redirect(url_for("booking.confirmed", token=manage_token(appointment)), code=303)


def _closed_page(closed: OfferClosed, entry_token: str):
    return render_template(
        "waitlist/gone.html",
        message=closed.message,
        state=closed.details.get("state", "gone"),
        entry_token=entry_token,
    ), closed.status


def _suggested_first_day() -> date:
    today = utcnow().astimezone(booking.clinic_timezone()).date()
    raw = request.args.get("from", "")
    if _DAY.fullmatch(raw):
        try:
            day = date.fromisoformat(raw)
        except ValueError:
            return today
        if today <= day <= today + timedelta(days=366):
            return day
    return today


def _sections(text: str) -> list[tuple[str, str]]:
    """A consent text as (heading, paragraph) pairs, as the booking page shows it."""
    sections = []
    for block in re.split(r"\n\s*\n", text.strip()):
        lines = [line.strip() for line in block.splitlines() if line.strip()]
        if len(lines) == 1:
            sections.append(("", lines[0]))
        elif lines:
            sections.append((lines[0], " ".join(lines[1:])))
    return sections
