"""What staff do on the text pages: acknowledge an alert, mark a reply handled, set wording.

Each use case is one transaction. Acknowledging and handling are first-wins: two people clicking
at once leave the first name on record, and a repeat click changes nothing.
"""

from __future__ import annotations

from sqlalchemy import delete, select, update

from clinic.clock import utcnow
from clinic.database import write_transaction
from clinic.errors import ChangeNotAllowed, NotFound, ValidationFailed
from clinic.extensions import db
from clinic.sms import hooks
from clinic.sms.kinds import Kind
from clinic.sms.models import (
    AlertOutcome,
    InboundText,
    MessageTemplate,
    StaffAlert,
    wording_version,
)
from clinic.sms.wording import DEFAULTS, TemplateCheck, check_template

WORDING_CHANGED = "settings.template_changed"
WORDING_RESTORED = "settings.template_restored"
STALE_WORDING = (
    "Someone else changed this wording after you opened the page. Here it is as it is now: "
    "make your change again if it is still needed."
)


class StaleWording(ChangeNotAllowed):
    """The wording was saved or restored by someone else after the form was shown."""


def acknowledge_alert(
    alert_id: int, staff, outcome: AlertOutcome, note: str = ""
) -> tuple[StaffAlert, bool]:
    """Record what the person who took an alert did, and whether this call recorded it.

    Any outcome but "no answer" closes the alert (which stops its escalation to the on-call
    phone); "no answer, try again" is recorded and leaves it open, escalating. An alert
    already closed keeps its first taker and outcome.
    """
    now = utcnow()
    values = {
        "outcome": outcome.value,
        "outcome_note": (note or "").strip()[:300],
        "outcome_by_id": staff.id,
        "outcome_at": now,
    }
    if outcome is not AlertOutcome.NO_ANSWER:
        values.update(acknowledged_at=now, acknowledged_by_id=staff.id)
    with write_transaction("sms-staff", lock=False):
        alert = db.session.get(StaffAlert, alert_id)
        if alert is None:
            raise NotFound("No such alert.")
        result = db.session.execute(
            update(StaffAlert)
            .where(StaffAlert.id == alert_id, StaffAlert.acknowledged_at.is_(None))
            .values(**values)
        )
    return alert, result.rowcount == 1


def mark_handled(inbound_id: int, staff) -> InboundText:
    """Take a reply off the inbox; a reply already handled keeps its first handler."""
    with write_transaction("sms-staff", lock=False):
        reply = db.session.get(InboundText, inbound_id)
        if reply is None or not reply.needs_attention:
            raise NotFound("No such reply in the inbox.")
        db.session.execute(
            update(InboundText)
            .where(InboundText.id == inbound_id, InboundText.handled_at.is_(None))
            .values(handled_at=utcnow(), handled_by_id=staff.id)
        )
    return reply


def normalise_body(raw: str) -> str:
    # Browsers send a textarea's line breaks as CR LF; a text needs only LF.
    return (raw or "").replace("\r\n", "\n").replace("\r", "\n").strip()


def save_template(kind: Kind, raw_body: str, staff, *, shown_version: str) -> TemplateCheck:
    """Check and save a clinic's wording for one kind of text, with its audit row.

    Raises ValidationFailed ({"body": [...]}) when the check finds errors, and StaleWording
    when ``shown_version`` (models.wording_version of what the form showed) is no longer the
    wording's; either way it saves nothing. Returns the check, whose warnings the caller shows.
    """
    body = normalise_body(raw_body)
    check = check_template(kind, body)
    if check.errors:
        raise ValidationFailed({"body": check.errors}, message="The wording was not saved.")
    # The advisory lock serialises saves on PostgreSQL (SQLite's BEGIN IMMEDIATE already does),
    # so two admins saving the same kind cannot both insert.
    with write_transaction("sms-templates"):
        template = _current(kind, shown_version)
        before = template.body if template else DEFAULTS[kind]
        if template is None:
            template = MessageTemplate(kind=kind.value)
            db.session.add(template)
        template.body = body
        template.updated_at = utcnow()
        template.updated_by_id = staff.id
        changes = {"wording": (before, body)} if before != body else {}
        hooks.record_change(staff, WORDING_CHANGED, changes, detail=kind.value)
    return check


def restore_default(kind: Kind, staff, *, shown_version: str) -> bool:
    """Go back to the built-in wording; False when the clinic had none of its own.

    Raises StaleWording when the wording changed after the page was shown. Asking again once
    the built-in wording is back (a second click) is no conflict: nothing is left to lose.
    """
    with write_transaction("sms-templates"):
        template = db.session.scalar(select(MessageTemplate).where(MessageTemplate.kind == kind))
        if template is None:
            return False
        if wording_version(template) != shown_version:
            raise StaleWording(STALE_WORDING)
        before = template.body
        db.session.execute(delete(MessageTemplate).where(MessageTemplate.kind == kind))
        changes = {"wording": (before, DEFAULTS[kind])} if before != DEFAULTS[kind] else {}
        hooks.record_change(staff, WORDING_RESTORED, changes, detail=kind.value)
    return True


def _current(kind: Kind, shown_version: str) -> MessageTemplate | None:
    template = db.session.scalar(select(MessageTemplate).where(MessageTemplate.kind == kind))
    if wording_version(template) != shown_version:
        raise StaleWording(STALE_WORDING)
    return template
