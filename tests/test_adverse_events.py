"""Adverse events: recorded after a session from a visit or an alert, followed up, audited without
health data, and exported in the fields of the regulators' report forms."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from clinic.actors import Actor
from clinic.adverse_events import queries, report, rules
from clinic.adverse_events import services as events
from clinic.adverse_events.models import AdverseEvent
from clinic.adverse_events.services import EventInput
from clinic.audit.models import AuditEvent
from clinic.audit.services import is_health_field
from clinic.database import write_transaction
from clinic.errors import ChangeNotAllowed, ValidationFailed
from clinic.extensions import db
from clinic.sms import alerts
from clinic.sms.models import AlertLevel
from clinic.visits import services as visits
from clinic.visits.services import SessionInput
from tests.factories import make_booking, make_clinic, patient_details
from tests.helpers import csrf_token, make_staff, sign_in

TUESDAY_10 = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)  # London is on GMT: UTC = local
SESSION_END = TUESDAY_10 + timedelta(minutes=75)
FRIDAY_9 = datetime(2026, 3, 6, 9, 0, tzinfo=UTC)
PRP_SESSION = SessionInput(
    device="pen",
    needle_depth_mm=1.0,
    areas=("crown",),
    numbing_used=True,
    add_ons=("prp",),
    cartridge_lot="CT-2291",
    prp_kit_lot="PK-0077",
)
ONSET = datetime(2026, 3, 4, 18, 30, tzinfo=UTC)
INFECTION = EventInput(
    onset_at=ONSET,
    event_type="infection",
    description="Pustules on the crown, warm and tender; fever 38.4 C.",
    severity="moderate",
    action_taken="Seen same day; oral antibiotics by the GP.",
    outcome="recovering",
)
# The words that must never reach the audit log.
HEALTH_WORDS = ("Pustules", "infection", "moderate", "antibiotics", "recovering", "recovered")


def as_practitioner(user) -> Actor:
    return Actor.staff(user)


@pytest.fixture
def practitioner(app):
    return make_staff(role="practitioner", email="dr@example.com", name="Dr Rao")


def completed_session(clock, practitioner, *, start=TUESDAY_10, slug="microneedling-prp", **who):
    """A PRP session the patient came to and the practitioner recorded."""
    patient = patient_details(**({"full_name": "Alex de Morgan"} | who))
    visit = make_booking(slug, start, patient=patient)
    clock.set(start - timedelta(minutes=10))
    visits.check_in(visit.id, changes_since_last_visit=False)
    clock.set(start + timedelta(minutes=75))
    session = (
        PRP_SESSION
        if slug == "microneedling-prp"
        else SessionInput(**{**PRP_SESSION.__dict__, "add_ons": (), "prp_kit_lot": ""})
    )
    visits.complete(visit.id, session, practitioner)
    clock.set(FRIDAY_9)
    return visit


def audit_rows(action: str) -> list[AuditEvent]:
    db.session.commit()
    return list(
        db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        )
    )


def assert_no_health_data(row: AuditEvent) -> None:
    assert not any(is_health_field(name) for name in row.changes), row.changes
    stored = f"{row.changes} {row.detail}"
    for word in HEALTH_WORDS:
        assert word.lower() not in stored.lower(), (word, stored)


def with_changes(data: EventInput, **changes) -> EventInput:
    return EventInput(**{**data.__dict__, **changes})


# --- the rules, without an app ----------------------------------------------------------------


def test_initials_and_age_at_onset_are_what_the_report_forms_ask_for():
    assert rules.initials("Alex de Morgan") == "A.D.M."
    assert rules.initials("Mary-Jane  O'Neil") == "M.J.O."
    assert rules.initials("") == ""
    born = date(1988, 4, 12)
    assert rules.age_on(born, date(2026, 4, 11)) == 37
    assert rules.age_on(born, date(2026, 4, 12)) == 38


@pytest.mark.parametrize(
    ("cell", "safe"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+44 20 7946 0321", "'+44 20 7946 0321"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("Pustules on the crown", "Pustules on the crown"),
        (42, "42"),
        (None, ""),
    ],
)
def test_cells_a_spreadsheet_would_run_get_a_leading_quote(cell, safe):
    assert rules.csv_safe(cell) == safe


def test_answers_that_contradict_each_other_are_named_on_their_fields():
    facts = rules.Facts(
        event_type="other",
        other_type="",
        serious_criteria=(),
        outcome="fatal",
        regulator="",
        reported_on=date(2026, 3, 5),
        regulator_reference="",
        onset_day=date(2026, 3, 4),
    )
    errors = rules.consistency_errors(facts)
    assert set(errors) == {"other_type", "serious_criteria", "regulator"}
    sent_early = rules.consistency_errors(
        rules.Facts("fainting", "", (), "recovered", "mhra", date(2026, 3, 3), "", date(2026, 3, 4))
    )
    assert sent_early == {"reported_on": ["The report cannot be sent before the event began."]}
    died = rules.consistency_errors(
        rules.Facts("infection", "", ("death",), "recovering", "", None, "", date(2026, 3, 4))
    )
    assert set(died) == {"outcome"}


# --- the services, on both databases ----------------------------------------------------------


@pytest.fixture
def ready(any_app, clock):
    make_clinic(practitioners=1)
    practitioner = make_staff(role="practitioner", email="dr@example.com", name="Dr Rao")
    visit = completed_session(clock, practitioner)
    return visit, practitioner


def test_an_event_copies_the_sessions_lots_and_is_audited_without_health_data(ready):
    visit, practitioner = ready
    event = events.record_event(visit.id, INFECTION, by=as_practitioner(practitioner))
    db.session.commit()
    stored = db.session.get(AdverseEvent, event.id)
    assert (stored.patient_id, stored.appointment_id) == (visit.patient_id, visit.id)
    assert (stored.cartridge_lot, stored.prp_kit_lot) == ("CT-2291", "PK-0077")
    assert stored.session_record_id is not None
    assert stored.onset_at == ONSET
    assert (stored.serious, stored.serious_criteria, stored.regulator) == (False, [], "")
    assert (stored.recorded_by_id, stored.recorded_at) == (practitioner.id, FRIDAY_9)
    [row] = audit_rows("adverse_event.recorded")
    assert (row.patient_id, row.appointment_id, row.staff_id) == (
        visit.patient_id,
        visit.id,
        practitioner.id,
    )
    assert row.changes == {"adverse_event_id": [None, event.id]}
    assert_no_health_data(row)


def test_outcome_and_reporting_are_filled_in_later_and_the_audit_shows_only_the_reporting(
    ready, clock
):
    visit, practitioner = ready
    event = events.record_event(visit.id, INFECTION, by=as_practitioner(practitioner))
    clock.advance(days=10)
    serious = with_changes(
        INFECTION,
        outcome="recovered",
        serious_criteria=("hospitalisation",),
        regulator="mhra",
        reported_on=date(2026, 3, 9),
        regulator_reference="YC-2026-000123",
    )
    events.update_event(event.id, serious, by=as_practitioner(practitioner))
    db.session.commit()
    stored = db.session.get(AdverseEvent, event.id)
    assert (stored.outcome, stored.serious, stored.serious_criteria) == (
        "recovered",
        True,
        ["hospitalisation"],
    )
    assert (stored.regulator, stored.reported_on, stored.regulator_reference) == (
        "mhra",
        date(2026, 3, 9),
        "YC-2026-000123",
    )
    assert stored.updated_at == FRIDAY_9 + timedelta(days=10)
    [row] = audit_rows("adverse_event.updated")
    assert row.changes == {
        "adverse_event_id": [event.id, event.id],
        "regulator": ["", "mhra"],
        "reported_on": [None, "2026-03-09"],
        "regulator_reference": ["", "YC-2026-000123"],
    }
    assert row.detail == "Changed: outcome, seriousness."
    assert_no_health_data(row)
    # Saving the same answers again changes nothing and records nothing.
    events.update_event(event.id, serious, by=as_practitioner(practitioner))
    assert len(audit_rows("adverse_event.updated")) == 1


def test_the_desk_cannot_record_or_change_an_event(ready):
    visit, practitioner = ready
    desk = Actor.staff(make_staff(role="desk", email="desk@example.com"))
    with pytest.raises(ChangeNotAllowed):
        events.record_event(visit.id, INFECTION, by=desk)
    event = events.record_event(visit.id, INFECTION, by=as_practitioner(practitioner))
    with pytest.raises(ChangeNotAllowed):
        events.update_event(event.id, with_changes(INFECTION, outcome="recovered"), by=desk)
    db.session.commit()
    assert db.session.get(AdverseEvent, event.id).outcome == "recovering"


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"onset_at": TUESDAY_10 - timedelta(hours=1)}, "onset_at", "before the session began"),
        ({"onset_at": FRIDAY_9 + timedelta(minutes=1)}, "onset_at", "in the future"),
        ({"event_type": "sunburn"}, "event_type", "kind of event"),
        ({"severity": "awful"}, "severity", "mild, moderate or severe"),
        ({"outcome": "fine"}, "outcome", "outcome"),
        ({"serious_criteria": ("bored",)}, "serious_criteria", "criteria"),
        ({"description": "  "}, "description", "Describe"),
        ({"description": "x" * 5001}, "description", "5,000"),
        ({"regulator": "mhra"}, "reported_on", "date the report was sent"),
        ({"reported_on": date(2026, 3, 5)}, "regulator", "which regulator"),
        ({"regulator": "fda", "reported_on": date(2026, 3, 7)}, "reported_on", "future"),
        ({"event_type": "other"}, "other_type", "what kind"),
    ],
)
def test_input_the_rules_refuse_is_named_and_nothing_is_stored(ready, changes, field, message):
    visit, practitioner = ready
    with pytest.raises(ValidationFailed) as refused:
        events.record_event(
            visit.id, with_changes(INFECTION, **changes), by=as_practitioner(practitioner)
        )
    assert message in " ".join(refused.value.errors[field])
    db.session.rollback()
    assert db.session.scalars(select(AdverseEvent)).all() == []
    assert audit_rows("adverse_event.recorded") == []


def test_an_event_follows_a_session_the_patient_came_to(ready, clock):
    _visit, practitioner = ready
    upcoming = make_booking("microneedling", datetime(2026, 3, 12, 10, tzinfo=UTC))
    with pytest.raises(ValidationFailed) as refused:
        events.record_event(upcoming.id, INFECTION, by=as_practitioner(practitioner))
    assert "session" in refused.value.errors


def test_the_list_filters_open_and_reported_newest_first_a_page_at_a_time(ready):
    visit, practitioner = ready
    by = as_practitioner(practitioner)
    oldest = events.record_event(visit.id, INFECTION, by=by)
    reported = events.record_event(
        visit.id,
        with_changes(
            INFECTION,
            onset_at=ONSET + timedelta(hours=1),
            outcome="recovered",
            regulator="fda",
            reported_on=date(2026, 3, 5),
        ),
        by=by,
    )
    newest = events.record_event(
        visit.id, with_changes(INFECTION, onset_at=ONSET + timedelta(hours=2)), by=by
    )

    def ids(filters, **kwargs):
        return [row.event.id for row in queries.events(filters, **kwargs).rows]

    assert ids(queries.Filters()) == [newest.id, reported.id, oldest.id]
    assert ids(queries.Filters(show="open")) == [newest.id, oldest.id]
    assert ids(queries.Filters(show="reported")) == [reported.id]
    assert ids(queries.Filters(show="unreported")) == [newest.id, oldest.id]
    assert ids(queries.Filters(patient_id=visit.patient_id + 1)) == []
    first = queries.events(queries.Filters(), page=1, page_size=2)
    second = queries.events(queries.Filters(), page=2, page_size=2)
    assert (first.has_previous, first.has_next) == (False, True)
    assert [r.event.id for r in second.rows] == [oldest.id]
    assert (second.has_previous, second.has_next) == (True, False)


# --- the pages ------------------------------------------------------------------------------


@pytest.fixture
def clinic(app):
    return make_clinic(practitioners=1)


@pytest.fixture
def session_visit(clinic, clock):
    recorder = make_staff(role="practitioner", email="recorder@example.com", name="Dr Rao")
    return completed_session(clock, recorder)


@pytest.fixture
def doctor(signed_in, session_visit):
    return signed_in("practitioner", name="Dr Okafor")


def form_data(**overrides) -> dict:
    data = {
        "onset_date": "2026-03-04",
        "onset_time": "18:30",
        "event_type": "infection",
        "description": "Pustules on the crown, warm and tender.",
        "severity": "moderate",
        "action_taken": "Seen same day.",
        "outcome": "recovering",
        "patient_sex": "",
        "regulator": "",
        "reported_on": "",
        "regulator_reference": "",
    }
    data.update(overrides)
    return data


def post_form(client, path, **overrides):
    token = csrf_token(client, path)
    return client.post(path, data={"csrf_token": token, **form_data(**overrides)})


def record(client, visit, **overrides):
    """Post the new-event form opened from ``visit``'s page, with that session chosen."""
    overrides.setdefault("session", str(visit.id))
    return post_form(client, f"/desk/adverse-events/new?appointment={visit.id}", **overrides)


def page_text(response) -> str:
    return response.get_data(as_text=True)


def only_event() -> AdverseEvent:
    db.session.commit()
    [event] = db.session.scalars(select(AdverseEvent)).all()
    return event


def test_a_practitioner_records_an_event_from_the_visit_page(doctor, session_visit):
    visit_page = page_text(doctor.get(f"/desk/visits/{session_visit.id}"))
    new_path = f"/desk/adverse-events/new?appointment={session_visit.id}"
    assert f'href="{new_path}"' in visit_page
    form = page_text(doctor.get(new_path))
    assert re.search(rf'<option selected value="{session_visit.id}">', form)
    response = record(doctor, session_visit, serious_criteria=["hospitalisation"])
    assert response.status_code == 303, page_text(response)
    event = only_event()
    assert response.headers["Location"] == f"/desk/adverse-events/{event.id}"
    assert (event.event_type, event.serious, event.alert_id) == ("infection", True, None)
    assert event.onset_at == datetime(2026, 3, 4, 18, 30, tzinfo=UTC)
    shown = page_text(doctor.get(f"/desk/adverse-events/{event.id}"))
    assert "CT-2291" in shown and "PK-0077" in shown
    assert "Hospitalisation (initial or prolonged)" in shown
    assert "a serious event must be reported" in shown
    [row] = audit_rows("adverse_event.recorded")
    assert row.actor_label == "Dr Okafor"
    assert_no_health_data(row)


def test_onset_is_typed_in_the_clinics_local_time(doctor, session_visit, clock):
    clock.set(datetime(2026, 4, 6, 9, tzinfo=UTC))  # London on BST (UTC+1)
    response = record(doctor, session_visit, onset_date="2026-04-02", onset_time="14:00")
    assert response.status_code == 303
    assert only_event().onset_at == datetime(2026, 4, 2, 13, 0, tzinfo=UTC)


def test_a_practitioner_records_an_event_from_an_alert(doctor, session_visit):
    with write_transaction("test"):
        alert = alerts.raise_alert(
            AlertLevel.URGENT, "Reply mentions symptoms", patient_id=session_visit.patient_id
        )
    alerts_page = page_text(doctor.get("/desk/texts/alerts"))
    path = f"/desk/adverse-events/new?alert={alert.id}"
    assert f'href="{path}"' in alerts_page
    assert "Record an adverse event" in alerts_page
    form = page_text(doctor.get(path))
    assert "Reply mentions symptoms" in form
    response = post_form(doctor, path, session=str(session_visit.id))
    assert response.status_code == 303, page_text(response)
    event = only_event()
    assert (event.alert_id, event.appointment_id) == (alert.id, session_visit.id)
    [row] = audit_rows("adverse_event.recorded")
    assert row.changes == {"adverse_event_id": [None, event.id], "alert_id": [None, alert.id]}


def test_editing_fills_in_the_outcome_and_the_report(doctor, session_visit, clock):
    record(doctor, session_visit)
    event = only_event()
    edit = f"/desk/adverse-events/{event.id}/edit"
    filled = page_text(doctor.get(edit))
    assert "Pustules on the crown" in filled and 'value="2026-03-04"' in filled
    clock.advance(days=3)
    response = post_form(
        doctor,
        edit,
        outcome="recovered",
        regulator="mhra",
        reported_on="2026-03-08",
        regulator_reference="YC-1",
    )
    assert response.status_code == 303, page_text(response)
    event = only_event()
    assert (event.outcome, event.regulator, event.reported_on, event.regulator_reference) == (
        "recovered",
        "mhra",
        date(2026, 3, 8),
        "YC-1",
    )
    listed = page_text(doctor.get("/desk/adverse-events?show=reported"))
    assert "MHRA Yellow Card, 08/03/2026" in listed
    assert "No events" in page_text(doctor.get("/desk/adverse-events?show=open"))
    [row] = audit_rows("adverse_event.updated")
    assert row.detail == "Changed: outcome."
    assert_no_health_data(row)


def test_the_desk_gets_403_and_sees_no_link(client, session_visit):
    with write_transaction("test"):
        alerts.raise_alert(AlertLevel.URGENT, "Symptoms", patient_id=session_visit.patient_id)
    make_staff(role="desk", email="desk@example.com")
    sign_in(client, email="desk@example.com")
    for path in (
        "/desk/adverse-events",
        "/desk/adverse-events/export.csv",
        f"/desk/adverse-events/new?appointment={session_visit.id}",
    ):
        response = client.get(path)
        assert response.status_code == 403, path
        assert response.headers["Cache-Control"] == "no-store"
    token = csrf_token(client, f"/desk/visits/{session_visit.id}")
    posted = client.post(
        f"/desk/adverse-events/new?appointment={session_visit.id}",
        data={"csrf_token": token, **form_data()},
    )
    assert posted.status_code == 403
    assert db.session.scalars(select(AdverseEvent)).all() == []
    assert "Record an adverse event" not in page_text(client.get("/desk/texts/alerts"))
    assert "Record an adverse event" not in page_text(
        client.get(f"/desk/visits/{session_visit.id}")
    )


def test_signed_out_visitors_are_sent_to_sign_in(client, session_visit):
    for path in (
        "/desk/adverse-events",
        "/desk/adverse-events/export.csv",
        "/desk/adverse-events/1",
    ):
        response = client.get(path)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login?next=")


# --- the export -----------------------------------------------------------------------------


def read_csv(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(page_text(response))))


def test_the_export_carries_the_report_fields(doctor, session_visit):
    record(
        doctor,
        session_visit,
        serious_criteria=["hospitalisation", "life_threatening"],
        patient_sex="female",
        regulator="fda",
        reported_on="2026-03-05",
        regulator_reference="MW-5551",
    )
    event = only_event()
    response = doctor.get("/desk/adverse-events/export.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="adverse-events-2026-03-06.csv"'
    )
    assert response.headers["Cache-Control"] == "no-store"
    assert next(csv.reader(io.StringIO(page_text(response)))) == list(report.HEADER)
    [line] = read_csv(response)
    assert line == {
        "event_id": str(event.id),
        "patient_initials": "A.D.M.",
        "patient_number": str(session_visit.patient_id),
        "patient_age_at_onset": "37",
        "patient_sex": "Female",
        "event_type": "Infection",
        "event_description": "Pustules on the crown, warm and tender.",
        "onset_date": "2026-03-04",
        "onset_time": "18:30",
        "severity": "Moderate",
        "serious": "yes",
        "seriousness_criteria": "Life-threatening; Hospitalisation (initial or prolonged)",
        "outcome": "Recovering",
        "action_taken": "Seen same day.",
        "suspect_products": (
            "Microneedling with PRP (pen, needle cartridge lot CT-2291); "
            "Numbing cream (topical anaesthetic), lot not recorded; PRP (kit lot PK-0077)"
        ),
        "procedure": "Microneedling with PRP",
        "procedure_date": "2026-03-03",
        "device": "pen",
        "needle_cartridge_lot": "CT-2291",
        "prp_kit_lot": "PK-0077",
        "add_ons": "PRP",
        "reporter_name": "Dr Okafor",
        "reporter_role": "practitioner",
        "reporter_organisation": doctor.application.config["CLINIC_NAME"],
        "reporter_phone": "'" + doctor.application.config["CLINIC_PHONE"],
        "recorded_on": "2026-03-06",
        "last_updated_on": "2026-03-06",
        "reported_to": "FDA MedWatch",
        "reported_on": "2026-03-05",
        "regulator_reference": "MW-5551",
    }
    single = doctor.get(f"/desk/adverse-events/{event.id}/report.csv")
    assert single.headers["Content-Disposition"].startswith("attachment;")
    assert read_csv(single) == [line]


def test_export_cells_cannot_run_as_formulas(doctor, session_visit):
    record(
        doctor,
        session_visit,
        description='=HYPERLINK("http://evil.example","click")',
        action_taken="+cmd|' /C calc'!A0",
        event_type="other",
        other_type="@SUM(1)",
        regulator="mhra",
        reported_on="2026-03-05",
        regulator_reference="-1+1",
    )
    [line] = read_csv(doctor.get("/desk/adverse-events/export.csv"))
    assert line["event_description"] == '\'=HYPERLINK("http://evil.example","click")'
    assert line["action_taken"] == "'+cmd|' /C calc'!A0"
    assert line["event_type"] == "Other: @SUM(1)"
    assert line["regulator_reference"] == "'-1+1"
    for value in line.values():
        assert not value.startswith(("=", "+", "-", "@")), value


def test_the_export_follows_the_lists_filters(doctor, session_visit):
    record(doctor, session_visit)
    assert len(read_csv(doctor.get("/desk/adverse-events/export.csv?show=open"))) == 1
    assert read_csv(doctor.get("/desk/adverse-events/export.csv?show=reported")) == []


# --- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"onset_date": "2026-13-45"}, "Not a valid date value"),
        ({"onset_date": "1899-01-01"}, "2000 or later"),
        ({"onset_date": "2026-03-07"}, "cannot be in the future"),
        ({"onset_time": "25:99"}, "Not a valid time value"),
        ({"onset_time": ""}, "Enter the time it began"),
        ({"event_type": "nonsense"}, "Choose the kind of event"),
        ({"severity": ""}, "Choose mild, moderate or severe"),
        ({"serious_criteria": ["bored"]}, "Choose the criteria from the list"),
        ({"description": ""}, "Describe what happened"),
        ({"description": "x" * 6000}, "under 5,000 characters"),
        ({"regulator_reference": "r" * 61}, "at most 60 characters"),
        ({"reported_on": "yesterday", "regulator": "mhra"}, "Not a valid date value"),
        ({"session": "99999999999"}, "Choose one of this patient"),
        ({"onset_date": "2026-03-02"}, "before the session began"),
        ({"regulator": "mhra"}, "Give the date the report was sent"),
    ],
)
def test_bad_input_is_answered_with_a_message_not_a_crash(
    doctor, session_visit, overrides, message
):
    response = record(doctor, session_visit, **overrides)
    assert response.status_code == 422
    assert message in page_text(response).replace("&#39;", "'")
    assert 'class="error-summary"' in page_text(response)
    assert db.session.scalars(select(AdverseEvent)).all() == []


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/desk/adverse-events/new", 400),
        ("/desk/adverse-events/new?appointment=abc", 400),
        ("/desk/adverse-events/new?appointment=99999999999", 400),
        ("/desk/adverse-events/new?appointment=999999", 404),
        ("/desk/adverse-events/new?alert=-1", 400),
        ("/desk/adverse-events/new?alert=999999", 404),
        ("/desk/adverse-events?page=0", 400),
        ("/desk/adverse-events?page=x", 400),
        ("/desk/adverse-events?show=everything", 400),
        ("/desk/adverse-events?patient=1e9", 400),
        ("/desk/adverse-events/export.csv?show=bogus", 400),
        ("/desk/adverse-events/999999", 404),
        ("/desk/adverse-events/999999/edit", 404),
        ("/desk/adverse-events/99999999999/report.csv", 404),
    ],
)
def test_bad_addresses_are_answered_without_a_crash(doctor, path, status):
    response = doctor.get(path)
    assert response.status_code == status, page_text(response)
    assert response.headers["Cache-Control"] == "no-store"


def test_a_patient_without_a_session_yet_is_told_so(doctor, clock):
    upcoming = make_booking(
        "microneedling",
        datetime(2026, 3, 12, 10, tzinfo=UTC),
        patient=patient_details(phone="+447911000222", full_name="Sam Lee"),
    )
    with write_transaction("test"):
        alert = alerts.raise_alert(AlertLevel.URGENT, "Symptoms", patient_id=upcoming.patient_id)
    path = f"/desk/adverse-events/new?alert={alert.id}"
    assert "No session to attach it to" in page_text(doctor.get(path))
    assert post_form(doctor, path, session=str(upcoming.id)).status_code == 409
    assert db.session.scalars(select(AdverseEvent)).all() == []


def test_an_alert_cannot_attach_an_event_to_another_patients_session(doctor, session_visit, clock):
    other = make_booking(
        "microneedling",
        datetime(2026, 3, 12, 10, tzinfo=UTC),
        patient=patient_details(phone="+447911000333", full_name="Kim Park"),
    )
    with write_transaction("test"):
        alert = alerts.raise_alert(AlertLevel.URGENT, "Symptoms", patient_id=other.patient_id)
    refused = post_form(
        doctor, f"/desk/adverse-events/new?alert={alert.id}", session=str(session_visit.id)
    )
    assert refused.status_code in (409, 422)
    practitioner = make_staff(role="practitioner", email="p2@example.com")
    with pytest.raises(ValidationFailed) as wrong:
        events.record_event(
            session_visit.id, INFECTION, by=as_practitioner(practitioner), alert_id=alert.id
        )
    assert wrong.value.errors == {"session": ["That session is not this patient's."]}
    assert db.session.scalars(select(AdverseEvent)).all() == []
