"""The emails a visit plans, next to its texts: the booking confirmation (with the manage link
and the calendar file) and, after a session, the aftercare sheet.

They go only to patients who gave an address and agreed to email (clinic.mail.outbox decides).
Subjects and bodies name the clinic, never a condition, drug or procedure: a mailbox is often
shared or read over a shoulder. The printed sheet may name the treatment; the email does not.
"""

from __future__ import annotations

from datetime import timedelta

from flask import current_app, render_template

from clinic.booking.ics import appointment_ics, ics_filename
from clinic.booking.tokens import manage_url
from clinic.extensions import db
from clinic.mail import outbox
from clinic.visits.queries import aftercare_sheet_for

CONFIRMATION = "confirmation"
APPROVED = "approved"  # a held booking confirmed after a clinician's check
AFTERCARE = "aftercare_sheet"
AFTERCARE_SUBJECT = "After your visit: how to look after yourself"
# The aftercare advice is worth sending while it still applies.
AFTERCARE_LIFETIME = timedelta(days=7)


def confirmation_subject() -> str:
    return f"Your visit at {current_app.config['CLINIC_NAME']}"


def plan_confirmation(appointment, *, held: bool = False, kind: str = CONFIRMATION):
    patient = appointment.patient
    if not outbox.may_email(patient):
        return None
    db.session.flush()  # a new visit: its id names its link and calendar entry
    local = appointment.start_at.astimezone(appointment.timezone)
    values = {
        "clinic": current_app.config["CLINIC_NAME"],
        "name": patient.full_name,
        "when": f"{local:%A} {local.day} {local:%B %Y} at {local:%H:%M}",
        "location": appointment.practitioner.location,
        "link": manage_url(appointment),
        "held": held,
    }
    return outbox.plan(
        kind,
        patient,
        subject=confirmation_subject(),
        text=render_template("email/confirmation.txt", **values),
        html=render_template("email/confirmation.html", **values),
        expires_at=appointment.start_at,
        appointment_id=appointment.id,
        attachments=((appointment_ics(appointment), "text/calendar", ics_filename(appointment)),),
    )


def plan_aftercare(appointment):
    patient = appointment.patient
    if not outbox.may_email(patient):
        return None
    ended = appointment.completed_at or appointment.end_at
    values = {
        "clinic": current_app.config["CLINIC_NAME"],
        "name": patient.full_name,
        "sheet": aftercare_sheet_for(appointment),
    }
    return outbox.plan(
        AFTERCARE,
        patient,
        subject=AFTERCARE_SUBJECT,
        text=render_template("email/aftercare.txt", **values),
        html=render_template("email/aftercare.html", **values),
        expires_at=ended + AFTERCARE_LIFETIME,
        appointment_id=appointment.id,
    )
