from __future__ import annotations

from sqlalchemy import JSON, CheckConstraint, Float, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from clinic.db_types import UTCDateTime
from clinic.extensions import db

DEVICES = ("roller", "pen")
AREAS = ("hairline", "temples", "mid_scalp", "crown")
ADD_ONS = ("minoxidil", "prp", "steroid")
ADD_ON_NAMES = {"minoxidil": "minoxidil", "prp": "PRP", "steroid": "the steroid"}


class SessionRecord(db.Model):
    """What the practitioner did in one completed session."""

    __tablename__ = "session_record"

    id: Mapped[int] = mapped_column(primary_key=True)
    appointment_id: Mapped[int] = mapped_column(ForeignKey("appointment.id"), unique=True)
    practitioner_id: Mapped[int] = mapped_column(ForeignKey("practitioner.id"))
    device: Mapped[str] = mapped_column(String(10))
    needle_depth_mm: Mapped[float] = mapped_column(Float)
    # Why a depth outside the clinic's usual range was used (empty when inside it).
    depth_override_reason: Mapped[str] = mapped_column(String(300), default="", server_default="")
    areas: Mapped[list] = mapped_column(JSON)
    numbing_used: Mapped[bool]
    add_ons: Mapped[list] = mapped_column(JSON)
    cartridge_lot: Mapped[str] = mapped_column(String(60))
    prp_kit_lot: Mapped[str] = mapped_column(String(60), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    # When the printed aftercare sheet was handed to the patient (None: not recorded yet).
    aftercare_sheet_given_at = mapped_column(UTCDateTime())
    # Who wrote the record, and when: the clinical record's signature.
    recorded_at = mapped_column(UTCDateTime(), nullable=False)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))

    __table_args__ = (
        CheckConstraint("device IN ('roller','pen')", name="device_known"),
        CheckConstraint("needle_depth_mm BETWEEN 0.25 AND 2.5", name="depth_range"),
    )
