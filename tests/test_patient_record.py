"""The desk's patient pages: search by name, mobile or date of birth; the patient record as each
role may see it; contact edits that are audited, keep STOP, move planned texts to the new number
and never overwrite someone else's change or make two records one person."""

from __future__ import annotations

import html
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import event, select

from clinic.actors import Actor, ActorKind
from clinic.audit.models import AuditEvent
from clinic.booking import identity
from clinic.extensions import db
from clinic.patient_record import queries as record_queries
from clinic.patients import search as patient_search
from clinic.patients.models import Patient
from clinic.patients.phones import format_national
from clinic.sms import inbound
from clinic.sms.dispatch import dispatch_pass
from clinic.sms.models import OutboundText, SmsSuppression
from clinic.staff.models import StaffUser
from clinic.visits import services as visit_services
from clinic.visits.services import SessionInput
from tests.factories import checked_in_and_started, make_booking, make_clinic, patient_details
from tests.helpers import sign_out

# The clock starts on Monday 2 March 2026, 08:00 London.
TUESDAY_10 = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)
WEDNESDAY_10 = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)
ANN = dict(full_name="Ann Smith", phone="+447912900123", date_of_birth=date(1980, 3, 12))
JOSE = dict(full_name="José Álvarez", phone="+447911123456", date_of_birth=date(1975, 11, 2))
BEN = dict(full_name="Ben Smith", phone="+447911000111", date_of_birth=date(1990, 1, 5))


def markup(response) -> str:
    return re.sub(r"\s+", " ", html.unescape(response.get_data(as_text=True)))


def page_text(response) -> str:
    words = re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))
    return re.sub(r"\s+", " ", html.unescape(words))


def book(start: datetime, **details):
    return make_booking("consultation", start, patient=patient_details(**details))


def fresh(patient_id: int) -> Patient:
    db.session.expire_all()
    return db.session.get(Patient, patient_id)


def names(text: str, region: str = "GB") -> list[str]:
    return [p.full_name for p in patient_search.search(text, region=region)]


def csrf_from(page: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


def edit_form(client, patient_id: int) -> dict:
    page = client.get(f"/desk/patients/{patient_id}/edit")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    values = dict(re.findall(r'<input[^>]*name="(\w+)"[^>]*value="([^"]*)"', text))
    values = {k: html.unescape(v) for k, v in values.items()}
    values["csrf_token"] = csrf_from(text)
    return values


def contact_events(patient_id: int) -> list[AuditEvent]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(AuditEvent)
            .where(
                AuditEvent.patient_id == patient_id,
                AuditEvent.action == "patient.contact_changed",
            )
            .order_by(AuditEvent.id)
        )
    )


@pytest.fixture
def three(app):
    make_clinic(rooms=2)
    return {
        "ann": book(TUESDAY_10, **ANN).patient_id,
        "jose": book(TUESDAY_10 + timedelta(hours=1), **JOSE).patient_id,
        "ben": book(WEDNESDAY_10, **BEN).patient_id,
    }


# --- search -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("smith", ["Ann Smith", "Ben Smith"]),
        ("SMI", ["Ann Smith", "Ben Smith"]),
        ("ann smith", ["Ann Smith"]),
        ("smith ann", ["Ann Smith"]),
        ("jose", ["José Álvarez"]),
        ("ÁLVAREZ", ["José Álvarez"]),
        ("álv", ["José Álvarez"]),
        ("07912 900123", ["Ann Smith"]),
        ("07912900123", ["Ann Smith"]),
        ("+44 7912 900123", ["Ann Smith"]),
        ("+447912900123", ["Ann Smith"]),
        ("0044 7912 900123", ["Ann Smith"]),
        ("900123", ["Ann Smith"]),
        ("900 123", ["Ann Smith"]),
        ("7911 123", ["José Álvarez"]),
        ("7911", ["Ben Smith", "José Álvarez"]),
        ("12/03/1980", ["Ann Smith"]),
        ("12.03.1980", ["Ann Smith"]),
        ("1980-03-12", ["Ann Smith"]),
        ("12-03-1980", ["Ann Smith"]),
        ("12/3/1980", ["Ann Smith"]),
        ("12/03/80", ["Ann Smith"]),
        ("12 March 1980", ["Ann Smith"]),
        ("12th mar 1980 smith", ["Ann Smith"]),
        ("5 Jan 1990", ["Ben Smith"]),
        ("12 Marchx 1980", []),
        ("smith 05/01/1990", ["Ben Smith"]),
        ("+44 (0)7912 900123", ["Ann Smith"]),
        ("07912-900-123", ["Ann Smith"]),
        ("ben 000111", ["Ben Smith"]),
        ("ann 07911 000111", []),
        ("nobody", []),
        ("31/02/1980", []),
        ("%", []),
        ("_", []),
    ],
)
def test_search_finds_patients_by_name_parts_phone_forms_and_birth_dates(three, query, found):
    assert names(query) == found


def test_search_ignores_apostrophes_and_takes_two_digit_years_as_past_birthdays(app):
    make_clinic(rooms=2)
    book(TUESDAY_10, full_name="Siobhán O’Brien", date_of_birth=date(2004, 6, 1))
    book(WEDNESDAY_10, full_name="Dan O'Neill", phone="+447911000111")
    assert names("obrien") == ["Siobhán O’Brien"]
    assert names("o'brien") == ["Siobhán O’Brien"]
    assert names("ONeill") == ["Dan O'Neill"]
    assert names("01/06/04") == ["Siobhán O’Brien"]
    assert names("01/06/1904") == []


def test_search_reads_dates_month_first_where_the_clinic_writes_them_so(three):
    assert names("03/12/1980", region="US") == ["Ann Smith"]
    assert names("03/12/1980", region="GB") == []


def test_search_leaves_merged_records_out_and_finds_the_record_kept(any_app, signed_in):
    make_clinic(rooms=2)
    kept = book(TUESDAY_10, **ANN).patient_id
    flagged = book(WEDNESDAY_10, **{**ANN, "full_name": "Annie Smith-Jones"}).patient_id
    assert sorted(names("smith")) == ["Ann Smith", "Annie Smith-Jones"]
    identity.merge(flagged, by=_desk_actor())
    assert names("smith") == ["Ann Smith"]
    assert names("jones") == []
    assert [p.id for p in patient_search.search("900123", region="GB")] == [kept]


def _desk_actor():
    return Actor(kind=ActorKind.DESK)


def test_the_search_page_shows_national_mobile_next_visit_and_duplicate_flag(any_app, signed_in):
    make_clinic(rooms=2)
    ann = book(TUESDAY_10, **ANN)
    twin = book(WEDNESDAY_10, **{**ANN, "full_name": "Anne Smith"})
    desk = signed_in("desk")

    response = desk.get("/desk/patients?q=07912+900")

    assert response.status_code == 200
    text = page_text(response)
    assert "2 patients found" in text
    assert "07912 900123" in text and "+447912900123" not in text
    assert "12/03/1980" in text
    assert text.count("Possible duplicate") == 2  # the flagged record and the one it points at
    assert "Tue 3 Mar" in text or "3 Mar" in text
    page = markup(response)
    assert f'href="/desk/patients/{ann.patient_id}"' in page
    assert f'href="/desk/patients/{twin.patient_id}"' in page


def test_an_empty_search_shows_only_the_form(app, signed_in):
    make_clinic()
    desk = signed_in("desk")
    response = desk.get("/desk/patients")
    assert response.status_code == 200
    assert 'name="q"' in markup(response)
    assert "found" not in page_text(response)


def test_a_search_with_no_match_says_so(three, signed_in):
    response = signed_in("desk").get("/desk/patients?q=zebedee")
    assert response.status_code == 200
    assert "No patients found" in page_text(response)


def test_an_over_long_search_is_refused_with_a_clear_message(three, signed_in):
    response = signed_in("desk").get("/desk/patients?q=" + "a" * 500)
    assert response.status_code == 400
    assert "at most 120 characters" in page_text(response)


ODD_SEARCHES = ["\x00", "ann\x00", "%%%", "+", "0", "((((", "💇", "1/1/1", "+99 99", "\u200b"]


def test_odd_searches_never_fail(any_app, signed_in):
    make_clinic()
    book(TUESDAY_10, **ANN)
    desk = signed_in("desk")
    for query in ODD_SEARCHES:
        response = desk.get("/desk/patients", query_string={"q": query})
        assert response.status_code == 200, query
    assert "Ann Smith" in page_text(desk.get("/desk/patients", query_string={"q": "ann\x00"}))


# --- the record ---------------------------------------------------------------------------------


def test_the_patient_page_shows_contact_visits_texts_and_consent(any_app, signed_in):
    make_clinic(rooms=2)
    visit = make_booking(
        "microneedling", TUESDAY_10, patient=patient_details(**ANN), sms_opt_in=True
    )
    desk = signed_in("desk")

    response = desk.get(f"/desk/patients/{visit.patient_id}")

    assert response.status_code == 200
    text, page = page_text(response), markup(response)
    assert "Ann Smith" in text and "07912 900123" in text and "12/03/1980" in text
    assert "Texts On, set by online" in text
    assert f'href="/desk/visits/{visit.id}"' in page
    assert "Scalp microneedling" in text
    assert "Online" in text
    assert "Booking confirmation" in text  # a planned text
    assert f'href="/desk/patients/{visit.patient_id}/texts"' in page
    assert "/desk/visits/consents/" in page
    assert "Clear" in text  # the screening's outcome, as the visit page shows it
    assert f'href="/desk/book?patient={visit.patient_id}"' in page
    assert f'href="/desk/patients/{visit.patient_id}/edit"' in page


def test_the_desk_sees_that_a_session_was_recorded_but_not_what_was_done(app, signed_in, clock):
    make_clinic()
    appointment = checked_in_and_started("microneedling", TUESDAY_10)
    practitioner = signed_in("practitioner", email="dr@example.com")
    staff = db.session.scalar(select(StaffUser).where(StaffUser.email == "dr@example.com"))
    visit_services.complete(
        appointment.id,
        SessionInput(
            device="pen",
            needle_depth_mm=0.5,
            areas=("crown",),
            numbing_used=False,
            add_ons=(),
            cartridge_lot="LOT-77",
            notes="Mild redness at the crown",
        ),
        staff,
    )
    path = f"/desk/patients/{appointment.patient_id}"
    clinical = page_text(practitioner.get(path))
    assert "Mild redness at the crown" in clinical and "0.5 mm" in clinical

    sign_out(practitioner)
    desk = signed_in("desk")
    text = page_text(desk.get(path))
    assert "recorded" in text and "for practitioners and administrators" in text
    assert "Mild redness" not in text and "0.5 mm" not in text and "crown" not in text.lower()
    assert "/review/" not in markup(desk.get(path))


def test_the_record_is_read_in_the_same_number_of_queries_however_long_the_history(
    app, signed_in, clock
):
    make_clinic(rooms=2)
    first = make_booking("consultation", TUESDAY_10, sms_opt_in=True, source="desk")
    desk = signed_in("desk")

    def queries_for_page() -> int:
        count = 0

        def counted(*_args):
            nonlocal count
            count += 1

        event.listen(db.engine, "before_cursor_execute", counted)
        try:
            assert desk.get(f"/desk/patients/{first.patient_id}").status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", counted)
        return count

    few = queries_for_page()
    for day in range(1, 5):
        make_booking(
            "consultation", TUESDAY_10 + timedelta(days=day), sms_opt_in=True, source="desk"
        )
    assert queries_for_page() == few


def test_a_merged_record_redirects_to_the_record_it_went_into(any_app, signed_in):
    make_clinic(rooms=2)
    kept = book(TUESDAY_10, **ANN).patient_id
    flagged = book(WEDNESDAY_10, **{**ANN, "full_name": "Anne Smith"}).patient_id
    desk = signed_in("desk")
    page = page_text(desk.get(f"/desk/patients/{kept}"))
    assert "Possible duplicates" in page and "Anne Smith" in page
    identity.merge(flagged, by=_desk_actor())

    response = desk.get(f"/desk/patients/{flagged}")

    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/desk/patients/{kept}")
    assert "Possible duplicates" not in page_text(desk.get(f"/desk/patients/{kept}"))


def test_a_merged_record_cannot_be_edited_and_its_form_leads_to_the_record_kept(app, signed_in):
    make_clinic(rooms=2)
    kept = book(TUESDAY_10, **ANN).patient_id
    flagged = book(WEDNESDAY_10, **{**ANN, "full_name": "Anne Smith"}).patient_id
    desk = signed_in("desk")
    stale = edit_form(desk, flagged)
    identity.merge(flagged, by=_desk_actor())

    response = desk.post(f"/desk/patients/{flagged}/edit", data={**stale, "email": "x@y.org"})

    assert response.status_code == 409
    assert "merged into another" in page_text(response)
    assert fresh(flagged).email == "alex@example.com"
    redirect = desk.get(f"/desk/patients/{flagged}/edit")
    assert redirect.status_code == 302
    assert redirect.headers["Location"].endswith(f"/desk/patients/{kept}/edit")


def test_an_unknown_patient_is_a_404_page(app, signed_in):
    make_clinic()
    desk = signed_in("desk")
    assert desk.get("/desk/patients/4242").status_code == 404
    assert desk.get("/desk/patients/4242/edit").status_code == 404


def test_the_staff_nav_and_the_visit_page_link_to_the_patient(app, signed_in):
    make_clinic()
    visit = book(TUESDAY_10, **ANN)
    desk = signed_in("desk")
    page = markup(desk.get(f"/desk/visits/{visit.id}"))
    assert 'href="/desk/patients">Patients</a>' in page
    assert f'href="/desk/patients/{visit.patient_id}">Ann Smith</a>' in page
    thread = markup(desk.get(f"/desk/texts/patients/{visit.patient_id}"))
    assert f'href="/desk/patients/{visit.patient_id}">Ann Smith</a>' in thread


# --- contact edits ------------------------------------------------------------------------------


def test_a_contact_edit_is_saved_and_audited_with_before_and_after(any_app, signed_in):
    make_clinic()
    patient_id = book(TUESDAY_10, **ANN).patient_id
    desk = signed_in("desk", name="Jo Desk")
    form = edit_form(desk, patient_id)
    assert form["mobile"] == "07912 900123" and form["date_of_birth"] == "12/03/1980"

    response = desk.post(
        f"/desk/patients/{patient_id}/edit",
        data={**form, "mobile": "07911 222333", "email": "ann@example.org"},
    )

    assert response.status_code == 303
    patient = fresh(patient_id)
    assert patient.phone == "+447911222333" and patient.email == "ann@example.org"
    [row] = contact_events(patient_id)
    assert row.changes == {
        "phone": ["+447912900123", "+447911222333"],
        "email": ["alex@example.com", "ann@example.org"],
    }
    assert row.actor_label and row.staff_id is not None
    assert "07911 222333" in page_text(desk.get(f"/desk/patients/{patient_id}"))


def test_sending_the_form_unchanged_writes_nothing(app, signed_in):
    make_clinic()
    patient_id = book(TUESDAY_10, **ANN).patient_id
    desk = signed_in("desk")
    response = desk.post(f"/desk/patients/{patient_id}/edit", data=edit_form(desk, patient_id))
    assert response.status_code == 303, page_text(response)
    assert contact_events(patient_id) == []


def test_planned_texts_go_to_the_new_number_and_none_to_the_old(
    twilio_app, fake_twilio, signed_in, clock
):
    make_clinic()
    visit = make_booking(
        "consultation", WEDNESDAY_10, patient=patient_details(**ANN), sms_opt_in=True
    )
    db.session.execute(OutboundText.__table__.delete().where(OutboundText.kind == "confirmation"))
    db.session.commit()
    desk = signed_in("desk")
    desk.post(
        f"/desk/patients/{visit.patient_id}/edit",
        data={**edit_form(desk, visit.patient_id), "mobile": "07911 222333"},
    )

    clock.set(datetime(2026, 3, 3, 10, 30, tzinfo=UTC))  # past the reminders' times
    dispatch_pass()

    sent_to = {m["to"] for m in fake_twilio.messages}
    assert sent_to == {"+447911222333"}


def test_a_change_to_a_number_that_said_stop_keeps_it_suppressed(
    twilio_app, fake_twilio, signed_in, clock
):
    make_clinic()
    visit = make_booking(
        "consultation", WEDNESDAY_10, patient=patient_details(**ANN), sms_opt_in=True
    )
    stopped = "+447911222333"
    inbound.receive("SM" + "9" * 32, stopped, "+447700900001", "STOP")
    dispatch_pass()
    before = fake_twilio.count()
    desk = signed_in("desk")

    response = desk.post(
        f"/desk/patients/{visit.patient_id}/edit",
        data={**edit_form(desk, visit.patient_id), "mobile": "07911 222333"},
        follow_redirects=True,
    )

    assert "no texts go to it" in page_text(response)
    assert "This number texted STOP" in page_text(response)
    assert db.session.get(SmsSuppression, stopped) is not None
    clock.set(datetime(2026, 3, 3, 10, 30, tzinfo=UTC))
    dispatch_pass()
    assert fake_twilio.count() == before
    assert not [m for m in fake_twilio.messages if m["to"] == stopped]
    [row] = contact_events(visit.patient_id)
    assert "STOP list" in row.detail


def test_a_number_kept_from_the_fiction_range_still_lets_other_details_change(app, signed_in):
    make_clinic()
    patient_id = book(TUESDAY_10, **{**ANN, "phone": "+447700900123"}).patient_id
    desk = signed_in("desk")
    form = edit_form(desk, patient_id)
    assert form["mobile"] == "07700 900123"
    response = desk.post(f"/desk/patients/{patient_id}/edit", data={**form, "email": ""})
    assert response.status_code == 303
    assert fresh(patient_id).phone == "+447700900123" and fresh(patient_id).email == ""
    refused = desk.post(
        f"/desk/patients/{patient_id}/edit",
        data={**edit_form(desk, patient_id), "mobile": "07700 900124"},
    )
    assert refused.status_code == 422


def test_a_new_number_clears_the_unusable_mark(app, signed_in):
    make_clinic()
    patient_id = book(TUESDAY_10, **ANN).patient_id
    patient = fresh(patient_id)
    patient.phone_unusable = True
    db.session.commit()
    desk = signed_in("desk")
    desk.post(
        f"/desk/patients/{patient_id}/edit",
        data={**edit_form(desk, patient_id), "mobile": "07911 222333"},
    )
    assert fresh(patient_id).phone_unusable is False
    [row] = contact_events(patient_id)
    assert row.changes["phone_unusable"] == [True, False]


def test_a_number_abroad_is_refused_while_the_patient_has_texts_on(app, signed_in):
    make_clinic()
    patient_id = make_booking(
        "consultation", TUESDAY_10, patient=patient_details(**ANN), sms_opt_in=True
    ).patient_id
    desk = signed_in("desk")
    response = desk.post(
        f"/desk/patients/{patient_id}/edit",
        data={**edit_form(desk, patient_id), "mobile": "+1 201 555 0123"},
    )
    assert response.status_code == 422
    assert "texts only go to mobile numbers from the UK" in page_text(response)
    assert fresh(patient_id).phone == ANN["phone"]


def test_a_form_opened_before_another_change_is_refused_not_saved_over(any_app, signed_in):
    make_clinic()
    patient_id = book(TUESDAY_10, **ANN).patient_id
    desk = signed_in("desk")
    old_form = edit_form(desk, patient_id)
    desk.post(f"/desk/patients/{patient_id}/edit", data={**old_form, "email": "new@example.org"})

    response = desk.post(
        f"/desk/patients/{patient_id}/edit",
        data={**edit_form(desk, patient_id), "version": old_form["version"], "full_name": "Ann X"},
    )

    assert response.status_code == 409
    assert "changed this patient's details after this form was opened" in page_text(response)
    patient = fresh(patient_id)
    assert patient.full_name == "Ann Smith" and patient.email == "new@example.org"
    assert len(contact_events(patient_id)) == 1
    # The form shown now carries the current details: sending it works.
    again = markup(response)
    assert 'value="new@example.org"' in again


def test_a_change_that_makes_two_records_the_same_person_is_refused(any_app, signed_in):
    make_clinic(rooms=2)
    ann = book(TUESDAY_10, **ANN).patient_id
    ben = book(WEDNESDAY_10, **BEN).patient_id
    desk = signed_in("desk")

    response = desk.post(
        f"/desk/patients/{ben}/edit",
        data={
            **edit_form(desk, ben),
            "full_name": "ann  SMITH",
            "mobile": "07912 900123",
            "date_of_birth": "12/03/1980",
        },
    )

    assert response.status_code == 409, page_text(response)
    assert "same person" in page_text(response)
    assert 'href="/desk/patients/duplicates"' in markup(response)
    assert fresh(ben).full_name == "Ben Smith"
    assert fresh(ann).full_name == "Ann Smith"
    assert contact_events(ben) == []


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("full_name", "   ", "Enter the patient's full name."),
        ("full_name", "x" * 121, "Shorten the name to 120 characters."),
        ("full_name", "Ann\x00Smith", "Use letters, spaces and punctuation only."),
        ("mobile", "", "Enter the patient's mobile number."),
        ("mobile", "12", "That is not a valid phone number"),
        ("mobile", "020 7946 0000", "Please give a mobile number"),
        ("mobile", "9" * 40, "That number is too long"),
        ("email", "not an email", "That does not look like an email address."),
        ("date_of_birth", "", "Enter the patient's date of birth."),
        ("date_of_birth", "31/02/1980", "Enter the date as day/month/year"),
        ("date_of_birth", "03/03/2026", "The date of birth must be in the past."),
        ("date_of_birth", "01/01/1880", "Check the year of the date of birth."),
    ],
)
def test_bad_contact_details_get_field_messages_and_change_nothing(
    app, signed_in, field, value, message
):
    make_clinic()
    patient_id = book(TUESDAY_10, **ANN).patient_id
    desk = signed_in("desk")
    response = desk.post(
        f"/desk/patients/{patient_id}/edit", data={**edit_form(desk, patient_id), field: value}
    )
    assert response.status_code == 422
    assert message in page_text(response)
    assert f'id="{field}-error"' in markup(response)
    assert fresh(patient_id).full_name == "Ann Smith"
    assert contact_events(patient_id) == []


def test_a_name_with_a_nul_is_a_field_message_on_postgresql_too(any_app, signed_in):
    make_clinic()
    patient_id = book(TUESDAY_10, **ANN).patient_id
    desk = signed_in("desk")
    response = desk.post(
        f"/desk/patients/{patient_id}/edit",
        data={**edit_form(desk, patient_id), "full_name": "Ann\x00", "email": "a\x00@b.org"},
    )
    assert response.status_code == 422
    assert fresh(patient_id).full_name == "Ann Smith"


def test_a_stale_form_that_asks_for_the_details_as_they_are_now_changes_nothing(app, signed_in):
    make_clinic()
    patient_id = book(TUESDAY_10, **ANN).patient_id
    desk = signed_in("desk")
    old_form = edit_form(desk, patient_id)
    desk.post(f"/desk/patients/{patient_id}/edit", data={**old_form, "email": "new@example.org"})
    response = desk.post(
        f"/desk/patients/{patient_id}/edit", data={**old_form, "email": "new@example.org"}
    )
    assert response.status_code == 303
    assert len(contact_events(patient_id)) == 1


def test_an_edit_without_its_csrf_token_is_refused(app, signed_in):
    make_clinic()
    patient_id = book(TUESDAY_10, **ANN).patient_id
    desk = signed_in("desk")
    form = edit_form(desk, patient_id)
    del form["csrf_token"]
    response = desk.post(f"/desk/patients/{patient_id}/edit", data={**form, "full_name": "Eve"})
    assert response.status_code == 400
    assert fresh(patient_id).full_name == "Ann Smith"


def test_national_format_keeps_foreign_numbers_international():
    assert format_national("+447912900123", "GB") == "07912 900123"
    assert format_national("+447912900123", "US") == "+44 7912 900123"
    assert format_national("+12015550123", "GB") == "+1 201-555-0123"
    assert format_national("not a number", "GB") == "not a number"


def test_kept_id_follows_a_chain_of_merges(any_app):
    make_clinic(rooms=2)
    first = book(TUESDAY_10, **ANN).patient_id
    second = book(WEDNESDAY_10, **{**ANN, "full_name": "Anne Smith"}).patient_id
    identity.merge(second, by=_desk_actor())
    assert record_queries.kept_id(second) == first
    assert record_queries.kept_id(first) == first
