"""Consent: the current form, signatures (immutable), and whether a visit has a current one."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import event, select
from sqlalchemy.exc import IntegrityError

from clinic.clock import utcnow
from clinic.consent import texts
from clinic.consent.models import ConsentForm, SignedConsent
from clinic.errors import ImmutableRecord
from clinic.extensions import db


@dataclass(frozen=True)
class ConsentInput:
    version: int
    signed_name: str
    agree: bool
    photos: bool
    care_texts: bool = False
    ip_address: str = ""
    user_agent: str = ""


def current_form() -> ConsentForm:
    """The database row for the current consent text, created the first time it is needed."""
    text = texts.current()
    form = db.session.scalar(select(ConsentForm).where(ConsentForm.version == text.version))
    if form is not None:
        return form
    form = ConsentForm(
        version=text.version,
        title=text.title,
        text=text.text,
        sha256=text.sha256,
        effective_on=text.effective,
    )
    try:
        with db.session.begin_nested():
            db.session.add(form)
    except IntegrityError:
        # Another process published it first; theirs is identical.
        form = db.session.scalar(select(ConsentForm).where(ConsentForm.version == text.version))
    return form


def check_input(consent: ConsentInput | None, patient_name: str) -> dict[str, list[str]]:
    """Field errors for a consent given with a booking ({} when it is acceptable)."""
    if consent is None:
        return {"consent": ["Please read and sign the consent form."]}
    errors: dict[str, list[str]] = {}
    if consent.version != texts.CURRENT_VERSION:
        errors["consent.version"] = [
            "The consent form has been updated; please read the current version and sign again."
        ]
    if consent.agree is not True:
        errors["consent.agree"] = ["Please confirm that you agree, or call us with any questions."]
    name = " ".join((consent.signed_name or "").split())
    if not name:
        errors["consent.signed_name"] = ["Please type your full name to sign."]
    elif len(name) > 120:
        errors["consent.signed_name"] = ["Please keep the name under 120 characters."]
    elif name.casefold() != " ".join(patient_name.split()).casefold():
        errors["consent.signed_name"] = ["Please sign with the same full name you gave above."]
    return errors


def sign(patient, consent: ConsentInput, *, appointment=None, course=None) -> SignedConsent:
    """Record a signature inside the caller's transaction."""
    form = current_form()
    signed = SignedConsent(
        patient_id=patient.id,
        consent_form_id=form.id,
        appointment_id=appointment.id if appointment is not None else None,
        course_id=course.id if course is not None else None,
        form_version=form.version,
        form_sha256=form.sha256,
        signed_name=" ".join(consent.signed_name.split()),
        agreed=True,
        clinical_photos=bool(consent.photos),
        care_texts=bool(consent.care_texts),
        signed_at=utcnow(),
        ip_address=(consent.ip_address or "")[:45],
        user_agent=(consent.user_agent or "")[:300],
    )
    db.session.add(signed)
    return signed


def current_consent_for(appointment) -> SignedConsent | None:
    """A signature of the current form by this patient that covers this visit.

    Within a course the signature must date from the course (re-consent at each course's start);
    a new form version always needs a new signature.
    """
    query = select(SignedConsent).where(
        SignedConsent.patient_id == appointment.patient_id,
        SignedConsent.form_version == texts.CURRENT_VERSION,
    )
    if appointment.course_id is not None:
        query = query.where(SignedConsent.course_id == appointment.course_id)
    return db.session.scalars(query.order_by(SignedConsent.signed_at.desc())).first()


def ensure_consent_forms_immutable() -> None:
    """Refuse, in the ORM, any update or delete of a signature (registered once)."""
    if event.contains(SignedConsent, "before_update", _refuse_change):
        return
    event.listen(SignedConsent, "before_update", _refuse_change)
    event.listen(SignedConsent, "before_delete", _refuse_change)
    event.listen(ConsentForm, "before_update", _refuse_change)
    event.listen(ConsentForm, "before_delete", _refuse_change)


def _refuse_change(_mapper, _connection, target) -> None:
    raise ImmutableRecord(f"{type(target).__name__} records cannot be changed or deleted.")


ensure_consent_forms_immutable()
