"""Changing a patient's contact details at the desk: one transaction, one audit row.

A text is addressed when the dispatcher claims it (clinic/sms/dispatch.py reads the patient's
number then), so every text still planned goes to the new number and none to the old one. The
suppression list is about numbers: a new number that once texted STOP stays suppressed, and an
old one stays on the list too. A new number is a new chance for texts to arrive, so a number
Twilio refused (``phone_unusable``) no longer counts against the patient.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from clinic.actors import Actor
from clinic.audit import services as audit
from clinic.clock import utcnow
from clinic.database import write_transaction
from clinic.errors import ChangeNotAllowed, NotFound, ValidationFailed
from clinic.extensions import db
from clinic.patients.models import Patient
from clinic.patients.names import fold_name
from clinic.patients.phones import allowed_names, may_text
from clinic.sms import suppression

AUDIT_ACTION = "patient.contact_changed"


class StaleContactForm(ChangeNotAllowed):
    """The record changed after the form was shown: saving would overwrite someone's change."""


class SameAsAnotherPatient(ChangeNotAllowed):
    """The change would make this record the same person as another one: merge them instead."""

    def __init__(self, message: str, *, other_id: int):
        super().__init__(message, details={"other_patient_id": other_id})
        self.other_id = other_id


@dataclass(frozen=True)
class ContactDetails:
    full_name: str
    phone: str  # E.164
    email: str
    date_of_birth: date


@dataclass(frozen=True)
class ContactChanged:
    patient: Patient
    changes: dict[str, tuple]  # field -> (before, after); empty when nothing changed
    suppressed: bool  # the (new) number said STOP: no texts go to it


def contact_fingerprint(patient: Patient) -> str:
    """The contact details as a form shows them, condensed: a form sent back with another
    fingerprint was filled in over details that have since changed."""
    shown = "\x1f".join(
        [patient.full_name, patient.phone, patient.email or "", patient.date_of_birth.isoformat()]
    )
    return hashlib.sha256(shown.encode("utf-8")).hexdigest()[:32]


def change_contact(
    patient_id: int, details: ContactDetails, *, fingerprint: str, by: Actor
) -> ContactChanged:
    """Apply the desk's contact edit, audited with each changed field before and after.

    Raises NotFound, StaleContactForm (the record changed since ``fingerprint``),
    SameAsAnotherPatient (another record has this name, mobile and date of birth),
    ChangeNotAllowed (a merged record) or ValidationFailed (a number texts may not go to while
    the patient has texts on).
    """
    # The booking lock: a booking that finds or creates a patient by these same details
    # cannot slip in between the identity check and the write.
    with write_transaction("booking"):
        patient = db.session.get(Patient, patient_id)
        if patient is None:
            raise NotFound("There is no such patient.")
        db.session.refresh(patient)
        if patient.merged_into_id is not None:
            raise ChangeNotAllowed(
                "This record was merged into another; change the details on that one."
            )
        new = {
            "full_name": details.full_name.strip(),
            "phone": details.phone,
            "email": details.email.strip(),
            "date_of_birth": details.date_of_birth,
        }
        before = {name: getattr(patient, name) for name in new}
        before["email"] = before["email"] or ""
        changes = {
            name: (before[name], value) for name, value in new.items() if before[name] != value
        }
        if not changes:
            # Whatever changed meanwhile, the form asks for the details as they are now.
            return ContactChanged(patient, {}, suppression.is_suppressed(patient.phone))
        if fingerprint != contact_fingerprint(patient):
            raise StaleContactForm(
                "Someone changed this patient's details after this form was opened. "
                "Nothing was saved: check the details shown now and make the change again."
            )
        phone_changed = "phone" in changes
        allowed = current_app.config["SMS_ALLOWED_COUNTRIES"]
        if phone_changed and patient.sms_opt_in and not may_text(details.phone, allowed):
            raise ValidationFailed(
                {
                    "mobile": [
                        f"This patient has texts on, and texts only go to mobile numbers from "
                        f"{allowed_names(allowed)}. Turn their texts off first, or give a "
                        f"number from {allowed_names(allowed)}."
                    ]
                }
            )
        _refuse_same_identity(patient, new)
        for name, value in new.items():
            setattr(patient, name, value)
        if phone_changed and patient.phone_unusable:
            patient.phone_unusable = False
            changes["phone_unusable"] = (True, False)
        if not patient.email and patient.email_opt_in:
            # Email needs an address: without one the choice cannot stand.
            patient.email_opt_in = False
            patient.email_opt_in_at = utcnow()
            changes["email_opt_in"] = (True, False)
        suppressed = suppression.is_suppressed(patient.phone)
        notes = []
        if phone_changed and suppressed:
            notes.append("The new number is on the STOP list: no texts go to it.")
        audit.record(
            by,
            AUDIT_ACTION,
            at=utcnow(),
            patient_id=patient.id,
            changes=changes,
            detail=" ".join(notes),
        )
        try:
            db.session.flush()
        except IntegrityError as exc:
            # Only the one-person constraint can refuse this row; the check above runs under
            # the booking lock, so this is a last line, not the rule.
            raise SameAsAnotherPatient(_SAME_MESSAGE, other_id=0) from exc
    return ContactChanged(patient, changes, suppressed)


_SAME_MESSAGE = (
    "Another patient record has this name, mobile number and date of birth: it is the same "
    "person. Merge the two records on the duplicates page instead."
)


def _refuse_same_identity(patient: Patient, new: dict) -> None:
    other = db.session.scalar(
        select(Patient.id).where(
            Patient.id != patient.id,
            Patient.phone == new["phone"],
            Patient.date_of_birth == new["date_of_birth"],
            Patient.name_key == fold_name(new["full_name"])[:120],
        )
    )
    if other is not None:
        raise SameAsAnotherPatient(_SAME_MESSAGE, other_id=other)
