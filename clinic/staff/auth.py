"""Who is signed in, what their role lets them open, and where sign-in may send them next.

Sessions: the cookie holds the account id with its session version (``StaffUser.get_id``),
when the member signed in and when they were last seen. A session ends when the account's
version moved on (signed out anywhere, new password), ``STAFF_SESSION_HOURS`` after sign-in, or
after ``STAFF_IDLE_MINUTES`` without a request; the next page is the sign-in page with a plain
message.

Permissions: every staff view declares who may open it, with ``@allow(Role..., ...)``,
``@any_staff_member`` or ``@public_page``; the staff area refuses a view without a declaration
(clinic/staff/area.py) and tests/test_permissions.py walks every staff route with every role.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from functools import wraps
from urllib.parse import urlsplit

from flask import abort, current_app, flash, g, redirect, request, session
from flask_login import LoginManager, current_user, login_user
from flask_login.utils import login_url

from clinic.clock import utcnow
from clinic.staff import services
from clinic.staff.models import Role, StaffUser

SIGNED_IN_AT = "staff_signed_in_at"
SEEN_AT = "staff_seen_at"
SESSION_ENDED = "Your session has ended. Please sign in again."
# Flask-Login's own keys for the signed-in account.
_LOGIN_KEYS = ("_user_id", "_fresh", "_id", "_remember")


def init(manager: LoginManager) -> None:
    manager.login_view = "staff.account.login"
    manager.login_message = "Please sign in to see that page."
    manager.login_message_category = "info"
    # A session cookie replayed from another address or browser is dropped, not honoured.
    manager.session_protection = "strong"
    manager.user_loader(signed_in_staff)
    manager.unauthorized_handler(_to_sign_in)


def sign_in(user: StaffUser) -> None:
    """Start a session for ``user``: its clock starts now."""
    login_user(user)
    now = utcnow().isoformat()
    session[SIGNED_IN_AT] = now
    session[SEEN_AT] = now


def signed_in_staff(user_id: str) -> StaffUser | None:
    """Flask-Login's user loader: the account of a session still running, else None."""
    now = utcnow()
    started, seen = _stamp(SIGNED_IN_AT), _stamp(SEEN_AT)
    config = current_app.config
    if (
        started is None
        or seen is None
        or now - started >= timedelta(hours=config["STAFF_SESSION_HOURS"])
        or now - seen >= timedelta(minutes=config["STAFF_IDLE_MINUTES"])
    ):
        return _end_session()
    user = services.active_staff(user_id)
    if user is None:
        return _end_session()
    session[SEEN_AT] = now.isoformat()
    return user


def _stamp(key: str) -> datetime | None:
    try:
        at = datetime.fromisoformat(session.get(key, ""))
    except (TypeError, ValueError):
        return None
    return at if at.tzinfo is not None else None


def _end_session() -> None:
    for key in (*_LOGIN_KEYS, SIGNED_IN_AT, SEEN_AT):
        session.pop(key, None)
    g.staff_session_ended = True
    return None


def _to_sign_in():
    """Where a signed-out visitor goes: the sign-in page, told why, then back here."""
    manager = current_app.login_manager
    flash(SESSION_ENDED if g.get("staff_session_ended") else manager.login_message, "info")
    return redirect(login_url(manager.login_view, next_url=request.url))


# Permission declarations ------------------------------------------------------------------

_ALLOWED = "allowed_roles"


def public_page(view: Callable) -> Callable:
    """Mark a staff-area view that signed-out visitors may open (sign-in, sign-out).

    Every other view nested in the staff area is for signed-in staff only.
    """
    view.public_page = True
    return view


def is_public_page(view: Callable | None) -> bool:
    return getattr(view, "public_page", False)


def allow(*roles: str) -> Callable:
    """Declare the roles that may open a staff view; the staff area enforces it.

    Signed-out visitors go to the sign-in page; signed-in staff without the role get a 403 page.
    """
    allowed = frozenset(Role(role) for role in roles)
    if not allowed:
        raise ValueError("allow() needs at least one role")

    def decorator(view: Callable) -> Callable:
        setattr(view, _ALLOWED, allowed)
        return view

    return decorator


any_staff_member = allow(*Role)


def allowed_roles(view: Callable | None) -> frozenset[Role] | None:
    """The roles a view declared, or None when it declared none (public pages: every role)."""
    if is_public_page(view):
        return frozenset(Role)
    return getattr(view, _ALLOWED, None)


def roles_required(*roles: str) -> Callable:
    """Let signed-in staff with one of ``roles`` through; admins pass every check.

    The declaration of ``allow`` plus a check in the view itself, for views used outside the
    staff area too.
    """
    allowed = frozenset(Role(role) for role in roles) | {Role.ADMIN}

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def guarded(*args, **kwargs):
            if not current_user.is_authenticated:
                return current_app.login_manager.unauthorized()
            if current_user.role not in allowed:
                abort(403, description="Your account does not give access to this page.")
            return view(*args, **kwargs)

        return allow(*allowed)(guarded)

    return decorator


def safe_next(target: str | None) -> str | None:
    """``target`` when it is a path on this site, else None: sign-in never sends people away."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    # Browsers read a backslash as a slash ("/\\evil.example") and drop control characters.
    if "\\" in target or any(ord(char) < 32 or ord(char) == 127 for char in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target
