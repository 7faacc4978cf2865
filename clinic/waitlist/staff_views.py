"""The desk's waitlist: every request with filters, adding a patient found with the patient
search, and taking a request off the list. Nested in the staff area at /desk/waitlist."""

from __future__ import annotations

import re
from datetime import timedelta

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm

from clinic.audit.context import staff_actor
from clinic.booking import services as booking
from clinic.clock import utcnow
from clinic.errors import ValidationFailed
from clinic.patients.search import search
from clinic.staff.auth import any_staff_member
from clinic.waitlist import services
from clinic.waitlist.forms import DeskEntryForm
from clinic.waitlist.models import EntryStatus

bp = Blueprint("waitlist", __name__)

_ID = re.compile(r"[0-9]{1,9}")
STATUS_FILTERS = [
    ("live", "Waiting or offered"),
    *[(status.value, status.value.title()) for status in EntryStatus],
    ("all", "All"),
]


@bp.get("")
@any_staff_member
def index():
    status = request.args.get("status", "live")
    if status not in {value for value, _label in STATUS_FILTERS}:
        status = "live"
    raw_service = request.args.get("service", "")
    service_id = int(raw_service) if _ID.fullmatch(raw_service) else None
    return render_template(
        "waitlist/desk_index.html",
        entries=services.entries(status=status, service_id=service_id),
        status=status,
        status_filters=STATUS_FILTERS,
        service_id=service_id,
        all_services=services.active_services(),
        form=FlaskForm(),
    )


@bp.route("/new", methods=["GET", "POST"])
@any_staff_member
def new():
    query = (request.values.get("q") or "").strip()[:100]
    patients = search(query, region=current_app.config["DEFAULT_PHONE_REGION"]) if query else []
    all_services = services.active_services()
    form = DeskEntryForm()
    practitioners = {p.id: p for s in all_services for p in booking.practitioners_for(s)}
    form.set_choices(patients, all_services, sorted(practitioners.values(), key=lambda p: p.id))
    if not form.is_submitted():
        today = utcnow().astimezone(booking.clinic_timezone()).date()
        form.first_day.data, form.last_day.data = today, today + timedelta(days=13)
    problems: list[str] = []
    if request.method == "POST" and form.validate_on_submit():
        try:
            services.join(form.join_request(), by=staff_actor())
        except ValidationFailed as exc:
            problems = form.add_service_errors(exc.errors)
        else:
            flash("Added to the waiting list.", "success")
            return redirect(url_for(".index"), code=303)
    status = 422 if request.method == "POST" else 200
    return render_template(
        "waitlist/desk_new.html", form=form, query=query, patients=patients, problems=problems
    ), status


@bp.post("/<int:entry_id>/withdraw")
@any_staff_member
def withdraw(entry_id: int):
    services.withdraw_by_id(entry_id, by=staff_actor())  # the CSRF token was checked
    flash("Taken off the waiting list.", "success")
    return redirect(url_for(".index"), code=303)
