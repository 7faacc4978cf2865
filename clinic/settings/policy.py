"""The policy page (/admin/settings/policy): the cancellation window and the texts' quiet
hours, saved in the database over the environment's defaults."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for

from clinic.audit.context import staff_actor
from clinic.catalog.policy import MAX_CANCELLATION_WINDOW_HOURS, Policy, clinic_policy
from clinic.errors import ValidationFailed
from clinic.settings import policy_services as services
from clinic.settings.policy_forms import PolicyForm
from clinic.staff.auth import allow
from clinic.staff.models import Role
from clinic.web.forms import attach_errors

bp = Blueprint("policy", __name__)


@bp.route("", methods=["GET", "POST"])
@allow(Role.ADMIN)
def edit():
    form = PolicyForm()
    if not form.is_submitted():
        return _page()
    if not form.validate():
        return _page(form, status=422)
    try:
        changes = services.save_policy(
            *form.values(), shown_version=form.shown_version(), by=staff_actor()
        )
    except ValidationFailed as exc:
        attach_errors(form, exc.errors)
        return _page(form, status=422)
    except services.StalePolicyForm as exc:
        # A fresh form over the policy as it is now: the old one would only be refused again.
        return _page(status=409, problem=exc.message)
    flash("Policy saved." if changes else "Nothing changed.", "success" if changes else "info")
    return redirect(url_for(".edit"), code=303)


@bp.post("/reset")
@allow(Role.ADMIN)
def reset():
    form = PolicyForm()
    try:
        changes = services.reset_to_environment(
            shown_version=form.shown_version(), by=staff_actor()
        )
    except services.StalePolicyForm as exc:
        return _page(status=409, problem=exc.message)
    flash(
        "The server's default policy applies again." if changes else "Nothing changed.",
        "success" if changes else "info",
    )
    return redirect(url_for(".edit"), code=303)


def _page(form: PolicyForm | None = None, *, status: int = 200, problem: str | None = None):
    current = clinic_policy()
    if form is None:
        form = PolicyForm(formdata=None, data=_form_data(current))
    return render_template(
        "settings/policy/edit.html",
        form=form,
        policy=current,
        max_hours=MAX_CANCELLATION_WINDOW_HOURS,
        problem=problem,
    ), status


def _form_data(current: Policy) -> dict:
    return {
        "cancellation_window_hours": str(current.cancellation_window_hours),
        "quiet_start": current.quiet_start.strftime("%H:%M"),
        "quiet_end": current.quiet_end.strftime("%H:%M"),
        "version": str(current.version),
    }
