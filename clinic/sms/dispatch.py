"""The dispatcher: claim due rows atomically, send them, record what happened.

Two dispatchers never send the same row: claims take the database's write lock (SQLite's
BEGIN IMMEDIATE) or skip rows another transaction holds (PostgreSQL's FOR UPDATE SKIP LOCKED).
A claim is a lease: a row left in ``sending`` by a crashed dispatcher is, once its lease runs
out, reconciled by asking Twilio whether it already took the text, before any resend.

The bookkeeping is done in bulk (one query per table per batch, one executemany per kind of
outcome) so that it costs little next to the call to Twilio. What a text says about its visit
(time, place, private link) comes from booking through hooks.visit_details, one call per batch:
the texts package sits beneath booking and never imports it.
"""

from __future__ import annotations

import functools
import secrets
import threading
import time as monotonic_time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import bindparam, case, func, literal, select, update

from clinic.clock import utcnow
from clinic.database import write_transaction
from clinic.extensions import db
from clinic.localtime import day_bounds, local_date
from clinic.patients.models import Patient
from clinic.patients.phones import may_text
from clinic.sms import alerts, escalation, hooks, hours, outbox
from clinic.sms.gsm import encoding_of
from clinic.sms.hooks import VisitDetails
from clinic.sms.inbound import apply_reports
from clinic.sms.kinds import SAFETY_REPLY_KINDS, Kind
from clinic.sms.models import (
    MessageTemplate,
    OutboundText,
    SmsSuppression,
    StaffAlert,
    TextStatus,
)
from clinic.sms.plan import next_opening, within_quiet_hours
from clinic.sms.senders import PermanentSendError, TransientSendError, get_sender
from clinic.sms.wording import DEFAULTS, OPT_OUT_LINE, render

# Answers that may still go to a patient who has opted out.
ALLOWED_AFTER_OPT_OUT = {Kind.REPLY_OPT_OUT, Kind.REPLY_HELP, *SAFETY_REPLY_KINDS}
REPLY_KINDS = {k for k in Kind if k.value.startswith("reply_")}
# Texts the daily caps never hold: a safety answer must go. Texts with no patient (to the
# clinician on call, or a safety answer to an unknown number) are never held either.
NEVER_HELD = ALLOWED_AFTER_OPT_OUT
HELD_FOR_NUMBER = "held: this number's daily text limit"
HELD_FOR_CLINIC = "held: the clinic's daily text limit"


@dataclass
class PassReport:
    counts: Counter = field(default_factory=Counter)

    def add(self, outcome: str, n: int = 1) -> None:
        self.counts[outcome] += n

    def __str__(self) -> str:
        if not self.counts:
            return "nothing due"
        return ", ".join(f"{name} {n}" for name, n in sorted(self.counts.items()))


@dataclass(frozen=True)
class Claimed:
    """What sending one claimed text needs, read inside the claim's transaction."""

    id: int
    kind: str
    patient_id: int | None  # None: a text to staff, or a safety reply to an unknown number
    to_number: str
    body: str
    segments: int
    expires_at: datetime
    immediate: bool
    attempts: int
    opted_in: bool
    phone_unusable: bool
    first_text: bool
    tz: ZoneInfo


class _RateLimiter:
    """Segments per second to the provider, shared by the sending threads; 0 switches it off
    (tests, benchmarks). Each caller books its slot under the lock, then waits for it."""

    def __init__(self, per_second: float):
        self.interval = 1.0 / per_second if per_second > 0 else 0.0
        self.next_free = 0.0
        self._lock = threading.Lock()

    def wait(self, segments: int) -> None:
        if not self.interval:
            return
        with self._lock:
            now = monotonic_time.monotonic()
            slot = max(now, self.next_free)
            self.next_free = slot + self.interval * segments
        if slot > now:
            monotonic_time.sleep(slot - now)


def dispatch_pass(*, max_rows: int | None = None) -> PassReport:
    """Plan the escalation texts now due, reconcile abandoned claims, send every due text (up to
    max_rows), raise a phone task for each safety text that came due and will not reach its
    patient, then run the registered dispatch steps (the email outbox)."""
    config = current_app.config
    report = PassReport()
    for name, step in hooks.prepare_steps().items():
        for outcome, n in step().items():
            report.add(f"{name} {outcome}", n)
    planned = escalation.escalate_due()
    if planned:
        report.add("escalations planned", planned)
    reconcile_abandoned(report)
    limiter = _RateLimiter(config["SMS_SEGMENTS_PER_SECOND"])
    handled = 0
    while max_rows is None or handled < max_rows:
        size = config["SMS_BATCH_SIZE"]
        if max_rows is not None:
            size = min(size, max_rows - handled)
        token, batch = claim_batch(size)
        if not batch:
            break
        _send_batch(token, batch, limiter, report)
        handled += len(batch)
    # After sending, so a safety text skipped in this very pass gets its task in it too.
    tasks = alerts.raise_missed_safety_tasks()
    if tasks:
        report.add("phone tasks (safety text missed)", tasks)
    for name, step in hooks.dispatch_steps().items():
        for outcome, n in step().items():
            report.add(f"{name} {outcome}", n)
    return report


# --- claiming ---------------------------------------------------------------------------------


def claim_batch(size: int) -> tuple[str, list[Claimed]]:
    now = utcnow()
    token = secrets.token_hex(16)
    lease = now + timedelta(seconds=current_app.config["SMS_CLAIM_LEASE_SECONDS"])
    clinic_tz = current_app.config["CLINIC_TIMEZONE"]
    with write_transaction("sms-dispatch", lock=False):
        query = (
            _text_query()
            .where(_OT.c.status == TextStatus.PENDING, _OT.c.send_at <= now)
            .order_by(_OT.c.send_at, _OT.c.id)
            .limit(size)
        )
        if db.session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True, of=_OT)
        rows = db.session.execute(query).all()
        if not rows:
            return token, []
        templates = _templates()
        visits = _visits(rows)
        extras = _extra_values(rows)
        introduced: set[str] = set()  # numbers this batch already tells how to opt out
        claimed, changes = [], []
        for row in rows:
            visit = visits.get(row.appointment_id)
            body = _body_for(row, visit, templates, introduced, extras.get(row.id))
            segments = encoding_of(body).segments
            to_staff = row.patient_id is None
            claimed.append(
                Claimed(
                    id=row.id,
                    kind=row.kind,
                    patient_id=row.patient_id,
                    to_number=_number(row),
                    body=body,
                    segments=segments,
                    expires_at=row.expires_at,
                    immediate=row.immediate,
                    attempts=row.attempts + 1,
                    opted_in=to_staff or (row.sms_opt_in and row.suppressed_phone is None),
                    phone_unusable=not to_staff and row.phone_unusable,
                    first_text=not to_staff and row.first_text_at is None,
                    tz=_zone(visit.timezone if visit else clinic_tz),
                )
            )
            # The exact text and number are kept before sending, so a crash can be
            # reconciled against what Twilio holds.
            changes.append(
                {
                    "b_id": row.id,
                    "attempts": row.attempts + 1,
                    "to_number": _number(row),
                    "body": body,
                    "segments": segments,
                }
            )
        db.session.execute(
            update(_OT)
            .where(_OT.c.id == bindparam("b_id"))
            .values(
                status=TextStatus.SENDING,
                claim_token=token,
                claimed_at=now,
                lease_until=lease,
                updated_at=now,
            ),
            changes,
        )
    return token, claimed


_OT = OutboundText.__table__
_PATIENT = Patient.__table__
_ALERT = StaffAlert.__table__
_SUPPRESSED = SmsSuppression.__table__


def _number(row) -> str:
    """A patient's text goes to their number as it is now; a text to staff to the number it
    was planned with."""
    return row.phone if row.patient_id is not None else row.to_number


def _text_query():
    """One row per text with what rendering and sending it needs: plain columns, no objects,
    because this runs for every text the clinic sends. A text with no patient goes to its own
    to_number with no consent on record: the clinician on call (escalation texts name their
    alert's level and age) or the safety reply to a number that matches no patient."""
    return select(
        _OT.c.id,
        _OT.c.kind,
        _OT.c.patient_id,
        _OT.c.appointment_id,
        _OT.c.expires_at,
        _OT.c.immediate,
        _OT.c.attempts,
        _OT.c.to_number,
        _PATIENT.c.phone,
        _PATIENT.c.sms_opt_in,
        _PATIENT.c.phone_unusable,
        _PATIENT.c.first_text_at,
        _SUPPRESSED.c.phone.label("suppressed_phone"),
        _ALERT.c.level.label("alert_level"),
        _ALERT.c.created_at.label("alert_created_at"),
    ).select_from(
        _OT.outerjoin(_PATIENT, _PATIENT.c.id == _OT.c.patient_id)
        .outerjoin(_ALERT, _ALERT.c.id == _OT.c.alert_id)
        # A number on the suppression list (it said STOP) takes only the answers to that STOP.
        .outerjoin(_SUPPRESSED, _SUPPRESSED.c.phone == _PATIENT.c.phone)
    )


def _visits(rows) -> dict[int, VisitDetails]:
    return dict(hooks.visit_details({r.appointment_id for r in rows if r.appointment_id}))


def _extra_values(rows) -> dict[int, dict[str, str]]:
    """Values for texts about no visit, from the feature that planned them (one call per kind)."""
    by_kind: dict[str, list[int]] = defaultdict(list)
    for row in rows:
        if row.appointment_id is None and row.patient_id is not None:
            by_kind[row.kind].append(row.id)
    values: dict[int, dict[str, str]] = {}
    for kind, ids in by_kind.items():
        for text_id, found in hooks.text_values(kind, ids).items():
            values[text_id] = dict(found)
    return values


@functools.lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def render_body(text: OutboundText) -> str:
    """The words this text would go out with now (for previews; sending uses the same)."""
    row = db.session.execute(_text_query().where(_OT.c.id == text.id)).one()
    visit = _visits([row]).get(row.appointment_id)
    return _body_for(row, visit, _templates(), set(), _extra_values([row]).get(row.id))


def _body_for(
    row,
    visit: VisitDetails | None,
    templates: dict[str, str],
    introduced: set[str],
    extra: dict[str, str] | None = None,
) -> str:
    template = templates.get(row.kind) or DEFAULTS[Kind(row.kind)]
    values = _values(row, visit)
    values.update(extra or {})
    text = render(template, values)
    first = row.patient_id is not None and row.first_text_at is None and row.phone not in introduced
    if first and row.kind != Kind.REPLY_OPT_OUT:
        text += OPT_OUT_LINE
        introduced.add(row.phone)
    return text


def _templates() -> dict[str, str]:
    return dict(db.session.execute(select(MessageTemplate.kind, MessageTemplate.body)).all())


def _values(row, visit: VisitDetails | None) -> dict[str, str]:
    config = current_app.config
    clinic_tz = _zone(config["CLINIC_TIMEZONE"])
    values = {
        "clinic": config["CLINIC_NAME"],
        "phone": config["CLINIC_PHONE"],
        "link": config["PUBLIC_BASE_URL"] + "/",
        "emergency": config["CLINIC_EMERGENCY_NUMBER"],
        "out_of_hours": config["OUT_OF_HOURS_ADVICE"],
    }
    if row.kind == Kind.REPLY_URGENT_CLOSED:
        opening_hours = hours.parse(config["CLINIC_OPEN_HOURS"])
        values["opens"] = hours.describe_opening(utcnow(), clinic_tz, opening_hours)
    if row.kind == Kind.ALERT_ESCALATION and row.alert_created_at is not None:
        values["level"] = str(row.alert_level).upper()
        values["since"] = _since(row.alert_created_at, clinic_tz)
        values["link"] = escalation.alerts_page_url()
    if visit is not None:
        values.update(_when(visit.start_at, _zone(visit.timezone)))
        values["phone"] = visit.phone
        if row.kind != Kind.COURSE_NUDGE:
            values["link"] = visit.link
    if row.kind == Kind.REVIEW_7D:
        upcoming = hooks.next_visit(row.patient_id)
        if upcoming is not None:
            when = _when(upcoming.start_at, _zone(upcoming.timezone))
            values["next_visit"] = f"Your next visit: {when['date']} at {when['time']}."
        else:
            values["next_visit"] = f"Book your next visit: {config['PUBLIC_BASE_URL']}/"
    return values


def _since(moment: datetime, tz: ZoneInfo) -> str:
    local, today = moment.astimezone(tz), utcnow().astimezone(tz).date()
    return f"{local:%H:%M}" if local.date() == today else f"{local:%H:%M} on {local:%A}"


def _when(start: datetime, tz: ZoneInfo) -> dict[str, str]:
    local = start.astimezone(tz)
    return {"date": f"{local:%A} {local.day} {local:%B}", "time": f"{local:%H:%M}"}


# --- sending ----------------------------------------------------------------------------------


def _send_batch(token: str, batch: list[Claimed], limiter, report: PassReport) -> None:
    max_attempts = current_app.config["SMS_MAX_ATTEMPTS"]
    policy = outbox.care_policy()
    now = utcnow()
    results: list[dict] = []
    followups: list[tuple[str, Claimed, object]] = []
    ready: list[Claimed] = []
    for text in batch:
        if now >= text.expires_at:
            results.append(_skip(text, "expired before it could go"))
            report.add("skipped (expired)")
        elif text.phone_unusable:
            results.append(_skip(text, "number unusable"))
            report.add("skipped (number unusable)")
        elif not _may_text(text):
            results.append(_skip(text, "no consent to texts"))
            report.add("skipped (no consent)")
        elif not _country_allowed(text):
            results.append(_skip(text, "number outside SMS_ALLOWED_COUNTRIES"))
            report.add("skipped (country not allowed)")
        elif not text.immediate and within_quiet_hours(now, text.tz, policy):
            opening = next_opening(now, text.tz, policy)
            if opening >= text.expires_at:
                results.append(_skip(text, "expired in quiet hours"))
                report.add("skipped (expired)")
            else:
                # Not an attempt: the claim gives the attempt back.
                results.append(
                    _change(text, TextStatus.PENDING, send_at=opening, attempts=text.attempts - 1)
                )
                report.add("deferred (quiet hours)")
        else:
            ready.append(text)
    ready = _within_caps(ready, now, results, followups, report)
    for text, outcome in _send_all(ready, limiter):
        sent_at = utcnow()
        if isinstance(outcome, TransientSendError):
            if outcome.status is None:
                # No answer at all (a timeout): Twilio may have taken the text. Leave it
                # claimed with a short lease, so the next pass asks Twilio before any resend.
                lease = sent_at + _backoff(text.attempts)
                results.append(_change(text, TextStatus.SENDING, lease_until=lease, error=outcome))
                report.add("no answer (check later)")
            elif text.attempts >= max_attempts:
                results.append(_change(text, TextStatus.FAILED, error=outcome))
                followups.append(("failed", text, outcome.code))
                report.add("failed")
            else:
                retry_at = sent_at + _backoff(text.attempts)
                results.append(_change(text, TextStatus.PENDING, send_at=retry_at, error=outcome))
                report.add("retry later")
        elif isinstance(outcome, PermanentSendError):
            results.append(_change(text, TextStatus.FAILED, error=outcome))
            followups.append(("failed", text, outcome.code))
            report.add("failed")
        else:
            results.append(
                _change(
                    text,
                    TextStatus.SENT,
                    provider_sid=outcome.sid,
                    sent_at=sent_at,
                    segments=outcome.segments or text.segments,
                    error_code="",
                    error_message="",
                )
            )
            if text.first_text:
                followups.append(("first", text, None))
            report.add("sent")
    _record(token, results, followups)


def _send_all(texts: list[Claimed], limiter):
    """Send through SMS_SEND_CONCURRENCY connections at once: each call to Twilio mostly waits
    on the network, so one at a time would cap a clinic far below its number's rate."""
    if not texts:
        return []
    sender = get_sender()
    callback = current_app.config["PUBLIC_BASE_URL"] + "/sms/status"

    def send_one(text: Claimed):
        limiter.wait(text.segments or 1)
        try:
            return text, sender.send(text.to_number, text.body, status_callback=callback)
        except (TransientSendError, PermanentSendError) as exc:
            return text, exc

    workers = current_app.config["SMS_SEND_CONCURRENCY"]
    if workers <= 1 or len(texts) == 1:
        return [send_one(text) for text in texts]
    return list(_pool(workers).map(send_one, texts))


_pools: dict[int, ThreadPoolExecutor] = {}
_pools_lock = threading.Lock()


def _pool(workers: int) -> ThreadPoolExecutor:
    # Long-lived threads keep their Twilio connections open from one batch to the next.
    with _pools_lock:
        pool = _pools.get(workers)
        if pool is None:
            pool = _pools[workers] = ThreadPoolExecutor(workers, thread_name_prefix="sms-send")
        return pool


def _may_text(text: Claimed) -> bool:
    if text.patient_id is None:
        return True  # staff: no patient's consent or opt-out applies
    if text.kind in REPLY_KINDS:
        return text.opted_in or text.kind in ALLOWED_AFTER_OPT_OUT
    return text.opted_in


def _country_allowed(text: Claimed) -> bool:
    """Whatever the database holds, no text goes abroad beyond SMS_ALLOWED_COUNTRIES; the
    on-call phone is the clinic's own setting, not a number anyone typed in."""
    config = current_app.config
    if text.patient_id is None and text.to_number == config["ON_CALL_PHONE"]:
        return True
    return may_text(text.to_number, config["SMS_ALLOWED_COUNTRIES"])


def _within_caps(
    ready: list[Claimed], now: datetime, results: list, followups: list, report: PassReport
) -> list[Claimed]:
    """Hold the texts above SMS_MAX_PER_NUMBER_PER_DAY or SMS_MAX_PER_DAY (0: no cap) until
    the clinic's next local day; answers to STOP and safety answers always go. One query for
    the batch counts what each of its numbers, and the clinic, sent today."""
    config = current_app.config
    per_number, per_day = config["SMS_MAX_PER_NUMBER_PER_DAY"], config["SMS_MAX_PER_DAY"]
    capped = [text for text in ready if _cap_applies(text)]
    if not capped or (per_number <= 0 and per_day <= 0):
        return ready
    tz = _zone(config["CLINIC_TIMEZONE"])
    day_start, next_day = day_bounds(local_date(now, tz), tz)
    sent_today = _sent_since(day_start, {text.to_number for text in capped}, per_number > 0)
    clinic_total = sum(sent_today.values())
    policy = outbox.care_policy()
    kept: list[Claimed] = []
    for text in ready:
        if _cap_applies(text):
            reason = None
            if per_number > 0 and sent_today.get(text.to_number, 0) >= per_number:
                reason = HELD_FOR_NUMBER
            elif per_day > 0 and clinic_total >= per_day:
                reason = HELD_FOR_CLINIC
            if reason is not None:
                send_at = next_day if text.immediate else next_opening(next_day, text.tz, policy)
                results.append(
                    _change(
                        text,
                        TextStatus.PENDING,
                        send_at=send_at,
                        attempts=text.attempts - 1,
                        error_message=reason,
                    )
                )
                followups.append((reason, text, None))
                report.add("held (daily limit)")
                continue
        # Counted as sent now: a failure gives back no more than a text for the day.
        sent_today[text.to_number] = sent_today.get(text.to_number, 0) + 1
        clinic_total += 1
        kept.append(text)
    return kept


def _cap_applies(text: Claimed) -> bool:
    return text.patient_id is not None and text.kind not in NEVER_HELD


def _sent_since(day_start: datetime, numbers: set[str], by_number: bool) -> dict[str, int]:
    """Texts sent since day_start: per number of the batch, and "" for all the others."""
    bucket = (
        case((_OT.c.to_number.in_(numbers), _OT.c.to_number), else_=literal(""))
        if by_number
        else literal("")
    )
    query = (
        select(bucket.label("number"), func.count())
        # sent_at is written only when Twilio took the text (whatever its later status), so
        # the count reads the index on (sent_at, to_number) alone.
        .where(_OT.c.sent_at >= day_start)
        .group_by(bucket)
    )
    counts = {number: n for number, n in db.session.execute(query).all()}
    counts.setdefault("", 0)
    return counts


def _backoff(attempts: int) -> timedelta:
    # 30 s, 1 min, 2 min ... capped at an hour; the jitter spreads a storm's retries apart.
    base = min(30 * 2 ** max(attempts - 1, 0), 3600)
    return timedelta(seconds=base + secrets.randbelow(max(base // 4, 1)))


def _skip(text: Claimed, reason: str) -> dict:
    return _change(text, TextStatus.SKIPPED, error_message=reason)


def _change(text: Claimed, status: str, *, error=None, **values) -> dict:
    change = {"b_id": text.id, "status": status, **values}
    if error is not None:
        change["error_code"] = str(error.code or error.status or "")[:10]
        change["error_message"] = str(error)[:300]
    if status != TextStatus.SENDING:
        change.update(claim_token=None, lease_until=None)
    return change


def _write(token: str, changes: list[dict], now: datetime) -> None:
    """One executemany per shape of change, each guarded by the claim it belongs to."""
    table = OutboundText.__table__
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for change in changes:
        groups[tuple(sorted(change))].append(change)
    for keys, group in groups.items():
        columns = {key: bindparam(key) for key in keys if key != "b_id"}
        db.session.execute(
            update(table)
            .where(table.c.id == bindparam("b_id"), table.c.claim_token == token)
            .values(updated_at=now, **columns),
            group,
        )


def _record(token: str, results: list[dict], followups) -> None:
    """Write a batch's outcomes; rows whose claim was taken over are left alone."""
    now = utcnow()
    with write_transaction("sms-dispatch", lock=False):
        _write(token, results, now)
        # Delivery reports that arrived before these sids were written apply now.
        sids = [change["provider_sid"] for change in results if change.get("provider_sid")]
        if sids:
            apply_reports(sids)
        _follow_up(followups, now)


def _follow_up(followups, now: datetime) -> None:
    introduced = {
        text.patient_id
        for what, text, _code in followups
        if what == "first" and text.patient_id is not None
    }
    if introduced:
        # One statement for the batch: these patients have now had their first text.
        db.session.execute(
            update(_PATIENT)
            .where(_PATIENT.c.id.in_(introduced), _PATIENT.c.first_text_at.is_(None))
            .values(first_text_at=now)
        )
    held = {}  # one task per number (or for the clinic) however many texts were held
    for what, text, _code in followups:
        if what == HELD_FOR_NUMBER:
            held.setdefault((what, text.to_number), text)
        elif what == HELD_FOR_CLINIC:
            held.setdefault((what, ""), text)
    for (what, _number), text in held.items():
        alerts.texts_held(what == HELD_FOR_NUMBER, text.to_number, text.patient_id, now)
    for what, text, code in followups:
        if what == "failed":
            patient = db.session.get(Patient, text.patient_id) if text.patient_id else None
            alerts.after_failed_send(db.session.get(OutboundText, text.id), patient, code)


# --- reconciliation ---------------------------------------------------------------------------


def reconcile_abandoned(report: PassReport) -> None:
    """Rows a crashed (or unanswered) dispatcher left in ``sending``: sent already, or again."""
    now = utcnow()
    token = secrets.token_hex(16)
    lease = now + timedelta(seconds=current_app.config["SMS_CLAIM_LEASE_SECONDS"])
    max_attempts = current_app.config["SMS_MAX_ATTEMPTS"]
    with write_transaction("sms-dispatch", lock=False):
        query = (
            select(OutboundText)
            .where(OutboundText.status == TextStatus.SENDING, OutboundText.lease_until < now)
            .order_by(OutboundText.id)
            .limit(500)
        )
        if db.session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        rows = list(db.session.scalars(query))
        for row in rows:
            row.claim_token, row.lease_until = token, lease
        claimed = [
            (
                row.id,
                row.patient_id,
                row.to_number,
                row.body,
                row.claimed_at,
                row.attempts,
            )
            for row in rows
        ]
    if not claimed:
        return
    sender = get_sender()
    results, followups = [], []
    for row_id, patient_id, to, body, claimed_at, attempts in claimed:
        try:
            sid = sender.find_sent(to, body, claimed_at)
        except (TransientSendError, PermanentSendError):
            report.add("reconcile later")
            continue
        if sid:
            results.append(
                {
                    "b_id": row_id,
                    "status": TextStatus.SENT,
                    "provider_sid": sid,
                    "sent_at": claimed_at,
                    "claim_token": None,
                    "lease_until": None,
                }
            )
            followups.append(("first", _Ref(row_id, patient_id), None))
            report.add("reconciled (already sent)")
        elif attempts >= max_attempts:
            results.append(
                {
                    "b_id": row_id,
                    "status": TextStatus.FAILED,
                    "claim_token": None,
                    "lease_until": None,
                    "error_message": "no answer from Twilio, tries used up",
                }
            )
            followups.append(("failed", _Ref(row_id, patient_id), None))
            report.add("failed")
        else:
            results.append(
                {
                    "b_id": row_id,
                    "status": TextStatus.PENDING,
                    "send_at": now,
                    "claim_token": None,
                    "lease_until": None,
                }
            )
            report.add("reconciled (send again)")
    _record(token, results, followups)


@dataclass(frozen=True)
class _Ref:
    id: int
    patient_id: int | None
