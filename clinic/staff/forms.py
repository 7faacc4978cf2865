"""Staff forms, and the checks every staff blueprint shares on what a request carries.

Shape only: services decide whether credentials are right and what may happen.
"""

from __future__ import annotations

import re

from flask import abort
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, EqualTo, Length

# Record ids are 32-bit integers in both databases. A larger number in an address names
# nothing, and SQLite would raise on it rather than answer "no such row".
MAX_RECORD_ID = 2**31 - 1
_RECORD_ID = re.compile(r"[0-9]{1,10}")


def keep_private(response):
    """An after_request hook: staff pages hold patients' details and health answers, which
    belong in no shared or browser cache."""
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def refuse_impossible_ids(_endpoint: str | None, values: dict | None) -> None:
    """A url_value_preprocessor: ids no row can have are simply not found."""
    for value in (values or {}).values():
        if isinstance(value, int) and not 0 < value <= MAX_RECORD_ID:
            abort(404)


def record_id(raw: str | None, what: str) -> int:
    """An id given in a query string; a malformed one is the caller's mistake (400)."""
    if raw is None or not _RECORD_ID.fullmatch(raw) or not 0 < int(raw) <= MAX_RECORD_ID:
        abort(400, description=f"That {what} reference is not valid.")
    return int(raw)


class ButtonForm(FlaskForm):
    """Nothing to fill in: the form carries the CSRF token of a deliberate click."""


class LoginForm(FlaskForm):
    email = EmailField(
        "Email",
        validators=[DataRequired("Enter your email address."), Length(max=254)],
        render_kw={"autocomplete": "username", "autofocus": True},
    )
    password = PasswordField(
        "Password",
        validators=[DataRequired("Enter your password."), Length(max=256)],
        render_kw={"autocomplete": "current-password"},
    )


class ChoosePasswordForm(FlaskForm):
    """The page an invitation or a reset link opens. Length rules are the service's
    (services.MIN_PASSWORD_LENGTH); this only caps what a request may carry."""

    password = PasswordField(
        "New password",
        validators=[DataRequired("Choose a password."), Length(max=256)],
        description="At least 12 characters. A few unrelated words make a good one.",
        render_kw={"autocomplete": "new-password", "autofocus": True},
    )
    confirm = PasswordField(
        "The same password again",
        validators=[
            DataRequired("Type the password again."),
            Length(max=256),
            EqualTo("password", "The two passwords are not the same."),
        ],
        render_kw={"autocomplete": "new-password"},
    )
