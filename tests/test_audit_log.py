"""The audit log: recording events, never health data, append-only in the application and in
both databases, and the admin page with its filters."""

from __future__ import annotations

import html
import re
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from flask_login import login_user
from sqlalchemy import delete, func, select, update

from clinic.actors import SYSTEM, Actor, ActorKind
from clinic.audit import services as audit
from clinic.audit.context import patient_actor, staff_actor
from clinic.audit.display import short_agent
from clinic.audit.models import AuditEvent
from clinic.booking.models import AppointmentStatus
from clinic.errors import ImmutableRecord
from clinic.extensions import db
from tests.factories import make_booking, make_clinic, patient_details
from tests.helpers import make_staff, sign_in

THURSDAY_10 = datetime(2026, 3, 5, 10, 0, tzinfo=UTC)
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
ADA = dict(full_name="Ada Lovelace", phone="+447911123001")
BO = dict(full_name="Bo Chen", phone="+447911123002")


@pytest.fixture
def clinic(app):
    return make_clinic()


def staff_member(role="admin", email="admin@example.com", name="Ana Admin"):
    return make_staff(role=role, email=email, name=name)


@pytest.fixture
def admin(client, clinic):
    staff_member()
    sign_in(client, email="admin@example.com")
    return client


def acting(user, **request) -> Actor:
    return Actor.staff(user, ip_address="203.0.113.7", user_agent=FIREFOX, **request)


def recorded(actor: Actor, action: str = "visit.check_in", **kwargs) -> AuditEvent:
    """Record one event and commit, as a service's transaction would."""
    kwargs.setdefault("at", datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    event = audit.record(actor, action, **kwargs)
    db.session.commit()
    return event


def page_text(response) -> str:
    words = re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))
    return re.sub(r"\s+", " ", html.unescape(words))


def shown_actions(response) -> list[str]:
    return re.findall(r"<code>([a-z0-9_.]+)</code>", response.get_data(as_text=True))


# --- recording ------------------------------------------------------------------------------


def test_an_event_reads_back_with_who_what_where_and_the_changes(any_app, clock):
    make_clinic()
    booking = make_booking("microneedling", THURSDAY_10, patient=patient_details(**ADA))
    desk = staff_member(role="desk", email="desk@example.com", name="Jo Desk")
    moved_to = THURSDAY_10 + timedelta(days=1)
    event = recorded(
        acting(desk),
        "visit.reschedule",
        at=clock.now(),
        patient_id=booking.patient_id,
        appointment_id=booking.id,
        changes={
            "start_at": (THURSDAY_10, moved_to),
            "status": (AppointmentStatus.BOOKED, AppointmentStatus.CONFIRMED),
            "room_id": (1, None),
            "needles": (True, True),
            "day": (date(2026, 3, 5), date(2026, 3, 6)),
        },
        detail="  Patient asked by phone  ",
    )
    event_id, desk_id = event.id, desk.id
    patient_id, appointment_id = booking.patient_id, booking.id
    db.session.expunge_all()

    stored = db.session.get(AuditEvent, event_id)
    assert stored.occurred_at == clock.now()
    assert stored.occurred_at.tzinfo is not None
    assert (stored.actor_kind, stored.staff_id, stored.actor_label) == ("desk", desk_id, "Jo Desk")
    assert (stored.ip_address, stored.user_agent) == ("203.0.113.7", FIREFOX)
    assert (stored.patient_id, stored.appointment_id) == (patient_id, appointment_id)
    assert stored.action == "visit.reschedule"
    assert stored.detail == "Patient asked by phone"
    assert stored.changes == {
        "start_at": ["2026-03-05T10:00:00+00:00", "2026-03-06T10:00:00+00:00"],
        "status": ["booked", "confirmed"],
        "room_id": [1, None],
        "needles": [True, True],
        "day": ["2026-03-05", "2026-03-06"],
    }


def test_patients_and_the_system_are_named_by_their_channel(app, clock):
    link = recorded(Actor(ActorKind.PATIENT_LINK, ip_address="198.51.100.2"), "visit.cancel")
    text = recorded(Actor(ActorKind.PATIENT_TEXT), "visit.confirm")
    system = recorded(SYSTEM, "visit.no_show")
    assert [e.actor_label for e in (link, text, system)] == [
        "patient via link",
        "patient via text",
        "system",
    ]
    assert {e.staff_id for e in (link, text, system)} == {None}


def test_record_joins_the_callers_transaction_and_never_commits(app, clock):
    audit.record(SYSTEM, "visit.no_show", at=clock.now())
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == 0


@pytest.mark.parametrize(
    "field",
    [
        "answers",
        "asked",
        "flagged",
        "outcome",
        "notes",
        "clinical_notes",
        "review_note",
        "needle_depth_mm",
        "add_ons",
        "areas",
        "device",
        "changes_since_last_visit",
        "screening_answers",
        "session_notes",
        "pregnancy",  # a questionnaire key names its condition
        "anticoagulant",
    ],
)
def test_health_data_fields_are_refused_and_nothing_is_added(app, clock, field):
    with pytest.raises(ValueError, match="health data"):
        audit.record(
            SYSTEM, "session.recorded", at=clock.now(), changes={field: (None, "something")}
        )
    assert not db.session.new


def test_every_questionnaire_key_counts_as_health_data():
    from clinic.screening import questions

    keys = {q.key for version in questions.VERSIONS.values() for q in version.questions}
    assert keys and all(audit.is_health_field(key) for key in keys)


def test_ordinary_visit_fields_are_not_mistaken_for_health_data():
    for field in ("status", "start_at", "room_id", "practitioner_id", "cancel_reason", "source"):
        assert not audit.is_health_field(field)


@pytest.mark.parametrize(
    "value",
    [
        ["hairline", "crown"],
        {"pregnancy": True},
        {1, 2},
        b"bytes",
        object(),
        float("nan"),
        datetime(2026, 3, 2, 9, 0),  # naive: which zone?
    ],
    ids=["list", "dict", "set", "bytes", "object", "nan", "naive-datetime"],
)
def test_values_other_than_plain_scalars_are_refused(app, clock, value):
    with pytest.raises(ValueError):
        audit.record(SYSTEM, "visit.update", at=clock.now(), changes={"room_id": (None, value)})
    assert not db.session.new


@pytest.mark.parametrize("pair", [("only one",), ("a", "b", "c"), "ab"])
def test_a_change_is_a_before_and_after_pair(app, clock, pair):
    with pytest.raises(ValueError, match="pair"):
        audit.record(SYSTEM, "visit.update", at=clock.now(), changes={"status": pair})


@pytest.mark.parametrize("field", ["Status", "start at", "", "x" * 61, 3])
def test_change_keys_are_field_names(app, clock, field):
    with pytest.raises(ValueError, match="field name"):
        audit.record(SYSTEM, "visit.update", at=clock.now(), changes={field: (1, 2)})


@pytest.mark.parametrize(
    "action", ["", "checkin", "Visit.Check_In", "visit.check in", "visit.", "x." + "y" * 59, None]
)
def test_actions_are_named_record_dot_what_happened(app, clock, action):
    with pytest.raises(ValueError, match="action"):
        audit.record(SYSTEM, action, at=clock.now())


def test_long_strings_are_cut_short_not_refused(app, clock):
    event = recorded(
        SYSTEM,
        "visit.cancel",
        changes={"cancel_reason": ("", "x" * 1000)},
        detail="y" * 1000,
    )
    after = event.changes["cancel_reason"][1]
    assert len(after) == audit.MAX_VALUE_CHARS and after.endswith("…")
    assert len(event.detail) == audit.MAX_DETAIL_CHARS and event.detail.endswith("…")


def test_time_must_be_aware_and_only_staff_carry_an_account(app, clock):
    with pytest.raises(ValueError, match="aware"):
        audit.record(SYSTEM, "visit.cancel", at=datetime(2026, 3, 2, 9, 0))
    unnamed = audit.record(Actor(ActorKind.DESK), "visit.cancel", at=clock.now())
    assert (unnamed.staff_id, unnamed.actor_label) == (None, "desk (no account named)")
    with pytest.raises(ValueError, match="staff"):
        audit.record(Actor(ActorKind.SYSTEM, staff_id=1), "visit.cancel", at=clock.now())


# --- append-only ----------------------------------------------------------------------------


@pytest.fixture
def one_event(any_app, clock):
    event = recorded(SYSTEM, "visit.no_show", detail="original")
    return event.id


def detail_of(event_id: int) -> str:
    db.session.rollback()  # a fresh read: on SQLite an open one keeps its old snapshot
    return db.session.scalar(
        sa.text("SELECT detail FROM audit_event WHERE id = :id"), {"id": event_id}
    )


def test_the_orm_refuses_to_change_an_event(one_event):
    event = db.session.get(AuditEvent, one_event)
    event.detail = "rewritten"
    with pytest.raises(ImmutableRecord):
        db.session.commit()
    assert detail_of(one_event) == "original"


def test_the_orm_refuses_to_delete_an_event(one_event):
    db.session.delete(db.session.get(AuditEvent, one_event))
    with pytest.raises(ImmutableRecord):
        db.session.commit()
    assert detail_of(one_event) == "original"


@pytest.mark.parametrize(
    "statement",
    [update(AuditEvent).values(detail="rewritten"), delete(AuditEvent)],
    ids=["update", "delete"],
)
def test_bulk_statements_through_the_session_are_refused(one_event, statement):
    with pytest.raises(ImmutableRecord):
        db.session.execute(statement)
    assert detail_of(one_event) == "original"


@pytest.mark.parametrize(
    "sql",
    ["UPDATE audit_event SET detail = 'rewritten'", "DELETE FROM audit_event"],
    ids=["update", "delete"],
)
def test_the_database_refuses_raw_sql_updates_and_deletes(one_event, sql):
    # Straight to the database on a connection of its own: no ORM listener is involved.
    with db.engine.connect() as connection, pytest.raises(sa.exc.IntegrityError, match="immutable"):
        connection.execute(sa.text(sql))
    assert detail_of(one_event) == "original"


def test_inserting_through_raw_sql_still_works(one_event):
    # The triggers refuse changes, not new rows: the log stays writable.
    with db.engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO audit_event (occurred_at, actor_kind, actor_label, action, changes,"
                " detail, ip_address, user_agent) VALUES (:at, 'system', 'system', 'visit.no_show',"
                " '{}', 'second', '', '')"
            ),
            {"at": datetime(2026, 3, 2, 10, 0)},
        )
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == 2


def test_postgres_refuses_truncating_the_log(pg_app, clock):
    recorded(SYSTEM, "visit.no_show")
    with db.engine.connect() as connection, pytest.raises(sa.exc.IntegrityError, match="immutable"):
        connection.execute(sa.text("TRUNCATE audit_event"))
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == 1


# --- the actor of a request -----------------------------------------------------------------


def test_staff_actor_is_the_signed_in_member_at_the_request_address(app):
    desk = staff_member(role="desk", email="desk@example.com", name="Jo Desk")
    headers = {"User-Agent": FIREFOX}
    with app.test_request_context(environ_base={"REMOTE_ADDR": "192.0.2.9"}, headers=headers):
        login_user(desk)
        actor = staff_actor()
    assert actor == Actor(
        ActorKind.DESK,
        staff_id=desk.id,
        staff_name="Jo Desk",
        ip_address="192.0.2.9",
        user_agent=FIREFOX,
    )


def test_staff_actor_needs_someone_signed_in(app):
    with app.test_request_context(), pytest.raises(RuntimeError):
        staff_actor()


def test_patient_actor_by_link_keeps_the_address_and_by_text_does_not(app):
    with app.test_request_context(
        environ_base={"REMOTE_ADDR": "198.51.100.4"}, headers={"User-Agent": FIREFOX}
    ):
        by_link = patient_actor(ActorKind.PATIENT_LINK)
        by_text = patient_actor("patient_text")  # the webhook's address is Twilio's
        with pytest.raises(ValueError):
            patient_actor(ActorKind.DESK)
    assert (by_link.ip_address, by_link.user_agent) == ("198.51.100.4", FIREFOX)
    assert (by_text.ip_address, by_text.user_agent) == ("", "")
    assert by_text.label == "patient via text"


@pytest.mark.parametrize(
    ("agent", "short"),
    [
        (FIREFOX, "Firefox 133 on Linux"),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/131.0.0.0 Safari/537.36",
            "Chrome 131 on Windows",
        ),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.86",
            "Edge 131 on Windows",
        ),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
            "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
            "Safari 17 on iPhone",
        ),
        ("curl/8.5.0", "curl/8.5.0"),
        ("x" * 100, "x" * 39 + "…"),
        ("", ""),
    ],
)
def test_user_agents_are_shown_in_a_few_words(agent, short):
    assert short_agent(agent) == short


# --- the admin page -------------------------------------------------------------------------


def test_admin_sees_events_newest_first_in_the_clinics_time(admin, clock):
    booking = make_booking("microneedling", THURSDAY_10, patient=patient_details(**ADA))
    desk = staff_member(role="desk", email="desk@example.com", name="Jo Desk")
    # Summer time: 09:00 UTC is 10:00 in London.
    recorded(
        acting(desk),
        "visit.cancel",
        at=datetime(2026, 7, 1, 9, 0, tzinfo=UTC),
        patient_id=booking.patient_id,
        appointment_id=booking.id,
        changes={"status": ("booked", "cancelled")},
        detail="Moving away",
    )
    recorded(SYSTEM, "visit.no_show", at=datetime(2026, 6, 1, 9, 0, tzinfo=UTC))

    response = admin.get("/admin/audit")

    assert response.status_code == 200
    assert shown_actions(response) == [
        "visit.cancel",
        "visit.no_show",
        "consent.signed",
        "visit.book",
    ]
    text = page_text(response)
    assert "Wednesday 1 July 2026 at 10:00" in text
    assert "Jo Desk (desk)" in text
    assert "203.0.113.7" in text and "Firefox 133 on Linux" in text
    assert "status : booked → cancelled" in text
    assert "Moving away" in text
    assert "Ada Lovelace" in text
    assert f'href="/desk/visits/{booking.id}"' in response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"


def test_changed_times_are_shown_in_the_clinics_time(admin):
    recorded(
        SYSTEM,
        "visit.reschedule",
        changes={"start_at": (datetime(2026, 7, 2, 8, 0, tzinfo=UTC), None)},
    )
    text = page_text(admin.get("/admin/audit"))
    assert "start at : Thursday 2 July 2026 at 09:00 → none" in text


@pytest.mark.parametrize("role", ["desk", "practitioner"])
def test_only_admins_may_read_the_log(client, clinic, role):
    staff_member(role=role, email=f"{role}@example.com", name="Not Admin")
    sign_in(client, email=f"{role}@example.com")
    response = client.get("/admin/audit")
    assert response.status_code == 403
    assert response.headers["Cache-Control"] == "no-store"


def test_signed_out_visitors_are_sent_to_sign_in(client, clinic):
    response = client.get("/admin/audit")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def two_patients_and_two_staff():
    ada = make_booking("microneedling", THURSDAY_10, patient=patient_details(**ADA))
    bo = make_booking(
        "microneedling", THURSDAY_10 + timedelta(hours=2), patient=patient_details(**BO)
    )
    jo = staff_member(role="desk", email="jo@example.com", name="Jo Desk")
    pat = staff_member(role="practitioner", email="pat@example.com", name="Pat Practitioner")
    recorded(acting(jo), "visit.check_in", patient_id=ada.patient_id, appointment_id=ada.id)
    recorded(acting(pat), "session.recorded", patient_id=ada.patient_id, appointment_id=ada.id)
    recorded(acting(jo), "visit.cancel", patient_id=bo.patient_id, appointment_id=bo.id)
    recorded(SYSTEM, "visit.no_show", patient_id=bo.patient_id, appointment_id=bo.id)
    return ada, bo, jo, pat


def test_filter_by_patient_number(admin):
    ada, _bo, _jo, _pat = two_patients_and_two_staff()
    response = admin.get(f"/admin/audit?patient={ada.patient_id}")
    assert response.status_code == 200
    assert sorted(shown_actions(response)) == [
        "consent.signed",
        "session.recorded",
        "visit.book",
        "visit.check_in",
    ]
    assert f"Ada Lovelace (patient #{ada.patient_id})" in page_text(response)


def test_filter_by_part_of_the_patients_name_in_any_case(admin):
    two_patients_and_two_staff()
    response = admin.get("/admin/audit?name=CHEN")
    assert sorted(shown_actions(response)) == [
        "consent.signed",
        "visit.book",
        "visit.cancel",
        "visit.no_show",
    ]
    # LIKE wildcards are searched for, not obeyed.
    assert shown_actions(admin.get("/admin/audit?name=%25")) == []


def test_filter_by_staff_member(admin):
    _ada, _bo, jo, pat = two_patients_and_two_staff()
    response = admin.get(f"/admin/audit?staff={jo.id}")
    assert sorted(shown_actions(response)) == ["visit.cancel", "visit.check_in"]
    assert shown_actions(admin.get(f"/admin/audit?staff={pat.id}")) == ["session.recorded"]
    assert f'<option selected value="{jo.id}">Jo Desk (desk)</option>' in response.get_data(
        as_text=True
    )


def test_filters_combine(admin):
    ada, _bo, jo, _pat = two_patients_and_two_staff()
    response = admin.get(f"/admin/audit?patient={ada.patient_id}&staff={jo.id}")
    assert shown_actions(response) == ["visit.check_in"]


def test_the_log_is_read_fifty_at_a_time_and_the_links_keep_the_filters(admin):
    desk = staff_member(role="desk", email="desk@example.com", name="Jo Desk")
    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    for number in range(120):
        audit.record(acting(desk), f"visit.step_{number}", at=start + timedelta(minutes=number))
    audit.record(SYSTEM, "visit.no_show", at=start + timedelta(days=1))  # not Jo's
    db.session.commit()

    first = admin.get(f"/admin/audit?staff={desk.id}")
    page = first.get_data(as_text=True)
    assert shown_actions(first)[:2] == ["visit.step_119", "visit.step_118"]
    assert len(shown_actions(first)) == 50
    assert 'rel="prev"' not in page
    next_link = html.unescape(re.search(r'<a rel="next" href="([^"]+)"', page).group(1))
    assert next_link == f"/admin/audit?page=2&staff={desk.id}"

    third = admin.get(f"/admin/audit?staff={desk.id}&page=3")
    assert shown_actions(third) == [f"visit.step_{n}" for n in range(19, -1, -1)]
    page = third.get_data(as_text=True)
    assert 'rel="next"' not in page
    previous_link = html.unescape(re.search(r'<a rel="prev" href="([^"]+)"', page).group(1))
    assert previous_link == f"/admin/audit?page=2&staff={desk.id}"

    assert shown_actions(admin.get("/admin/audit?page=9")) == []


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("patient=abc", "Give the patient's number as digits"),
        ("patient=0", "Give the patient's number as digits"),
        ("patient=-3", "Give the patient's number as digits"),
        ("patient=99999999999999999999", "Give the patient's number as digits"),
        ("staff=abc", "Choose a staff member from the list."),
        ("staff=999", "Choose a staff member from the list."),
        ("staff=1.5", "Choose a staff member from the list."),
        ("page=0", "That page number is not valid."),
        ("page=abc", "That page number is not valid."),
        ("page=9999999999", "That page number is not valid."),
        ("name=" + "a" * 121, "Search with at most 120 characters."),
    ],
)
def test_malformed_filters_answer_400_with_the_reason(admin, query, message):
    response = admin.get(f"/admin/audit?{query}")
    assert response.status_code == 400
    assert message in page_text(response)
    assert "Error: Audit log" in page_text(response)  # the page title says so too
    assert response.headers["Cache-Control"] == "no-store"


def test_the_page_works_on_postgresql(pg_app, clock):
    make_clinic()
    two_patients_and_two_staff()
    staff_member()
    client = pg_app.test_client()
    sign_in(client, email="admin@example.com")
    response = client.get("/admin/audit?name=chen")
    assert response.status_code == 200
    assert sorted(shown_actions(response)) == [
        "consent.signed",
        "visit.book",
        "visit.cancel",
        "visit.no_show",
    ]
    assert client.get("/admin/audit?patient=abc").status_code == 400
