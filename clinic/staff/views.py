"""Staff pages: sign in and sign out. The desk's calendar lives in clinic/calendar."""

from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, logout_user

from clinic.errors import ValidationFailed
from clinic.extensions import limiter, login_manager
from clinic.staff import accounts, attempts, auth, services
from clinic.staff.auth import public_page, safe_next
from clinic.staff.forms import ChoosePasswordForm, LoginForm

# Nested in the staff area (clinic/staff/area.py), which checks who is signed in.
account_bp = Blueprint("account", __name__)
account_bp.record_once(lambda _state: auth.init(login_manager))

# The same words for an unknown email, a wrong password and a locked account: the page never
# tells an outsider which addresses have accounts.
LOGIN_FAILED = (
    "Email or password is not right. After 10 failed attempts in a row an account waits "
    "15 minutes before it can sign in again."
)
TOO_MANY_ATTEMPTS = (
    "Too many sign-in attempts from your address. Please wait a minute and try again."
)


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


@account_bp.route("/password/<token>", methods=["GET", "POST"])
@public_page
def choose_password(token: str):
    """The page an invitation or a password reset link opens (clinic.staff.accounts).

    An unknown link is a 404 page, a used, replaced or expired one a 410 page.
    """
    holder = accounts.link_holder(token)
    form = ChoosePasswordForm()
    if form.validate_on_submit():
        try:
            accounts.choose_password(token, form.password.data)
        except ValidationFailed as exc:
            form.password.errors = [*form.password.errors, *exc.errors.get("password", [])]
        else:
            # Whoever was signed in here before (perhaps someone else) is signed out.
            logout_user()
            flash("Your password is set. Sign in with it.", "success")
            return redirect(url_for(".login"), code=303)
    status = 422 if form.errors else 200
    return render_template("staff/choose_password.html", form=form, holder=holder), status
