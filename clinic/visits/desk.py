"""Consent signed with the patient at the desk, on the day of the visit."""

from __future__ import annotations

from clinic.actors import Actor, ActorKind
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
