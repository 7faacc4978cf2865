"""Waitlist use cases: join, withdraw, note a freed time, offer it, take an offer.

Who is offered what:
- A visit that frees its time (cancelled, declined, a no-show, moved away) leaves an opening,
  written by the lifecycle subscriber in the same transaction as the change: if the change
  rolls back, so does the opening, and if the process dies after the commit nothing is lost.
- Every dispatcher pass (``offer_pass``, run before the texts are sent) expires offers whose
  time ran out, then, for each open opening, under the booking write lock: closes it if the
  time is no longer bookable, else tops its open offers up to WAITLIST_OFFER_BATCH from the
  matching waiting entries, oldest first, each checked with ``find_slots`` for that patient.
- ``take`` books the time through clinic.booking.services.hold in one write transaction; the
  first taker wins, every other open offer of that time becomes gone and its patient is told.
"""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context
from sqlalchemy import exists, func, or_, select, update
from sqlalchemy.orm import joinedload

from clinic.actors import Actor, ActorKind
from clinic.audit import services as audit
from clinic.booking import identity
from clinic.booking import services as booking
from clinic.booking.models import BookingSource
from clinic.catalog.models import Location, Service
from clinic.clock import utcnow
from clinic.consent import services as consent_services
from clinic.consent.services import ConsentInput
from clinic.database import write_transaction
from clinic.errors import DomainError, NotFound, SlotUnavailable, ValidationFailed
from clinic.extensions import db
from clinic.localtime import day_bounds, local_date
from clinic.patients.models import Patient
from clinic.screening import services as screening_services
from clinic.screening.questions import Outcome
from clinic.sms import outbox, suppression
from clinic.sms.kinds import Kind
from clinic.sms.plan import next_opening
from clinic.visits.lifecycle import RELEASED, Change, Event
from clinic.waitlist import rules, tokens
from clinic.waitlist.models import (
    LIVE_ENTRY_STATUSES,
    EntrySource,
    EntryStatus,
    OfferStatus,
    OpeningStatus,
    WaitlistEntry,
    WaitlistOffer,
    WaitlistOpening,
)
from clinic.waitlist.rules import TimeOfDay

SYSTEM = Actor(ActorKind.SYSTEM)
# How long a "that time has gone" text is worth sending.
GONE_TEXT_LIFETIME = timedelta(hours=12)
LONGEST_WISH_DAYS = 92


class OfferClosed(DomainError):
    """An offer that can no longer be taken: another patient took the time, it ran out, or the
    time stopped being free. The page says so; the patient's entry stays on the list."""

    code = "offer_closed"
    status = 410
    title = "This time has gone"


def offer_minutes() -> int:
    return max(1, int(current_app.config["WAITLIST_OFFER_MINUTES"]))


def offer_batch() -> int:
    return max(1, int(current_app.config["WAITLIST_OFFER_BATCH"]))


# --- joining --------------------------------------------------------------------------------


@dataclass(frozen=True)
class JoinRequest:
    service_slug: str
    first_day: date | None
    last_day: date | None
    time_of_day: str
    time_from: time | None = None
    time_to: time | None = None
    practitioner_id: int | None = None
    source: str = EntrySource.ONLINE
    # Online: who is asking (a new patient is made, a known one found, never changed).
    patient: booking.PatientDetails | None = None
    sms_opt_in: bool = False
    # At the desk: a patient found with the patient search.
    patient_id: int | None = None


def join(request: JoinRequest, *, by: Actor) -> WaitlistEntry:
    """Put a patient on the waitlist; ValidationFailed with field messages for what is wrong."""
    online = request.source == EntrySource.ONLINE
    service = booking.service_by_slug(request.service_slug, online_only=online)
    errors = check_wish(request, service)
    if online:
        errors.update(_check_online_patient(request))
    if errors:
        raise ValidationFailed(errors)
    if online:
        check_joins_per_number(request.patient.phone)
    with write_transaction("booking"):
        if online:
            patient = identity.find_or_create_patient(request.patient, True, "online")
        else:
            patient = _desk_patient(request.patient_id)
        _refuse_second_entry(patient, service)
        now = utcnow()
        between = request.time_of_day == TimeOfDay.BETWEEN
        entry = WaitlistEntry(
            patient_id=patient.id,
            service_id=service.id,
            practitioner_id=request.practitioner_id,
            first_day=request.first_day,
            last_day=request.last_day,
            time_of_day=request.time_of_day,
            time_from=request.time_from if between else None,
            time_to=request.time_to if between else None,
            status=EntryStatus.WAITING,
            source=request.source,
            key=secrets.token_hex(16),
            created_at=now,
            updated_at=now,
        )
        db.session.add(entry)
        db.session.flush()
        audit.record(
            by,
            "waitlist.joined",
            at=now,
            patient_id=patient.id,
            changes={"waitlist_entry_id": (None, entry.id), "service_id": (None, service.id)},
        )
    return entry


def check_wish(request: JoinRequest, service) -> dict[str, list[str]]:
    """Field messages for the dates, time of day and practitioner asked for."""
    errors: dict[str, list[str]] = {}
    today = _today()
    config = current_app.config
    online = request.source == EntrySource.ONLINE
    horizon = config["BOOKING_HORIZON_DAYS"] if online else config["DESK_HORIZON_DAYS"]
    first, last = request.first_day, request.last_day
    if first is None:
        errors["first_day"] = ["Enter the first day that would suit."]
    elif first < today:
        errors["first_day"] = ["The first day cannot be in the past."]
    if last is None:
        errors["last_day"] = ["Enter the last day that would suit."]
    elif first is not None and last < first:
        errors["last_day"] = ["The last day must not be before the first day."]
    elif last > today + timedelta(days=horizon):
        errors["last_day"] = [f"We book up to {horizon} days ahead; choose an earlier last day."]
    elif first is not None and (last - first).days + 1 > LONGEST_WISH_DAYS:
        errors["last_day"] = [f"Choose at most {LONGEST_WISH_DAYS} days."]
    if request.time_of_day not in set(TimeOfDay):
        errors["time_of_day"] = ["Choose a time of day."]
    elif request.time_of_day == TimeOfDay.BETWEEN:
        if request.time_from is None:
            errors["time_from"] = ["Enter the earliest start time, like 09:30."]
        if request.time_to is None:
            errors["time_to"] = ["Enter the latest start time, like 14:00."]
        elif request.time_from is not None and request.time_to <= request.time_from:
            errors["time_to"] = ["The latest start time must be after the earliest."]
    if request.practitioner_id is not None:
        offered = {p.id for p in booking.practitioners_for(service)}
        if request.practitioner_id not in offered:
            errors["practitioner_id"] = ["That practitioner does not offer this service."]
    return errors


def _check_online_patient(request: JoinRequest) -> dict[str, list[str]]:
    if request.patient is None:
        return {"full_name": ["Please enter your details."]}
    if not request.sms_opt_in:
        return {"sms_opt_in": ["We offer freed times by text: please agree to texts to join."]}
    try:
        booking.check_text_country(request.patient.phone, True)
    except ValidationFailed as exc:
        return dict(exc.errors)
    return {}


def check_joins_per_number(phone: str) -> None:
    """At most BOOKINGS_PER_NUMBER_PER_DAY online joins per mobile number per local day, as
    for online bookings (0: no limit). The message says nothing of the entries already made."""
    limit = current_app.config["BOOKINGS_PER_NUMBER_PER_DAY"]
    if limit <= 0:
        return
    tz = booking.clinic_timezone()
    day_start, _ = day_bounds(local_date(utcnow(), tz), tz)
    made = db.session.scalar(
        select(func.count(WaitlistEntry.id))
        .join(Patient, Patient.id == WaitlistEntry.patient_id)
        .where(
            Patient.phone == phone,
            WaitlistEntry.source == EntrySource.ONLINE,
            WaitlistEntry.created_at >= day_start,
        )
    )
    if made >= limit:
        raise ValidationFailed(
            {
                "phone": [
                    "We cannot add more waiting list requests for this mobile number today. "
                    f"Please call us on {current_app.config['CLINIC_PHONE']}."
                ]
            },
            message="Too many waiting list requests for this number today.",
        )


def _desk_patient(patient_id: int | None) -> Patient:
    patient = db.session.get(Patient, patient_id) if patient_id else None
    if patient is None or patient.merged_into_id is not None:
        raise ValidationFailed({"patient_id": ["Choose a patient from the search results."]})
    if not may_offer_to(patient):
        raise ValidationFailed(
            {
                "patient_id": [
                    "Freed times are offered by text, and this patient cannot be texted "
                    "(no text consent, a STOP reply or an unusable number)."
                ]
            }
        )
    return patient


def may_offer_to(patient: Patient) -> bool:
    return (
        bool(patient.sms_opt_in)
        and not patient.phone_unusable
        and not suppression.is_suppressed(patient.phone)
    )


def _refuse_second_entry(patient: Patient, service) -> None:
    if patient.id is None:
        return
    already = db.session.scalar(
        select(WaitlistEntry.id).where(
            WaitlistEntry.patient_id == patient.id,
            WaitlistEntry.service_id == service.id,
            WaitlistEntry.status.in_(LIVE_ENTRY_STATUSES),
        )
    )
    if already is not None:
        raise ValidationFailed(
            {
                "service": [
                    "There is already a waiting list request for this service with these "
                    "details. Use the link you were given to change it, or call us."
                ]
            }
        )


# --- an entry's own page ----------------------------------------------------------------------


def entry_from_token(token: str) -> WaitlistEntry:
    return tokens.load(
        tokens.ENTRY,
        WaitlistEntry,
        token,
        "This waiting list link is not valid. Please check it, or call the clinic.",
    )


def entry_token(entry: WaitlistEntry) -> str:
    return tokens.make_token(tokens.ENTRY, entry.id, entry.key)


def withdraw(entry: WaitlistEntry, *, by: Actor) -> WaitlistEntry:
    """Off the list: an open offer it holds closes (the time passes to the next patient)."""
    with write_transaction("booking"):
        db.session.refresh(entry)
        if entry.status not in LIVE_ENTRY_STATUSES:
            return entry  # withdrawing twice, or after booking, changes nothing
        now = utcnow()
        before = entry.status
        for offer in _open_offers(entry_id=entry.id):
            offer.status, offer.closed_at = OfferStatus.GONE, now
            if offer.text_id:
                outbox.cancel_text(offer.text_id, "waitlist entry withdrawn")
        entry.status, entry.updated_at = EntryStatus.WITHDRAWN, now
        audit.record(
            by,
            "waitlist.withdrawn",
            at=now,
            patient_id=entry.patient_id,
            changes={"status": (str(before), str(EntryStatus.WITHDRAWN))},
        )
    return entry


def withdraw_by_id(entry_id: int, *, by: Actor) -> WaitlistEntry:
    entry = db.session.get(WaitlistEntry, entry_id)
    if entry is None:
        raise NotFound("There is no such waiting list entry.")
    return withdraw(entry, by=by)


# --- the desk's list ----------------------------------------------------------------------------


def active_services() -> list[Service]:
    """Every service the clinic offers (the desk may waitlist for services not booked online)."""
    return list(db.session.scalars(select(Service).where(Service.active).order_by(Service.id)))


def entries(*, status: str = "live", service_id: int | None = None) -> list[WaitlistEntry]:
    """Entries oldest first: "live" (waiting or offered), one status, or "all"."""
    query = select(WaitlistEntry).options(
        joinedload(WaitlistEntry.patient),
        joinedload(WaitlistEntry.service),
        joinedload(WaitlistEntry.practitioner),
    )
    if status == "live":
        query = query.where(WaitlistEntry.status.in_(LIVE_ENTRY_STATUSES))
    elif status in set(EntryStatus):
        query = query.where(WaitlistEntry.status == status)
    if service_id is not None:
        query = query.where(WaitlistEntry.service_id == service_id)
    return list(db.session.scalars(query.order_by(WaitlistEntry.created_at, WaitlistEntry.id)))


# --- a freed time (the lifecycle subscriber) ------------------------------------------------------


def note_freed_time(change: Change) -> None:
    """Inside the change's transaction: a visit that let go of a time still to come leaves an
    opening for the next dispatcher pass to offer."""
    if not has_app_context():
        return
    visit = change.visit
    if change.event is Event.MOVE:
        moved = {"start_at", "practitioner_id", "room_id"} & set(change.fields)
        if not moved:
            return

        def before(name):
            return change.fields[name][0] if name in change.fields else getattr(visit, name)

        freed = {name: before(name) for name in ("start_at", "practitioner_id", "room_id")}
        freed["location_id"] = before("location_id")
    elif change.after in RELEASED and change.before is not None and change.before not in RELEASED:
        freed = {
            "start_at": visit.start_at,
            "practitioner_id": visit.practitioner_id,
            "room_id": visit.room_id,
            "location_id": visit.location_id,
        }
    else:
        return
    if freed["start_at"] is None or freed["start_at"] <= change.at:
        return
    already = db.session.scalar(
        select(WaitlistOpening.id).where(
            WaitlistOpening.practitioner_id == freed["practitioner_id"],
            WaitlistOpening.start_at == freed["start_at"],
            WaitlistOpening.status == OpeningStatus.OPEN,
        )
    )
    if already is not None:
        return
    db.session.add(
        WaitlistOpening(
            service_id=visit.service_id,
            freed_by_id=visit.id,
            status=OpeningStatus.OPEN,
            created_at=change.at,
            updated_at=change.at,
            **freed,
        )
    )


# --- offering (each dispatcher pass) -----------------------------------------------------------


def offer_pass() -> Counter:
    """Expire what ran out, then offer every open freed time. Each opening in its own write
    transaction, under the booking lock: no booking can slip in between check and offer."""
    report: Counter = Counter()
    now, today = utcnow(), _today()
    if _anything_lapsed(now, today):
        # Only then the write lock: most passes have nothing to expire.
        with write_transaction("booking"):
            report["offers expired"] += _expire_offers(now)
            report["entries expired"] += _expire_entries(today)
    opening_ids = list(
        db.session.scalars(
            select(WaitlistOpening.id)
            .where(WaitlistOpening.status == OpeningStatus.OPEN)
            .order_by(WaitlistOpening.start_at, WaitlistOpening.id)
        )
    )
    db.session.rollback()  # end the read: each opening is worked on under the lock
    for opening_id in opening_ids:
        with write_transaction("booking"):
            report.update(_work_on(opening_id, utcnow()))
    return +report


def _anything_lapsed(now: datetime, today: date) -> bool:
    lapsed_offer = exists().where(
        WaitlistOffer.status == OfferStatus.OPEN, WaitlistOffer.expires_at <= now
    )
    lapsed_entry = exists().where(
        WaitlistEntry.status == EntryStatus.WAITING, WaitlistEntry.last_day < today
    )
    return bool(db.session.scalar(select(or_(lapsed_offer, lapsed_entry))))


def _expire_offers(now: datetime) -> int:
    lapsed = list(
        db.session.scalars(
            select(WaitlistOffer).where(
                WaitlistOffer.status == OfferStatus.OPEN, WaitlistOffer.expires_at <= now
            )
        )
    )
    for offer in lapsed:
        offer.status, offer.closed_at = OfferStatus.EXPIRED, now
        _back_to_waiting(offer.entry, now)
    return len(lapsed)


def _expire_entries(today: date) -> int:
    result = db.session.execute(
        update(WaitlistEntry)
        .where(WaitlistEntry.status == EntryStatus.WAITING, WaitlistEntry.last_day < today)
        .values(status=EntryStatus.EXPIRED, updated_at=utcnow())
    )
    return result.rowcount


def _back_to_waiting(entry: WaitlistEntry, now: datetime) -> None:
    if entry.status == EntryStatus.OFFERED:
        expired = entry.last_day < _today()
        entry.status = EntryStatus.EXPIRED if expired else EntryStatus.WAITING
        entry.updated_at = now


def _work_on(opening_id: int, now: datetime) -> Counter:
    report: Counter = Counter()
    opening = db.session.get(WaitlistOpening, opening_id)
    db.session.refresh(opening)
    if opening.status != OpeningStatus.OPEN:
        return report
    if opening.start_at <= now or not _free_for(opening, None):
        report["told it has gone"] += _close(opening, OpeningStatus.GONE, now)
        report["times gone"] += 1
        return report
    need = offer_batch() - len(_open_offers(opening_id=opening.id))
    if need <= 0:
        return report
    location = db.session.get(Location, opening.location_id)
    tz = ZoneInfo(location.timezone)
    sent_at = next_opening(now, tz, outbox.care_policy())
    notice = booking.policy(BookingSource.ONLINE).min_notice
    if not rules.worth_offering(sent_at, opening.start_at, notice):
        return report  # the morning comes too late for this time; it stays for the desk
    for entry in _candidates(opening, tz):
        if need <= 0:
            break
        if not may_offer_to(entry.patient) or not _free_for(opening, entry.patient):
            continue
        _offer(opening, entry, sent_at, now)
        report["offers made"] += 1
        need -= 1
    return report


def _free_for(opening: WaitlistOpening, patient: Patient | None) -> bool:
    """Whether the time is still bookable online: for anyone, or for this patient (the
    needling gap and every other rule of ``find_slots``)."""
    day = opening.start_at.astimezone(booking.clinic_timezone()).date()
    slots = booking.find_slots(
        opening.service, day, day, practitioner_id=opening.practitioner_id, patient=patient
    )
    return any(slot.start == opening.start_at for slot in slots)


def _candidates(opening: WaitlistOpening, tz: ZoneInfo) -> list[WaitlistEntry]:
    """Waiting entries this time suits, in fair order: oldest first."""
    local_start = opening.start_at.astimezone(tz)
    day = local_start.date()
    offered_already = exists().where(
        WaitlistOffer.opening_id == opening.id, WaitlistOffer.entry_id == WaitlistEntry.id
    )
    query = (
        select(WaitlistEntry)
        .options(joinedload(WaitlistEntry.patient))
        .where(
            WaitlistEntry.service_id == opening.service_id,
            WaitlistEntry.status == EntryStatus.WAITING,
            WaitlistEntry.first_day <= day,
            WaitlistEntry.last_day >= day,
            or_(
                WaitlistEntry.practitioner_id.is_(None),
                WaitlistEntry.practitioner_id == opening.practitioner_id,
            ),
            ~offered_already,
        )
        .order_by(WaitlistEntry.created_at, WaitlistEntry.id)
    )
    freed = rules.FreedTime(opening.service_id, opening.practitioner_id, local_start)
    return [entry for entry in db.session.scalars(query) if rules.matches(_wish(entry), freed)]


def _wish(entry: WaitlistEntry) -> rules.Wish:
    return rules.Wish(
        service_id=entry.service_id,
        practitioner_id=entry.practitioner_id,
        first_day=entry.first_day,
        last_day=entry.last_day,
        time_of_day=entry.time_of_day,
        time_from=entry.time_from,
        time_to=entry.time_to,
    )


def _offer(opening: WaitlistOpening, entry: WaitlistEntry, sent_at: datetime, now: datetime):
    expires_at = rules.offer_expiry(sent_at, offer_minutes(), opening.start_at)
    offer = WaitlistOffer(
        opening_id=opening.id,
        entry_id=entry.id,
        key=secrets.token_hex(16),
        offered_at=sent_at,
        expires_at=expires_at,
        status=OfferStatus.OPEN,
        created_at=now,
    )
    db.session.add(offer)
    db.session.flush()
    text = outbox.plan_for_patient(
        entry.patient_id, Kind.WAITLIST_OFFER, send_at=sent_at, expires_at=expires_at
    )
    offer.text_id = text.id
    entry.status, entry.updated_at = EntryStatus.OFFERED, now
    return offer


def _open_offers(*, opening_id: int | None = None, entry_id: int | None = None):
    query = select(WaitlistOffer).where(WaitlistOffer.status == OfferStatus.OPEN)
    if opening_id is not None:
        query = query.where(WaitlistOffer.opening_id == opening_id)
    if entry_id is not None:
        query = query.where(WaitlistOffer.entry_id == entry_id)
    return list(db.session.scalars(query.order_by(WaitlistOffer.id)))


def _close(opening: WaitlistOpening, status: str, now: datetime, *, keep=None) -> int:
    """Close the opening; every other open offer of it is gone and its patient told (a text
    not sent yet is simply cancelled). Returns how many were told."""
    opening.status, opening.updated_at = status, now
    told = 0
    for offer in _open_offers(opening_id=opening.id):
        if keep is not None and offer.id == keep.id:
            continue
        offer.status, offer.closed_at = OfferStatus.GONE, now
        _back_to_waiting(offer.entry, now)
        if offer.text_id and outbox.cancel_text(offer.text_id, "waitlist time gone"):
            continue  # they never heard of it: nothing to take back
        gone = outbox.plan_for_patient(
            offer.entry.patient_id,
            Kind.WAITLIST_GONE,
            send_at=now,
            expires_at=now + GONE_TEXT_LIFETIME,
        )
        offer.gone_text_id = gone.id
        told += 1
    return told


# --- taking an offer --------------------------------------------------------------------------


def offer_from_token(token: str) -> WaitlistOffer:
    return tokens.load(
        tokens.OFFER,
        WaitlistOffer,
        token,
        "This offer link is not valid. Please check it, or call the clinic.",
    )


def offer_token(offer: WaitlistOffer) -> str:
    return tokens.make_token(tokens.OFFER, offer.id, offer.key)


def ensure_open(offer: WaitlistOffer) -> None:
    """OfferClosed (410) unless this offer can still be taken now."""
    phone = current_app.config["CLINIC_PHONE"]
    if offer.status == OfferStatus.TAKEN:
        raise OfferClosed("You have already booked this time.", details={"state": "taken"})
    if offer.status == OfferStatus.EXPIRED or (
        offer.status == OfferStatus.OPEN and utcnow() >= offer.expires_at
    ):
        raise OfferClosed(
            "This offer has ended. You are still on our waiting list, and we will text you if "
            f"another time comes free. To talk to us, call {phone}.",
            details={"state": "expired"},
        )
    if offer.status != OfferStatus.OPEN or offer.opening.status != OpeningStatus.OPEN:
        raise OfferClosed(
            "Sorry, this time has gone: someone else booked it first. You are still on our "
            f"waiting list, and we will text you if another time comes free. Or call {phone}.",
            details={"state": "gone"},
        )


def take(
    offer: WaitlistOffer,
    answers: Mapping[str, object],
    consent: ConsentInput | None,
    *,
    by: Actor,
):
    """Book the offered time for the entry's patient, with the screening and consent an online
    booking of the service asks for. The first taker wins; the others get OfferClosed.

    Raises OfferClosed, ScreeningStopped (nothing is stored), ValidationFailed."""
    ensure_open(offer)
    entry, opening = offer.entry, offer.opening
    patient, service = entry.patient, opening.service
    location = db.session.get(Location, opening.location_id)
    visit_day = opening.start_at.astimezone(ZoneInfo(location.timezone)).date()
    result = screening_services.assess(
        service, answers, date_of_birth=patient.date_of_birth, on=visit_day, phone=location.phone
    )
    if service.needles:
        errors = consent_services.check_input(consent, patient.full_name)
        if errors:
            raise ValidationFailed(errors, message="Please read and sign the consent form.")
    try:
        with booking.conflicts_mean_taken(), write_transaction("booking"):
            db.session.refresh(offer)
            db.session.refresh(opening)
            ensure_open(offer)
            appointment = booking.hold(
                service,
                opening.start_at,
                opening.practitioner_id,
                patient,
                source=BookingSource.ONLINE,
                by=by,
                held_for_review=result.outcome is Outcome.REVIEW,
            )
            screening_services.record(
                patient, appointment, service, answers, result, source=BookingSource.ONLINE
            )
            if service.needles:
                signature = consent_services.sign(patient, consent, appointment=appointment)
                booking.record_signature(by, signature, appointment)
            now = utcnow()
            offer.status, offer.closed_at, offer.appointment_id = (
                OfferStatus.TAKEN,
                now,
                appointment.id,
            )
            entry.status, entry.appointment_id, entry.updated_at = (
                EntryStatus.BOOKED,
                appointment.id,
                now,
            )
            _close(opening, OpeningStatus.FILLED, now, keep=offer)
            db.session.flush()  # the one-taker index speaks here, inside the lock
            audit.record(
                by,
                "waitlist.offer_taken",
                at=now,
                patient_id=patient.id,
                appointment_id=appointment.id,
                changes={"waitlist_offer_id": (None, offer.id)},
            )
    except SlotUnavailable as exc:
        _time_gone(opening.id)
        raise OfferClosed(
            "Sorry, this time has gone: it was booked a moment ago. You are still on our "
            "waiting list.",
            details={"state": "gone"},
        ) from exc
    return appointment


def _time_gone(opening_id: int) -> None:
    """The time was not free when this taker came: close it for everyone now."""
    with write_transaction("booking"):
        opening = db.session.get(WaitlistOpening, opening_id)
        db.session.refresh(opening)
        if opening.status == OpeningStatus.OPEN:
            _close(opening, OpeningStatus.GONE, utcnow())


# --- what the texts say ------------------------------------------------------------------------


def text_values(text_ids: Collection[int]) -> dict[int, dict[str, str]]:
    """{date}, {time}, {phone} and {link} for offer texts and "it has gone" texts, in one query."""
    ids = sorted(text_ids)
    rows = db.session.execute(
        select(
            WaitlistOffer.id,
            WaitlistOffer.key,
            WaitlistOffer.text_id,
            WaitlistOffer.gone_text_id,
            WaitlistOpening.start_at,
            Location.timezone,
            Location.phone,
        )
        .join(WaitlistOpening, WaitlistOpening.id == WaitlistOffer.opening_id)
        .join(Location, Location.id == WaitlistOpening.location_id)
        .where(or_(WaitlistOffer.text_id.in_(ids), WaitlistOffer.gone_text_id.in_(ids)))
    ).all()
    wanted = set(ids)
    values: dict[int, dict[str, str]] = {}
    for row in rows:
        local = row.start_at.astimezone(ZoneInfo(row.timezone))
        shared = {
            "date": f"{local:%A} {local.day} {local:%B}",
            "time": f"{local:%H:%M}",
            "phone": row.phone or current_app.config["CLINIC_PHONE"],
            "link": tokens.url_for_token(tokens.OFFER, row.id, row.key),
        }
        for text_id in (row.text_id, row.gone_text_id):
            if text_id in wanted:
                values[text_id] = shared
    return values


def _today() -> date:
    return utcnow().astimezone(booking.clinic_timezone()).date()
