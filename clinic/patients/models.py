from __future__ import annotations

from datetime import date

from sqlalchemy import String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from clinic.db_types import UTCDateTime
from clinic.extensions import db


class Patient(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    full_name: Mapped[str] = mapped_column(String(120))
    phone: Mapped[str] = mapped_column(String(20), index=True)  # E.164
    email: Mapped[str] = mapped_column(String(254), default="")
    date_of_birth: Mapped[date]
    sms_opt_in: Mapped[bool] = mapped_column(default=False)
    # When and how the care-text choice was last made (online form, desk, a STOP reply ...).
    sms_opt_in_at = mapped_column(UTCDateTime())
    sms_opt_in_source: Mapped[str] = mapped_column(String(20), default="")
    # Email about visits and aftercare goes only to a patient who agreed to it, and gave an address.
    email_opt_in: Mapped[bool] = mapped_column(default=False, server_default=false())
    email_opt_in_at = mapped_column(UTCDateTime())
    # Set once the first text has gone out: that first text says how to opt out.
    first_text_at = mapped_column(UTCDateTime())
    # A number Twilio refused as invalid or not a mobile: texts stop, staff phone instead.
    phone_unusable: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at = mapped_column(UTCDateTime(), nullable=False)

    # No accounts: one mobile number and date of birth is one person, even under a race.
    __table_args__ = (UniqueConstraint("phone", "date_of_birth", name="uq_patient_phone_dob"),)
