"""Staff text pages: the alerts queue, the inbox of replies, a patient's thread, the wording."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user

from clinic.errors import ValidationFailed
from clinic.sms import queries, staff_services
from clinic.sms.forms import AcknowledgeForm, ActionForm, RestoreForm, TemplateForm
from clinic.sms.models import AlertOutcome
from clinic.staff.auth import any_staff_member, roles_required, safe_next
from clinic.staff.models import Role

# Nested in the staff area (clinic/staff/area.py), which lets only signed-in staff in.
bp = Blueprint("texts", __name__)

admins_only = roles_required(Role.ADMIN)


def _page(template: str, *, status: int = 200, **context):
    return render_template(
        template, counts=queries.counts(), kind_label=queries.kind_label, **context
    ), status


def _back(form: ActionForm, endpoint: str):
    return redirect(safe_next(form.next.data) or url_for(endpoint), code=303)


# "/desk/texts" itself: the alerts are what matters most.
@bp.get("")
@any_staff_member
def index():
    return redirect(url_for(".alerts"))


@bp.get("/alerts")
@any_staff_member
def alerts():
    return _page("texts/alerts.html", queue=queries.alerts_queue())


@bp.post("/alerts/<int:alert_id>/acknowledge")
@any_staff_member
def acknowledge(alert_id: int):
    form = AcknowledgeForm()  # the CSRF token was checked before the view ran
    if not form.validate():
        for message in [*form.outcome.errors, *form.note.errors]:
            flash(message, "error")
        return _back(form, ".alerts")
    outcome = AlertOutcome(form.outcome.data)
    _alert, recorded = staff_services.acknowledge_alert(
        alert_id, current_user._get_current_object(), outcome, form.note.data
    )
    if not recorded:
        flash("Someone else had already acknowledged that alert.", "info")
    elif outcome is AlertOutcome.NO_ANSWER:
        flash("No answer recorded; the alert stays open. Try again soon.", "info")
    else:
        flash("Alert acknowledged.", "success")
    return _back(form, ".alerts")


@bp.get("/inbox")
@any_staff_member
def inbox():
    return _page("texts/inbox.html", inbox=queries.inbox())


@bp.post("/inbox/<int:inbound_id>/handled")
@any_staff_member
def handled(inbound_id: int):
    form = ActionForm()
    reply = staff_services.mark_handled(inbound_id, current_user._get_current_object())
    if reply.handled_by_id == current_user.id:
        flash("Reply marked as handled.", "success")
    else:
        flash("Someone else had already handled that reply.", "info")
    return _back(form, ".inbox")


@bp.get("/patients/<int:patient_id>")
@any_staff_member
def patient(patient_id: int):
    return _page("texts/patient.html", thread=queries.thread(patient_id))


@bp.get("/templates")
@any_staff_member
def templates():
    return _templates_page()


@bp.post("/templates/<kind>")
@admins_only
def save_template(kind: str):
    kind = queries.known_kind(kind)
    form = TemplateForm(prefix=kind.value)
    if not form.validate_on_submit():
        return _templates_page(status=422, failed=(kind, form))
    try:
        check = staff_services.save_template(
            kind,
            form.body.data,
            current_user._get_current_object(),
            shown_version=form.version.data or "",
        )
    except ValidationFailed as exc:
        form.body.errors = [*form.body.errors, *exc.errors["body"]]
        return _templates_page(status=422, failed=(kind, form))
    except staff_services.StaleWording as exc:
        # Fresh forms over the wording as it is now: the old one would only be refused again.
        return _templates_page(status=409, problem=exc.message)
    flash(f"Saved: {queries.kind_label(kind)}.", "success")
    for warning in check.warnings:
        flash(warning, "info")
    return redirect(url_for(".templates", _anchor=kind.value), code=303)


@bp.post("/templates/<kind>/restore")
@admins_only
def restore_template(kind: str):
    kind = queries.known_kind(kind)
    form = RestoreForm(prefix=f"{kind.value}-restore")
    try:
        restored = staff_services.restore_default(
            kind, current_user._get_current_object(), shown_version=form.version.data or ""
        )
    except staff_services.StaleWording as exc:
        return _templates_page(status=409, problem=exc.message)
    if restored:
        flash(f"Restored the built-in wording: {queries.kind_label(kind)}.", "success")
    else:
        flash(f"{queries.kind_label(kind)} already uses the built-in wording.", "info")
    return redirect(url_for(".templates", _anchor=kind.value), code=303)


def _templates_page(*, status: int = 200, failed=None, problem: str | None = None):
    wordings = queries.wordings()
    forms, restore_forms = {}, {}
    if current_user.role == Role.ADMIN:
        for wording in wordings:
            forms[wording.kind] = TemplateForm(
                prefix=wording.kind.value,
                formdata=None,
                data={"body": wording.body, "version": wording.version},
            )
            restore_forms[wording.kind] = RestoreForm(
                prefix=f"{wording.kind.value}-restore",
                formdata=None,
                data={"version": wording.version},
            )
        if failed is not None:
            forms[failed[0]] = failed[1]
    return _page(
        "texts/templates.html",
        status=status,
        wordings=wordings,
        forms=forms,
        restore_forms=restore_forms,
        problem=problem,
        failed_kind=failed[0] if failed else None,
        placeholders=queries.placeholders(),
        counter=queries.counter_settings(),
    )
