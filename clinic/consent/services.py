"""Consent: the current form, signatures (immutable), and whether a visit has a current one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import event, select
from sqlalchemy.exc import IntegrityError

from clinic.clock import utcnow
from clinic.consent import texts
from clinic.consent.models import ConsentForm, SignedConsent
from clinic.errors import ImmutableRecord, ValidationFailed
from clinic.extensions import db
from clinic.web.formatting import clinic_tz


@dataclass(frozen=True)
class ConsentInput:
    version: int
    signed_name: str
    agree: bool
    photos: bool
    care_texts: bool = False
    ip_address: str = ""
    user_agent: str = ""


def clinic_today() -> date:
    """The clinic's calendar day now: a version takes effect at the clinic's midnight."""
    return utcnow().astimezone(clinic_tz()).date()


def current_form(on: date | None = None) -> ConsentForm:
    """The version in force on ``on`` (by default the clinic's today): the newest published
    version whose effective date has come.

    Versions take effect in the order of their numbers (publishing refuses an earlier date than
    the last version's), so "newest in force" is simply the highest number in force. Before any
    version's date (a clock set before version 1's) the first version stands.

    While nothing is stored yet, this is the built-in text as an unsaved version 1: reads never
    write (a write inside a read transaction is what makes SQLite report "database is locked"
    under load); it is stored by the first signature, in that signature's transaction, or by
    ``store_built_in()``.
    """
    day = on or clinic_today()
    form = db.session.scalar(
        select(ConsentForm)
        .where(ConsentForm.effective_on <= day)
        .order_by(ConsentForm.version.desc())
        .limit(1)
    )
    if form is not None:
        return form
    first = db.session.scalar(select(ConsentForm).order_by(ConsentForm.version).limit(1))
    return first if first is not None else _built_in_form()


def current_version() -> int:
    """The number of the version in force today: what a signature must be of to count."""
    return current_form().version


def _built_in_form() -> ConsentForm:
    text = texts.BUILT_IN
    return ConsentForm(
        version=text.version,
        title=text.title,
        text=text.text,
        sha256=text.sha256,
        effective_on=text.effective,
    )


def stored_current_form() -> ConsentForm:
    """The version in force, stored (version 1 is stored first if need be): for writers, inside
    their write transaction, that record something against it."""
    form = current_form()
    return form if form.id is not None else store_built_in()


def store_built_in() -> ConsentForm:
    """Store the built-in text as version 1 if no version is stored yet, inside the caller's
    write transaction, and return version 1."""
    stored = db.session.scalar(select(ConsentForm).where(ConsentForm.version == 1))
    if stored is not None:
        return stored
    form = _built_in_form()
    try:
        with db.session.begin_nested():
            db.session.add(form)
    except IntegrityError:
        # Another process stored it first; theirs is identical.
        form = db.session.scalar(select(ConsentForm).where(ConsentForm.version == 1))
    return form


STALE_VERSION = "The consent form has been updated; please read the current version and sign again."


def check_input(consent: ConsentInput | None, patient_name: str) -> dict[str, list[str]]:
    """Field errors for a consent given with a booking ({} when it is acceptable)."""
    if consent is None:
        return {"consent": ["Please read and sign the consent form."]}
    errors: dict[str, list[str]] = {}
    if consent.version != current_version():
        errors["consent.version"] = [STALE_VERSION]
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
    """Record a signature inside the caller's transaction.

    Raises ValidationFailed when the signed version is no longer the one in force: a new
    version can take effect between the caller's check and its transaction (at the clinic's
    midnight), and a signature must be of the text that is current when it is recorded.
    """
    form = stored_current_form()
    if consent.version != form.version:
        raise ValidationFailed(
            {"consent.version": [STALE_VERSION]}, message="The consent form has been updated."
        )
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
        SignedConsent.form_version == current_version(),
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
