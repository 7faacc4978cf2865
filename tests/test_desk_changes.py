"""The desk moves and cancels visits: another time, practitioner or room, a cancellation with a
reason; through the lifecycle, with the planned texts and the audit log following at once."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from clinic.audit.models import AuditEvent
from clinic.booking.models import Appointment
from clinic.extensions import db
from clinic.sms.kinds import Kind
from clinic.sms.models import OutboundText, TextStatus
from tests.factories import make_booking, make_clinic, patient_details
from tests.helpers import csrf_token, make_staff, sign_in

CONSULTATION = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)  # Wednesday, 48 hours ahead


@pytest.fixture
def desk(client):
    make_staff()
    sign_in(client)
    return client


def move(client, appointment, *, json=False, **fields):
    body = {
        "date": "2026-03-04",
        "time": "10:00",
        "practitioner": str(appointment.practitioner_id),
        "room": "",
        "csrf_token": csrf_token(client, f"/desk/visits/{appointment.id}"),
    }
    body.update({name: str(value) for name, value in fields.items()})
    headers = {"Accept": "application/json"} if json else {}
    return client.post(f"/desk/visits/{appointment.id}/move", data=body, headers=headers)


def cancel(client, appointment, reason):
    token = csrf_token(client, f"/desk/visits/{appointment.id}")
    return client.post(
        f"/desk/visits/{appointment.id}/cancel", data={"reason": reason, "csrf_token": token}
    )


def fresh(appointment) -> Appointment:
    db.session.expire_all()
    return db.session.get(Appointment, appointment.id)


def audit_rows(appointment, action):
    return list(
        db.session.scalars(
            select(AuditEvent).where(
                AuditEvent.appointment_id == appointment.id, AuditEvent.action == action
            )
        )
    )


def reminder(appointment) -> OutboundText:
    return db.session.scalar(
        select(OutboundText).where(
            OutboundText.appointment_id == appointment.id,
            OutboundText.kind == Kind.REMINDER_24H,
            OutboundText.status == TextStatus.PENDING,
        )
    )


def test_the_visit_page_offers_a_move_form_and_a_cancel_form(desk):
    clinic = make_clinic(practitioners=2, rooms=2)
    appointment = make_booking("consultation", CONSULTATION)
    page = desk.get(f"/desk/visits/{appointment.id}").get_data(as_text=True)
    assert f'action="/desk/visits/{appointment.id}/move"' in page
    assert f'action="/desk/visits/{appointment.id}/cancel"' in page
    for label in ('for="date"', 'for="time"', 'for="practitioner"', 'for="room"', 'for="reason"'):
        assert label in page
    assert clinic.practitioners[1].name in page and clinic.rooms[1].name in page
    assert 'value="2026-03-04"' in page and 'value="10:00"' in page


def test_moving_to_another_time_replans_the_texts_and_is_audited(desk):
    make_clinic(practitioners=1)
    appointment = make_booking("consultation", CONSULTATION, sms_opt_in=True)
    before = reminder(appointment).send_at
    response = move(desk, appointment, date="2026-03-05", time="14:15")
    assert response.status_code == 303
    moved = fresh(appointment)
    assert moved.start_at == datetime(2026, 3, 5, 14, 15, tzinfo=UTC)
    after = reminder(moved)
    assert after.send_at != before and after.send_at < moved.start_at
    (row,) = audit_rows(appointment, "visit.move")
    assert row.actor_kind == "desk" and "start_at" in row.changes


def test_changing_only_the_practitioner_keeps_the_time(desk):
    clinic = make_clinic(practitioners=2)
    appointment = make_booking(
        "consultation", CONSULTATION, practitioner_id=clinic.practitioners[0].id
    )
    response = move(desk, appointment, practitioner=clinic.practitioners[1].id)
    assert response.status_code == 303
    moved = fresh(appointment)
    assert moved.practitioner_id == clinic.practitioners[1].id
    assert moved.start_at == CONSULTATION


def test_changing_only_the_room_keeps_the_time_and_the_practitioner(desk):
    clinic = make_clinic(practitioners=1, rooms=2)
    appointment = make_booking("consultation", CONSULTATION)
    assert appointment.room_id == clinic.rooms[0].id
    response = move(desk, appointment, room=clinic.rooms[1].id)
    assert response.status_code == 303
    moved = fresh(appointment)
    assert (moved.room_id, moved.start_at) == (clinic.rooms[1].id, CONSULTATION)
    assert audit_rows(appointment, "visit.move")[0].changes["room_id"] == [
        clinic.rooms[0].id,
        clinic.rooms[1].id,
    ]


def test_a_move_keeps_the_visits_room_when_it_is_free(desk):
    clinic = make_clinic(practitioners=1, rooms=2)
    appointment = make_booking("consultation", CONSULTATION)
    move(desk, appointment, room=clinic.rooms[1].id)
    move(desk, appointment, time="11:00")
    assert fresh(appointment).room_id == clinic.rooms[1].id


def test_a_room_taken_then_is_refused(desk):
    clinic = make_clinic(practitioners=2, rooms=2)
    make_booking(
        "consultation",
        CONSULTATION,
        practitioner_id=clinic.practitioners[0].id,
        patient=patient_details(full_name="Other Person", phone="+447911123001"),
    )
    appointment = make_booking(
        "consultation", CONSULTATION, practitioner_id=clinic.practitioners[1].id
    )
    response = move(desk, appointment, room=clinic.rooms[0].id)
    assert response.status_code == 409
    assert "room is taken" in response.get_data(as_text=True)
    assert fresh(appointment).room_id == clinic.rooms[1].id


def test_a_taken_time_is_refused_on_either_database(any_app):
    with any_app.app_context():
        client = any_app.test_client()
        make_clinic(practitioners=1)
        make_staff()
        sign_in(client)
        make_booking(
            "consultation",
            CONSULTATION,
            patient=patient_details(full_name="First Person", phone="+447911123001"),
        )
        appointment = make_booking("consultation", CONSULTATION.replace(hour=13))
        response = move(client, appointment, time="10:00")
        assert response.status_code == 409
        assert "no longer free" in response.get_data(as_text=True)
        assert fresh(appointment).start_at == CONSULTATION.replace(hour=13)
        assert audit_rows(appointment, "visit.move") == []


def test_the_needling_gap_is_kept(desk):
    make_clinic(practitioners=1)
    make_booking("microneedling", datetime(2026, 3, 3, 10, 0, tzinfo=UTC))
    later = make_booking("microneedling", datetime(2026, 3, 12, 10, 0, tzinfo=UTC))
    response = move(desk, later, date="2026-03-05", time="10:00")
    assert response.status_code == 422
    assert "at least 7 days between them" in response.get_data(as_text=True)
    assert fresh(later).start_at == datetime(2026, 3, 12, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("fields", "status", "words"),
    [
        ({"date": "2026-03-02", "time": "07:00"}, 422, "already passed"),
        ({"time": "20:00"}, 409, "no longer free"),  # after working hours
        ({"time": ""}, 422, "Enter the new time"),
        ({"date": "not a date"}, 422, "Not a valid date"),
        ({"practitioner": "999"}, 422, "Not a valid choice"),
        ({"room": "999"}, 422, "Not a valid choice"),
    ],
)
def test_refusals_say_why_and_change_nothing(desk, fields, status, words):
    make_clinic(practitioners=1)
    appointment = make_booking("consultation", CONSULTATION)
    response = move(desk, appointment, **fields)
    assert response.status_code == status
    assert words in response.get_data(as_text=True)
    assert fresh(appointment).start_at == CONSULTATION


def test_a_calendar_drop_gets_json_back(desk):
    clinic = make_clinic(practitioners=2)
    appointment = make_booking(
        "consultation", CONSULTATION, practitioner_id=clinic.practitioners[0].id
    )
    response = move(
        desk, appointment, json=True, time="11:30", practitioner=clinic.practitioners[1].id
    )
    assert response.status_code == 200
    answer = response.get_json()
    assert answer["ok"] is True
    assert answer["start"] == "2026-03-04T11:30:00+00:00"
    assert answer["practitioner"] == clinic.practitioners[1].id


def test_a_refused_drop_gets_a_json_message_and_its_status(desk):
    make_clinic(practitioners=1)
    make_booking(
        "consultation",
        CONSULTATION,
        patient=patient_details(full_name="First Person", phone="+447911123001"),
    )
    appointment = make_booking("consultation", CONSULTATION.replace(hour=13))
    response = move(desk, appointment, json=True, time="10:00")
    assert response.status_code == 409
    assert response.get_json() == {
        "ok": False,
        "status": 409,
        "message": "Sorry, that time is no longer free.",
        "errors": {},
    }
    bad = move(desk, appointment, json=True, time="")
    assert bad.status_code == 422
    assert bad.get_json()["errors"]["time"] == ["Enter the new time, like 14:30."]


def test_a_cancelled_visit_cannot_be_moved(desk):
    make_clinic(practitioners=1)
    appointment = make_booking("consultation", CONSULTATION)
    cancel(desk, appointment, "Patient phoned")
    assert move(desk, appointment, time="11:00").status_code == 409


# --- cancelling ---------------------------------------------------------------------------


def test_cancelling_with_a_reason_stops_the_texts_and_audits_the_reason(desk):
    make_clinic(practitioners=1)
    appointment = make_booking("consultation", CONSULTATION, sms_opt_in=True)
    assert reminder(appointment) is not None
    response = cancel(desk, appointment, "  Patient   phoned, unwell ")
    assert response.status_code == 303
    cancelled = fresh(appointment)
    assert cancelled.status == "cancelled"
    assert cancelled.cancel_reason == "Patient phoned, unwell"
    assert reminder(cancelled) is None
    (row,) = audit_rows(appointment, "visit.cancel")
    assert row.detail == "Patient phoned, unwell" and row.actor_kind == "desk"


@pytest.mark.parametrize(
    ("reason", "words"),
    [("", "Say why the visit is cancelled."), ("x" * 301, "300 characters or fewer")],
)
def test_cancelling_needs_a_reason_of_sensible_length(desk, reason, words):
    make_clinic(practitioners=1)
    appointment = make_booking("consultation", CONSULTATION)
    response = cancel(desk, appointment, reason)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert words in page and 'id="reason-error"' in page
    assert fresh(appointment).status == "booked"


def test_cancelling_twice_says_it_is_already_cancelled(desk):
    make_clinic(practitioners=1)
    appointment = make_booking("consultation", CONSULTATION)
    cancel(desk, appointment, "Patient phoned")
    response = cancel(desk, appointment, "Again")
    assert response.status_code == 409
    assert "already cancelled" in response.get_data(as_text=True)


def test_two_desks_moving_two_visits_into_one_time_get_one_move_each_database(any_app):
    with any_app.app_context():
        make_clinic(practitioners=1)
        first = make_booking("consultation", CONSULTATION)
        second = make_booking(
            "consultation",
            CONSULTATION.replace(hour=13),
            patient=patient_details(full_name="Second Person", phone="+447911123001"),
        )
        clients = []
        for n, visit in enumerate((first, second)):
            make_staff(email=f"desk{n}@example.com")
            client = any_app.test_client()
            sign_in(client, email=f"desk{n}@example.com")
            clients.append((client, visit, csrf_token(client, f"/desk/visits/{visit.id}")))
        barrier = threading.Barrier(2)
        statuses = []

        def race(client, path, body):
            with any_app.app_context():
                barrier.wait()
                statuses.append(client.post(path, data=body).status_code)

        entries = [
            (
                client,
                f"/desk/visits/{visit.id}/move",
                {
                    "date": "2026-03-04",
                    "time": "15:00",
                    "practitioner": str(visit.practitioner_id),
                    "room": "",
                    "csrf_token": token,
                },
            )
            for client, visit, token in clients
        ]
        threads = [threading.Thread(target=race, args=entry) for entry in entries]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert sorted(statuses) == [303, 409]
        db.session.rollback()
        at_three = db.session.scalars(
            select(Appointment).where(Appointment.start_at == CONSULTATION.replace(hour=15))
        ).all()
        assert len(at_three) == 1
