"""Who is signed in, what their role lets them open, and where sign-in may send them next."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from urllib.parse import urlsplit

from flask import abort, current_app
from flask_login import LoginManager, current_user

from clinic.staff import services
from clinic.staff.models import Role


def init(manager: LoginManager) -> None:
    manager.login_view = "staff.account.login"
    manager.login_message = "Please sign in to see that page."
    manager.login_message_category = "info"
    # A session cookie replayed from another address or browser is dropped, not honoured.
    manager.session_protection = "strong"
    manager.user_loader(services.active_staff)


def public_page(view: Callable) -> Callable:
    """Mark a staff-area view that signed-out visitors may open (sign-in, sign-out).

    Every other view nested in the staff area is for signed-in staff only.
    """
    view.public_page = True
    return view


def is_public_page(view: Callable | None) -> bool:
    return getattr(view, "public_page", False)


def roles_required(*roles: str) -> Callable:
    """Let signed-in staff with one of ``roles`` through; admins pass every check.

    Signed-out visitors go to the sign-in page; signed-in staff without the role get a 403 page.
    """
    allowed = {Role(role) for role in roles} | {Role.ADMIN}

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def guarded(*args, **kwargs):
            if not current_user.is_authenticated:
                return current_app.login_manager.unauthorized()
            if current_user.role not in allowed:
                abort(403, description="Your account does not give access to this page.")
            return view(*args, **kwargs)

        return guarded

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
