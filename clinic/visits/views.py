"""The desk's visit page: why a visit may not go ahead yet, and the steps that clear it."""

from __future__ import annotations

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user

from clinic.actors import ActorKind
from clinic.audit.context import staff_actor as _by
from clinic.clock import utcnow
from clinic.errors import ChangeNotAllowed, SlotUnavailable, ValidationFailed, VisitBlocked
from clinic.localtime import exists, to_utc
from clinic.staff.auth import any_staff_member, roles_required
from clinic.staff.forms import ButtonForm
from clinic.staff.models import Role
from clinic.visits import changes, desk, queries
from clinic.visits import services as visit_services
from clinic.visits.forms import (
    CancelForm,
    CheckInForm,
    DeskConsentForm,
    MoveForm,
    SessionForm,
    rescreen_form,
)
from clinic.visits.lifecycle import Event
from clinic.web.forms import attach_errors

# Nested in the staff area (clinic/staff/area.py), which lets only signed-in staff in.
bp = Blueprint("visits", __name__)

practitioners_only = roles_required(Role.PRACTITIONER, Role.ADMIN)

# The flash message travels in the session cookie, readable by whoever holds it, so it says
# only that the answers were recorded; the visit page shows the outcome and what it means.
RESCREEN_RECORDED = "Screening recorded. The visit page below shows what it means for today."


@bp.get("/<int:appointment_id>")
@any_staff_member
def visit(appointment_id: int):
    return _visit_page(appointment_id)


@bp.post("/<int:appointment_id>/check-in")
@any_staff_member
def check_in(appointment_id: int):
    form = CheckInForm()
    if not form.validate_on_submit():
        return _visit_page(appointment_id, status=422, check_in_form=form)
    try:
        visit_services.check_in(
            appointment_id, changes_since_last_visit=form.changes_reported, by=_by()
        )
    except VisitBlocked as exc:
        return _visit_page(appointment_id, status=409, check_in_form=form, refused=exc.reasons)
    except ChangeNotAllowed as exc:
        return _visit_page(appointment_id, status=409, check_in_form=form, problem=exc.message)
    flash("Checked in.", "success")
    return _back(appointment_id)


@bp.post("/<int:appointment_id>/rescreen")
@any_staff_member
def rescreen(appointment_id: int):
    form = rescreen_form(queries.visit(appointment_id).questions)
    if not form.validate_on_submit():
        return _visit_page(appointment_id, status=422, rescreen=form)
    try:
        visit_services.rescreen_at_desk(appointment_id, form.answers(), by=_by())
    except ChangeNotAllowed as exc:
        return _visit_page(appointment_id, status=409, rescreen=form, problem=exc.message)
    except ValidationFailed as exc:
        # The questionnaire changed between showing the form and sending it.
        problems = [m for messages in exc.errors.values() for m in messages]
        return _visit_page(appointment_id, status=422, rescreen=form, problem=problems[0])
    flash(RESCREEN_RECORDED, "info")
    return _back(appointment_id)


@bp.post("/<int:appointment_id>/consent")
@any_staff_member
def consent(appointment_id: int):
    form = DeskConsentForm()
    if not form.validate_on_submit():
        return _visit_page(appointment_id, status=422, consent_form=form)
    try:
        desk.sign_consent_at_desk(
            appointment_id,
            form.consent_input(request.remote_addr, request.user_agent.string),
            by=_by(),
        )
    except ValidationFailed as exc:
        problems = form.add_service_errors(exc.errors)
        return _visit_page(appointment_id, status=422, consent_form=form, problems=problems)
    except ChangeNotAllowed as exc:
        return _visit_page(appointment_id, status=409, consent_form=form, problem=exc.message)
    flash("Consent signed and recorded.", "success")
    return _back(appointment_id)


@bp.post("/<int:appointment_id>/complete")
@practitioners_only
def complete(appointment_id: int):
    form = SessionForm()
    if not form.validate_on_submit():
        return _visit_page(appointment_id, status=422, session_form=form)
    try:
        visit_services.complete(
            appointment_id, form.session_input(), current_user._get_current_object(), by=_by()
        )
    except ValidationFailed as exc:
        problems = form.add_service_errors(exc.errors)
        return _visit_page(appointment_id, status=422, session_form=form, problems=problems)
    except VisitBlocked as exc:
        return _visit_page(appointment_id, status=409, session_form=form, refused=exc.reasons)
    except ChangeNotAllowed as exc:
        return _visit_page(appointment_id, status=409, session_form=form, problem=exc.message)
    flash("Session recorded and completed.", "success")
    return _back(appointment_id)


@bp.get("/<int:appointment_id>/aftercare")
@any_staff_member
def aftercare(appointment_id: int):
    """The printable aftercare sheet, handed to the patient on paper."""
    return render_template("visits/aftercare.html", page=queries.sheet_page(appointment_id))


@bp.post("/<int:appointment_id>/aftercare/handed-over")
@any_staff_member
def aftercare_handed_over(appointment_id: int):
    if not ButtonForm().validate_on_submit():
        return _visit_page(appointment_id, status=400, problem="The form expired; try again.")
    try:
        visit_services.mark_sheet_handed_over(appointment_id, by=_by())
    except ChangeNotAllowed as exc:
        return _visit_page(appointment_id, status=409, problem=exc.message)
    flash("Aftercare sheet recorded as handed over.", "success")
    return _back(appointment_id)


@bp.post("/<int:appointment_id>/finish")
@any_staff_member
def finish(appointment_id: int):
    if not ButtonForm().validate_on_submit():
        return _visit_page(appointment_id, status=400, problem="The form expired; try again.")
    try:
        visit_services.finish_consultation(appointment_id, by=_by())
    except ChangeNotAllowed as exc:
        return _visit_page(appointment_id, status=409, problem=exc.message)
    flash("Visit completed.", "success")
    return _back(appointment_id)


@bp.post("/<int:appointment_id>/no-show")
@any_staff_member
def no_show(appointment_id: int):
    if not ButtonForm().validate_on_submit():
        return _visit_page(appointment_id, status=400, problem="The form expired; try again.")
    try:
        visit_services.mark_no_show(appointment_id, by=_by())
    except ChangeNotAllowed as exc:
        return _visit_page(appointment_id, status=409, problem=exc.message)
    flash("Marked as a no-show; the time is free again and planned texts are stopped.", "success")
    return _back(appointment_id)


@bp.post("/<int:appointment_id>/undo-check-in")
@any_staff_member
def undo_check_in(appointment_id: int):
    if not ButtonForm().validate_on_submit():
        return _visit_page(appointment_id, status=400, problem="The form expired; try again.")
    try:
        visit_services.undo_check_in(appointment_id, by=_by(), reason="checked in by mistake")
    except ChangeNotAllowed as exc:
        return _visit_page(appointment_id, status=409, problem=exc.message)
    flash("Check-in undone.", "success")
    return _back(appointment_id)


@bp.post("/<int:appointment_id>/undo-no-show")
@any_staff_member
def undo_no_show(appointment_id: int):
    if not ButtonForm().validate_on_submit():
        return _visit_page(appointment_id, status=400, problem="The form expired; try again.")
    try:
        visit_services.undo_no_show(appointment_id, by=_by(), reason="marked a no-show by mistake")
    except (ChangeNotAllowed, SlotUnavailable) as exc:
        return _visit_page(appointment_id, status=409, problem=exc.message)
    flash("No-show undone: the visit holds its time again.", "success")
    return _back(appointment_id)


@bp.post("/<int:appointment_id>/move")
@any_staff_member
def move(appointment_id: int):
    """Another time, practitioner or room: from the visit page's form, or a calendar drop
    (which asks for JSON and gets the outcome as JSON)."""
    form = MoveForm().with_choices(queries.move_choices(appointment_id))
    start = _move_start(form, appointment_id) if form.validate_on_submit() else None
    if start is None:
        return _move_refused(appointment_id, form, 422)
    try:
        moved = desk.move_visit(
            appointment_id,
            start,
            practitioner_id=form.practitioner.data,
            room_id=form.room.data or None,
            by=_by(),
        )
    except ValidationFailed as exc:
        attach_errors(form, exc.errors, {"start": "time"})
        return _move_refused(appointment_id, form, 422, exc.message)
    except (SlotUnavailable, ChangeNotAllowed) as exc:
        return _move_refused(appointment_id, form, 409, exc.message)
    if wants_json():
        return jsonify(
            ok=True,
            id=moved.id,
            start=moved.start_at.isoformat(),
            end=moved.end_at.isoformat(),
            practitioner=moved.practitioner_id,
            room=moved.room_id,
        )
    flash("Visit moved; its planned texts follow the new time.", "success")
    return _back(appointment_id)


def wants_json() -> bool:
    """A calendar drop asks for JSON; a form sent by the browser asks for a page."""
    accepted = request.accept_mimetypes
    return accepted.best_match(["application/json", "text/html"]) == "application/json"


def _move_start(form: MoveForm, appointment_id: int):
    """The instant the form's date and time name at the visit's location, or None (with a
    field message) for a wall time the clocks skip that day."""
    tz = visit_services.get_appointment(appointment_id).timezone
    if not exists(form.date.data, form.time.data, tz):
        form.time.errors = [*form.time.errors, "The clocks skip that time that day."]
        return None
    return to_utc(form.date.data, form.time.data, tz)


def _move_refused(appointment_id: int, form: MoveForm, status: int, message: str = ""):
    if wants_json():
        errors = {name: list(field.errors) for name, field in form._fields.items() if field.errors}
        text = message or next(iter(m for ms in errors.values() for m in ms), "Check the form.")
        return jsonify(ok=False, status=status, message=text, errors=errors), status
    return _visit_page(appointment_id, status=status, move_form=form, problem=message or None)


@bp.post("/<int:appointment_id>/cancel")
@any_staff_member
def cancel(appointment_id: int):
    form = CancelForm()
    if not form.validate_on_submit():
        return _visit_page(appointment_id, status=422, cancel_form=form)
    try:
        desk.cancel_visit(appointment_id, form.reason.data, by=_by())
    except ValidationFailed as exc:
        attach_errors(form, exc.errors, {})
        return _visit_page(appointment_id, status=422, cancel_form=form)
    except ChangeNotAllowed as exc:
        return _visit_page(appointment_id, status=409, cancel_form=form, problem=exc.message)
    flash("Visit cancelled; its planned texts are stopped.", "success")
    return _back(appointment_id)


@bp.get("/consents/<int:signed_id>")
@any_staff_member
def consent_record(signed_id: int):
    return render_template("visits/consent_record.html", record=queries.consent_record(signed_id))


def _visit_page(appointment_id: int, *, status: int = 200, problem=None, problems=(), **forms):
    can_record = current_user.role in (Role.PRACTITIONER, Role.ADMIN)
    # The session record and its notes are clinical: practitioners and admins see them, the
    # desk sees only that the session was recorded, when and by whom.
    visit = queries.visit(appointment_id, clinical=can_record)
    service = visit.appointment.service
    blank = {
        "check_in_form": lambda: CheckInForm(formdata=None),
        "rescreen": lambda: rescreen_form(visit.questions, formdata=None),
        "consent_form": lambda: DeskConsentForm(formdata=None, version=visit.consent_text.version),
        "session_form": lambda: SessionForm(
            formdata=None,
            numbing_used=service.uses_numbing,
            add_ons=[name for name in service.ingredients if name != "numbing"],
        ),
    }
    blank["move_form"] = lambda: MoveForm(
        formdata=None,
        date=visit.day,
        time=visit.appointment.start_at.astimezone(visit.appointment.timezone).time(),
        practitioner=visit.appointment.practitioner_id,
        room=visit.appointment.room_id,
    ).with_choices(queries.move_choices(appointment_id))
    blank["cancel_form"] = lambda: CancelForm(formdata=None)
    for name, make in blank.items():
        forms.setdefault(name, make())
    forms.setdefault("refused", None)
    return render_template(
        "visits/visit.html",
        visit=visit,
        problems=[*([problem] if problem else []), *problems],
        can_record=can_record,
        actions=queries.actions(visit.appointment, current_user.role),
        can_change=changes.permitted(visit.appointment, Event.MOVE, ActorKind.DESK),
        depth_range=visit_services.depth_range(),
        now=utcnow(),
        **forms,
    ), status


def _back(appointment_id: int):
    return redirect(url_for(".visit", appointment_id=appointment_id), code=303)
