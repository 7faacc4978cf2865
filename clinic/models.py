"""Every model, imported in one place so migrations and the shell see the whole schema."""

from clinic.booking.models import Appointment, AppointmentStatus, BookingSource
from clinic.catalog.models import Location, Practitioner, Room, Service, TimeOff, WorkingHours
from clinic.patients.models import Patient
from clinic.staff.models import Role, StaffUser

__all__ = [
    "Appointment",
    "AppointmentStatus",
    "BookingSource",
    "Location",
    "Patient",
    "Practitioner",
    "Role",
    "Room",
    "Service",
    "StaffUser",
    "TimeOff",
    "WorkingHours",
]
