from __future__ import annotations

from datetime import date

from sqlalchemy import CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from clinic.db_types import UTCDateTime
from clinic.extensions import db


class ConsentForm(db.Model):
    """One published version of the consent form: written once, never updated or deleted
    (signatures point to it). The version in force is the newest whose effective date has come.

    ``published_by_id`` and ``published_at`` are empty for the built-in version 1, which the
    application seeds, and for versions written before publishing from the settings existed.
    """

    __tablename__ = "consent_form"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(unique=True)
    title: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    effective_on: Mapped[date]
    published_at = mapped_column(UTCDateTime(), nullable=True)
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))

    published_by = relationship("StaffUser")


class SignedConsent(db.Model):
    """A signature: written once, never updated or deleted (the database refuses it on
    PostgreSQL, and the ORM refuses it everywhere)."""

    __tablename__ = "signed_consent"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    consent_form_id: Mapped[int] = mapped_column(ForeignKey("consent_form.id"))
    appointment_id: Mapped[int | None] = mapped_column(ForeignKey("appointment.id"), index=True)
    course_id: Mapped[int | None] = mapped_column(ForeignKey("course.id"), index=True)
    form_version: Mapped[int]
    form_sha256: Mapped[str] = mapped_column(String(64))
    signed_name: Mapped[str] = mapped_column(String(120))
    agreed: Mapped[bool]
    clinical_photos: Mapped[bool]
    care_texts: Mapped[bool]
    signed_at = mapped_column(UTCDateTime(), nullable=False)
    ip_address: Mapped[str] = mapped_column(String(45))
    user_agent: Mapped[str] = mapped_column(String(300))

    form: Mapped[ConsentForm] = relationship()

    __table_args__ = (CheckConstraint("agreed", name="must_agree"),)
