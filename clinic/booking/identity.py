"""Who a booking is for, without accounts, and the desk's tools for the doubtful cases.

A booking never changes an existing patient: the same mobile number, date of birth and name
(compared folded: case, spacing and accents aside) is the same person, and their stored details
and text consent stay as they are. The same number and date of birth under another name is a new
patient flagged as a possible duplicate, which the desk merges or dismisses. Text consent
changes only by the patient's own STOP/START, their manage page, or the desk with a reason.
"""

from __future__ import annotations

from sqlalchemy import select, update

from clinic.actors import Actor
from clinic.audit import services as audit
from clinic.clock import utcnow
from clinic.database import write_transaction
from clinic.errors import NotFound, ValidationFailed
from clinic.extensions import db
from clinic.patients.models import Patient
from clinic.patients.names import fold_name
from clinic.sms import suppression

# The wording the manage page shows next to its texts toggle, recorded with each change.
MANAGE_PAGE_TEXTS_WORDING = "Text me about my visits and aftercare"
MANAGE_PAGE_STOP_WORDING = "Stop texting me"
# Tables whose patient_id stays as it was in a merge: the audit log is history.
_KEEP_ON_MERGE = frozenset({"audit_event", "patient"})


def find_or_create_patient(
    details, sms_opt_in: bool, source: str, email_opt_in: bool | None = None
) -> Patient:
    """The patient a booking is for, inside the caller's write transaction.

    ``details`` is a clinic.booking.services.PatientDetails. A new patient's choices are their
    own first ones; an existing patient is returned untouched."""
    same_phone_and_birthday = list(
        db.session.scalars(
            select(Patient)
            .where(Patient.phone == details.phone, Patient.date_of_birth == details.date_of_birth)
            .order_by(Patient.id)
        )
    )
    key = fold_name(details.full_name)
    for candidate in same_phone_and_birthday:
        if candidate.name_key == key:
            return _kept(candidate)
    now = utcnow()
    patient = Patient(
        phone=details.phone,
        date_of_birth=details.date_of_birth,
        full_name=details.full_name,
        email=details.email or "",
        sms_opt_in=sms_opt_in,
        sms_opt_in_at=now,
        sms_opt_in_source=source,
        email_opt_in=bool(email_opt_in),
        email_opt_in_at=now if email_opt_in is not None else None,
        created_at=now,
    )
    others = [p for p in same_phone_and_birthday if p.merged_into_id is None]
    if others:
        patient.possible_duplicate_of_id = others[0].id
    db.session.add(patient)
    db.session.flush()
    return patient


def kept(patient: Patient) -> Patient:
    """A patient merged into another stands for the one kept."""
    return _kept(patient)


def _kept(patient: Patient) -> Patient:
    seen = set()
    while patient.merged_into_id is not None and patient.id not in seen:
        seen.add(patient.id)
        patient = db.session.get(Patient, patient.merged_into_id)
    return patient


def texts_held_back(patient: Patient, *, asked: bool = False) -> bool:
    """The patient wants texts (or just ticked the box), but their number said STOP: nothing
    goes until that phone texts START."""
    return (asked or bool(patient.sms_opt_in)) and suppression.is_suppressed(patient.phone)


def number_suppressed(patient: Patient) -> bool:
    return suppression.is_suppressed(patient.phone)


# --- the desk's list of possible duplicates -------------------------------------------------


def possible_duplicates() -> list[tuple[Patient, Patient]]:
    """(flagged patient, the patient it may duplicate), oldest flag first."""
    flagged = db.session.scalars(
        select(Patient)
        .where(Patient.possible_duplicate_of_id.is_not(None), Patient.merged_into_id.is_(None))
        .order_by(Patient.id)
    )
    return [
        (patient, _kept(db.session.get(Patient, patient.possible_duplicate_of_id)))
        for patient in flagged
    ]


def patient(patient_id: int) -> Patient:
    found = db.session.get(Patient, patient_id)
    if found is None:
        raise NotFound("There is no such patient.")
    return found


def _flagged(patient_id: int) -> Patient:
    patient = db.session.get(Patient, patient_id)
    if patient is None or patient.possible_duplicate_of_id is None or patient.merged_into_id:
        raise NotFound("That patient is not waiting as a possible duplicate.")
    return patient


def dismiss(patient_id: int, *, by: Actor) -> Patient:
    """Two different people after all: the flag goes, both records stay."""
    with write_transaction("booking"):
        patient = _flagged(patient_id)
        before = patient.possible_duplicate_of_id
        patient.possible_duplicate_of_id = None
        audit.record(
            by,
            "patient.duplicate_dismissed",
            at=utcnow(),
            patient_id=patient.id,
            changes={"possible_duplicate_of_id": (before, None)},
        )
    return patient


def merge(patient_id: int, *, by: Actor) -> Patient:
    """One person after all: the flagged record's visits, screenings, consents, texts and
    everything else of theirs move to the patient kept, in one transaction. The kept patient's
    details and text consent stay as they are; the flagged record remains, pointing at it."""
    with write_transaction("booking"):
        duplicate = _flagged(patient_id)
        kept = _kept(db.session.get(Patient, duplicate.possible_duplicate_of_id))
        if kept.id == duplicate.id:
            raise ValidationFailed({"patient": ["A patient cannot be merged into itself."]})
        moved = {}
        for table in db.metadata.sorted_tables:
            if table.name in _KEEP_ON_MERGE:
                continue
            for column in table.columns:
                if any(fk.column.table.name == "patient" for fk in column.foreign_keys):
                    # Moving a visit's patient_id is not a status change: the lifecycle is not
                    # involved, and the visit keeps its state.
                    result = db.session.execute(
                        update(table)
                        .where(column == duplicate.id)
                        .values({column.name: kept.id})
                        .execution_options(synchronize_session=False)
                    )
                    if result.rowcount:
                        moved[table.name] = result.rowcount
        duplicate.merged_into_id = kept.id
        duplicate.possible_duplicate_of_id = None
        audit.record(
            by,
            "patient.merged",
            at=utcnow(),
            patient_id=kept.id,
            changes={"merged_patient_id": (None, duplicate.id)},
            detail="Moved: "
            + (", ".join(f"{n} {t}" for t, n in sorted(moved.items())) or "nothing"),
        )
        audit.record(
            by,
            "patient.merged_away",
            at=utcnow(),
            patient_id=duplicate.id,
            changes={"merged_into_id": (None, kept.id)},
        )
    db.session.expire_all()
    return kept


# --- text consent -----------------------------------------------------------------------------


def set_text_consent(
    patient: Patient, wanted: bool, *, by: Actor, source: str, wording: str = "", reason: str = ""
) -> bool:
    """Change a patient's own text consent from their manage page or the desk, audited with the
    wording shown (manage page) or the reason (desk). A number on the suppression list stays
    on it: only its own START text lifts it. Returns whether texts will actually go."""
    if source == "desk" and not reason.strip():
        raise ValidationFailed({"reason": ["Say why the text consent is being changed."]})
    with write_transaction("booking"):
        db.session.refresh(patient)
        before = patient.sms_opt_in
        if before != wanted:
            now = utcnow()
            patient.sms_opt_in = wanted
            patient.sms_opt_in_at = now
            patient.sms_opt_in_source = source
            audit.record(
                by,
                "patient.text_consent_changed",
                at=now,
                patient_id=patient.id,
                changes={"sms_opt_in": (before, wanted)},
                detail=(f'Shown: "{wording}"' if wording else "") + (reason.strip()[:250]),
            )
        texts_go = wanted and not suppression.is_suppressed(patient.phone)
    return texts_go
