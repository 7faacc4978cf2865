"""Staff pages: sign in, sign out and the desk's day list with its review warnings."""

from __future__ import annotations

import re
from datetime import date, timedelta

from flask import (
    Blueprint,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, logout_user

from clinic.booking.services import clinic_timezone
from clinic.clock import utcnow
from clinic.extensions import limiter, login_manager
from clinic.staff import attempts, auth, queries, services
from clinic.staff.auth import any_staff_member, public_page, safe_next
from clinic.staff.forms import LoginForm
from clinic.staff.models import Role

# Both nest in the staff area (clinic/staff/area.py), which checks who is signed in.
account_bp = Blueprint("account", __name__)
account_bp.record_once(lambda _state: auth.init(login_manager))
desk_bp = Blueprint("desk", __name__)

# The same words for an unknown email, a wrong password and a locked account: the page never
# tells an outsider which addresses have accounts.
LOGIN_FAILED = (
    "Email or password is not right. After 10 failed attempts in a row an account waits "
    "15 minutes before it can sign in again."
)
TOO_MANY_ATTEMPTS = (
    "Too many sign-in attempts from your address. Please wait a minute and try again."
)
_DAY_SHAPE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# Far enough either way for any real diary, and clear of date arithmetic overflowing.
_FIRST_DAY, _LAST_DAY = date(1900, 1, 1), date(2999, 12, 31)


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"] or "1000000/second"


def _login_limit_off() -> bool:
    return not current_app.config["LOGIN_RATE_LIMIT"]


@account_bp.route("/login", methods=["GET", "POST"])
@public_page
@limiter.limit(
    _login_limit,
    methods=["POST"],
    exempt_when=_login_limit_off,
    error_message=TOO_MANY_ATTEMPTS,
)
def login():
    next_path = safe_next(request.args.get("next"))
    if current_user.is_authenticated:
        return redirect(next_path or url_for("staff.desk.index"))
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        user = attempts.authenticate(
            form.email.data, form.password.data, ip_address=request.remote_addr or ""
        )
        if user is not None:
            auth.sign_in(user)
            return redirect(next_path or url_for("staff.desk.index"))
        error = LOGIN_FAILED
    return render_template("staff/login.html", form=form, error=error, next_path=next_path)


@account_bp.post("/logout")
@public_page
def logout():
    # Every session of the account ends, not just this browser's: a copied cookie is useless.
    if current_user.is_authenticated:
        services.end_sessions(current_user.id)
    logout_user()
    for key in (auth.SIGNED_IN_AT, auth.SEEN_AT):
        session.pop(key, None)
    return redirect(url_for(".login"))


@desk_bp.get("/desk")
@any_staff_member
def index():
    today = utcnow().astimezone(clinic_timezone()).date()
    day = _requested_day(request.args.get("day"), today)
    unreviewed = queries.unreviewed_soon()
    return render_template(
        "staff/desk.html",
        day=day,
        today=today,
        previous_day=day - timedelta(days=1),
        next_day=day + timedelta(days=1),
        appointments=queries.appointments_on(day),
        unreviewed=unreviewed,
        unreviewed_ids={appointment.id for appointment in unreviewed},
        can_review=current_user.role in (Role.PRACTITIONER, Role.ADMIN),
    )


def _requested_day(raw: str | None, today: date) -> date:
    if raw is None or raw == "":
        return today
    try:
        if not _DAY_SHAPE.match(raw):
            raise ValueError(raw)
        day = date.fromisoformat(raw)
    except ValueError:
        abort(400, description="Give the day as YYYY-MM-DD, for example 2026-03-02.")
    if not _FIRST_DAY <= day <= _LAST_DAY:
        abort(400, description="That day is outside the diary.")
    return day
