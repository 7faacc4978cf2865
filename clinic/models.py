"""Every model, imported in one place so migrations and the shell see the whole schema."""

from clinic.adverse_events.models import AdverseEvent
from clinic.audit.models import AuditEvent
from clinic.booking.models import Appointment, AppointmentStatus, BookingSource
from clinic.catalog.models import (
    ClinicPolicy,
    Location,
    Practitioner,
    Room,
    Service,
    TimeOff,
    WorkingHours,
)
from clinic.consent.models import ConsentForm, SignedConsent
from clinic.courses.models import Course
from clinic.mail.models import OutboundEmail
from clinic.patients.models import Patient
from clinic.screening.models import Screening
from clinic.sms.models import (
    DeliveryReport,
    InboundText,
    MessageTemplate,
    OutboundText,
    StaffAlert,
)
from clinic.staff.models import Role, StaffUser
from clinic.visits.models import SessionRecord
from clinic.waitlist.models import WaitlistEntry, WaitlistOffer, WaitlistOpening

__all__ = [
    "AdverseEvent",
    "Appointment",
    "AppointmentStatus",
    "AuditEvent",
    "BookingSource",
    "ClinicPolicy",
    "ConsentForm",
    "Course",
    "DeliveryReport",
    "InboundText",
    "MessageTemplate",
    "OutboundEmail",
    "OutboundText",
    "Location",
    "Patient",
    "Practitioner",
    "Role",
    "Room",
    "Screening",
    "Service",
    "SessionRecord",
    "SignedConsent",
    "StaffAlert",
    "StaffUser",
    "TimeOff",
    "WaitlistEntry",
    "WaitlistOffer",
    "WaitlistOpening",
    "WorkingHours",
]
