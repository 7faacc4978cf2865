"""The texts before a visit and what every care text says: pre-care for visits that needle (a
week and three days ahead, or at once with a late booking's confirmation), moved and cancelled
with the visit; the aftercare series in an order that makes sense.

Walked with the test clock (it starts on Monday 2 March 2026, 08:00 London, GMT = UTC).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from clinic.booking.services import cancel, reschedule
from clinic.extensions import db
from clinic.sms.dispatch import dispatch_pass
from clinic.sms.kinds import Kind
from clinic.sms.models import OutboundText, TextStatus
from clinic.sms.senders import get_sender
from clinic.sms.wording import DEFAULTS, FORBIDDEN
from tests.factories import make_booking, make_clinic

PRE_CARE = {Kind.PRECARE_7D, Kind.PRECARE_3D, Kind.PRECARE_NOW}
FRIDAY_20_14 = datetime(2026, 3, 20, 14, 0, tzinfo=UTC)


@pytest.fixture
def app_config():
    return {"SMS_SEGMENTS_PER_SECOND": 0}


def texts(appointment) -> dict[str, OutboundText]:
    db.session.commit()
    rows = db.session.scalars(
        select(OutboundText).where(OutboundText.appointment_id == appointment.id)
    )
    return {row.kind: row for row in rows}


def bodies() -> list[str]:
    return [body for _sid, _to, body in get_sender().sent]


def run_at(clock, when: datetime):
    clock.set(when)
    return dispatch_pass()


def goes_at(clock, appointment, kind: Kind, when: datetime) -> str:
    before = len(bodies())
    run_at(clock, when - timedelta(minutes=1))
    assert len(bodies()) == before, f"{kind} went early"
    run_at(clock, when)
    row = texts(appointment)[kind]
    assert (row.status, row.sent_at) == (TextStatus.SENT, when)
    assert len(bodies()) == before + 1
    return row.body


def test_a_needling_visit_gets_its_advice_a_week_and_three_days_before(app, clock):
    make_clinic()
    appointment = make_booking("microneedling", FRIDAY_20_14, sms_opt_in=True)
    run_at(clock, clock.now())
    assert len(bodies()) == 1  # the confirmation only: the advice waits for its time
    week = goes_at(clock, appointment, Kind.PRECARE_7D, FRIDAY_20_14 - timedelta(days=7))
    assert "Friday 20 March at 14:00" in week
    assert "retinol or acid skin products" in week
    assert "prescribed medicines, including ones that thin the blood" in week
    three = goes_at(clock, appointment, Kind.PRECARE_3D, FRIDAY_20_14 - timedelta(days=3))
    assert "anti-inflammatory painkillers bought over the counter" in three
    reminder = goes_at(clock, appointment, Kind.REMINDER_48H, FRIDAY_20_14 - timedelta(days=2))
    assert "painkiller" not in reminder and "clean, dry hair" in reminder
    assert Kind.PRECARE_NOW not in texts(appointment)


def test_a_consultation_gets_no_pre_care(app, clock):
    make_clinic()
    far = make_booking("consultation", FRIDAY_20_14, sms_opt_in=True)
    near = make_booking("consultation", datetime(2026, 3, 4, 14, 0, tzinfo=UTC), sms_opt_in=True)
    for day in range(2, 21):
        run_at(clock, datetime(2026, 3, day, 14, 0, tzinfo=UTC))
    for appointment in (far, near):
        assert not PRE_CARE & set(texts(appointment))
    assert not any("retinol" in body or "painkiller" in body for body in bodies())


def test_a_booking_two_days_ahead_gets_the_advice_with_its_confirmation(app, clock):
    make_clinic()
    appointment = make_booking(
        "microneedling", datetime(2026, 3, 4, 14, 0, tzinfo=UTC), sms_opt_in=True
    )
    report = dispatch_pass()
    assert report.counts["sent"] == 2
    rows = texts(appointment)
    assert set(rows) == {
        Kind.CONFIRMATION,
        Kind.PRECARE_NOW,
        Kind.REMINDER_48H,
        Kind.REMINDER_24H,
    }
    confirmation, advice = bodies()
    assert "Wednesday 4 March at 14:00" in confirmation
    assert "retinol or acid skin products" in advice and "painkillers" in advice
    assert "thin the blood" in advice
    assert rows[Kind.CONFIRMATION].id < rows[Kind.PRECARE_NOW].id  # sent right after it
    assert rows[Kind.PRECARE_NOW].sent_at == clock.now()


def test_moving_a_visit_moves_its_pre_care_texts(app, clock):
    make_clinic()
    appointment = make_booking("microneedling", FRIDAY_20_14, sms_opt_in=True)
    later = datetime(2026, 3, 27, 11, 0, tzinfo=UTC)
    reschedule(appointment, later, by_patient=False)
    rows = texts(appointment)
    assert (rows[Kind.PRECARE_7D].status, rows[Kind.PRECARE_7D].send_at) == (
        TextStatus.PENDING,
        later - timedelta(days=7),
    )
    assert rows[Kind.PRECARE_3D].send_at == later - timedelta(days=3)
    assert Kind.PRECARE_NOW not in rows
    # Brought forward to two days ahead: the planned advice is dropped, and goes at once.
    clock.set(datetime(2026, 3, 3, 12, 0, tzinfo=UTC))
    near = datetime(2026, 3, 5, 12, 0, tzinfo=UTC)
    reschedule(appointment, near, by_patient=False)
    rows = texts(appointment)
    assert rows[Kind.PRECARE_7D].status == TextStatus.CANCELLED
    assert rows[Kind.PRECARE_3D].status == TextStatus.CANCELLED
    assert (rows[Kind.PRECARE_NOW].status, rows[Kind.PRECARE_NOW].send_at) == (
        TextStatus.PENDING,
        clock.now(),
    )
    dispatch_pass()
    assert "retinol" in bodies()[-1]
    # Out again: the week and three-day texts come back; the advice given is not repeated.
    clock.set(datetime(2026, 3, 3, 13, 0, tzinfo=UTC))
    reschedule(appointment, later, by_patient=False)
    rows = texts(appointment)
    assert rows[Kind.PRECARE_7D].status == TextStatus.PENDING
    assert rows[Kind.PRECARE_3D].send_at == later - timedelta(days=3)
    assert rows[Kind.PRECARE_NOW].status == TextStatus.SENT


def test_cancelling_a_visit_cancels_its_pre_care_texts(app, clock):
    make_clinic()
    appointment = make_booking("microneedling", FRIDAY_20_14, sms_opt_in=True)
    dispatch_pass()
    clock.set(datetime(2026, 3, 10, 12, 0, tzinfo=UTC))
    cancel(appointment, reason="Away")
    rows = texts(appointment)
    for kind in (Kind.PRECARE_7D, Kind.PRECARE_3D):
        assert (rows[kind].status, rows[kind].error_message) == (
            TextStatus.CANCELLED,
            "visit cancelled",
        )
    sent = len(bodies())
    for day in range(10, 21):
        run_at(clock, datetime(2026, 3, day, 14, 0, tzinfo=UTC))
    assert len(bodies()) == sent


# --- what the texts say -------------------------------------------------------------------------


def test_the_first_aftercare_text_says_what_is_normal_what_to_avoid_and_when_to_call():
    first = DEFAULTS[Kind.AFTERCARE_2H]
    assert "normal" in first and "24 hours" in first
    for avoid in ("wash", "products on your scalp", "exercise", "sweat", "swim", "sun"):
        assert avoid in first
    assert "call {phone}" in first


def test_the_series_says_each_thing_once_and_in_order():
    # The +48 h text no longer refers back to something no text said.
    assert "one more day" not in DEFAULTS[Kind.AFTERCARE_48H]
    assert "saunas" in DEFAULTS[Kind.AFTERCARE_24H]
    # The painkiller advice moved to the pre-care texts; the 48 h reminder keeps the day before.
    assert "painkiller" not in DEFAULTS[Kind.REMINDER_48H]
    assert "painkiller" in DEFAULTS[Kind.PRECARE_3D]
    assert "painkiller" in DEFAULTS[Kind.PRECARE_NOW]


def test_the_warning_text_gives_the_signs_in_full():
    warning = DEFAULTS[Kind.INFECTION_72H]
    for sign in ("worse pain", "pus", "swelling", "redness that spreads", "38C", "100.4F"):
        assert sign in warning
    assert "call us today on {phone}" in warning and "the emergency number" in warning


def test_pre_care_wording_names_no_medicine():
    for kind in PRE_CARE:
        assert not FORBIDDEN.search(DEFAULTS[kind])
        assert "unless" in DEFAULTS[kind]
