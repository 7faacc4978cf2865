from __future__ import annotations

from datetime import date

from sqlalchemy import ForeignKey, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, validates

from clinic.db_types import UTCDateTime
from clinic.extensions import db
from clinic.patients.names import fold_name


class Patient(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    full_name: Mapped[str] = mapped_column(String(120))
    # full_name folded (clinic.patients.names.fold_name): what "the same name" compares.
    name_key: Mapped[str] = mapped_column(String(120), default="", server_default="")
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
    # A booking gave the phone and date of birth of this patient under another name: the desk
    # merges the two or dismisses the flag.
    possible_duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("patient.id"))
    # Merged by the desk into this patient: bookings under this record's name go there.
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("patient.id"))

    # No accounts: one mobile number, date of birth and name is one person, even under a race.
    __table_args__ = (
        UniqueConstraint("phone", "date_of_birth", "name_key", name="uq_patient_phone_dob_name"),
    )

    @validates("full_name")
    def _keep_name_key(self, _key, value):
        self.name_key = fold_name(value)[:120]
        return value
