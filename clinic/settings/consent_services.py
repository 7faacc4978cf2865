"""Consent form versions: the list an admin reads and the one use case that publishes a version.

A published version is never edited or deleted (signatures point to it by number and hash; the
ORM refuses and PostgreSQL's trigger refuses too), so publishing is the only change there is.
Versions take effect in the order of their numbers: a new version's effective date may not come
before the last version's, so "the newest version whose date has come" is always the one the
clinic meant, and a version scheduled for later is never skipped.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, select

from clinic.actors import Actor
from clinic.audit import services as audit
from clinic.clock import utcnow
from clinic.consent import services as consent_services
from clinic.consent.models import ConsentForm, SignedConsent
from clinic.database import write_transaction
from clinic.errors import ChangeNotAllowed, NotFound, ValidationFailed
from clinic.extensions import db
from clinic.web.formatting import format_long_date

TITLE_MIN_CHARS = 3
TITLE_MAX_CHARS = 200  # the column's length
TEXT_MIN_CHARS = 100  # shorter than any text that could say what a patient agrees to
TEXT_MAX_CHARS = 20_000  # about eight times the built-in text: room to grow, not a dump
# Far enough ahead to schedule a change with notice; a date beyond it is far likelier a typo
# (2062 for 2026) than a plan, and would hold back every version published after it.
EFFECTIVE_MAX_DAYS_AHEAD = 366
# Line breaks and tabs are text; every other control character (a NUL, an escape sequence
# pasted from a terminal) is not, and would reach patients' screens and the signed record.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029]")


@dataclass(frozen=True)
class VersionRow:
    form: ConsentForm
    signatures: int
    is_current: bool
    is_scheduled: bool  # published, its effective date not yet come


@dataclass(frozen=True)
class PublishInput:
    title: str
    text: str
    effective_on: date
    # The newest version the admin saw when they started writing: another admin's publish in
    # the meantime makes this edit stale.
    after_version: int


def _ensure_stored() -> None:
    """Version 1 is stored before the pages list versions (a fresh database has none yet)."""
    if db.session.scalar(select(func.count(ConsentForm.id))) == 0:
        with write_transaction("consent-form"):
            consent_services.store_built_in()


def versions() -> list[VersionRow]:
    """Every version, newest first, with how many signatures each has."""
    _ensure_stored()
    current = consent_services.current_form()
    today = consent_services.clinic_today()
    counts = dict(
        db.session.execute(
            select(SignedConsent.consent_form_id, func.count()).group_by(
                SignedConsent.consent_form_id
            )
        ).all()
    )
    forms = db.session.scalars(select(ConsentForm).order_by(ConsentForm.version.desc()))
    return [
        VersionRow(
            form=form,
            signatures=counts.get(form.id, 0),
            is_current=form.id == current.id,
            is_scheduled=form.effective_on > today,
        )
        for form in forms
    ]


def version(number: int) -> VersionRow:
    _ensure_stored()
    form = db.session.scalar(select(ConsentForm).where(ConsentForm.version == number))
    if form is None:
        raise NotFound("There is no consent form version with that number.")
    signatures = db.session.scalar(
        select(func.count())
        .select_from(SignedConsent)
        .where(SignedConsent.consent_form_id == form.id)
    )
    return VersionRow(
        form=form,
        signatures=signatures,
        is_current=form.id == consent_services.current_form().id,
        is_scheduled=form.effective_on > consent_services.clinic_today(),
    )


def latest() -> ConsentForm:
    """The highest-numbered version, in force or scheduled: a new one follows it."""
    _ensure_stored()
    return db.session.scalar(select(ConsentForm).order_by(ConsentForm.version.desc()).limit(1))


def normalise_title(title: str) -> str:
    return " ".join((title or "").split())


def normalise_text(text: str) -> str:
    """One form of the same words, so the hash a signature records is of what was shown:
    Unicode NFC, "\\n" line ends, no spaces at line ends, no blank lines at either end, and
    one final line break (as the built-in text has)."""
    text = unicodedata.normalize("NFC", text or "")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = [line.rstrip() for line in text.split("\n")]
    return "\n".join(lines).strip("\n") + "\n"


def publish(entry: PublishInput, *, by: Actor) -> ConsentForm:
    """Publish the next version: it takes the next number and becomes the form in force on
    its effective date. One transaction with its audit row.

    Raises ValidationFailed (field errors) for a title, text or date the clinic cannot use,
    and ChangeNotAllowed when another version was published since the admin began (their text
    is theirs to check against the new one before publishing again).
    """
    title = normalise_title(entry.title)
    text = normalise_text(entry.text)
    errors = _shape_errors(title, text)
    # Under the lock: two admins publishing at once get distinct numbers, each checked against
    # the other's date and text, and the unique version column stays the last line of defence.
    with write_transaction("consent-form"):
        consent_services.store_built_in()
        newest = db.session.scalar(
            select(ConsentForm).order_by(ConsentForm.version.desc()).limit(1)
        )
        if entry.after_version != newest.version:
            raise ChangeNotAllowed(
                f"Version {newest.version} was published while you were writing this one. "
                "Read it, then publish yours if it is still needed.",
                details={"latest": newest.version},
            )
        errors.update(_date_errors(entry.effective_on, newest))
        if not errors and hashlib.sha256(text.encode("utf-8")).hexdigest() == newest.sha256:
            errors["text"] = [
                f"This is the same text as version {newest.version}: there is nothing new to "
                "sign. Change the text, or keep the version you have."
            ]
        if errors:
            raise ValidationFailed(errors, message="The new version needs some changes.")
        now = utcnow()
        form = ConsentForm(
            version=newest.version + 1,
            title=title,
            text=text,
            sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
            effective_on=entry.effective_on,
            published_at=now,
            published_by_id=by.staff_id,
        )
        db.session.add(form)
        db.session.flush()
        # The text itself stays in the version's row: the audit log names what was published.
        audit.record(
            by,
            "settings.consent_published",
            at=now,
            changes={
                "version": (None, form.version),
                "title": (None, form.title),
                "effective_on": (None, form.effective_on),
            },
            detail=f"sha256 {form.sha256[:12]}",
        )
    return form


def _shape_errors(title: str, text: str) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if len(title) < TITLE_MIN_CHARS:
        errors["title"] = ["Give the form a title, like “Consent to scalp microneedling”."]
    elif len(title) > TITLE_MAX_CHARS:
        errors["title"] = [f"Keep the title under {TITLE_MAX_CHARS} characters."]
    elif _CONTROL.search(title):
        errors["title"] = ["The title has a character that cannot be shown; retype it."]
    words = text.strip()
    if len(words) < TEXT_MIN_CHARS:
        errors["text"] = [
            f"The text is too short to say what the patient agrees to (at least "
            f"{TEXT_MIN_CHARS} characters)."
        ]
    elif len(text) > TEXT_MAX_CHARS:
        errors["text"] = [
            f"Keep the text under {TEXT_MAX_CHARS:,} characters (this one has {len(text):,})."
        ]
    elif _CONTROL.search(text):
        errors["text"] = [
            "The text has a control character that cannot be shown (often pasted from another "
            "program); retype the line it is on."
        ]
    return errors


def _date_errors(effective_on: date, newest: ConsentForm) -> dict[str, list[str]]:
    today = consent_services.clinic_today()
    if effective_on < today:
        return {"effective_on": ["The date must be today or later."]}
    if effective_on > today + timedelta(days=EFFECTIVE_MAX_DAYS_AHEAD):
        return {"effective_on": ["The date must be within a year from today."]}
    if effective_on < newest.effective_on:
        return {
            "effective_on": [
                f"The date must be on or after version {newest.version}'s "
                f"({format_long_date(newest.effective_on)}): versions take effect in order."
            ]
        }
    return {}


def published_by_label(form: ConsentForm) -> str:
    """Who published a version: a staff member's name, or "Built in" for the text the
    application seeds as version 1."""
    return form.published_by.name if form.published_by is not None else "Built in"
