"""The desk's calendar at /desk: days by practitioner or room, a week, flags, gaps, its queries."""

from __future__ import annotations

import re
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import unquote

import pytest
from sqlalchemy import event

from clinic.booking.services import cancel
from clinic.catalog.models import Location, Practitioner, Room, WorkingHours
from clinic.extensions import db
from clinic.screening import services as screening_services
from clinic.sms.models import InboundText, SmsSuppression, StaffAlert
from tests.factories import add_time_off, all_no, make_booking, make_clinic, patient_details
from tests.helpers import make_staff, sign_in


def squash(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def blocks(page: str) -> list[str]:
    """Each visit block of the timetable, as one line of its HTML, in the table's order."""
    return [squash(found) for found in re.findall(r'<a class="visit [^"]*".*?</a>', page, re.S)]


def free_links(page: str) -> list[str]:
    return re.findall(r'<a href="(/desk/book\?[^"]+)"', page)


def desk_page(client, query: str = "") -> str:
    response = client.get(f"/desk{query}")
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_data(as_text=True)


@pytest.fixture
def desk(client):
    make_staff()
    sign_in(client)
    return client


# --- the day ----------------------------------------------------------------------------------


def test_day_shows_a_column_per_practitioner_with_its_visits_in_time_order(desk):
    clinic = make_clinic(practitioners=2, rooms=2)
    make_booking(
        "microneedling",
        datetime(2026, 3, 2, 14, 0, tzinfo=UTC),
        patient=patient_details(full_name="Bea Late", phone="+447911123001"),
    )
    make_booking("consultation", datetime(2026, 3, 2, 10, 0, tzinfo=UTC), source="desk")
    make_booking(
        "consultation",
        datetime(2026, 3, 3, 10, 0, tzinfo=UTC),
        patient=patient_details(full_name="Tomorrow Person", phone="+447911123002"),
    )
    page = desk_page(desk)
    head = squash(page.split("<thead>", 1)[1].split("</thead>", 1)[0])
    for practitioner in clinic.practitioners:
        assert practitioner.name in head
    first, second = blocks(page)
    assert "10:00–10:20" in first and "Alex Morgan" in first
    assert "Hair-loss consultation" in first and clinic.rooms[0].name in first
    assert "14:00–14:45" in second and "Bea Late" in second and "Scalp microneedling" in second
    assert '<span class="badge badge--booked">Booked</span>' in first
    assert "Tomorrow Person" not in page
    assert "Monday 2 March 2026 (today)" in page


def test_rows_cover_the_working_day_in_quarter_hours_with_a_now_line(desk, clock):
    make_clinic(practitioners=1)  # 09:00-17:00
    clock.set(datetime(2026, 3, 2, 10, 20, tzinfo=UTC))
    page = desk_page(desk)
    body = page.split("<tbody>", 1)[1]
    labels = re.findall(r'<th scope="row" class="calendar__time">(\d\d:\d\d)', body)
    assert labels[0] == "09:00" and labels[-1] == "16:45" and len(labels) == 32
    now_row = squash(body.split('class="is-now', 1)[1].split("</tr>", 1)[0])
    assert "10:15" in now_row and "Now" in now_row
    assert page.count("is-now") == 1


def test_free_quarter_hours_link_to_the_desk_booking_form_and_past_ones_do_not(desk, clock):
    clinic = make_clinic(practitioners=1)
    make_booking("consultation", datetime(2026, 3, 2, 11, 0, tzinfo=UTC))  # 20 min + buffer
    clock.set(datetime(2026, 3, 2, 10, 0, tzinfo=UTC))
    links = free_links(desk_page(desk))
    practitioner = clinic.practitioners[0].id
    assert (
        links[0]
        == f"/desk/book?practitioner={practitioner}&amp;start=2026-03-02T10%3A00%3A00%2B00%3A00"
    )
    starts = [unquote(re.search(r"start=([^&]+)", link).group(1))[11:16] for link in links]
    assert "09:45" not in starts  # gone
    assert "11:00" not in starts and "11:15" not in starts  # the visit and its cleanup time
    assert "11:30" in starts and "16:45" in starts


def test_a_free_gap_says_how_long_it_lasts(desk, clock):
    make_clinic(practitioners=1)
    clock.set(datetime(2026, 3, 2, 8, 0, tzinfo=UTC))
    make_booking("consultation", datetime(2026, 3, 2, 11, 0, tzinfo=UTC))
    page = squash(desk_page(desk))
    assert "Free until 11:00" in page
    assert "Free until 17:00" in page


def test_closures_and_time_off_are_shaded_and_not_offered(desk):
    clinic = make_clinic(practitioners=2)
    first, second = clinic.practitioners
    add_time_off(
        clinic.location,
        datetime(2026, 3, 2, 12, 0, tzinfo=UTC),
        datetime(2026, 3, 2, 13, 0, tzinfo=UTC),
        practitioner=first,
    )
    add_time_off(
        clinic.location,
        datetime(2026, 3, 2, 15, 0, tzinfo=UTC),
        datetime(2026, 3, 2, 16, 0, tzinfo=UTC),
    )
    page = desk_page(desk)
    assert "Time off" in page and "Closed" in page
    links = free_links(page)
    noon_first = f"practitioner={first.id}&amp;start=2026-03-02T12%3A00"
    noon_second = f"practitioner={second.id}&amp;start=2026-03-02T12%3A00"
    assert not any(noon_first in link for link in links)
    assert any(noon_second in link for link in links)
    assert not any("start=2026-03-02T15%3A" in link for link in links)


def test_rooms_view_gives_each_room_a_column_and_books_a_free_practitioner(desk):
    clinic = make_clinic(practitioners=1, rooms=2)
    make_booking("consultation", datetime(2026, 3, 2, 10, 0, tzinfo=UTC))
    page = desk_page(desk, "?by=room")
    head = squash(page.split("<thead>", 1)[1].split("</thead>", 1)[0])
    assert clinic.rooms[0].name in head and clinic.rooms[1].name in head
    (block,) = blocks(page)
    assert clinic.practitioners[0].name in block
    links = free_links(page)
    assert any(f"room={clinic.rooms[1].id}" in link for link in links)
    # With the only practitioner busy, the other room has nothing to offer at 10:00.
    assert not any("start=2026-03-02T10%3A00" in link for link in links)


def test_week_of_one_practitioner_has_seven_day_columns(desk):
    clinic = make_clinic(practitioners=2)
    first = clinic.practitioners[0]
    make_booking("consultation", datetime(2026, 3, 4, 10, 0, tzinfo=UTC))  # a Wednesday
    page = desk_page(desk, f"?view=week&practitioner={first.id}&day=2026-03-04")
    head = squash(page.split("<thead>", 1)[1].split("</thead>", 1)[0])
    assert head.count('<th scope="col"') == 8
    assert "Monday 2 March" in head and "Sunday 8 March" in head
    assert f"Week of Monday 2 March 2026: {first.name}" in squash(page)
    (block,) = blocks(page)
    assert "Alex Morgan" in block
    assert 'href="/desk?day=2026-02-25&amp;view=week&amp;practitioner=' in page


def test_week_of_one_room(desk):
    clinic = make_clinic(practitioners=1, rooms=2)
    make_booking("consultation", datetime(2026, 3, 4, 10, 0, tzinfo=UTC))
    room = clinic.rooms[0]
    assert len(blocks(desk_page(desk, f"?view=week&room={room.id}"))) == 1
    assert blocks(desk_page(desk, f"?view=week&room={clinic.rooms[1].id}")) == []


def test_location_filter_shows_that_locations_people(desk):
    make_clinic(practitioners=1)
    elsewhere = Location(name="Second", phone="+44 20 7946 0001", timezone="Europe/London")
    person = Practitioner(location=elsewhere, name="Elsewhere Person")
    person.working_hours = [WorkingHours(weekday=0, start_time=time(9), end_time=time(12))]
    db.session.add_all([elsewhere, person])
    db.session.commit()
    page = desk_page(desk, f"?location={elsewhere.id}")
    assert "Elsewhere Person" in page
    assert "Elsewhere Person" not in desk_page(desk)


@pytest.mark.parametrize(
    "query",
    [
        "?day=tomorrow",
        "?day=2026-02-30",
        "?day=2026-3-2",
        "?day=0001-01-01",
        "?view=month",
        "?by=chair",
        "?location=abc",
        "?practitioner=-1",
        "?room=99999999999999",
        "?practitioner=1&room=1",
    ],
)
def test_bad_parameters_are_a_400_page_that_says_why(desk, query):
    make_clinic(practitioners=1)
    response = desk.get(f"/desk{query}")
    assert response.status_code == 400
    assert "<h1" in response.get_data(as_text=True)


@pytest.mark.parametrize("query", ["?location=999", "?practitioner=999", "?room=999&view=week"])
def test_unknown_ids_are_not_found(desk, query):
    make_clinic(practitioners=1)
    assert desk.get(f"/desk{query}").status_code == 404


def test_nobody_working_still_shows_ordinary_hours(desk):
    make_clinic(practitioners=1, weekdays=(0,))
    page = desk_page(desk, "?day=2026-03-03")
    labels = re.findall(r'class="calendar__time">(\d\d:\d\d)', page)
    assert labels[0] == "09:00" and labels[-1] == "16:45"
    assert free_links(page) == []
    assert "No appointments on this day." in page


def test_days_follow_the_clinic_clock_across_summer_time(desk):
    make_clinic(practitioners=1, hours=(time(0, 0), time(23, 59)), weekdays=tuple(range(7)))
    make_booking("consultation", datetime(2026, 4, 7, 9, 0, tzinfo=UTC))  # 10:00 BST, 7 April
    make_booking(
        "consultation",
        datetime(2026, 4, 7, 23, 15, tzinfo=UTC),  # 00:15 BST on 8 April
        patient=patient_details(full_name="Night Owl", phone="+447911123003"),
    )
    seventh = blocks(desk_page(desk, "?day=2026-04-07"))
    eighth = blocks(desk_page(desk, "?day=2026-04-08"))
    assert len(seventh) == 1 and "10:00–10:20" in seventh[0]
    assert len(eighth) == 1 and "00:15–00:35" in eighth[0] and "Night Owl" in eighth[0]


def test_clocks_change_days_show_their_real_length(desk):
    make_clinic(practitioners=1, hours=(time(0, 0), time(23, 59)), weekdays=tuple(range(7)))
    spring = re.findall(
        r'class="calendar__time">(\d\d:\d\d \w+)', desk_page(desk, "?day=2026-03-29")
    )
    autumn = re.findall(
        r'class="calendar__time">(\d\d:\d\d \w+)', desk_page(desk, "?day=2026-10-25")
    )
    assert len(spring) == 92 and "00:45 GMT" in spring and "02:00 BST" in spring
    assert len(autumn) == 100 and "01:00 BST" in autumn and "01:00 GMT" in autumn


def test_links_to_the_days_either_side_and_back_to_today(desk):
    page = desk_page(desk, "?day=2026-03-01")
    assert "Sunday 1 March 2026" in page and "(today)" not in page
    assert 'href="/desk?day=2026-02-28"' in page
    assert 'href="/desk?day=2026-03-02"' in page
    assert 'href="/desk">Today</a>' in page
    assert "No appointments on this day." in desk_page(desk)


def test_cancelled_visits_are_listed_apart_with_their_status(desk):
    make_clinic(practitioners=1)
    appointment = make_booking("consultation", datetime(2026, 3, 2, 11, 0, tzinfo=UTC))
    cancel(appointment, by_patient=False)
    page = desk_page(desk)
    assert blocks(page) == []
    released = squash(page.split('id="released-title"', 1)[1])
    assert f'href="/desk/visits/{appointment.id}"' in released and "Cancelled" in released
    assert any("start=2026-03-02T11%3A00" in link for link in free_links(page))


def test_blocks_link_to_the_visit_page_where_check_in_can_be_undone(desk, clock):
    from clinic.visits import services as visits

    make_clinic(practitioners=1)
    appointment = make_booking("consultation", datetime(2026, 3, 2, 11, 0, tzinfo=UTC))
    clock.set(datetime(2026, 3, 2, 10, 55, tzinfo=UTC))
    visits.check_in(appointment.id, changes_since_last_visit=False)
    (block,) = blocks(desk_page(desk))
    assert f'href="/desk/visits/{appointment.id}"' in block and "Checked in" in block
    visit_page = desk.get(f"/desk/visits/{appointment.id}").get_data(as_text=True)
    assert f'action="/desk/visits/{appointment.id}/undo-check-in"' in visit_page


# --- flags ------------------------------------------------------------------------------------


def flags_of(block: str) -> set[str]:
    return set(re.findall(r'<span class="flag flag--(\w+)">', block))


def test_a_returning_screened_consented_texting_patient_has_no_flags(desk, clock):
    from clinic.visits import services as visits

    make_clinic(practitioners=1)
    earlier = make_booking("consultation", datetime(2026, 3, 2, 12, 0, tzinfo=UTC), sms_opt_in=True)
    make_booking("microneedling", datetime(2026, 3, 3, 10, 0, tzinfo=UTC), sms_opt_in=True)
    clock.set(datetime(2026, 3, 2, 11, 55, tzinfo=UTC))
    visits.check_in(earlier.id, changes_since_last_visit=False)
    clock.set(datetime(2026, 3, 2, 12, 25, tzinfo=UTC))
    visits.finish_consultation(earlier.id)
    (block,) = blocks(desk_page(desk, "?day=2026-03-03"))
    assert flags_of(block) == set()


def test_a_new_patient_booked_at_the_desk_without_answers_shows_every_gap(desk):
    make_clinic(practitioners=1)
    make_booking("microneedling", datetime(2026, 3, 2, 10, 0, tzinfo=UTC), source="desk")
    (block,) = blocks(desk_page(desk))
    assert flags_of(block) == {"consent_missing", "screening_missing", "first_visit", "no_texts"}
    assert "Consent missing" in block and "Screening missing or expired" in block
    assert "First visit" in block and "No texts" in block


def test_held_for_review_and_open_alert_and_suppressed_number_are_flagged(desk, clock):
    make_clinic(practitioners=1)
    appointment = make_booking(
        "microneedling",
        datetime(2026, 3, 2, 12, 0, tzinfo=UTC),
        screening=all_no("microneedling") | {"anticoagulant": True},
        sms_opt_in=True,
    )
    db.session.add(SmsSuppression(phone=appointment.patient.phone, created_at=clock.now()))
    db.session.add(
        StaffAlert(
            level="urgent",
            reason="reply",
            patient_id=appointment.patient_id,
            inbound_id=None,
            created_at=clock.now(),
        )
    )
    db.session.commit()
    (block,) = blocks(desk_page(desk))
    assert {"needs_review", "no_texts"} <= flags_of(block)
    assert "open_alert" not in flags_of(block)  # a desk task, not a patient's reply
    inbound = InboundText(
        message_sid="SM1",
        from_number=appointment.patient.phone,
        to_number="+447700900001",
        body="it hurts",
        patient_id=appointment.patient_id,
        intent="symptom",
        received_at=clock.now(),
    )
    db.session.add(inbound)
    db.session.flush()
    db.session.add(
        StaffAlert(
            level="urgent",
            reason="reply",
            patient_id=appointment.patient_id,
            inbound_id=inbound.id,
            created_at=clock.now(),
        )
    )
    db.session.commit()
    (block,) = blocks(desk_page(desk))
    assert "open_alert" in flags_of(block) and "Open alert" in block


def test_review_warning_stays_above_the_calendar(desk):
    make_clinic(practitioners=1)
    soon = make_booking(
        "microneedling",
        datetime(2026, 3, 3, 16, 0, tzinfo=UTC),
        screening=all_no("microneedling") | {"anticoagulant": True},
    )
    page = squash(desk_page(desk, "?day=2026-03-03"))
    warning = page.split("review-warning", 1)[1].split("</section>", 1)[0]
    assert "1 booking in the next 48 hours still needs clinical review" in warning
    assert f'href="/desk/visits/{soon.id}"' in warning
    assert "Please ask a practitioner" in warning


def test_review_warning_goes_once_reviewed(desk):
    make_clinic(practitioners=1)
    appointment = make_booking(
        "microneedling",
        datetime(2026, 3, 2, 12, 0, tzinfo=UTC),
        screening=all_no("microneedling") | {"anticoagulant": True},
    )
    clinician = make_staff(role="practitioner", email="dr@example.com")
    assert "still needs clinical review" in desk_page(desk)
    screening_services.approve(screening_services.latest_for(appointment).id, clinician)
    page = desk_page(desk)
    assert "clinical review" not in page
    assert "badge--confirmed" in page


# --- inactive practitioners and rooms ---------------------------------------------------------


def test_an_inactive_practitioner_keeps_a_column_on_days_they_hold_a_visit_and_offers_nothing(
    desk,
):
    clinic = make_clinic(practitioners=2, rooms=2)
    leaver = clinic.practitioners[1]
    make_booking(
        "consultation",
        datetime(2026, 3, 2, 11, 0, tzinfo=UTC),
        practitioner_id=leaver.id,
        patient=patient_details(full_name="Kept Patient", phone="+447911123101"),
    )
    leaver.active = False
    db.session.commit()

    page = desk_page(desk, "?day=2026-03-02")
    head = squash(page.split("<thead>", 1)[1].split("</thead>", 1)[0])
    assert f"{leaver.name} (inactive)" in head
    assert any("Kept Patient" in block for block in blocks(page))
    # Free times are offered for the active practitioner only.
    assert free_links(page)
    assert all(f"practitioner={leaver.id}" not in unquote(link) for link in free_links(page))

    # A day without their visits has no column for them.
    other_day = desk_page(desk, "?day=2026-03-03")
    assert leaver.name not in squash(other_day.split("<thead>", 1)[1].split("</thead>", 1)[0])


def test_an_inactive_room_keeps_a_column_on_days_it_holds_a_visit_and_offers_nothing(desk):
    make_clinic(practitioners=1, rooms=2)
    visit = make_booking(
        "consultation",
        datetime(2026, 3, 2, 11, 0, tzinfo=UTC),
        patient=patient_details(full_name="Kept Patient", phone="+447911123102"),
    )
    room = db.session.get(Room, visit.room_id)
    room.active = False
    db.session.commit()

    page = desk_page(desk, "?day=2026-03-02&by=room")
    head = squash(page.split("<thead>", 1)[1].split("</thead>", 1)[0])
    assert f"{room.name} (inactive)" in head
    assert any("Kept Patient" in block for block in blocks(page))
    assert all(f"room={room.id}" not in unquote(link) for link in free_links(page))
    other_day = desk_page(desk, "?day=2026-03-03&by=room")
    assert room.name not in squash(other_day.split("<thead>", 1)[1].split("</thead>", 1)[0])


# --- a fixed number of queries ----------------------------------------------------------------


@contextmanager
def counted_statements():
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        statements.append(statement)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def book_many(clinic, day: date, count: int) -> None:
    """``count`` visits on ``day`` spread over the practitioners, each for its own patient."""
    start = datetime.combine(day, time(9), tzinfo=UTC)
    for n in range(count):
        make_booking(
            "consultation",
            start + timedelta(minutes=30 * (n // len(clinic.practitioners))),
            practitioner_id=clinic.practitioners[n % len(clinic.practitioners)].id,
            patient=patient_details(full_name=f"Patient {n}", phone=f"+4479111{n:05d}"),
        )


def statements_for(client, query: str) -> int:
    client.get(f"/desk{query}")  # warm: the session, the user, the templates
    db.session.expire_all()
    with counted_statements() as statements:
        assert client.get(f"/desk{query}").status_code == 200
    return len(statements)


@pytest.mark.parametrize("view", ["", "&view=week&practitioner=1", "&by=room"])
def test_the_calendar_reads_in_the_same_statements_for_2_visits_as_for_40(desk, clock, view):
    clock.set(datetime(2026, 3, 1, 8, 0, tzinfo=UTC))
    clinic = make_clinic(practitioners=3, rooms=3, hours=(time(9), time(23)))
    book_many(clinic, date(2026, 3, 2), 2)
    few = statements_for(desk, f"?day=2026-03-02{view}")
    book_many(clinic, date(2026, 3, 3), 40)
    many = statements_for(desk, f"?day=2026-03-03{view}")
    assert len(blocks(desk.get(f"/desk?day=2026-03-03{view}").get_data(as_text=True))) >= 13
    assert few == many
