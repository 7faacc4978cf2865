"""The dispatcher against a fake Twilio server, through the real twilio client, on a frozen clock.

The tests ask the fake what it received: a text the dispatcher counts as sent must have reached
Twilio exactly once, and one it holds back must not have reached it at all.
"""

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from clinic.extensions import db
from clinic.patients.models import Patient
from clinic.sms import hooks
from clinic.sms.dispatch import claim_batch, dispatch_pass
from clinic.sms.hooks import VisitDetails
from clinic.sms.inbound import status_report
from clinic.sms.kinds import Kind
from clinic.sms.models import UNSENT_STATUSES, AlertLevel, OutboundText, StaffAlert, TextStatus
from clinic.sms.senders import ConsoleSender, TwilioSender, get_sender
from clinic.sms.wording import OPT_OUT_LINE
from clinic.visits import services as visits
from clinic.visits.services import SessionInput
from tests.factories import make_booking, make_clinic, patient_details
from tests.fake_twilio import drop_sender, segments_of
from tests.helpers import make_staff

LONDON = ZoneInfo("Europe/London")
SESSION = SessionInput(
    device="pen",
    needle_depth_mm=1.0,
    areas=("crown",),
    numbing_used=True,
    add_ons=(),
    cartridge_lot="CT-2291",
)
# The clock starts on Monday 2 March 2026, 08:00 London. A Wednesday visit gets a confirmation
# now and reminders on Monday 10:00 (48 h) and Tuesday 10:00 (24 h).
WEDNESDAY_10 = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)
TUESDAY_10 = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)
CALLBACK = "http://clinic.test/sms/status"


def phone(n: int) -> str:
    return f"+4479111{n:05d}"


def book_patients(count: int, *, start=WEDNESDAY_10, slug="consultation", sms_opt_in=True):
    """``count`` patients, each with one visit; two practitioners in two rooms each half hour."""
    appointments = []
    for n in range(count):
        details = patient_details(full_name=f"Patient {n}", phone=phone(n), email=f"p{n}@ex.com")
        at = start + timedelta(minutes=30 * (n // 2))
        appointments.append(make_booking(slug, at, patient=details, sms_opt_in=sms_opt_in))
    return appointments


def texts(kind: Kind | None = None) -> list[OutboundText]:
    db.session.commit()  # a fresh read: the dispatcher wrote in its own transactions
    query = select(OutboundText).order_by(OutboundText.id)
    if kind is not None:
        query = query.where(OutboundText.kind == kind)
    return list(db.session.scalars(query))


def assert_sent_exactly_once(fake, rows):
    """Every row is sent, and Twilio holds it once, under the sid the row records.

    Counted per number too: a text rendered again for a second try differs (its manage link
    carries the time), so a duplicate need not repeat the body word for word.
    """
    assert [r.status for r in rows] == [TextStatus.SENT] * len(rows)
    messages = fake.messages
    by_sid = {m["sid"]: (m["to"], m["body"]) for m in messages}
    assert {r.provider_sid: (r.to_number, r.body) for r in rows}.items() <= by_sid.items()
    numbers = Counter(r.to_number for r in rows)
    assert Counter(m["to"] for m in messages if m["to"] in numbers) == numbers


def completed_session(clock):
    """A microneedling session done on Tuesday, and its 72-hour warning-signs text."""
    make_clinic(rooms=2)
    staff = make_staff(role="practitioner", email="dr@example.com", name="Dr Rao")
    (appointment,) = book_patients(1, start=TUESDAY_10, slug="microneedling")
    clock.set(TUESDAY_10 - timedelta(minutes=5))
    visits.check_in(appointment.id, changes_since_last_visit=False)
    clock.set(TUESDAY_10 + timedelta(minutes=45))
    visits.complete(appointment.id, SESSION, staff)
    (warning,) = texts(Kind.INFECTION_72H)
    return appointment, warning


def settle(clock, kind: Kind, *, step=timedelta(minutes=1), passes=200) -> int:
    """Run passes, the clock moving on between them, until no text of ``kind`` is open."""
    for done in range(1, passes + 1):
        dispatch_pass()
        if not any(r.status in UNSENT_STATUSES for r in texts(kind)):
            return done
        clock.advance(step)
    raise AssertionError(f"{kind} texts still open after {passes} passes")


# --- the plain road ---------------------------------------------------------------------------


def test_each_text_goes_once_and_only_the_first_says_how_to_opt_out(twilio_app, fake_twilio, clock):
    make_clinic(rooms=2)
    (appointment,) = book_patients(1)

    report = dispatch_pass()
    assert str(report) == "sent 1"
    (confirmation,) = texts(Kind.CONFIRMATION)
    assert confirmation.attempts == 1 and confirmation.to_number == phone(0)
    assert confirmation.body.endswith(OPT_OUT_LINE)
    assert appointment.patient.first_text_at == clock.now()

    clock.set(datetime(2026, 3, 2, 10, 0, tzinfo=UTC))
    assert str(dispatch_pass()) == "sent 1"
    clock.set(datetime(2026, 3, 3, 10, 0, tzinfo=UTC))
    assert str(dispatch_pass()) == "sent 1"
    assert str(dispatch_pass()) == "nothing due"

    rows = texts()
    assert [r.kind for r in rows] == [Kind.CONFIRMATION, Kind.REMINDER_48H, Kind.REMINDER_24H]
    assert [OPT_OUT_LINE in r.body for r in rows] == [True, False, False]
    assert [r.attempts for r in rows] == [1, 1, 1]
    assert all(r.segments >= 1 and r.sent_at is not None for r in rows)
    assert_sent_exactly_once(fake_twilio, rows)


def test_twilio_gets_the_number_sender_body_and_status_callback(twilio_app, fake_twilio, clock):
    make_clinic(rooms=2)
    book_patients(2)
    dispatch_pass()
    rows = texts(Kind.CONFIRMATION)
    assert_sent_exactly_once(fake_twilio, rows)
    # Texts go out over several connections at once, so match them by sid, not by order.
    by_sid = {message["sid"]: message for message in fake_twilio.messages}
    assert len(by_sid) == len(rows)
    for row in rows:
        message = by_sid[row.provider_sid]
        assert message["to"] == row.to_number
        assert message["from"] == twilio_app.config["TWILIO_FROM_NUMBER"]
        assert message["_status_callback"] == CALLBACK
        assert row.provider_sid == message["sid"]
        assert row.provider_sid.startswith("SM") and len(row.provider_sid) == 34
        assert row.segments == int(message["num_segments"])
    assert isinstance(get_sender(), TwilioSender)


def test_a_messaging_service_replaces_the_from_number(twilio_app, fake_twilio):
    twilio_app.config.update(TWILIO_FROM_NUMBER="", TWILIO_MESSAGING_SERVICE_SID="MG" + "a" * 32)
    drop_sender(twilio_app)
    make_clinic(rooms=2)
    book_patients(1)
    assert str(dispatch_pass()) == "sent 1"
    (message,) = fake_twilio.messages
    assert message["from"] is None
    assert message["messaging_service_sid"] == "MG" + "a" * 32
    assert_sent_exactly_once(fake_twilio, texts(Kind.CONFIRMATION))


def test_a_messaging_service_text_keeps_its_segment_count(twilio_app, fake_twilio):
    twilio_app.config.update(TWILIO_FROM_NUMBER="", TWILIO_MESSAGING_SERVICE_SID="MG" + "a" * 32)
    drop_sender(twilio_app)
    make_clinic(rooms=2)
    book_patients(1)
    dispatch_pass()
    (row,) = texts(Kind.CONFIRMATION)
    assert row.segments == segments_of(row.body) >= 1


def test_without_credentials_the_console_prints_and_records_texts(app, capsys):
    app.config.update(TWILIO_ACCOUNT_SID="", TWILIO_AUTH_TOKEN="")
    drop_sender(app)
    make_clinic(rooms=2)
    book_patients(1)
    assert str(dispatch_pass()) == "sent 1"
    (row,) = texts(Kind.CONFIRMATION)
    assert isinstance(get_sender(), ConsoleSender)
    assert row.status == TextStatus.SENT and row.provider_sid == "CONSOLE00000001"
    assert f"[text to {phone(0)}] {row.body}" in capsys.readouterr().out


def test_what_a_text_says_of_its_visit_comes_from_the_lookup_booking_registered(app):
    """The dispatcher never reads bookings itself: one call per batch, for every visit in it."""
    app.config.update(TWILIO_ACCOUNT_SID="", TWILIO_AUTH_TOKEN="")
    drop_sender(app)
    make_clinic(rooms=2)
    appointments = book_patients(2)
    asked = []

    def lookup(ids):
        asked.append(sorted(ids))
        at = datetime(2026, 12, 24, 15, 30, tzinfo=UTC)
        return {i: VisitDetails(at, "Europe/London", "+441234567890", f"L{i}") for i in ids}

    hooks.register_visit_details(app, lookup)
    assert str(dispatch_pass()) == "sent 2"
    assert asked == [sorted(a.id for a in appointments)]
    bodies = [r.body for r in texts(Kind.CONFIRMATION)]
    assert [
        f"Thursday 24 December at 15:30. To change or cancel: L{a.id}" in b
        for b, a in zip(bodies, appointments, strict=True)
    ] == [True, True]


def test_two_texts_due_together_carry_the_opt_out_line_once(twilio_app, fake_twilio, clock):
    make_clinic(rooms=2)
    book_patients(1)
    # Nothing went out before 10:00: the confirmation and the 48-hour reminder go together.
    clock.set(datetime(2026, 3, 2, 10, 0, tzinfo=UTC))
    assert str(dispatch_pass()) == "sent 2"
    bodies = [m["body"] for m in fake_twilio.messages]
    assert [OPT_OUT_LINE in body for body in bodies] == [True, False]


# --- what is held back ------------------------------------------------------------------------


def test_a_patient_without_opt_in_gets_nothing(twilio_app, fake_twilio, clock):
    make_clinic(rooms=2)
    book_patients(1, sms_opt_in=False)
    assert str(dispatch_pass()) == "skipped (no consent) 1"
    clock.set(datetime(2026, 3, 2, 10, 0, tzinfo=UTC))
    assert str(dispatch_pass()) == "skipped (no consent) 1"
    clock.set(datetime(2026, 3, 3, 10, 0, tzinfo=UTC))
    assert str(dispatch_pass()) == "skipped (no consent) 1"
    assert {r.status for r in texts()} == {TextStatus.SKIPPED}
    assert {r.error_message for r in texts()} == {"no consent to texts"}
    assert fake_twilio.create_requests == 0


def test_a_text_past_its_expiry_is_skipped_not_sent_stale(twilio_app, fake_twilio, clock):
    make_clinic(rooms=2)
    book_patients(1)
    # The dispatcher was down all day: the confirmation was worth sending for 12 hours only.
    # (The 48-hour reminder, due at 10:00, may still go tomorrow morning.)
    clock.set(datetime(2026, 3, 2, 20, 1, tzinfo=UTC))
    report = dispatch_pass()
    assert report.counts == Counter({"skipped (expired)": 1, "deferred (quiet hours)": 1})
    assert [(r.kind, r.status) for r in texts()] == [
        (Kind.CONFIRMATION, TextStatus.SKIPPED),
        (Kind.REMINDER_48H, TextStatus.PENDING),
        (Kind.REMINDER_24H, TextStatus.PENDING),
    ]
    assert texts()[0].error_message == "expired before it could go"
    assert fake_twilio.create_requests == 0


def test_a_text_due_in_quiet_hours_waits_for_the_next_09_00_local(twilio_app, fake_twilio, clock):
    make_clinic(rooms=2)
    # A visit just after the clocks go forward: the evening and the morning are in BST.
    book_patients(1, start=datetime(2026, 4, 1, 9, 0, tzinfo=UTC))
    dispatch_pass()  # the confirmation
    evening = datetime(2026, 3, 30, 20, 30, tzinfo=LONDON)
    clock.set(evening)
    assert str(dispatch_pass()) == "deferred (quiet hours) 1"
    reminder = texts(Kind.REMINDER_48H)[0]
    assert reminder.status == TextStatus.PENDING and reminder.attempts == 0
    assert reminder.send_at == datetime(2026, 3, 31, 9, 0, tzinfo=LONDON)
    assert reminder.send_at == datetime(2026, 3, 31, 8, 0, tzinfo=UTC)

    clock.set(datetime(2026, 3, 31, 8, 59, tzinfo=LONDON))
    assert str(dispatch_pass()) == "nothing due"
    clock.set(datetime(2026, 3, 31, 9, 0, tzinfo=LONDON))
    assert str(dispatch_pass()) == "sent 1"
    assert_sent_exactly_once(fake_twilio, texts(Kind.CONFIRMATION) + texts(Kind.REMINDER_48H))


def test_a_night_text_whose_next_opening_is_past_its_expiry_is_skipped(
    twilio_app, fake_twilio, clock
):
    make_clinic(rooms=2)
    book_patients(1)
    dispatch_pass()
    # The 24-hour reminder (Tuesday 10:00) lives 20 hours; from 21:00 the next opening,
    # Wednesday 09:00, is after that.
    clock.set(datetime(2026, 3, 3, 21, 0, tzinfo=UTC))
    report = dispatch_pass()
    assert report.counts == Counter({"skipped (expired)": 2})
    reminder = texts(Kind.REMINDER_24H)[0]
    assert (reminder.status, reminder.error_message) == (
        TextStatus.SKIPPED,
        "expired in quiet hours",
    )
    assert fake_twilio.count() == 1


# --- storms -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("status", "code"), [(429, "20429"), (500, "20500")])
def test_a_storm_of_refusals_ends_with_every_text_sent_once(
    twilio_app, fake_twilio, clock, status, code
):
    make_clinic(rooms=2)
    book_patients(12)
    fake_twilio.fail_next(30, status)

    first = dispatch_pass()
    assert first.counts == Counter({"retry later": 12})
    retrying = texts(Kind.CONFIRMATION)
    assert {r.error_code for r in retrying} == {code}
    # Backed off, with jitter, at least 30 s: nothing goes again at once.
    assert min(r.send_at for r in retrying) >= clock.now() + timedelta(seconds=30)
    assert str(dispatch_pass()) == "nothing due"

    passes = settle(clock, Kind.CONFIRMATION)
    confirmations = texts(Kind.CONFIRMATION)
    assert_sent_exactly_once(fake_twilio, confirmations)
    assert sum(r.attempts for r in confirmations) == 12 + 30 == fake_twilio.create_requests
    assert min(r.attempts for r in confirmations) >= 3
    assert passes < 60
    assert db.session.scalar(select(StaffAlert.id)) is None

    # The reminders later are untouched by the storm.
    for day, kind in ((2, Kind.REMINDER_48H), (3, Kind.REMINDER_24H)):
        clock.set(datetime(2026, 3, day, 10, 0, tzinfo=UTC))
        settle(clock, kind, step=timedelta(minutes=30))
    assert_sent_exactly_once(fake_twilio, texts())
    assert fake_twilio.create_requests == 36 + 30


def test_a_storm_past_the_attempt_limit_fails_a_safety_text_and_asks_staff_to_phone(
    twilio_app, fake_twilio, clock
):
    twilio_app.config["SMS_MAX_ATTEMPTS"] = 3
    appointment, warning = completed_session(clock)
    clock.set(warning.send_at)
    fake_twilio.fail_next(100, 500)
    settle(clock, Kind.INFECTION_72H, step=timedelta(minutes=10))

    (warning,) = texts(Kind.INFECTION_72H)
    assert (warning.status, warning.attempts, warning.error_code) == (TextStatus.FAILED, 3, "20500")
    assert fake_twilio.create_requests == 3 and fake_twilio.count() == 0
    (task,) = db.session.scalars(select(StaffAlert)).all()
    assert task.level == AlertLevel.TASK and task.outbound_id == warning.id
    assert task.reason.startswith("Phone the patient") and "72-hour" in task.reason
    assert task.patient_id == appointment.patient_id
    assert not db.session.get(Patient, appointment.patient_id).phone_unusable


# --- permanent refusals -----------------------------------------------------------------------


@pytest.mark.parametrize("code", [21211, 21614, 30006])
def test_a_number_twilio_refuses_is_marked_unusable_and_staff_phone(
    twilio_app, fake_twilio, clock, code
):
    make_clinic(rooms=2)
    refused, _other = book_patients(2)
    fake_twilio.refuse(phone(0), code)

    report = dispatch_pass()
    assert report.counts == Counter({"failed": 1, "sent": 1})
    patient = db.session.get(Patient, refused.patient_id)
    assert patient.phone_unusable and patient.sms_opt_in
    confirmation, *later = [r for r in texts() if r.patient_id == patient.id]
    assert (confirmation.status, confirmation.error_code, confirmation.attempts) == (
        TextStatus.FAILED,
        str(code),
        1,
    )
    assert {r.status for r in later} == {TextStatus.CANCELLED}
    (task,) = db.session.scalars(select(StaffAlert)).all()
    assert (task.level, task.patient_id, task.outbound_id) == (
        AlertLevel.TASK,
        patient.id,
        confirmation.id,
    )
    assert str(code) in task.reason

    clock.set(datetime(2026, 3, 2, 10, 0, tzinfo=UTC))
    assert str(dispatch_pass()) == "sent 1"  # the other patient's reminder only
    assert fake_twilio.create_requests == 3
    assert all(m["to"] == phone(1) for m in fake_twilio.messages)


def test_a_carrier_opt_out_stops_every_text_without_a_task(twilio_app, fake_twilio, clock):
    make_clinic(rooms=2)
    (appointment,) = book_patients(1)
    fake_twilio.refuse(phone(0), 21610)

    assert str(dispatch_pass()) == "failed 1"
    patient = db.session.get(Patient, appointment.patient_id)
    assert not patient.sms_opt_in and patient.sms_opt_in_source == "carrier"
    assert not patient.phone_unusable
    assert [(r.status, r.error_code) for r in texts()] == [
        (TextStatus.FAILED, "21610"),
        (TextStatus.CANCELLED, ""),
        (TextStatus.CANCELLED, ""),
    ]
    assert db.session.scalar(select(StaffAlert.id)) is None
    clock.set(datetime(2026, 3, 3, 10, 0, tzinfo=UTC))
    assert str(dispatch_pass()) == "nothing due"
    assert fake_twilio.count() == 0


# --- timeouts ---------------------------------------------------------------------------------


@pytest.fixture
def impatient(twilio_app):
    twilio_app.config["TWILIO_TIMEOUT_SECONDS"] = 1
    drop_sender(twilio_app)
    return twilio_app


def test_a_request_that_times_out_is_checked_with_twilio_then_sent_once(
    impatient, fake_twilio, clock
):
    make_clinic(rooms=2)
    book_patients(1)
    # Twilio holds the request past our timeout and never takes the text.
    fake_twilio.fail_next(1, 503, delay=1.5)

    assert str(dispatch_pass()) == "no answer (check later) 1"
    (row,) = texts(Kind.CONFIRMATION)
    assert row.status == TextStatus.SENDING and row.attempts == 1
    assert row.lease_until >= clock.now() + timedelta(seconds=30)
    assert "no answer from Twilio" in row.error_message
    assert str(dispatch_pass()) == "nothing due"  # not before its lease runs out

    clock.advance(minutes=1)
    report = dispatch_pass()
    assert report.counts == Counter({"reconciled (send again)": 1, "sent": 1})
    (row,) = texts(Kind.CONFIRMATION)
    assert row.attempts == 2
    assert fake_twilio.list_requests == 1
    assert_sent_exactly_once(fake_twilio, [row])


def test_a_text_twilio_took_before_the_timeout_is_not_sent_again(impatient, fake_twilio, clock):
    make_clinic(rooms=2)
    book_patients(1)
    # Twilio takes the text but its answer comes after our timeout: a lost answer, as in a
    # crash. Sending again would text the patient twice.
    fake_twilio.slow_next(1, 1.5)

    assert str(dispatch_pass()) == "no answer (check later) 1"
    clock.advance(minutes=10)
    assert str(dispatch_pass()) == "reconciled (already sent) 1"
    (row,) = texts(Kind.CONFIRMATION)
    assert row.attempts == 1
    assert_sent_exactly_once(fake_twilio, [row])


def test_timeouts_past_the_attempt_limit_fail_a_safety_text_and_ask_staff_to_phone(
    impatient, fake_twilio, clock
):
    impatient.config["SMS_MAX_ATTEMPTS"] = 2
    appointment, warning = completed_session(clock)
    clock.set(warning.send_at)
    fake_twilio.fail_next(3, 503, delay=1.5)

    settle(clock, Kind.INFECTION_72H, step=timedelta(minutes=10), passes=4)
    (warning,) = texts(Kind.INFECTION_72H)
    assert (warning.status, warning.attempts) == (TextStatus.FAILED, 2)
    assert fake_twilio.create_requests == 2 and fake_twilio.count() == 0
    (task,) = db.session.scalars(select(StaffAlert)).all()
    assert (task.level, task.outbound_id) == (AlertLevel.TASK, warning.id)


# --- crashes and concurrent dispatchers -------------------------------------------------------


def test_claims_a_crashed_dispatcher_left_behind_are_reconciled_before_any_resend(
    twilio_app, fake_twilio, clock
):
    make_clinic(rooms=2)
    book_patients(6)
    # A dispatcher claims six texts, hands three to Twilio and dies before writing it down.
    token, claimed = claim_batch(10)
    assert len(claimed) == 6
    sender = get_sender()
    handed = {r.id: sender.send(r.to_number, r.body, status_callback=CALLBACK) for r in claimed[:3]}
    assert fake_twilio.count() == 3

    # Within the lease the claim is still the crashed process's own.
    clock.advance(seconds=twilio_app.config["SMS_CLAIM_LEASE_SECONDS"] - 1)
    assert str(dispatch_pass()) == "nothing due"
    assert {r.status for r in texts(Kind.CONFIRMATION)} == {TextStatus.SENDING}

    clock.advance(seconds=2)
    report = dispatch_pass()
    assert report.counts == Counter(
        {"reconciled (already sent)": 3, "reconciled (send again)": 3, "sent": 3}
    )
    rows = texts(Kind.CONFIRMATION)
    assert_sent_exactly_once(fake_twilio, rows)
    assert fake_twilio.count() == 6
    for row in rows:
        if row.id in handed:
            assert (row.provider_sid, row.attempts) == (handed[row.id].sid, 1)
        else:
            assert row.attempts == 2
        assert row.claim_token is None and row.lease_until is None
    assert all(db.session.get(Patient, r.patient_id).first_text_at for r in rows)
    assert str(dispatch_pass()) == "nothing due"


def test_a_reconciled_text_keeps_its_opt_out_line_once(twilio_app, fake_twilio, clock):
    make_clinic(rooms=2)
    book_patients(1)
    _, (row,) = claim_batch(10)
    get_sender().send(row.to_number, row.body, status_callback=CALLBACK)
    clock.set(datetime(2026, 3, 2, 10, 0, tzinfo=UTC))  # past the lease, and the 48 h reminder
    report = dispatch_pass()
    assert report.counts == Counter({"reconciled (already sent)": 1, "sent": 1})
    confirmation, reminder, _ = texts()
    assert OPT_OUT_LINE in confirmation.body and OPT_OUT_LINE not in reminder.body
    assert_sent_exactly_once(fake_twilio, [confirmation, reminder])


def test_a_delivery_report_that_beat_the_reconciliation_still_applies(
    twilio_app, fake_twilio, clock
):
    make_clinic(rooms=2)
    book_patients(1)
    _, (row,) = claim_batch(10)
    sid = get_sender().send(row.to_number, row.body, status_callback=CALLBACK).sid
    # The dispatcher died; Twilio's report comes in before anyone knows the sid.
    assert status_report(sid, "delivered", None) is None

    clock.advance(minutes=10)
    assert str(dispatch_pass()) == "reconciled (already sent) 1"
    (row,) = texts(Kind.CONFIRMATION)
    assert (row.provider_sid, row.status) == (sid, TextStatus.DELIVERED)


def test_concurrent_claims_never_return_the_same_row(any_app, clock):
    make_clinic(rooms=2)
    book_patients(16)
    clock.set(datetime(2026, 3, 3, 10, 0, tzinfo=UTC))
    due = {r.id for r in texts() if r.send_at <= clock.now()}
    assert len(due) == 16 + 16 + 2  # the confirmations, 48-hour and first 24-hour reminders
    db.session.remove()

    claimed: list[list[int]] = []
    barrier = threading.Barrier(6)
    errors = []

    def claimer():
        try:
            with any_app.app_context():
                barrier.wait(timeout=30)
                while True:
                    _, rows = claim_batch(3)
                    if not rows:
                        break
                    claimed.append([r.id for r in rows])
                db.session.remove()
        except Exception as exc:  # reported below, in the test's own thread
            errors.append(exc)

    threads = [threading.Thread(target=claimer) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    ids = [i for batch in claimed for i in batch]
    assert len(ids) == len(set(ids)) == len(due)
    assert set(ids) == due
    assert {r.status for r in texts() if r.id in due} == {TextStatus.SENDING}
    assert all(len(batch) <= 3 for batch in claimed)


def test_several_sending_threads_still_send_each_text_once(twilio_app, fake_twilio, clock):
    twilio_app.config["SMS_SEND_CONCURRENCY"] = 4
    make_clinic(practitioners=2, rooms=2)
    book_patients(8)
    fake_twilio.fail_next(2, 500)
    dispatch_pass()
    assert [r.status for r in texts(Kind.CONFIRMATION)].count("sent") == 6
    clock.advance(minutes=10)  # past the retry backoff
    dispatch_pass()
    rows = texts(Kind.CONFIRMATION)
    assert {r.status for r in rows} == {"sent"}
    assert_sent_exactly_once(fake_twilio, rows)
