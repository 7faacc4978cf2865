"""Every error answers in the caller's language: JSON under /api/, a page elsewhere.

Under a staff address the page uses the staff layout (and the staff area adds no-store).
"""

from __future__ import annotations

import logging

from flask import Flask, current_app, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from clinic.errors import DomainError

log = logging.getLogger(__name__)

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    410: "gone",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "rate_limited",
    500: "server_error",
}


def wants_json() -> bool:
    return request.path.startswith("/api/")


def json_error(status: int, code: str, message: str, **extra):
    body = {"error": code, "message": message}
    body.update(extra)
    return jsonify(body), status


def error_page(status: int, title: str, message: str):
    # The staff area (clinic/staff/area.py) registers which requests are its own; this layer
    # sits below the features and does not import it.
    is_staff_request = current_app.extensions.get("staff_request", lambda: False)
    template = "staff/error.html" if is_staff_request() else "error.html"
    return render_template(template, status=status, title=title, message=message), status


def _http_error(exc: HTTPException):
    status = exc.code or 500
    if wants_json():
        return json_error(status, _CODES.get(status, "error"), exc.description or exc.name)
    return error_page(status, exc.name, exc.description)


def _csrf_error(exc: CSRFError):
    message = (
        "This form has expired or was sent from elsewhere. Please go back, reload and try again."
    )
    return error_page(400, "Form expired", message)


def _domain_error(exc: DomainError):
    if wants_json():
        return json_error(exc.status, exc.code, exc.message, **exc.details)
    return error_page(exc.status, getattr(exc, "title", "Sorry"), exc.message)


def _unexpected(exc: Exception):
    # The route's pattern, not the path: a path can carry a patient's private link.
    route = request.url_rule.rule if request.url_rule else "(no route)"
    log.exception("unhandled error on %s %s", request.method, route)
    return _http_error(InternalServerError())


def init_app(app: Flask) -> None:
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(DomainError, _domain_error)
    app.register_error_handler(Exception, _unexpected)
