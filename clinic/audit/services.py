"""Recording audit events. ``record`` adds a row to the caller's transaction; it never commits.

An event names what changed and who changed it. It never carries health data: what a patient
answered, what was noted or what was done in a session stays in the records that hold it, under
their own access rules, and the audit log keeps only that such a record was made or changed.
"""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, time

from clinic.actors import Actor, ActorKind
from clinic.audit.models import AuditEvent
from clinic.extensions import db
from clinic.screening import questions

# "<record>.<what happened>", lower case: "visit.check_in", "consent.signed",
# "screening.review_approved". Stable: the admin page and any later report filter on them.
ACTION_PATTERN = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+")
MAX_ACTION_CHARS = 60
FIELD_PATTERN = re.compile(r"[a-z][a-z0-9_]*")
MAX_FIELD_CHARS = 60
MAX_VALUE_CHARS = 200
MAX_DETAIL_CHARS = 300
MAX_LABEL_CHARS = 120
MAX_ADDRESS_CHARS = 45
MAX_AGENT_CHARS = 300

# Fields that hold health data, refused as change keys whatever record they come from: the
# screening's answers and what they imply, clinical notes, and what was done in a session.
HEALTH_DATA_FIELDS = frozenset(
    {
        # screening
        "answers",
        "asked",
        "flagged",
        "outcome",  # which contraindication level the answers reached
        "review_note",
        "changes_since_last_visit",
        "changes_reported",
        # session records and clinical notes
        "notes",
        "clinical_notes",
        "needle_depth",
        "needle_depth_mm",
        "device",
        "areas",
        "add_ons",
        "numbing_used",
        # texts: a reply can describe symptoms
        "body",
        "symptoms",
    }
    # A question's own key ("pregnancy", "anticoagulant") names the condition it asks about.
    | {q.key for version in questions.VERSIONS.values() for q in version.questions}
)
# Words that mark a field as health data wherever they appear in its name ("session_notes",
# "screening_answers").
HEALTH_DATA_WORDS = frozenset(
    {
        "answer",
        "answers",
        "note",
        "notes",
        "clinical",
        "medical",
        "health",
        "symptom",
        "symptoms",
        "allergy",
        "allergies",
        "medication",
        "medications",
        "diagnosis",
        "outcome",
        "flagged",
        "depth",
    }
)


def record(
    actor: Actor,
    action: str,
    *,
    at: datetime,
    patient_id: int | None = None,
    appointment_id: int | None = None,
    changes: Mapping[str, tuple] | None = None,
    detail: str = "",
) -> AuditEvent:
    """Add an audit event to the current transaction and return it (not yet flushed).

    ``changes`` maps a field to ``(before, after)``; values must be JSON scalars (None, bool,
    numbers, strings) or aware datetimes, dates and times (kept as ISO strings). Raises
    ValueError for an action not named "<record>.<what happened>", a health-data field, or a
    value that is not a plain scalar. Long strings are cut short, not refused.
    """
    if not isinstance(actor, Actor):
        raise ValueError("an audit event needs an Actor")
    kind = ActorKind(actor.kind)  # an unknown kind raises ValueError here, not at the database
    # A staff actor without an account (a service called from a script or the shell) is kept
    # as such, named by its role: pages always pass the signed-in member.
    if not actor.is_staff and actor.staff_id is not None:
        raise ValueError("only staff actors carry a staff id")
    named = isinstance(action, str) and len(action) <= MAX_ACTION_CHARS
    if not named or not ACTION_PATTERN.fullmatch(action):
        raise ValueError(f"audit action {action!r} is not named '<record>.<what happened>'")
    if not isinstance(at, datetime) or at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("an audit event needs an aware time")
    if not isinstance(detail, str):
        raise ValueError("an audit event's detail is text")
    event = AuditEvent(
        occurred_at=at,
        actor_kind=kind.value,
        staff_id=actor.staff_id,
        actor_label=_cut(actor.label, MAX_LABEL_CHARS),
        action=action,
        appointment_id=appointment_id,
        patient_id=patient_id,
        changes=json_changes(changes or {}),
        detail=_cut(detail.strip(), MAX_DETAIL_CHARS),
        ip_address=(actor.ip_address or "")[:MAX_ADDRESS_CHARS],
        user_agent=(actor.user_agent or "")[:MAX_AGENT_CHARS],
    )
    db.session.add(event)
    return event


def is_health_field(field: str) -> bool:
    return field in HEALTH_DATA_FIELDS or not HEALTH_DATA_WORDS.isdisjoint(field.split("_"))


def json_changes(changes: Mapping[str, tuple]) -> dict[str, list]:
    """``{field: (before, after)}`` as JSON-safe ``{field: [before, after]}``, or ValueError."""
    rendered = {}
    for field, pair in changes.items():
        if not isinstance(field, str) or len(field) > MAX_FIELD_CHARS:
            raise ValueError(f"audit change key {field!r} is not a field name")
        if not FIELD_PATTERN.fullmatch(field):
            raise ValueError(f"audit change key {field!r} is not a field name")
        if is_health_field(field):
            raise ValueError(f"audit events never hold health data ({field!r})")
        if not isinstance(pair, tuple | list) or len(pair) != 2:
            raise ValueError(f"audit change {field!r} must be a (before, after) pair")
        rendered[field] = [json_scalar(field, value) for value in pair]
    return rendered


def json_scalar(field: str, value):
    """One before or after value as JSON: plain scalars pass, times become ISO strings."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, str):
        return _cut(value, MAX_VALUE_CHARS)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"audit change {field!r}: {value!r} is not a JSON number")
        return value
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"audit change {field!r}: naive datetime")
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    raise ValueError(
        f"audit change {field!r}: {type(value).__name__} is not a plain value (a string, "
        "number, true/false, null or a time)"
    )


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
