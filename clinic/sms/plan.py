"""Which texts a visit gets and when: pure functions of the visit's times, the settings and now.

Offsets and expiries are settings (see CarePolicy); quiet hours move a planned text to the next
opening in the clinic's time zone, and a text still unsent at its expiry is skipped, not sent
stale.
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
    lifetime: timedelta  # how long after its planned time it is still worth sending


@dataclass(frozen=True)
class CarePolicy:
    quiet_start: time = time(20, 0)  # nothing planned goes out from here ...
    quiet_end: time = time(9, 0)  # ... until here, in the clinic's time zone
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
    return PlannedText(kind, send_at, due + lifetime)


def plan_booking(
    *, start: datetime, now: datetime, tz: ZoneInfo, policy: CarePolicy = CarePolicy()
) -> list[PlannedText]:
    """A confirmation now and the pre-visit reminders that are still ahead."""
    confirmation = PlannedText(Kind.CONFIRMATION, now, now + policy.confirmation_lifetime)
    return [confirmation, *plan_reminders(start=start, now=now, tz=tz, policy=policy)]


def plan_reminders(
    *, start: datetime, now: datetime, tz: ZoneInfo, policy: CarePolicy = CarePolicy()
) -> list[PlannedText]:
    """The reminders before a visit that are still ahead (also used when a visit moves)."""
    texts = []
    for step in policy.reminders:
        due = start + step.offset
        if due <= now:
            continue  # booked inside this reminder's window: the confirmation covers it
        planned = _scheduled(step.kind, due, step.lifetime, tz, policy)
        # A reminder pushed past the visit by quiet hours is no reminder at all.
        if planned.send_at < start and planned.send_at < planned.expires_at:
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
