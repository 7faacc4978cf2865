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


class LinkRevoked(DomainError):
    """A link we signed whose visit has since been cancelled or completed: its key rotated."""

    code = "revoked_token"
    status = 410
    title = "This link is closed"


class ScreeningStopped(DomainError):
    """A BLOCK or DEFER answer: nothing is booked; the patient is asked to call."""

    code = "screening_blocked"
    status = 422

    def __init__(self, message: str, *, keys: tuple[str, ...], outcome: str, phone: str):
        super().__init__(message, details={"keys": list(keys), "outcome": outcome, "phone": phone})
        self.keys = keys
        self.outcome = outcome
        self.phone = phone


class VisitBlocked(DomainError):
    """The check-in gate: a session cannot start or complete; ``reasons`` say why."""

    code = "visit_blocked"
    status = 409

    def __init__(self, reasons: list[str]):
        super().__init__(
            "This visit cannot go ahead yet: " + "; ".join(reasons) + ".",
            details={"reasons": reasons},
        )
        self.reasons = reasons


class ImmutableRecord(DomainError):
    code = "immutable_record"
    status = 409
