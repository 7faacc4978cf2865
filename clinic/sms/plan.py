"""Which texts a visit gets and when: pure functions of the visit's times, the settings and now.

Offsets and expiries are settings (see CarePolicy); quiet hours move a planned text to the next
opening in the clinic's time zone, and its lifetime counts from that opening, so a text due in the
night goes the next morning instead of expiring in its sleep. A text still unsent at its expiry is
skipped, not sent stale.

Before a visit that needles, pre-care advice goes 7 and 3 days ahead; booked later than that, the
advice it missed goes at once, right after the confirmation (PRECARE_NOW). The 48-hour reminder
keeps only the day-before advice (clean dry hair, no alcohol), so each piece of advice is said
once, when it can still be followed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from clinic.localtime import to_utc
from clinic.sms.kinds import Kind


@dataclass(frozen=True)
class Step:
    kind: Kind
    offset: timedelta  # from the anchor (visit start for reminders, session end for aftercare)
    # How long it is still worth sending once it may go (its due time, or the end of the quiet
    # hours it fell into).
    lifetime: timedelta


@dataclass(frozen=True)
class CarePolicy:
    quiet_start: time = time(20, 0)  # nothing planned goes out from here ...
    quiet_end: time = time(9, 0)  # ... until here, in the clinic's time zone
    # Only for visits that needle; a step already past when the visit is booked (or moved) is
    # replaced by one PRECARE_NOW text.
    precare: tuple[Step, ...] = (
        Step(Kind.PRECARE_7D, timedelta(days=-7), timedelta(days=2)),
        Step(Kind.PRECARE_3D, timedelta(days=-3), timedelta(days=1)),
    )
    precare_now_lifetime: timedelta = timedelta(hours=12)
    # After the at-once advice, a later pre-care text closer than this would only repeat it.
    precare_repeat_gap: timedelta = timedelta(days=1)
    reminders: tuple[Step, ...] = (
        Step(Kind.REMINDER_48H, timedelta(hours=-48), timedelta(hours=24)),
        Step(Kind.REMINDER_24H, timedelta(hours=-24), timedelta(hours=20)),
    )
    aftercare: tuple[Step, ...] = (
        Step(Kind.AFTERCARE_2H, timedelta(hours=2), timedelta(hours=10)),
        Step(Kind.AFTERCARE_24H, timedelta(hours=24), timedelta(hours=24)),
        Step(Kind.AFTERCARE_48H, timedelta(hours=48), timedelta(hours=24)),
        Step(Kind.INFECTION_72H, timedelta(hours=72), timedelta(hours=48)),
        Step(Kind.REVIEW_7D, timedelta(days=7), timedelta(days=3)),
    )
    confirmation_lifetime: timedelta = timedelta(hours=12)
    nudge_after_due: timedelta = timedelta(days=2)
    nudge_lifetime: timedelta = timedelta(days=7)


@dataclass(frozen=True)
class PlannedText:
    kind: Kind
    send_at: datetime
    expires_at: datetime


def within_quiet_hours(moment: datetime, tz: ZoneInfo, policy: CarePolicy) -> bool:
    local = moment.astimezone(tz).time()
    if policy.quiet_start > policy.quiet_end:  # the usual case: the window spans midnight
        return local >= policy.quiet_start or local < policy.quiet_end
    return policy.quiet_start <= local < policy.quiet_end


def next_opening(moment: datetime, tz: ZoneInfo, policy: CarePolicy) -> datetime:
    """The moment itself if texts may go out then, else the next quiet_end in local time."""
    if not within_quiet_hours(moment, tz, policy):
        return moment
    local = moment.astimezone(tz)
    day: date = local.date()
    if local.time() >= policy.quiet_end:
        day += timedelta(days=1)
    return _local_instant(day, policy.quiet_end, tz)


def _local_instant(day: date, wall: time, tz: ZoneInfo) -> datetime:
    # One rule for the whole app: a skipped wall time moves forward by the gap.
    return to_utc(day, wall, tz)


def _scheduled(kind: Kind, due: datetime, lifetime: timedelta, tz, policy) -> PlannedText:
    send_at = next_opening(due, tz, policy)
    return PlannedText(kind, send_at, send_at + lifetime)


def plan_booking(
    *,
    start: datetime,
    now: datetime,
    tz: ZoneInfo,
    policy: CarePolicy = CarePolicy(),
    needles: bool = False,
) -> list[PlannedText]:
    """A confirmation now, then the pre-visit texts that are still ahead."""
    confirmation = PlannedText(Kind.CONFIRMATION, now, now + policy.confirmation_lifetime)
    before = plan_before_visit(start=start, now=now, tz=tz, policy=policy, needles=needles)
    return [confirmation, *before]


def plan_before_visit(
    *,
    start: datetime,
    now: datetime,
    tz: ZoneInfo,
    policy: CarePolicy = CarePolicy(),
    needles: bool = False,
) -> list[PlannedText]:
    """Pre-care (visits that needle) and reminders still ahead; also used when a visit moves."""
    texts = plan_precare(start=start, now=now, tz=tz, policy=policy) if needles else []
    return texts + plan_reminders(start=start, now=now, tz=tz, policy=policy)


def plan_precare(
    *, start: datetime, now: datetime, tz: ZoneInfo, policy: CarePolicy = CarePolicy()
) -> list[PlannedText]:
    """The pre-care advice for a visit that needles: each step at its time, and any step whose
    time has already passed folded into one text that goes at once."""
    if start <= now:
        return []
    ahead = _ahead(policy.precare, start=start, now=now, tz=tz, policy=policy)
    if len(ahead) == len(policy.precare):
        return ahead
    now_text = PlannedText(Kind.PRECARE_NOW, now, now + policy.precare_now_lifetime)
    later = [p for p in ahead if p.send_at >= now + policy.precare_repeat_gap]
    return [now_text, *later]


def plan_reminders(
    *, start: datetime, now: datetime, tz: ZoneInfo, policy: CarePolicy = CarePolicy()
) -> list[PlannedText]:
    """The reminders before a visit that are still ahead (booked inside a reminder's window,
    the confirmation covers it)."""
    return _ahead(policy.reminders, start=start, now=now, tz=tz, policy=policy)


def _ahead(steps, *, start, now, tz, policy) -> list[PlannedText]:
    texts = []
    for step in steps:
        due = start + step.offset
        if due <= now:
            continue
        planned = _scheduled(step.kind, due, step.lifetime, tz, policy)
        # A text about a visit that quiet hours push past the visit is no use at all.
        if planned.send_at < start:
            texts.append(planned)
    return texts


def plan_aftercare(
    *, session_end: datetime, tz: ZoneInfo, policy: CarePolicy = CarePolicy()
) -> list[PlannedText]:
    """The aftercare texts after a completed session, each moved out of quiet hours."""
    return [
        _scheduled(step.kind, session_end + step.offset, step.lifetime, tz, policy)
        for step in policy.aftercare
    ]


def plan_course_nudge(
    *, due: datetime, tz: ZoneInfo, policy: CarePolicy = CarePolicy()
) -> PlannedText:
    """A nudge when a course's next session is due and nothing is booked."""
    return _scheduled(
        Kind.COURSE_NUDGE, due + policy.nudge_after_due, policy.nudge_lifetime, tz, policy
    )
