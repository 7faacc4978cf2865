"""Daily housekeeping: close out texts that expired unsent, then the daily jobs that the
features above registered (course nudges: see clinic.courses.nudges)."""

from __future__ import annotations

from sqlalchemy import update

from clinic.clock import utcnow
from clinic.database import write_transaction
from clinic.extensions import db
from clinic.sms import hooks
from clinic.sms.models import OutboundText, TextStatus


def run() -> dict[str, int]:
    """What each job did, by name: "expired" first, then the registered jobs in order."""
    done = {"expired": expire_stale()}
    for name, job in hooks.housekeeping_jobs().items():
        done[name] = job()
    return done


def expire_stale() -> int:
    """Pending texts past their expiry are recorded as skipped, not left waiting."""
    now = utcnow()
    with write_transaction("sms-housekeeping", lock=False):
        result = db.session.execute(
            update(OutboundText)
            .where(OutboundText.status == TextStatus.PENDING, OutboundText.expires_at <= now)
            .values(status=TextStatus.SKIPPED, error_message="expired unsent", updated_at=now)
        )
    return result.rowcount
