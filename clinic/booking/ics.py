"""The patient's "add to calendar" file (RFC 5545).

Calendars are often shared with family or synced to a work account, so the event names the
clinic and nothing about the treatment: no service, condition, drug or procedure.
"""

from __future__ import annotations

from datetime import UTC
from urllib.parse import urlsplit

from flask import current_app
from icalendar import Calendar, Event

from clinic.booking.models import AppointmentStatus
from clinic.booking.services import clinic_timezone
from clinic.booking.tokens import manage_url
from clinic.clock import utcnow

# A visit held for a clinician's check is honestly tentative until it is approved.
ICS_STATUS = {
    AppointmentStatus.NEEDS_REVIEW: "TENTATIVE",
    AppointmentStatus.CANCELLED: "CANCELLED",
    AppointmentStatus.NO_SHOW: "CANCELLED",
}


def appointment_uid(appointment) -> str:
    host = urlsplit(current_app.config["PUBLIC_BASE_URL"]).hostname or "localhost"
    return f"appointment-{appointment.id}@{host}"


def appointment_ics(appointment) -> bytes:
    clinic_name = current_app.config["CLINIC_NAME"]
    location = appointment.practitioner.location
    link = manage_url(appointment)

    calendar = Calendar()
    calendar.add("prodid", f"-//{clinic_name}//Online booking//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")

    event = Event()
    event.add("uid", appointment_uid(appointment))
    event.add("dtstamp", utcnow().astimezone(UTC))
    event.add("dtstart", appointment.start_at.astimezone(UTC))
    event.add("dtend", appointment.end_at.astimezone(UTC))
    # Calendar apps keep the copy with the highest sequence for a UID; the lifecycle adds one
    # with every change the calendar shows (a move, a cancellation, a clinician's approval).
    event.add("sequence", appointment.ics_sequence or 0)
    event.add("summary", f"Appointment at {clinic_name}")
    event.add("location", ", ".join(part for part in (location.name, location.address) if part))
    event.add(
        "description",
        f"Your visit at {clinic_name}.\n"
        f"To see, move or cancel it: {link}\n"
        f"Keep this link private.\n"
        f"Questions: call {location.phone}.",
    )
    event.add("url", link)
    event.add("status", ICS_STATUS.get(appointment.status, "CONFIRMED"))
    event.add("transp", "OPAQUE")
    calendar.add_component(event)
    return calendar.to_ical()


def ics_filename(appointment) -> str:
    return f"appointment-{appointment.start_at.astimezone(clinic_timezone()):%Y-%m-%d}.ics"
