"""The staff area: one parent blueprint that every staff page is nested in.

Its hooks run for every nested blueprint, so a new staff page cannot forget them:

- signed-in staff only (a view marked ``public_page`` excepted: sign-in and sign-out);
  signed-out visitors go to the sign-in page;
- each view declares the roles that may open it (``@allow(...)``, ``@any_staff_member``,
  clinic/staff/auth.py); other roles get a 403 page, and a view without a declaration is
  refused for everyone (an error: tests/test_permissions.py names it);
- anything under ``/admin`` is for admins only;
- ids no row can have are not found (the id guard);
- ``Cache-Control: no-store`` on every answer under a staff address, error pages and unknown
  addresses included, since staff pages hold patients' details and health answers.

A new staff blueprint is added in ``staff_area()`` below; its endpoints are then named
``staff.<blueprint>.<view>``. The error handlers (clinic/web/errors.py) sit below the features
and cannot import this module, so the area registers ``is_staff_request`` with the app for them.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, request
from flask_login import current_user

from clinic.staff.auth import allowed_roles, is_public_page
from clinic.staff.forms import keep_private, refuse_impossible_ids
from clinic.staff.models import Role

NAME = "staff"
# app.extensions key of the check that tells whether the current request is a staff one.
STAFF_REQUEST_CHECK = "staff_request"
ADMIN_PREFIX = "/admin"


def staff_area() -> Blueprint:
    """A fresh parent blueprint with every staff blueprint nested in it.

    Built per app: Flask refuses changes to a blueprint once an app has registered it.
    """
    from clinic.adverse_events.views import bp as adverse_events_bp
    from clinic.audit.views import bp as audit_bp
    from clinic.booking.desk_views import bp as desk_booking_bp
    from clinic.booking.staff_views import bp as duplicates_bp
    from clinic.booking.staff_views import consent_bp as patient_texts_bp
    from clinic.calendar.views import bp as desk_bp
    from clinic.courses.views import bp as courses_bp
    from clinic.patient_record.views import bp as patients_bp
    from clinic.reports.views import bp as reports_bp
    from clinic.screening.views import bp as review_bp
    from clinic.settings import settings_area
    from clinic.sms.staff_views import bp as texts_bp
    from clinic.staff.views import account_bp
    from clinic.visits.views import bp as visits_bp
    from clinic.waitlist.staff_views import bp as waitlist_bp

    parent = Blueprint(NAME, __name__)
    parent.url_value_preprocessor(refuse_impossible_ids)
    parent.before_request(_signed_in_staff_only)
    # An app-wide hook, because a 404 or 405 for an address no route matches belongs to no
    # blueprint, and those answers must not be cached either.
    parent.after_app_request(_keep_staff_answers_private)
    parent.record_once(_tell_the_error_pages)

    parent.register_blueprint(account_bp)
    parent.register_blueprint(desk_bp)
    parent.register_blueprint(review_bp, url_prefix="/review")
    parent.register_blueprint(visits_bp, url_prefix="/desk/visits")
    parent.register_blueprint(desk_booking_bp, url_prefix="/desk/book")
    parent.register_blueprint(courses_bp, url_prefix="/desk/courses")
    parent.register_blueprint(texts_bp, url_prefix="/desk/texts")
    parent.register_blueprint(adverse_events_bp, url_prefix="/desk/adverse-events")
    parent.register_blueprint(duplicates_bp, url_prefix="/desk/patients/duplicates")
    parent.register_blueprint(patient_texts_bp, url_prefix="/desk/patients")
    parent.register_blueprint(patients_bp, url_prefix="/desk/patients")
    parent.register_blueprint(reports_bp, url_prefix="/desk/reports")
    parent.register_blueprint(waitlist_bp, url_prefix="/desk/waitlist")

    admin = Blueprint("admin", __name__)
    admin.before_request(_admins_only)
    # Admin pages nest here: /admin/audit has endpoints named "staff.admin.audit.<view>".
    admin.register_blueprint(audit_bp, url_prefix="/audit")
    # Settings pages nest one level deeper: "staff.admin.settings.<part>.<view>".
    admin.register_blueprint(settings_area(), url_prefix="/settings")
    parent.register_blueprint(admin, url_prefix=ADMIN_PREFIX)
    return parent


def _tell_the_error_pages(state) -> None:
    state.app.extensions[STAFF_REQUEST_CHECK] = is_staff_request


class UndeclaredStaffView(RuntimeError):
    """A staff view that does not say who may open it: refused, whoever asks."""


def _signed_in_staff_only():
    view = current_app.view_functions.get(request.endpoint)
    if is_public_page(view):
        return None
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()
    allowed = roles_for(request.endpoint)
    if allowed is None:
        raise UndeclaredStaffView(
            f"{request.endpoint} declares no roles: mark its view with @allow(...) or "
            "@any_staff_member (clinic/staff/auth.py)"
        )
    if current_user.role not in allowed:
        abort(403, description="Your account does not give access to this page.")
    return None


def roles_for(endpoint: str | None) -> frozenset[Role] | None:
    """The roles that may open a staff endpoint, or None when its view declares none.

    A view under the admin child is for admins whether or not it says so: that is the child's
    declaration.
    """
    declared = allowed_roles(current_app.view_functions.get(endpoint))
    if declared is None and (endpoint or "").startswith(f"{NAME}.admin."):
        return frozenset({Role.ADMIN})
    return declared


def _admins_only():
    if current_user.role != Role.ADMIN:
        abort(403, description="Only administrators can open this page.")


def is_staff_request() -> bool:
    """True for a staff page, and for any address under a staff prefix, routed or not."""
    if NAME in request.blueprints:
        return True
    path = request.path
    return any(path == prefix or path.startswith(prefix + "/") for prefix in staff_prefixes())


def staff_prefixes() -> frozenset[str]:
    """The first path segments the staff area's routes use, plus /admin: read from the URL
    map, so a staff blueprint at a new address is covered without a list to keep up."""
    prefixes = current_app.extensions.get("staff_prefixes")
    if prefixes is None:
        found = {ADMIN_PREFIX}
        for rule in current_app.url_map.iter_rules():
            if rule.endpoint.startswith(NAME + "."):
                found.add("/" + rule.rule.lstrip("/").split("/", 1)[0])
        prefixes = current_app.extensions["staff_prefixes"] = frozenset(found)
    return prefixes


def _keep_staff_answers_private(response: Response) -> Response:
    if is_staff_request():
        return keep_private(response)
    return response
