"""Email to patients who gave an address and agreed to email: the booking confirmation (with
the manage link and the calendar file) and the aftercare sheet, sent from the outbox to a real
SMTP server on 127.0.0.1, retried when the server says "later", never without consent."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from flask import current_app
from sqlalchemy import func, select

from clinic.booking.forms import PatientDetailsForm
from clinic.booking.tokens import manage_url
from clinic.extensions import db
from clinic.mail import dispatch
from clinic.mail.dispatch import email_pass
from clinic.mail.models import EmailStatus, OutboundEmail
from clinic.patients.models import Patient
from clinic.screening import services as screening_services
from clinic.screening.models import Screening
from clinic.sms.dispatch import dispatch_pass
from clinic.sms.models import AlertLevel, StaffAlert
from clinic.sms.wording import FORBIDDEN
from clinic.visits import services as visits
from clinic.visits.services import SessionInput
from tests.factories import all_no, make_booking, make_clinic, patient_details
from tests.helpers import answered, booking_body, make_staff
from tests.smtp_server import SmtpServer

TUESDAY_10 = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)
SENDER = "Northside Hair Clinic <care@clinic.test>"


@pytest.fixture
def smtp():
    with SmtpServer() as server:
        yield server


@pytest.fixture
def app_config(smtp):
    return {"SMTP_URL": smtp.url, "EMAIL_FROM": SENDER}


@pytest.fixture
def clinic(app):
    return make_clinic()


def book(start=TUESDAY_10, **overrides):
    overrides.setdefault("email_opt_in", True)
    return make_booking("microneedling", start, **overrides)


def emails() -> list[OutboundEmail]:
    db.session.expire_all()
    return list(db.session.scalars(select(OutboundEmail).order_by(OutboundEmail.id)))


def completed(appointment):
    clock = current_app.extensions["clock"]
    clock.set(TUESDAY_10 - timedelta(minutes=10))
    visits.check_in(appointment.id, changes_since_last_visit=False)
    clock.set(TUESDAY_10 + timedelta(minutes=45))
    visits.complete(
        appointment.id,
        SessionInput(
            device="pen",
            needle_depth_mm=1.0,
            areas=("crown",),
            numbing_used=False,
            add_ons=(),
            cartridge_lot="CT-1",
            aftercare_sheet_handed_over=True,
        ),
        None,
    )
    return appointment


def body_text(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def body_html(message) -> str:
    return message.get_body(preferencelist=("html",)).get_content()


def calendar_of(message) -> str:
    [part] = list(message.iter_attachments())
    assert part.get_content_type() == "text/calendar"
    content = part.get_content()
    return content.decode() if isinstance(content, bytes) else content


def test_the_confirmation_arrives_once_with_the_manage_link_and_the_calendar_file(clinic, smtp):
    appointment = book()
    link = manage_url(appointment)

    report = email_pass()

    assert report == {"sent": 1}
    [received] = smtp.messages
    assert received.rcpt_tos == ("alex@example.com",)
    assert received.mail_from == "care@clinic.test"
    message = received.message
    assert message["Subject"] == "Your visit at Northside Hair Clinic"
    assert message["From"] == SENDER
    assert link in body_text(message) and link in body_html(message)
    assert "Tuesday 3 March 2026 at 10:00" in body_text(message)
    assert next(message.iter_attachments()).get_filename() == "appointment-2026-03-03.ics"
    ics = calendar_of(message)
    assert "BEGIN:VEVENT" in ics and "20260303T100000Z" in ics

    [row] = emails()
    assert row.status == EmailStatus.SENT and row.attempts == 1
    assert row.message_id == message["Message-ID"].strip()
    assert email_pass() == {}
    assert smtp.count() == 1


def test_the_aftercare_sheet_follows_a_completed_session_as_html_and_plain_text(clinic, smtp):
    appointment = book()
    email_pass()  # the confirmation, while the visit is ahead
    completed(appointment)
    email_pass()

    subjects = [r.message["Subject"] for r in smtp.messages]
    assert subjects == [
        "Your visit at Northside Hair Clinic",
        "After your visit: how to look after yourself",
    ]
    message = smtp.messages[1].message
    phone = appointment.practitioner.location.phone
    for body in (body_text(message), body_html(message)):
        assert "Call the emergency number, 999, now" in body
        assert f"Call the clinic today, on {phone}" in body
        assert "For the first 24 hours" in body and "From 48 to 72 hours" in body
        assert "38 °C (100.4 °F)" in body
        # A mailbox is not private: the email names no treatment.
        assert appointment.service.name not in body
    [aftercare] = [r for r in emails() if r.kind == "aftercare_sheet"]
    assert aftercare.status == EmailStatus.SENT
    assert aftercare.expires_at == TUESDAY_10 + timedelta(minutes=45) + timedelta(days=7)


def test_subjects_and_bodies_carry_no_health_words(clinic, smtp):
    appointment = book()
    email_pass()
    completed(appointment)
    email_pass()

    assert smtp.count() == 2
    for received in smtp.messages:
        message = received.message
        assert not FORBIDDEN.search(message["Subject"]), message["Subject"]
        assert not FORBIDDEN.search(body_text(message)), body_text(message)


def test_no_email_without_consent_or_without_an_address(clinic, smtp):
    no_consent = book(email_opt_in=False)
    no_address = book(
        TUESDAY_10 + timedelta(hours=2),
        patient=patient_details(phone="+447911000222", email=""),
    )
    assert no_address.patient.email_opt_in is True
    completed(no_consent)

    assert emails() == []
    assert email_pass() == {}
    assert smtp.count() == 0


def test_no_email_at_all_while_smtp_is_not_set(app, clinic, smtp):
    app.config["SMTP_URL"] = ""
    book()

    assert emails() == []
    assert email_pass() == {}
    assert smtp.count() == 0


def test_a_consent_withdrawn_before_sending_stops_the_email(clinic, smtp):
    appointment = book()
    appointment.patient.email_opt_in = False
    db.session.commit()

    assert email_pass() == {"skipped (no consent)": 1}
    assert smtp.count() == 0
    assert emails()[0].status == EmailStatus.SKIPPED


def test_a_temporary_refusal_is_retried_after_a_pause(clinic, smtp, clock):
    book()
    smtp.refuse_next("451 4.3.0 Try again later")

    assert email_pass() == {"retry later": 1}
    [row] = emails()
    assert row.status == EmailStatus.PENDING and row.attempts == 1
    assert row.error_message.startswith("451")
    assert row.send_at > clock.now() and row.handed_over_at is None
    assert email_pass() == {}  # not due yet
    assert smtp.count() == 0

    clock.advance(hours=1)
    assert email_pass() == {"sent": 1}
    assert smtp.count() == 1
    assert emails()[0].status == EmailStatus.SENT


def test_a_server_that_cannot_be_reached_is_tried_again(app, clinic, smtp, clock):
    book()
    app.config["SMTP_URL"] = "smtp://127.0.0.1:1"  # nothing listens there

    assert email_pass() == {"retry later": 1}
    assert emails()[0].status == EmailStatus.PENDING

    app.config["SMTP_URL"] = smtp.url
    clock.advance(hours=1)
    assert email_pass() == {"sent": 1}


def test_tries_used_up_or_a_refusal_for_good_fail_and_tell_the_desk(app, clinic, smtp, clock):
    book()
    smtp.refuse_next("550 5.1.1 No such mailbox")

    assert email_pass() == {"failed": 1}
    [row] = emails()
    assert row.status == EmailStatus.FAILED
    [task] = db.session.scalars(select(StaffAlert)).all()
    assert task.level == AlertLevel.TASK and task.patient_id == row.patient_id
    assert "@" not in task.reason  # the reason names no address


def test_the_email_rides_on_the_texts_dispatcher_pass(clinic, smtp):
    book()

    report = dispatch_pass()

    assert report.counts["email sent"] == 1
    assert smtp.count() == 1


def test_an_abandoned_claim_is_sent_again_only_if_it_was_never_handed_over(clinic, smtp, clock):
    first = book()
    second = book(
        TUESDAY_10 + timedelta(hours=2),
        patient=patient_details(phone="+447911000333", email="sam@example.com"),
    )
    rows = {row.appointment_id: row for row in emails()}
    # A dispatcher killed mid-way: one message was handed to the server, the other was not.
    for row in rows.values():
        row.status, row.attempts, row.claim_token = EmailStatus.SENDING, 1, "dead"
        row.lease_until = clock.now() - timedelta(seconds=1)
    rows[first.id].handed_over_at = clock.now() - timedelta(seconds=2)
    db.session.commit()

    report = email_pass()

    assert report == {
        "settled (already handed over)": 1,
        "settled (send again)": 1,
        "sent": 1,
    }
    assert [r.rcpt_tos for r in smtp.messages] == [("sam@example.com",)]
    assert all(row.status == EmailStatus.SENT for row in emails())
    assert {row.appointment_id: row.attempts for row in emails()} == {first.id: 1, second.id: 2}


def test_the_online_form_asks_for_an_address_before_consent_to_email(app, clinic, client):
    with app.test_request_context(method="POST", data={"email": "", "email_opt_in": "y"}):
        form = PatientDetailsForm()
        form.validate()
        assert form.email_opt_in.errors == ["Please enter your email address, or untick this box."]


def test_the_api_takes_an_optional_email_consent_that_a_later_booking_leaves_alone(clinic, client):
    def patient():
        db.session.expire_all()
        return db.session.scalar(select(Patient))

    body = answered(client, booking_body(email_opt_in=True))
    assert client.post("/api/v1/bookings", json=body).status_code == 201
    assert patient().email_opt_in is True

    later = answered(client, booking_body(start="2026-03-05T10:00:00+00:00"))
    assert client.post("/api/v1/bookings", json=later).status_code == 201
    assert patient().email_opt_in is True  # left out: unchanged

    refused = answered(client, booking_body(start="2026-03-06T10:00:00+00:00", email_opt_in=False))
    assert client.post("/api/v1/bookings", json=refused).status_code == 201
    # A booking never changes a known patient's choices: anyone may know their details.
    assert patient().email_opt_in is True
    assert db.session.scalar(select(func.count()).select_from(OutboundEmail)) == 3


def test_a_booking_held_for_a_check_is_told_so_and_emailed_again_once_approved(clinic, smtp):
    answers = all_no("microneedling") | {"anticoagulant": True}
    appointment = book(screening=answers)
    email_pass()
    [held] = smtp.messages
    assert "We are holding Tuesday 3 March 2026 at 10:00 for you" in body_text(held.message)
    assert "STATUS:TENTATIVE" in calendar_of(held.message)

    screening = db.session.scalar(
        select(Screening).where(Screening.appointment_id == appointment.id)
    )
    clinician = make_staff(role="practitioner", email="dr@example.com")
    screening_services.approve(screening.id, clinician)
    email_pass()

    approved = smtp.messages[1].message
    assert approved["Subject"] == "Your visit at Northside Hair Clinic"
    assert "Your visit is booked for Tuesday 3 March 2026 at 10:00" in body_text(approved)
    assert "STATUS:CONFIRMED" in calendar_of(approved)
    assert [row.kind for row in emails()] == ["confirmation", "approved"]


def test_a_claim_settled_by_another_dispatcher_is_never_finished_by_the_first(clinic, smtp):
    book()
    token, [claimed] = dispatch.claim_batch(10, Counter())
    # Its lease ran out and another dispatcher settled it while this one was still sending.
    row = emails()[0]
    row.status, row.claim_token, row.lease_until = EmailStatus.PENDING, None, None
    db.session.commit()

    report = Counter()
    dispatch._send_and_record(None, token, claimed, report)

    assert report == {"claim lost": 1}
    assert smtp.count() == 0  # the data never ended, so the server kept nothing
    assert emails()[0].status == EmailStatus.PENDING
    assert email_pass() == {"sent": 1}
    assert smtp.count() == 1
