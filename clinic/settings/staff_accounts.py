"""Settings: staff accounts at /admin/settings/staff. Invite, change role, deactivate or
reactivate, and send a password link; the use cases are in clinic.staff.accounts."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for

from clinic.audit.context import staff_actor
from clinic.errors import ChangeNotAllowed, ValidationFailed
from clinic.mail import outbox
from clinic.settings.staff_accounts_forms import AccountActionForm, InviteForm, RoleForm
from clinic.staff import accounts
from clinic.staff.auth import allow
from clinic.staff.models import Role
from clinic.web.forms import attach_errors

bp = Blueprint("accounts", __name__)


@bp.get("")
@allow(Role.ADMIN)
def index():
    return render_template(
        "settings/staff/index.html", rows=accounts.accounts(), email_on=outbox.email_on()
    )


@bp.route("/invite", methods=["GET", "POST"])
@allow(Role.ADMIN)
def invite():
    form = InviteForm()
    form.set_practitioners(accounts.practitioner_choices())
    if not form.is_submitted():
        return _invite_page(form)
    if not form.validate():
        return _invite_page(form, status=422)
    try:
        user = accounts.invite(
            name=form.name.data,
            email=form.email.data,
            role=form.role.data,
            practitioner_id=form.practitioner(),
            by=staff_actor(),
        )
    except ValidationFailed as exc:
        _field_errors(form, exc)
        return _invite_page(form, status=422)
    except ChangeNotAllowed as exc:
        return _invite_page(form, status=409, problem=exc.message)
    flash("Invitation on its way.", "success")
    return redirect(url_for(".account", user_id=user.id), code=303)


def _invite_page(form, *, status=200, problem=None):
    return render_template(
        "settings/staff/invite.html", form=form, problem=problem, email_on=outbox.email_on()
    ), status


@bp.route("/<int:user_id>", methods=["GET", "POST"])
@allow(Role.ADMIN)
def account(user_id: int):
    form = RoleForm()
    form.set_practitioners(accounts.practitioner_choices())
    if not form.is_submitted():
        return _account_page(user_id)
    if not form.validate():
        return _account_page(user_id, form, status=422)
    try:
        changed = accounts.change_role(
            user_id,
            role=form.role.data,
            practitioner_id=form.practitioner(),
            version=form.version.data,
            by=staff_actor(),
        )
    except ValidationFailed as exc:
        _field_errors(form, exc)
        return _account_page(user_id, form, status=422)
    except accounts.StaleAccountForm as exc:
        return _account_page(user_id, status=409, problem=exc.message)
    except ChangeNotAllowed as exc:
        return _account_page(user_id, form, status=409, problem=exc.message)
    flash("Role saved." if changed else "Nothing changed.", "success" if changed else "info")
    return redirect(url_for(".account", user_id=user_id), code=303)


@bp.post("/<int:user_id>/deactivate")
@allow(Role.ADMIN)
def deactivate(user_id: int):
    return _act(user_id, accounts.deactivate, "Account deactivated: its sessions have ended.")


@bp.post("/<int:user_id>/reactivate")
@allow(Role.ADMIN)
def reactivate(user_id: int):
    return _act(user_id, accounts.reactivate, "Account reactivated.")


@bp.post("/<int:user_id>/reset-password")
@allow(Role.ADMIN)
def reset_password(user_id: int):
    return _act(
        user_id,
        accounts.send_password_reset,
        "Password link on its way; the old password and every session have ended.",
    )


@bp.post("/<int:user_id>/resend-invite")
@allow(Role.ADMIN)
def resend_invite(user_id: int):
    return _act(user_id, accounts.resend_invite, "A new invitation is on its way.")


def _act(user_id: int, change, done: str):
    """One click on the account as the page showed it (its hidden ``version``)."""
    form = AccountActionForm()
    if not form.validate():
        return _account_page(user_id, status=422, problem="Reload the page and try again.")
    try:
        change(user_id, version=form.version.data, by=staff_actor())
    except ChangeNotAllowed as exc:  # a stale page, the last admin, one's own account
        return _account_page(user_id, status=409, problem=exc.message)
    flash(done, "success")
    return redirect(url_for(".account", user_id=user_id), code=303)


def _account_page(user_id: int, form=None, *, status=200, problem=None):
    user = accounts.account(user_id)
    if form is None:
        form = RoleForm(
            formdata=None,
            role=user.role,
            practitioner_id=str(user.practitioner_id or ""),
            version=accounts.fingerprint(user),
        )
        form.set_practitioners(accounts.practitioner_choices())
    return render_template(
        "settings/staff/account.html",
        user=user,
        form=form,
        version=accounts.fingerprint(user),
        problem=problem,
        email_on=outbox.email_on(),
    ), status


def _field_errors(form, exc: ValidationFailed) -> None:
    attach_errors(form, exc.errors)
