"""The desk's own changes to a visit: consent signed on the day, a move, a cancellation."""

from __future__ import annotations

from datetime import datetime

from clinic.actors import Actor, ActorKind
from clinic.booking import services as booking
from clinic.booking.models import Appointment
from clinic.booking.services import record_signature
from clinic.consent import services as consent_services
from clinic.consent.models import SignedConsent
from clinic.consent.services import ConsentInput
from clinic.courses.models import Course
from clinic.database import write_transaction
from clinic.errors import ChangeNotAllowed, ValidationFailed
from clinic.extensions import db
from clinic.visits import lifecycle
from clinic.visits.services import get_appointment

# The column that keeps it holds this much.
CANCEL_REASON_LENGTH = 300


def sign_consent_at_desk(
    appointment_id: int, consent: ConsentInput, *, by: Actor | None = None
) -> SignedConsent:
    """Record the patient's signature of the current form for this visit.

    A course session's signature is tied to its course, which is what re-consent at the start
    of each course needs. Raises ValidationFailed with the consent field errors, or
    ChangeNotAllowed when the visit is over or cancelled.
    """
    appointment = get_appointment(appointment_id)
    errors = consent_services.check_input(consent, appointment.patient.full_name)
    if errors:
        raise ValidationFailed(errors, message="The consent form is not complete.")
    with write_transaction("booking"):
        db.session.refresh(appointment)
        # Consent comes before the session: once it is over, or will not happen, there is
        # nothing to consent to.
        if appointment.status not in lifecycle.OPEN:
            raise ChangeNotAllowed(
                f"This visit is {appointment.status.replace('_', ' ')}: consent is signed "
                "before a session."
            )
        course = db.session.get(Course, appointment.course_id) if appointment.course_id else None
        signed = consent_services.sign(
            appointment.patient, consent, appointment=appointment, course=course
        )
        record_signature(by or Actor(ActorKind.DESK), signed, appointment)
    return signed


def move_visit(
    appointment_id: int,
    new_start: datetime,
    *,
    practitioner_id: int | None = None,
    room_id: int | None = None,
    by: Actor | None = None,
) -> Appointment:
    """Move a visit to another time, practitioner or room (any of them, or all): the desk's
    rules (no minimum notice, the desk horizon), and those of every booking (working hours,
    rooms, buffers, the needling gap, never a double booking).

    Raises ValidationFailed (a past time, the needling gap, a room of another location),
    SlotUnavailable (the time or room is taken, or outside hours) or ChangeNotAllowed."""
    appointment = get_appointment(appointment_id)
    return booking.reschedule(
        appointment,
        new_start,
        practitioner_id=practitioner_id,
        room_id=room_id,
        by_patient=False,
        by=by or Actor(ActorKind.DESK),
    )


def cancel_visit(appointment_id: int, reason: str, *, by: Actor | None = None) -> Appointment:
    """Cancel a visit for a reason the audit log keeps; planned texts stop with it."""
    reason = " ".join(reason.split())
    if not reason:
        raise ValidationFailed({"reason": ["Say why the visit is cancelled."]})
    if len(reason) > CANCEL_REASON_LENGTH:
        raise ValidationFailed(
            {"reason": [f"Keep the reason to {CANCEL_REASON_LENGTH} characters or fewer."]}
        )
    appointment = get_appointment(appointment_id)
    if appointment.status == lifecycle.State.CANCELLED:
        raise ChangeNotAllowed("This visit is already cancelled.")
    return booking.cancel(
        appointment, reason=reason, by_patient=False, by=by or Actor(ActorKind.DESK)
    )
