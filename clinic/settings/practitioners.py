"""Settings: practitioners, their weekly hours and their time off (/admin/settings/practitioners).

Changes apply at once: the desk calendar and online availability read the same rows.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for

from clinic.audit.context import staff_actor
from clinic.errors import ValidationFailed
from clinic.settings import practitioners_services as services
from clinic.settings.practitioners_forms import HoursForm, PractitionerForm, TimeOffForm
from clinic.staff.auth import allow
from clinic.staff.models import Role
from clinic.web.forms import attach_errors

bp = Blueprint("practitioners", __name__)


@bp.get("")
@allow(Role.ADMIN)
def index():
    return render_template("settings/practitioners/index.html", rows=services.overview())


@bp.route("/new", methods=["GET", "POST"])
@allow(Role.ADMIN)
def new():
    form = PractitionerForm(data={"active": True})
    form.fill_choices(services.locations(), services.services_to_offer())
    if not form.is_submitted():
        return _details_page(form)
    if not form.validate():
        return _details_page(form, status=422)
    try:
        member = services.add_practitioner(form.details(), by=staff_actor())
    except ValidationFailed as exc:
        return _details_page(_with_errors(form, exc), status=422)
    except services.NameTaken as exc:
        form.name.errors = [exc.message]
        return _details_page(form, status=409)
    flash(f"{member.name} added. Now set the hours they work.", "success")
    return redirect(url_for(".hours", practitioner_id=member.id), code=303)


@bp.route("/<int:practitioner_id>", methods=["GET", "POST"])
@allow(Role.ADMIN)
def edit(practitioner_id: int):
    member = services.practitioner(practitioner_id)
    # A posted form stands on its own: its version is the one it was shown with.
    form = PractitionerForm() if request.method == "POST" else _details_form(member)
    form.fill_choices(services.locations(), services.services_to_offer(member.services))
    if not form.is_submitted():
        return _details_page(form, member)
    if not form.validate():
        return _details_page(form, member, status=422)
    try:
        services.change_practitioner(
            practitioner_id, form.details(), fingerprint=form.version.data or "", by=staff_actor()
        )
    except ValidationFailed as exc:
        return _details_page(_with_errors(form, exc), member, status=422)
    except services.NameTaken as exc:
        form.name.errors = [exc.message]
        return _details_page(form, member, status=409)
    except services.VisitsToMove as exc:
        return _details_page(form, member, status=409, problem=exc.message, to_move=exc.visits)
    except services.StaleSettings as exc:
        return _fresh_details_page(practitioner_id, problem=exc.message)
    flash("Saved.", "success")
    return redirect(url_for(".edit", practitioner_id=practitioner_id), code=303)


@bp.route("/<int:practitioner_id>/hours", methods=["GET", "POST"])
@allow(Role.ADMIN)
def hours(practitioner_id: int):
    member = services.practitioner(practitioner_id)
    form = HoursForm()
    if not form.is_submitted():
        return _hours_page(member)
    if not form.validate():
        return _hours_page(member, form, status=422)
    try:
        outside = services.replace_hours(
            practitioner_id, form.week, fingerprint=form.version.data or "", by=staff_actor()
        )
    except ValidationFailed as exc:
        return _hours_page(member, _with_errors(form, exc), status=422)
    except services.StaleSettings as exc:
        return _hours_page(services.practitioner(practitioner_id), status=409, problem=exc.message)
    if outside:
        flash(
            f"Hours saved. {_visits(len(outside))} now outside them: they are kept, listed "
            "below for you to move.",
            "info",
        )
    else:
        flash("Hours saved.", "success")
    return redirect(url_for(".hours", practitioner_id=practitioner_id), code=303)


@bp.route("/<int:practitioner_id>/time-off", methods=["GET", "POST"])
@allow(Role.ADMIN)
def time_off(practitioner_id: int):
    member = services.practitioner(practitioner_id)
    form = TimeOffForm()
    if not form.is_submitted():
        return _time_off_page(member, form)
    if not form.validate():
        return _time_off_page(member, form, status=422)
    try:
        _off, inside = services.add_time_off(practitioner_id, form.entry(), by=staff_actor())
    except ValidationFailed as exc:
        return _time_off_page(member, _with_errors(form, exc), status=422)
    except services.OverlappingTimeOff as exc:
        return _time_off_page(member, form, status=409, problem=exc.message)
    flash(_added_words("Time off added", inside), "info" if inside else "success")
    return redirect(url_for(".time_off", practitioner_id=practitioner_id), code=303)


@bp.post("/<int:practitioner_id>/time-off/<int:time_off_id>/remove")
@allow(Role.ADMIN)
def remove_time_off(practitioner_id: int, time_off_id: int):
    member = services.practitioner(practitioner_id)
    try:
        services.remove_time_off(practitioner_id, time_off_id, by=staff_actor())
    except services.StaleSettings as exc:
        return _time_off_page(member, TimeOffForm(formdata=None), status=409, problem=exc.message)
    flash("Time off removed: those hours can be booked again.", "success")
    return redirect(url_for(".time_off", practitioner_id=practitioner_id), code=303)


# --- pages ----------------------------------------------------------------------------------


def _details_page(form, member=None, *, status=200, problem=None, to_move=()):
    not_offered = services.visits_for_services_not_offered(member) if member else []
    return render_template(
        "settings/practitioners/edit.html",
        member=member,
        form=form,
        problem=problem,
        to_move=to_move,
        not_offered=not_offered,
    ), status


def _fresh_details_page(practitioner_id: int, *, problem: str):
    member = services.practitioner(practitioner_id)
    form = _details_form(member)
    form.fill_choices(services.locations(), services.services_to_offer(member.services))
    return _details_page(form, member, status=409, problem=problem)


def _details_form(member) -> PractitionerForm:
    return PractitionerForm(formdata=None, data=_details_data(member))


def _details_data(member) -> dict:
    return {
        "name": member.name,
        "location_id": member.location_id,
        "service_ids": [service.id for service in member.services],
        "active": member.active,
        "version": services.practitioner_fingerprint(member),
    }


def _hours_page(member, form=None, *, status=200, problem=None):
    if form is None:
        shown = services.week_text(services.week_of(member))
        form = HoursForm(
            formdata=None,
            data={name: shown[day] for day, name in enumerate(services.WEEKDAYS)}
            | {"version": services.hours_fingerprint(member)},
        )
    return render_template(
        "settings/practitioners/hours.html",
        member=member,
        form=form,
        problem=problem,
        outside=services.visits_outside_hours(member.id),
        grid_minutes=services.GRID_MINUTES,
        max_blocks=services.MAX_BLOCKS_PER_DAY,
    ), status


def _time_off_page(member, form, *, status=200, problem=None):
    return render_template(
        "settings/practitioners/time_off.html",
        member=member,
        form=form,
        problem=problem,
        entries=services.upcoming_time_off(member.id),
    ), status


def _with_errors(form, exc: ValidationFailed):
    """The service's field errors on the form's fields (one the form lacks, on its first)."""
    first = next(field for field in form if field.name != "csrf_token")
    attach_errors(form, exc.errors, fallback=first)
    return form


def _visits(number: int) -> str:
    return f"{number} booked visit{'' if number == 1 else 's'} {'is' if number == 1 else 'are'}"


def _added_words(what: str, inside) -> str:
    if not inside:
        return f"{what}."
    return f"{what}. {_visits(len(inside))} inside it: they are kept, listed below for you to move."
