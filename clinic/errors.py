"""Domain errors raised by services; views turn them into messages and status codes."""

from __future__ import annotations


class DomainError(Exception):
    """Base class: ``code`` is stable (API clients match on it), ``message`` is for people."""

    code = "error"
    status = 400

    def __init__(self, message: str, *, field: str | None = None, details: dict | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        self.details = details or {}


class NotFound(DomainError):
    code = "not_found"
    status = 404


class ValidationFailed(DomainError):
    """Input with the right shape that the clinic's rules refuse; carries field errors."""

    code = "validation_failed"
    status = 422

    def __init__(self, errors: dict[str, list[str]], message: str = "Some details need fixing."):
        super().__init__(message, details={"fields": errors})
        self.errors = errors


class SlotUnavailable(DomainError):
    code = "slot_unavailable"
    status = 409


class ChangeNotAllowed(DomainError):
    code = "change_not_allowed"
    status = 409


class LinkInvalid(DomainError):
    code = "invalid_token"
    status = 404


class LinkExpired(DomainError):
    code = "expired_token"
    status = 410
