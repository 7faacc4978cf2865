"""Staff sign-in, the desk's day list and review warnings, roles and the create-staff command."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import select

from clinic.booking.services import cancel
from clinic.courses.services import CourseRequest, book_course
from clinic.screening import services as screening_services
from clinic.staff.auth import roles_required, safe_next
from clinic.staff.models import StaffUser
from tests.factories import all_no, make_booking, make_clinic, patient_details
from tests.helpers import PASSWORD, csrf_token, make_staff, sign_in, sign_out

# --- signing in and out -------------------------------------------------------------------


def test_staff_member_signs_in_and_lands_on_the_desk(client):
    make_staff()
    response = sign_in(client)
    assert response.status_code == 302
    assert response.headers["Location"] == "/desk"
    assert client.get("/desk").status_code == 200


def test_sign_in_ignores_email_case_and_spaces(client):
    make_staff()
    assert sign_in(client, email="  Desk@Example.COM ").status_code == 302


def test_wrong_password_and_unknown_email_get_the_same_answer(client):
    make_staff()
    wrong = sign_in(client, password="not the password")
    unknown = sign_in(client, email="nobody@example.com")
    for response in (wrong, unknown):
        assert response.status_code == 200
        assert "Email or password is not right." in response.get_data(as_text=True)
    assert client.get("/desk").status_code == 302


def test_empty_form_asks_for_both_fields(client):
    token = csrf_token(client)
    page = client.post("/login", data={"csrf_token": token}).get_data(as_text=True)
    assert "Enter your email address." in page
    assert "Enter your password." in page


def test_sign_out_ends_the_session(client):
    make_staff()
    sign_in(client)
    response = sign_out(client)
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    assert client.get("/desk").status_code == 302


def test_sign_out_needs_a_post(client):
    make_staff()
    sign_in(client)
    assert client.get("/logout").status_code == 405
    assert client.get("/desk").status_code == 200


def test_signed_in_visitor_to_login_page_goes_to_the_desk(client):
    make_staff()
    sign_in(client)
    response = client.get("/login")
    assert response.status_code == 302
    assert response.headers["Location"] == "/desk"


def test_sign_in_returns_to_the_page_first_asked_for(client):
    make_staff()
    first = client.get("/desk?day=2026-03-04")
    assert first.status_code == 302
    assert "/login?next=" in first.headers["Location"]
    response = sign_in(client, url=first.headers["Location"])
    assert response.headers["Location"] == "/desk?day=2026-03-04"


def test_sign_in_refuses_to_send_people_to_another_site(client):
    make_staff()
    response = sign_in(client, url="/login?next=https://evil.example/desk")
    assert response.headers["Location"] == "/desk"


def test_deactivated_account_loses_its_session(client, db):
    user = make_staff()
    sign_in(client)
    assert client.get("/desk").status_code == 200
    user.active = False
    db.session.commit()
    assert client.get("/desk").status_code == 302


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/desk", "/desk"),
        ("/desk?day=2026-03-02", "/desk?day=2026-03-02"),
        ("https://evil.example/", None),
        ("//evil.example/desk", None),
        ("/\\evil.example", None),
        ("\\\\evil.example", None),
        ("javascript:alert(1)", None),
        ("/desk\r\nSet-Cookie: x=1", None),
        ("", None),
        (None, None),
    ],
)
def test_next_is_only_ever_a_path_on_this_site(target, expected):
    assert safe_next(target) == expected


# --- roles --------------------------------------------------------------------------------


@pytest.fixture
def admin_only_page(app):
    app.add_url_rule(
        "/test-admin-only", "admin_only", roles_required("admin")(lambda: "admin things")
    )


@pytest.mark.parametrize("role", ["admin", "desk", "practitioner"])
def test_every_staff_role_opens_the_desk(client, role):
    make_staff(role=role)
    sign_in(client)
    assert client.get("/desk").status_code == 200


def test_role_check_refuses_other_roles_with_a_403_page(client, admin_only_page):
    make_staff(role="desk")
    sign_in(client)
    response = client.get("/test-admin-only")
    assert response.status_code == 403
    assert "does not give access" in response.get_data(as_text=True)


def test_role_check_lets_admin_through(client, admin_only_page):
    make_staff(role="admin", email="admin@example.com")
    sign_in(client, email="admin@example.com")
    assert client.get("/test-admin-only").get_data(as_text=True) == "admin things"


def test_role_check_sends_signed_out_visitors_to_sign_in(client, admin_only_page):
    response = client.get("/test-admin-only")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


# --- the desk -----------------------------------------------------------------------------


def rows(page: str) -> list[str]:
    body = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0] if "<tbody>" in page else ""
    return [re.sub(r"\s+", " ", row) for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)]


def test_desk_lists_todays_appointments_in_order_with_their_details(client):
    clinic = make_clinic(practitioners=1, rooms=1)
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
    make_staff()
    sign_in(client)
    page = client.get("/desk").get_data(as_text=True)
    listed = rows(page)
    assert len(listed) == 2
    assert "10:00–10:20" in listed[0] and "Alex Morgan" in listed[0]
    assert "Hair-loss consultation" in listed[0] and "Desk" in listed[0]
    assert "14:00–14:45" in listed[1] and "Bea Late" in listed[1]
    assert "Scalp microneedling" in listed[1] and "Online" in listed[1]
    for row in listed:
        assert clinic.practitioners[0].name in row and clinic.rooms[0].name in row
        assert "Booked" in row
    assert "Tomorrow Person" not in page
    assert "Monday 2 March 2026 (today)" in page


def test_desk_shows_cancelled_visits_with_their_status(client):
    make_clinic(practitioners=1)
    appointment = make_booking("consultation", datetime(2026, 3, 2, 11, 0, tzinfo=UTC))
    cancel(appointment, by_patient=False)
    make_staff()
    sign_in(client)
    (row,) = rows(client.get("/desk").get_data(as_text=True))
    assert "Cancelled" in row


def test_desk_days_follow_the_clinic_clock_across_summer_time(client):
    # Round the clock hours, so a visit can start just after local midnight.
    make_clinic(practitioners=1, hours=(time(0, 0), time(23, 59)), weekdays=tuple(range(7)))
    make_booking("consultation", datetime(2026, 4, 7, 9, 0, tzinfo=UTC))  # 10:00 BST, 7 April
    make_booking(
        "consultation",
        datetime(2026, 4, 7, 23, 15, tzinfo=UTC),  # 00:15 BST on 8 April
        patient=patient_details(full_name="Night Owl", phone="+447911123003"),
    )
    make_staff()
    sign_in(client)
    seventh = rows(client.get("/desk?day=2026-04-07").get_data(as_text=True))
    eighth = rows(client.get("/desk?day=2026-04-08").get_data(as_text=True))
    assert len(seventh) == 1 and "10:00–10:20" in seventh[0]
    assert len(eighth) == 1 and "00:15–00:35" in eighth[0] and "Night Owl" in eighth[0]


def test_desk_links_to_the_days_either_side_and_back_to_today(client):
    make_staff()
    sign_in(client)
    page = client.get("/desk?day=2026-03-01").get_data(as_text=True)
    assert "Sunday 1 March 2026" in page and "(today)" not in page
    assert 'href="/desk?day=2026-02-28"' in page
    assert 'href="/desk?day=2026-03-02"' in page
    assert 'href="/desk">Today</a>' in page


def test_desk_says_so_when_a_day_is_empty(client):
    make_staff()
    sign_in(client)
    assert "No appointments on this day." in client.get("/desk").get_data(as_text=True)


@pytest.mark.parametrize(
    "day",
    ["tomorrow", "2026-02-30", "2026-3-2", "20260302", "0001-01-01", "9999-12-31", "2026-03-02x"],
)
def test_desk_refuses_a_malformed_day_with_a_400_page(client, day):
    make_staff()
    sign_in(client)
    response = client.get(f"/desk?day={day}")
    assert response.status_code == 400
    assert "YYYY-MM-DD" in response.get_data(as_text=True) or "outside" in response.get_data(
        as_text=True
    )


def test_desk_rows_link_to_the_visit_page_and_show_a_status_badge(client):
    make_clinic(practitioners=1)
    appointment = make_booking("consultation", datetime(2026, 3, 2, 11, 0, tzinfo=UTC))
    make_staff()
    sign_in(client)
    (row,) = rows(client.get("/desk").get_data(as_text=True))
    assert f'href="/desk/visits/{appointment.id}">Alex Morgan</a>' in row
    assert '<span class="badge badge--booked">Booked</span>' in row


def held_for_review(start, **patient):
    answers = all_no("microneedling") | {"anticoagulant": True}
    return make_booking(
        "microneedling", start, screening=answers, patient=patient_details(**patient)
    )


@pytest.mark.parametrize(
    ("role", "link"),
    [("practitioner", "Open the review queue"), ("desk", "Please ask a practitioner")],
)
def test_desk_flags_unreviewed_bookings_starting_within_48_hours(client, role, link):
    make_clinic(practitioners=2)
    soon = held_for_review(datetime(2026, 3, 3, 16, 0, tzinfo=UTC), full_name="Soon Patient")
    held_for_review(
        datetime(2026, 3, 4, 9, 0, tzinfo=UTC),  # 49 hours away
        full_name="Later Patient",
        phone="+447911123009",
    )
    make_staff(role=role)
    sign_in(client)
    page = re.sub(r"\s+", " ", client.get("/desk?day=2026-03-03").get_data(as_text=True))
    warning = page.split("review-warning", 1)[1].split("</section>", 1)[0]
    assert "1 booking in the next 48 hours still needs clinical review" in warning
    assert f'href="/desk/visits/{soon.id}"' in warning and "Soon Patient" in warning
    assert "Later Patient" not in warning
    assert link in warning
    # Only those who may review are sent to the queue.
    assert ('href="/review"' in warning) is (role == "practitioner")
    (row,) = rows(page)
    assert "Needs clinical review" in row
    later = rows(client.get("/desk?day=2026-03-04").get_data(as_text=True))
    assert "Needs review" in later[0] and "Needs clinical review" not in later[0]


def test_desk_stops_flagging_once_reviewed(client):
    make_clinic(practitioners=1)
    appointment = held_for_review(datetime(2026, 3, 2, 12, 0, tzinfo=UTC))
    make_staff()
    clinician = make_staff(role="practitioner", email="dr@example.com")
    sign_in(client)
    assert "still needs clinical review" in client.get("/desk").get_data(as_text=True)
    screening_services.approve(screening_services.latest_for(appointment).id, clinician)
    page = client.get("/desk").get_data(as_text=True)
    assert "clinical review" not in page
    assert "badge--confirmed" in page


def test_desk_stops_flagging_once_the_visit_is_over(client, clock):
    make_clinic(practitioners=1)
    appointment = held_for_review(datetime(2026, 3, 2, 12, 0, tzinfo=UTC))
    make_staff()
    sign_in(client)
    clock.set(appointment.end_at - timedelta(minutes=1))
    assert "still needs clinical review" in client.get("/desk").get_data(as_text=True)
    clock.set(appointment.end_at)
    assert "clinical review" not in client.get("/desk").get_data(as_text=True)


def test_desk_shows_no_review_warning_when_nothing_is_held(client):
    make_clinic(practitioners=1)
    make_booking("microneedling", datetime(2026, 3, 2, 12, 0, tzinfo=UTC))
    make_staff()
    sign_in(client)
    page = client.get("/desk").get_data(as_text=True)
    assert "clinical review" not in page


# --- create-staff -------------------------------------------------------------------------


def test_create_staff_command_makes_an_account_that_can_sign_in(runner, client, db):
    result = runner.invoke(
        args=[
            "create-staff",
            "--email",
            "New.Desk@Example.com",
            "--name",
            "Sam Lee",
            "--role",
            "desk",
        ],
        input=f"{PASSWORD}\n{PASSWORD}\n",
    )
    assert result.exit_code == 0, result.output
    assert "Created desk account new.desk@example.com" in result.output
    assert PASSWORD not in result.output
    user = db.session.scalar(select(StaffUser))
    assert (user.email, user.name, user.role, user.active) == (
        "new.desk@example.com",
        "Sam Lee",
        "desk",
        True,
    )
    assert user.password_hash.startswith("scrypt:")
    assert sign_in(client, email="new.desk@example.com").status_code == 302


def test_create_staff_refuses_a_duplicate_email(runner, db):
    make_staff(email="desk@example.com")
    result = runner.invoke(
        args=["create-staff", "--email", "DESK@example.com", "--name", "Other", "--role", "desk"],
        input=f"{PASSWORD}\n{PASSWORD}\n",
    )
    assert result.exit_code == 1
    assert "already an account for desk@example.com" in result.output
    assert len(db.session.scalars(select(StaffUser)).all()) == 1


def test_create_staff_refuses_a_short_password(runner, db):
    result = runner.invoke(
        args=["create-staff", "--email", "a@example.com", "--name", "A", "--role", "admin"],
        input="short pass1\nshort pass1\n",
    )
    assert result.exit_code == 1
    assert "at least 12 characters" in result.output
    assert db.session.scalar(select(StaffUser)) is None


def test_create_staff_asks_again_when_the_confirmation_differs(runner, db):
    result = runner.invoke(
        args=["create-staff", "--email", "a@example.com", "--name", "A", "--role", "admin"],
        input=f"{PASSWORD}\nsomething else entirely\n{PASSWORD}\n{PASSWORD}\n",
    )
    assert result.exit_code == 0, result.output
    assert "do not match" in result.output


def test_create_staff_links_a_practitioner_account(runner, db):
    clinic = make_clinic(practitioners=1)
    practitioner_id = clinic.practitioners[0].id
    args = ["create-staff", "--email", "p@example.com", "--name", "P", "--role", "practitioner"]
    result = runner.invoke(
        args=[*args, "--practitioner-id", str(practitioner_id)], input=f"{PASSWORD}\n{PASSWORD}\n"
    )
    assert result.exit_code == 0, result.output
    assert db.session.scalar(select(StaffUser)).practitioner_id == practitioner_id


@pytest.mark.parametrize(
    ("role", "practitioner_id", "message"),
    [
        ("practitioner", "999", "no practitioner with id 999"),
        ("desk", "1", "Only a practitioner account"),
    ],
)
def test_create_staff_checks_the_practitioner_link(runner, db, role, practitioner_id, message):
    make_clinic(practitioners=1)
    result = runner.invoke(
        args=[
            "create-staff",
            *("--email", "p@example.com", "--name", "P", "--role", role),
            *("--practitioner-id", practitioner_id),
        ],
        input=f"{PASSWORD}\n{PASSWORD}\n",
    )
    assert result.exit_code == 1
    assert message in result.output
    assert db.session.scalar(select(StaffUser)) is None


def test_create_staff_refuses_an_unknown_role(runner, db):
    result = runner.invoke(
        args=["create-staff", "--email", "a@example.com", "--name", "A", "--role", "owner"],
        input=f"{PASSWORD}\n{PASSWORD}\n",
    )
    assert result.exit_code == 2
    assert db.session.scalar(select(StaffUser)) is None


@pytest.mark.parametrize("page", ["/desk", "/review", "visit", "course", "consent"])
def test_staff_pages_are_never_cached(client, page):
    make_clinic(practitioners=1)
    appointment = make_booking("microneedling", datetime(2026, 3, 3, 10, 0, tzinfo=UTC))
    course = book_course(
        CourseRequest(
            appointment.patient_id,
            "microneedling-steroid",
            "three-weekly-3",
            datetime(2026, 3, 17, 10, tzinfo=UTC),
        )
    )
    make_staff(role="admin", email="admin@example.com")
    sign_in(client, email="admin@example.com")
    path = {
        "visit": f"/desk/visits/{appointment.id}",
        "course": f"/desk/courses/{course.id}",
        "consent": "/desk/visits/consents/1",
    }.get(page, page)
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
