"""Staff sign-in, roles and the create-staff command (the desk's calendar: test_calendar.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from clinic.courses.services import CourseRequest, book_course
from clinic.staff.auth import roles_required, safe_next
from clinic.staff.models import StaffUser
from tests.factories import make_booking, make_clinic
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
