"""Every error answers in the caller's language: JSON under /api/, a page elsewhere."""

from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template, request
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


def _http_error(exc: HTTPException):
    status = exc.code or 500
    if wants_json():
        return json_error(status, _CODES.get(status, "error"), exc.description or exc.name)
    return (
        render_template("error.html", status=status, title=exc.name, message=exc.description),
        status,
    )


def _csrf_error(exc: CSRFError):
    message = (
        "This form has expired or was sent from elsewhere. Please go back, reload and try again."
    )
    return render_template("error.html", status=400, title="Form expired", message=message), 400


def _domain_error(exc: DomainError):
    if wants_json():
        return json_error(exc.status, exc.code, exc.message, **exc.details)
    return (
        render_template("error.html", status=exc.status, title="Sorry", message=exc.message),
        exc.status,
    )


def _unexpected(exc: Exception):
    log.exception("unhandled error on %s %s", request.method, request.path)
    return _http_error(InternalServerError())


def init_app(app: Flask) -> None:
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(DomainError, _domain_error)
    app.register_error_handler(Exception, _unexpected)
