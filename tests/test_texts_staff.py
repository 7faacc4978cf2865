"""The staff text pages: alerts, inbox, a patient's thread, the wording, and who may do what."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from clinic.audit.models import AuditEvent
from clinic.booking.services import cancel
from clinic.database import write_transaction
from clinic.extensions import db
from clinic.sms import alerts, inbound
from clinic.sms.dispatch import dispatch_pass
from clinic.sms.kinds import Kind
from clinic.sms.models import AlertLevel, InboundText, MessageTemplate, OutboundText, StaffAlert
from clinic.sms.senders import get_sender
from clinic.sms.wording import DEFAULTS
from tests.factories import make_booking, make_clinic, patient_details
from tests.helpers import csrf_token, make_staff, sign_in

THURSDAY_10 = datetime(2026, 3, 5, 10, 0, tzinfo=UTC)
CLINIC_NUMBER = "+447700900000"
ADA = dict(full_name="Ada Lovelace", phone="+447911123001")
BO = dict(full_name="Bo Chen", phone="+447911123002")
CY = dict(full_name="Cy Patel", phone="+447911123003")


@pytest.fixture
def app_config():
    return {"SMS_SEGMENTS_PER_SECOND": 0}


@pytest.fixture
def clinic(app):
    return make_clinic()


@pytest.fixture
def desk(signed_in, clinic):
    return signed_in("desk", name="Jo Desk")


@pytest.fixture
def admin(signed_in, clinic):
    return signed_in("admin", name="Ana Admin")


def markup(response) -> str:
    return re.sub(r"\s+", " ", html.unescape(response.get_data(as_text=True)))


def page_text(response) -> str:
    """What a reader sees: the page's words without its tags."""
    words = re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))
    return re.sub(r"\s+", " ", html.unescape(words))


ADVISED = {"outcome": "called_advised"}


def post(client, path, data=None, page="/desk/texts/alerts"):
    token = csrf_token(client, page)
    return client.post(path, data={"csrf_token": token, **(data or {})})


def shown_version(client, field: str) -> str:
    """The hidden version a wording form carries, as the page shows it now."""
    page = client.get("/desk/texts/templates").get_data(as_text=True)
    return html.unescape(re.search(rf'name="{field}" type="hidden" value="([^"]*)"', page).group(1))


def save_wording(client, kind: str, body: str, **kwargs):
    data = {f"{kind}-body": body, f"{kind}-version": shown_version(client, f"{kind}-version")}
    return post(client, f"/desk/texts/templates/{kind}", data, **kwargs)


def restore_wording(client, kind: str):
    field = f"{kind}-restore-version"
    return post(
        client, f"/desk/texts/templates/{kind}/restore", {field: shown_version(client, field)}
    )


def booked(start=THURSDAY_10, **patient):
    return make_booking("microneedling", start, patient=patient_details(**patient), sms_opt_in=True)


_sids = iter(range(1, 10_000))


def reply(phone: str, body: str) -> InboundText:
    return inbound.receive(f"SM{next(_sids):032d}", phone, CLINIC_NUMBER, body)


def task_for(
    patient_id: int, reason="Phone the patient: the one-week check text did not reach them."
):
    with write_transaction("test"):
        alert = alerts.raise_alert(AlertLevel.TASK, reason, patient_id=patient_id)
    return alert


def count_in_nav(response, label: str) -> int:
    match = re.search(label + r' <span class="count[^"]*">(\d+)', markup(response))
    return int(match.group(1))


# --- the alerts queue -----------------------------------------------------------------------


def test_alerts_page_needs_a_signed_in_staff_member(client, clinic):
    response = client.get("/desk/texts/alerts")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_alerts_queue_puts_emergencies_first_then_urgent_then_tasks_oldest_first(desk, clock):
    ada = booked(**ADA)
    bo = booked(THURSDAY_10 + timedelta(hours=1), **BO)
    cy = booked(THURSDAY_10 + timedelta(hours=2), **CY)
    reply(ADA["phone"], "there's pus on my scalp")  # urgent, oldest
    clock.advance(minutes=5)
    task_for(cy.patient_id)
    clock.advance(minutes=5)
    reply(BO["phone"], "I can see red streaks")  # emergency, newest but most serious
    clock.advance(minutes=5)
    reply(CY["phone"], "it's really hot and sore")  # urgent, after Ada's
    response = desk.get("/desk/texts/alerts")
    page = page_text(response)
    order = [
        page.index("I can see red streaks"),
        page.index("there's pus on my scalp"),
        page.index("it's really hot and sore"),
        page.index("one-week check text did not reach them"),
    ]
    assert order == sorted(order)
    assert count_in_nav(response, "Alerts") == 4
    assert "4 open alerts, 1 of them an emergency." in page
    assert 'href="tel:+447911123002"' in markup(response)
    assert f'href="/desk/texts/patients/{ada.patient_id}"' in markup(response)
    assert bo.patient.full_name in page


def test_alert_shows_the_reply_time_in_the_clinics_local_time(desk, clock):
    booked(**ADA)
    # 1 June is British Summer Time: 09:30 UTC is 10:30 at the clinic.
    clock.set(datetime(2026, 6, 1, 9, 30, tzinfo=UTC))
    reply(ADA["phone"], "there's pus")
    page = page_text(desk.get("/desk/texts/alerts"))
    assert "Monday 1 June 2026 at 10:30" in page
    assert "at 09:30" not in page


def test_acknowledging_records_who_and_when_and_moves_the_alert_down(desk, clock):
    booked(**ADA)
    alert_reply = reply(ADA["phone"], "there's pus")
    alert = db.session.scalar(select(StaffAlert).where(StaffAlert.inbound_id == alert_reply.id))
    clock.advance(minutes=7)
    response = post(desk, f"/desk/texts/alerts/{alert.id}/acknowledge", ADVISED)
    assert response.status_code == 303
    assert response.headers["Location"] == "/desk/texts/alerts"
    db.session.refresh(alert)
    assert alert.acknowledged_at == clock.now()
    assert alert.acknowledged_by_id is not None
    response = desk.get("/desk/texts/alerts")
    page = page_text(response)
    assert "Alert acknowledged." in page
    assert "No open alerts." in page
    assert count_in_nav(response, "Alerts") == 0
    acknowledged = page.split("Acknowledged", 1)[1]
    assert "there's pus" in acknowledged and "by Jo Desk" in acknowledged


def test_a_second_acknowledgement_keeps_the_first_name(client, clinic, clock):
    make_staff(role="desk", email="desk@example.com", name="Jo Desk")
    make_staff(role="practitioner", email="dr@example.com", name="Dr Rao")
    booked(**ADA)
    reply(ADA["phone"], "it's swollen and red")
    alert = db.session.scalar(select(StaffAlert))
    sign_in(client, email="dr@example.com")
    assert post(client, f"/desk/texts/alerts/{alert.id}/acknowledge", ADVISED).status_code == 303
    first = (alert.acknowledged_at, alert.acknowledged_by_id)
    client.post("/logout", data={"csrf_token": csrf_token(client, "/desk")})
    sign_in(client, email="desk@example.com")
    clock.advance(minutes=3)
    response = post(client, f"/desk/texts/alerts/{alert.id}/acknowledge", ADVISED)
    assert response.status_code == 303
    db.session.refresh(alert)
    assert (alert.acknowledged_at, alert.acknowledged_by_id) == first
    page = page_text(client.get("/desk/texts/alerts"))
    assert "Someone else had already acknowledged that alert." in page
    assert "by Dr Rao" in page


def test_acknowledging_from_the_patients_thread_returns_there(desk):
    appointment = booked(**ADA)
    reply(ADA["phone"], "there's pus")
    alert = db.session.scalar(select(StaffAlert))
    path = f"/desk/texts/patients/{appointment.patient_id}"
    assert "Acknowledge" in desk.get(path).get_data(as_text=True)
    response = post(
        desk, f"/desk/texts/alerts/{alert.id}/acknowledge", {**ADVISED, "next": path}, page=path
    )
    assert response.headers["Location"] == path
    # A "next" that leaves the site is ignored.
    response = post(
        desk, f"/desk/texts/alerts/{alert.id}/acknowledge", {**ADVISED, "next": "//evil.test/"}
    )
    assert response.headers["Location"] == "/desk/texts/alerts"


def test_acknowledging_an_unknown_alert_is_not_found(desk):
    assert post(desk, "/desk/texts/alerts/9999/acknowledge", ADVISED).status_code == 404
    assert post(desk, "/desk/texts/alerts/99999999999/acknowledge", ADVISED).status_code == 404


# --- the inbox ------------------------------------------------------------------------------


def test_inbox_lists_unknown_numbers_and_free_text_newest_first(desk, clock):
    booked(**ADA)
    reply(ADA["phone"], "Can I bring my sister along?")
    clock.advance(minutes=2)
    reply("+447900111222", "Who is this?")
    clock.advance(minutes=2)
    reply(ADA["phone"], "there's pus")  # an alert, not an inbox item
    reply(ADA["phone"], "HELP")  # answered automatically
    response = desk.get("/desk/texts/inbox")
    page = page_text(response)
    assert page.index("Who is this?") < page.index("Can I bring my sister along?")
    assert "This number matches no patient: no reply was sent." in page
    assert "there's pus" not in page.split("Text inbox", 2)[2]
    assert "HELP" not in page.split("Text inbox", 2)[2]
    assert count_in_nav(response, "Inbox") == 2


def test_symptoms_from_an_unknown_number_are_an_alert_with_the_number_to_call(desk):
    reply("+447900111222", "there's pus, who do I call?")
    assert db.session.scalar(select(func.count()).select_from(StaffAlert)) == 1
    response = desk.get("/desk/texts/alerts")
    page = page_text(response)
    assert "there's pus, who do I call?" in page and "unknown sender" in page
    assert 'href="tel:+447900111222"' in markup(response)
    # The alert covers it: it is not also an inbox item.
    assert "there's pus" not in page_text(desk.get("/desk/texts/inbox")).split("Text inbox", 2)[2]


def test_marking_a_reply_handled_takes_it_off_the_inbox(desk, clock):
    question = reply("+447900111222", "Who is this?")
    clock.advance(minutes=4)
    response = post(desk, f"/desk/texts/inbox/{question.id}/handled", page="/desk/texts/inbox")
    assert response.status_code == 303
    assert response.headers["Location"] == "/desk/texts/inbox"
    db.session.refresh(question)
    assert question.handled_at == clock.now()
    response = desk.get("/desk/texts/inbox")
    page = page_text(response)
    assert "Nothing is waiting in the inbox." in page
    assert "Recently handled" in page and "by Jo Desk" in page
    assert count_in_nav(response, "Inbox") == 0


def test_a_reply_that_needs_no_person_cannot_be_marked_handled(desk):
    booked(**ADA)
    help_reply = reply(ADA["phone"], "HELP")
    response = post(desk, f"/desk/texts/inbox/{help_reply.id}/handled", page="/desk/texts/inbox")
    assert response.status_code == 404


# --- a patient's thread ---------------------------------------------------------------------


def test_thread_shows_texts_in_and_out_in_order_and_what_is_planned(desk, clock):
    appointment = booked(**ADA)
    dispatch_pass()  # the confirmation
    clock.advance(minutes=20)
    reply(ADA["phone"], "Thanks, is parking free?")
    dispatch_pass()
    response = desk.get(f"/desk/texts/patients/{appointment.patient_id}")
    assert response.status_code == 200
    page = page_text(response)
    confirmation = db.session.scalar(
        select(OutboundText).where(OutboundText.kind == Kind.CONFIRMATION)
    )
    assert confirmation.body in page
    thread = page[page.index("Texts in and out") : page.index("Planned texts")]
    assert thread.index("Booking confirmation") < thread.index("Thanks, is parking free?")
    assert "Sent · Monday 2 March 2026 at 08:00" in thread
    planned = page[page.index("Planned texts") :]
    # Reminders 48 and 24 hours before Thursday 10:00, with the visit filled in.
    assert planned.index("Tuesday 3 March 2026 at 10:00") < planned.index(
        "Wednesday 4 March 2026 at 10:00"
    )
    assert "your visit is on Thursday 5 March at 10:00" in planned
    assert 'href="tel:+447911123001"' in response.get_data(as_text=True)


def test_thread_says_why_a_text_was_not_sent(desk, clock):
    appointment = booked(**ADA)
    clock.set(datetime(2026, 3, 3, 10, 0, tzinfo=UTC))
    dispatch_pass()
    cancel(appointment, reason="Away", by_patient=False)
    page = page_text(desk.get(f"/desk/texts/patients/{appointment.patient_id}"))
    assert "Reminder the day before · Cancelled" in page
    assert "visit cancelled" in page
    assert "Nothing planned." in page


def test_thread_of_an_unknown_patient_is_not_found(desk):
    assert desk.get("/desk/texts/patients/4242").status_code == 404
    assert desk.get("/desk/texts/patients/99999999999").status_code == 404


# --- wording --------------------------------------------------------------------------------


def test_wording_page_shows_every_kind_with_the_built_in_text_and_placeholders(desk):
    page = page_text(desk.get("/desk/texts/templates"))
    for kind in Kind:
        assert DEFAULTS[kind] in page
    assert "{next_visit}" in page and "The clinic's phone number" in page
    # The desk reads the wording but has nothing to edit it with.
    assert "Check and save" not in page


def test_the_desk_cannot_change_or_restore_wording(desk):
    response = post(desk, "/desk/texts/templates/confirmation", {"confirmation-body": "{clinic}"})
    assert response.status_code == 403
    assert post(desk, "/desk/texts/templates/confirmation/restore").status_code == 403
    assert db.session.scalar(select(func.count()).select_from(MessageTemplate)) == 0


def test_a_practitioner_sees_the_pages_but_cannot_change_wording(client, clinic):
    make_staff(role="practitioner", email="dr@example.com", name="Dr Rao")
    sign_in(client, email="dr@example.com")
    for path in ("/desk/texts/alerts", "/desk/texts/inbox", "/desk/texts/templates"):
        assert client.get(path).status_code == 200
    response = post(client, "/desk/texts/templates/reply_help", {"reply_help-body": "{clinic}"})
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("{clinic}: see you {date} \u2014 {time}", "Use plain characters only"),
        ("{clinic}: see you {date} at {time} \U0001f642", "Use plain characters only"),
        ("{clinic}: remember your minoxidil on {date}", "must not name a condition"),
        ("{clinic}: see you {date} at {foo}", "Unknown placeholders: {foo}."),
        ("{clinic: see you {date}", "Braces must hold a placeholder name"),
        ("{clinic}: see you {date} at {time}}", "Braces must hold a placeholder name"),
        ("{clinic}: " + "please read this carefully. " * 12, "Too long"),
        ("   ", "Write the text, or restore the built-in wording."),
    ],
)
def test_bad_wording_is_refused_with_the_reason_and_nothing_saved(admin, body, message):
    response = save_wording(admin, "reminder_24h", body, page="/desk")
    assert response.status_code == 422
    assert message in page_text(response)
    assert "<title>Error: " in markup(response)
    assert db.session.scalar(select(func.count()).select_from(MessageTemplate)) == 0


def test_saved_wording_is_what_the_next_text_says(admin, app, clock):
    wording = "{clinic}: booked for {date} at {time}. To change it: {link}"
    response = save_wording(admin, "confirmation", wording + "\r\n")
    assert response.status_code == 303
    assert response.headers["Location"] == "/desk/texts/templates#confirmation"
    saved = db.session.scalar(select(MessageTemplate))
    assert (saved.kind, saved.body, saved.updated_at) == ("confirmation", wording, clock.now())
    page = page_text(admin.get("/desk/texts/templates"))
    assert "Saved: Booking confirmation." in page
    assert "The clinic's wording" in page and "by Ana Admin" in page

    booked(**ADA)
    dispatch_pass()
    # The confirmation, then the pre-care advice that goes with a booking this close.
    _sid, to, body = get_sender().sent[-2]
    link = re.search(r"http://clinic\.test/manage/\S+", body).group(0)
    assert to == ADA["phone"]
    assert body == (
        f"{app.config['CLINIC_NAME']}: booked for Thursday 5 March at 10:00. To change it: "
        f"{link} Reply STOP to opt out."
    )


def test_saving_a_two_message_wording_warns_after_saving(admin):
    wording = "{clinic}: see you {date} at {time}. " + "Please arrive ten minutes early. " * 3
    response = save_wording(admin, "reminder_24h", wording)
    assert response.status_code == 303
    page = page_text(admin.get(response.headers["Location"]))
    assert "With real details this goes as 2 text messages; 1 is better." in page
    assert db.session.scalar(select(MessageTemplate.body)) == wording.strip()


def test_saving_again_replaces_the_clinics_wording(admin):
    for wording in ("{clinic}: texts restarted.", "{clinic}: texts are back on."):
        save_wording(admin, "reply_opt_in", wording)
    assert db.session.scalars(select(MessageTemplate.body)).all() == [
        "{clinic}: texts are back on."
    ]


def test_restoring_the_default_deletes_the_clinics_wording(admin):
    save_wording(admin, "reply_help", "{clinic}: call {phone}.")
    assert db.session.scalar(select(func.count()).select_from(MessageTemplate)) == 1
    response = restore_wording(admin, "reply_help")
    assert response.status_code == 303
    assert db.session.scalar(select(func.count()).select_from(MessageTemplate)) == 0
    page = page_text(admin.get("/desk/texts/templates"))
    assert "Restored the built-in wording: Answer to HELP." in page
    # The same button sent again (a double click) finds the built-in wording already back.
    again = post(
        admin, "/desk/texts/templates/reply_help/restore", {"reply_help-restore-version": "x"}
    )
    assert again.status_code == 303
    assert "already uses the built-in wording" in page_text(admin.get("/desk/texts/templates"))


def test_a_confirmation_without_its_link_is_refused_at_the_field(admin):
    response = save_wording(admin, "confirmation", "{clinic}: see you on {date} at {time}.")
    assert response.status_code == 422
    assert "A confirmation must include {link}" in page_text(response)
    assert 'id="confirmation-body-error"' in markup(response)
    assert db.session.scalar(select(func.count()).select_from(MessageTemplate)) == 0


def wording_events() -> list[AuditEvent]:
    db.session.rollback()  # a fresh read: the request wrote in its own transaction
    return list(
        db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.action.like("settings.template_%"))
            .order_by(AuditEvent.id)
        )
    )


def test_saving_and_restoring_wording_are_audited_with_before_and_after(admin):
    assert save_wording(admin, "reply_help", "{clinic}: call {phone}.").status_code == 303
    assert save_wording(admin, "reply_help", "{clinic}: ring {phone}.").status_code == 303
    assert restore_wording(admin, "reply_help").status_code == 303
    first, second, restored = wording_events()
    assert (first.action, first.detail) == ("settings.template_changed", "reply_help")
    assert first.changes == {"wording": [DEFAULTS[Kind.REPLY_HELP], "{clinic}: call {phone}."]}
    assert second.changes == {"wording": ["{clinic}: call {phone}.", "{clinic}: ring {phone}."]}
    assert (restored.action, restored.changes) == (
        "settings.template_restored",
        {"wording": ["{clinic}: ring {phone}.", DEFAULTS[Kind.REPLY_HELP]]},
    )
    assert first.actor_label.startswith("Ana Admin") and first.ip_address


def test_a_wording_form_opened_before_someone_elses_save_gets_409(admin):
    opened = shown_version(admin, "reply_help-version")
    assert save_wording(admin, "reply_help", "{clinic}: call {phone}.").status_code == 303
    stale = post(
        admin,
        "/desk/texts/templates/reply_help",
        {"reply_help-body": "{clinic}: ring {phone}.", "reply_help-version": opened},
    )
    assert stale.status_code == 409
    assert "Someone else changed this wording" in page_text(stale)
    assert "<title>Error: " in markup(stale)
    # The page shows the wording as it is now, with a form over it.
    assert shown_version(admin, "reply_help-version") != opened
    for version in ("", "built-in", "x" * 500):
        tampered = post(
            admin,
            "/desk/texts/templates/reply_help",
            {"reply_help-body": "{clinic}: ring {phone}.", "reply_help-version": version},
        )
        assert tampered.status_code == 409
    assert db.session.scalars(select(MessageTemplate.body)).all() == ["{clinic}: call {phone}."]
    assert len(wording_events()) == 1


def test_restoring_over_someone_elses_newer_wording_gets_409(admin):
    save_wording(admin, "reply_help", "{clinic}: call {phone}.")
    opened = shown_version(admin, "reply_help-restore-version")
    save_wording(admin, "reply_help", "{clinic}: ring {phone}.")
    response = post(
        admin, "/desk/texts/templates/reply_help/restore", {"reply_help-restore-version": opened}
    )
    assert response.status_code == 409
    assert db.session.scalars(select(MessageTemplate.body)).all() == ["{clinic}: ring {phone}."]


def test_an_unknown_kind_of_text_is_not_found(admin):
    assert post(admin, "/desk/texts/templates/birthday", {"birthday-body": "hi"}).status_code == 404
    assert post(admin, "/desk/texts/templates/birthday/restore").status_code == 404


# --- CSRF -----------------------------------------------------------------------------------


def test_every_action_without_a_csrf_token_is_refused(admin):
    booked(**ADA)
    reply(ADA["phone"], "there's pus")
    question = reply("+447900111222", "Who is this?")
    alert = db.session.scalar(select(StaffAlert))
    for path, data in [
        (f"/desk/texts/alerts/{alert.id}/acknowledge", ADVISED),
        (f"/desk/texts/inbox/{question.id}/handled", {}),
        ("/desk/texts/templates/confirmation", {"confirmation-body": "{clinic}: booked."}),
        ("/desk/texts/templates/confirmation/restore", {}),
    ]:
        assert admin.post(path, data=data).status_code == 400
        assert admin.post(path, data={**data, "csrf_token": "forged"}).status_code == 400
    db.session.refresh(alert)
    db.session.refresh(question)
    assert alert.acknowledged_at is None and question.handled_at is None
    assert db.session.scalar(select(func.count()).select_from(MessageTemplate)) == 0


def test_the_texts_address_opens_the_alerts(desk):
    response = desk.get("/desk/texts")
    assert response.status_code == 302
    assert response.headers["Location"] == "/desk/texts/alerts"


@pytest.mark.postgres
def test_the_pages_and_actions_work_on_postgresql(pg_app, clock):
    make_clinic()
    make_staff(role="admin", email="admin@example.com", name="Ana Admin")
    client = pg_app.test_client()
    sign_in(client, email="admin@example.com")
    appointment = booked(**ADA)
    booked(THURSDAY_10 + timedelta(hours=1), **BO)
    reply(ADA["phone"], "there's pus")
    clock.advance(minutes=1)
    reply(BO["phone"], "red streaks everywhere")
    reply("+447900111222", "Who is this?")
    page = page_text(client.get("/desk/texts/alerts"))
    assert page.index("red streaks everywhere") < page.index("there's pus")
    assert "Who is this?" in page_text(client.get("/desk/texts/inbox"))
    thread = client.get(f"/desk/texts/patients/{appointment.patient_id}")
    assert thread.status_code == 200 and "there's pus" in page_text(thread)
    alert = db.session.scalar(select(StaffAlert).order_by(StaffAlert.id))
    assert post(client, f"/desk/texts/alerts/{alert.id}/acknowledge", ADVISED).status_code == 303
    saved = save_wording(client, "reply_help", "{clinic}: {phone}")
    assert saved.status_code == 303
    assert db.session.scalar(select(MessageTemplate.body)) == "{clinic}: {phone}"
