"""The desk's visit page: why a visit may not go ahead yet, and the steps that clear it."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from clinic.audit.context import staff_actor as _by
from clinic.clock import utcnow
from clinic.errors import ChangeNotAllowed, SlotUnavailable, ValidationFailed, VisitBlocked
from clinic.staff.auth import any_staff_member, roles_required
from clinic.staff.forms import ButtonForm
from clinic.staff.models import Role
from clinic.visits import desk, queries
from clinic.visits import services as visit_services
from clinic.visits.forms import (
    CheckInForm,
    DeskConsentForm,
    SessionForm,
    rescreen_form,
)

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
    for name, make in blank.items():
        forms.setdefault(name, make())
    forms.setdefault("refused", None)
    return render_template(
        "visits/visit.html",
        visit=visit,
        problems=[*([problem] if problem else []), *problems],
        can_record=can_record,
        actions=queries.actions(visit.appointment, current_user.role),
        depth_range=visit_services.depth_range(),
        now=utcnow(),
        **forms,
    ), status


def _back(appointment_id: int):
    return redirect(url_for(".visit", appointment_id=appointment_id), code=303)
