from __future__ import annotations

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, event
from sqlalchemy.orm import Mapped, Session, mapped_column

from clinic.actors import ActorKind
from clinic.db_types import UTCDateTime
from clinic.errors import ImmutableRecord
from clinic.extensions import db

ACTOR_KINDS_SQL = ",".join(f"'{kind.value}'" for kind in ActorKind)


class AuditEvent(db.Model):
    """One thing someone did, written once and never changed or deleted: the application
    refuses it (below) and so does the database (triggers from migration 0004).

    ``actor_label`` keeps the name as it was at the time, so renaming or removing a staff
    account never rewrites history. ``changes`` maps a field to ``[before, after]``, plain JSON
    scalars only, and never health data (see ``clinic.audit.services``).
    """

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at = mapped_column(UTCDateTime(), nullable=False)
    actor_kind: Mapped[str] = mapped_column(String(20))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    actor_label: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(60))
    appointment_id: Mapped[int | None] = mapped_column(ForeignKey("appointment.id"), index=True)
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patient.id"))
    changes: Mapped[dict] = mapped_column(JSON)
    detail: Mapped[str] = mapped_column(String(300))
    ip_address: Mapped[str] = mapped_column(String(45))
    user_agent: Mapped[str] = mapped_column(String(300))

    __table_args__ = (
        CheckConstraint(f"actor_kind IN ({ACTOR_KINDS_SQL})", name="actor_kind_known"),
        # The admin page reads newest first, for everyone, one patient or one staff member.
        Index("ix_audit_event_occurred_at", "occurred_at"),
        Index("ix_audit_event_patient_occurred_at", "patient_id", "occurred_at"),
        Index("ix_audit_event_staff_occurred_at", "staff_id", "occurred_at"),
    )


def ensure_audit_log_append_only() -> None:
    """Refuse, in the ORM, any update or delete of an audit event (registered once).

    Registered with the model rather than in a service, so no code path that can load an
    event can change it. Bulk statements (``update(AuditEvent)``) skip the mapper events, so
    they are refused when the session executes them.
    """
    if event.contains(AuditEvent, "before_update", _refuse_change):
        return
    event.listen(AuditEvent, "before_update", _refuse_change)
    event.listen(AuditEvent, "before_delete", _refuse_change)
    event.listen(Session, "do_orm_execute", _refuse_bulk_change)


def _refuse_change(_mapper, _connection, target) -> None:
    raise ImmutableRecord("Audit events cannot be changed or deleted.")


def _refuse_bulk_change(orm_execute_state) -> None:
    if orm_execute_state.is_update or orm_execute_state.is_delete:
        table = getattr(orm_execute_state.statement.table, "name", None)
        if table == AuditEvent.__tablename__:
            raise ImmutableRecord("Audit events cannot be changed or deleted.")


ensure_audit_log_append_only()
