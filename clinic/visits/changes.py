"""The lifecycle as services call it: the clock, the clinic's change window and domain errors.

Every use case that changes a visit's status (booking, moving, cancelling, the review, the
desk's visit page, a reply by text) calls ``apply`` inside its own write transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from clinic.actors import Actor, ActorKind
from clinic.catalog.policy import clinic_policy
from clinic.clock import utcnow
from clinic.errors import ChangeNotAllowed
from clinic.extensions import db
from clinic.visits import lifecycle
from clinic.visits.lifecycle import Change, Event, TransitionRefused


def change_window() -> timedelta:
    return clinic_policy().cancellation_window


def refused(exc: TransitionRefused) -> ChangeNotAllowed:
    return ChangeNotAllowed(
        exc.message,
        details={
            "refusal": exc.refusal.value,
            "event": exc.event.value,
            "visit_status": exc.state.value if exc.state is not None else None,
        },
    )


def apply(
    visit,
    event: Event,
    by: Actor,
    *,
    reason: str = "",
    changes: Mapping[str, Any] | None = None,
    context: Mapping[str, Any] | None = None,
) -> Change:
    """Run one transition now; a refusal becomes ChangeNotAllowed (409) with its reason."""
    try:
        # The rules read the visit's zone through its practitioner: a query that must not
        # flush a new visit before the lifecycle has given it its status.
        with db.session.no_autoflush:
            return lifecycle.transition(
                visit,
                event,
                by=by,
                now=utcnow(),
                reason=reason,
                change_window=change_window(),
                changes=changes,
                context=context,
            )
    except TransitionRefused as exc:
        raise refused(exc) from exc


def check(visit, event: Event, by: Actor) -> None:
    """Refuse early, before any other work, what ``apply`` would refuse now."""
    try:
        lifecycle.decide(visit.status, event, by.kind, **_timing(visit))
    except TransitionRefused as exc:
        raise refused(exc) from exc


def permitted(visit, event: Event, kind: ActorKind) -> bool:
    """Whether a button for this event makes sense now (pages ask; services still decide)."""
    return lifecycle.permits(visit.status, event, kind, **_timing(visit))


def _timing(visit) -> dict:
    """What the lifecycle's time rules judge a visit by, now."""
    return {
        "now": utcnow(),
        "start": visit.start_at,
        "tz": visit.timezone,
        "needles": bool(visit.needles),
        "change_window": change_window(),
        "previous": visit.undo_status,
    }
