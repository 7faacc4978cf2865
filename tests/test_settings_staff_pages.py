"""The staff accounts screens (/admin/settings/staff) and the public page a password link opens:
admins only, field messages with 422, a stale page or a refused change with 409, a bad link
404 or 410, and never a half-made account."""

from __future__ import annotations

import re
from datetime import timedelta
from email import message_from_string
from email.policy import default

import pytest
from sqlalchemy import select

from clinic.extensions import db
from clinic.mail.models import OutboundEmail
from clinic.staff import accounts
from clinic.staff.models import StaffUser
from tests.helpers import csrf_token, make_staff, sign_in

STAFF = "/admin/settings/staff"
NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture
def app_config():
    # Nothing is sent in these tests (no dispatcher pass runs): the address only turns email on.
    return {"SMTP_URL": "smtp://127.0.0.1:2525"}


@pytest.fixture
def admin(signed_in):
    return signed_in("admin", email="kim@example.com", name="Kim Admin")


def form_version(page: str) -> str:
    return re.search(r'name="version" value="([^"]*)"', page).group(1)


def emailed_token(email: str) -> str:
    db.session.expire_all()
    row = db.session.scalars(
        select(OutboundEmail)
        .where(OutboundEmail.to_address == email)
        .order_by(OutboundEmail.id.desc())
    ).first()
    body = message_from_string(row.message, policy=default).get_body(preferencelist=("plain",))
    return re.search(r"/password/([A-Za-z0-9_-]{43})", body.get_content()).group(1)


def invite(client, **fields):
    data = {"name": "Sam Lee", "email": "sam@example.com", "role": "desk", "practitioner_id": ""}
    data.update(fields)
    data["csrf_token"] = csrf_token(client, f"{STAFF}/invite")
    return client.post(f"{STAFF}/invite", data=data)


def test_the_settings_index_links_to_staff_accounts(admin):
    page = admin.get("/admin/settings").get_data(as_text=True)
    assert f'href="{STAFF}"' in page


def test_desk_and_practitioners_are_refused(client, signed_in):
    desk = signed_in("desk")
    assert desk.get(STAFF).status_code == 403
    assert desk.get(f"{STAFF}/invite").status_code == 403


def test_the_list_shows_every_account_and_whether_it_accepted(admin):
    make_staff(role="desk", email="desk@example.com", name="Dee Desk")
    assert invite(admin).status_code == 303
    page = admin.get(STAFF).get_data(as_text=True)
    assert "Dee Desk" in page and "Sam Lee" in page and "Kim Admin" in page
    assert "Invited, not yet accepted" in page
    assert "(you)" in page


def test_an_invitation_leads_to_the_account_page(admin):
    response = invite(admin, name="  Sam Lee ", email="Sam@Example.com")
    assert response.status_code == 303
    user = db.session.scalar(select(StaffUser).where(StaffUser.email == "sam@example.com"))
    assert response.headers["Location"] == f"{STAFF}/{user.id}"
    page = admin.get(response.headers["Location"]).get_data(as_text=True)
    assert "not yet accepted" in page and "Send a new invitation" in page


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": ""}, "Enter the person&#39;s name."),
        ({"name": "N" * 121}, "120"),
        ({"email": "nobody"}, "Enter an email address like"),
        ({"email": "x" * 250 + "@example.com"}, "254"),
        ({"role": "superuser"}, "Not a valid choice"),
        ({"practitioner_id": "abc"}, "Not a valid choice"),
        ({"email": "kim@example.com"}, "There is already an account for kim@example.com."),
    ],
)
def test_a_bad_invitation_gets_field_messages_and_creates_nothing(admin, fields, message):
    response = invite(admin, **fields)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    db.session.expire_all()
    assert [u.email for u in db.session.scalars(select(StaffUser))] == ["kim@example.com"]


def test_an_invitation_while_email_is_off_is_refused_with_a_reason(app, admin):
    app.config["SMTP_URL"] = ""
    response = invite(admin)
    assert response.status_code == 409
    assert "SMTP_URL" in response.get_data(as_text=True)


def test_a_role_change_from_a_stale_page_is_refused_with_409(admin):
    desk = make_staff(role="desk", email="desk@example.com")
    page = admin.get(f"{STAFF}/{desk.id}").get_data(as_text=True)
    stale = form_version(page)
    token = csrf_token(admin, f"{STAFF}/{desk.id}")
    first = admin.post(
        f"{STAFF}/{desk.id}", data={"role": "practitioner", "version": stale, "csrf_token": token}
    )
    assert first.status_code == 303
    again = admin.post(
        f"{STAFF}/{desk.id}", data={"role": "admin", "version": stale, "csrf_token": token}
    )
    assert again.status_code == 409
    assert "Someone changed this account" in again.get_data(as_text=True)
    assert db.session.get(StaffUser, desk.id).role == "practitioner"
    fresh_page = admin.get(f"{STAFF}/{desk.id}").get_data(as_text=True)
    same = admin.post(
        f"{STAFF}/{desk.id}",
        data={"role": "practitioner", "version": form_version(fresh_page), "csrf_token": token},
        follow_redirects=True,
    )
    assert "Nothing changed." in same.get_data(as_text=True)


@pytest.mark.parametrize("action", ["", "/deactivate", "/reactivate", "/reset-password"])
@pytest.mark.parametrize("version", ["’‘“”😀", "\x00", "x" * 5000])
def test_a_hostile_version_is_a_stale_page_not_an_error(admin, action, version):
    desk = make_staff(role="desk", email="desk@example.com")
    response = admin.post(
        f"{STAFF}/{desk.id}{action}",
        data={"role": "admin", "version": version, "csrf_token": csrf_token(admin, STAFF)},
    )
    assert response.status_code in (409, 422), response.status_code
    db.session.expire_all()
    account = db.session.get(StaffUser, desk.id)
    assert (account.role, account.active) == ("desk", True)


def test_the_last_admin_cannot_deactivate_themselves_on_the_page(admin):
    me = db.session.scalar(select(StaffUser).where(StaffUser.email == "kim@example.com"))
    page = admin.get(f"{STAFF}/{me.id}").get_data(as_text=True)
    response = admin.post(
        f"{STAFF}/{me.id}/deactivate",
        data={"version": form_version(page), "csrf_token": csrf_token(admin, STAFF)},
    )
    assert response.status_code == 409
    assert "last active administrator" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(StaffUser, me.id).active


def test_deactivate_reactivate_and_reset_are_one_click_each(admin):
    desk = make_staff(role="desk", email="desk@example.com")
    for action, check in [
        ("deactivate", lambda u: not u.active),
        ("reactivate", lambda u: u.active),
        ("reset-password", lambda u: u.active),
    ]:
        page = admin.get(f"{STAFF}/{desk.id}").get_data(as_text=True)
        response = admin.post(
            f"{STAFF}/{desk.id}/{action}",
            data={"version": form_version(page), "csrf_token": csrf_token(admin, STAFF)},
        )
        assert response.status_code == 303, action
        db.session.expire_all()
        assert check(db.session.get(StaffUser, desk.id)), action
    assert emailed_token("desk@example.com")


def test_an_unknown_account_is_a_404(admin):
    assert admin.get(f"{STAFF}/999999").status_code == 404
    response = admin.post(
        f"{STAFF}/999999/deactivate", data={"version": "", "csrf_token": csrf_token(admin, STAFF)}
    )
    assert response.status_code == 404


# --- the public page a link opens ------------------------------------------------------------


def test_the_link_page_sets_the_password_then_asks_to_sign_in(admin, app):
    invite(admin)
    token = emailed_token("sam@example.com")
    visitor = app.test_client()
    page = visitor.get(f"/password/{token}")
    assert page.status_code == 200 and "Welcome, Sam Lee" in page.get_data(as_text=True)
    response = visitor.post(
        f"/password/{token}",
        data={
            "password": NEW_PASSWORD,
            "confirm": NEW_PASSWORD,
            "csrf_token": csrf_token(visitor, f"/password/{token}"),
        },
    )
    assert response.status_code == 303 and response.headers["Location"] == "/login"
    assert sign_in(visitor, "sam@example.com", NEW_PASSWORD).status_code == 302
    assert visitor.get("/desk").status_code == 200
    assert visitor.get(f"/password/{token}").status_code == 410


@pytest.mark.parametrize(
    ("password", "confirm", "message"),
    [
        ("short", "short", "at least 12 characters"),
        (NEW_PASSWORD, "something else entirely", "not the same"),
        ("", "", "Choose a password."),
        ("x" * 300, "x" * 300, "256"),
    ],
)
def test_a_bad_password_on_the_link_page_is_a_422_and_keeps_the_link(
    admin, app, password, confirm, message
):
    invite(admin)
    token = emailed_token("sam@example.com")
    visitor = app.test_client()
    response = visitor.post(
        f"/password/{token}",
        data={
            "password": password,
            "confirm": confirm,
            "csrf_token": csrf_token(visitor, f"/password/{token}"),
        },
    )
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert accounts.link_holder(token).purpose == "invite"


@pytest.mark.parametrize("token", ["nonsense", "A" * 43, "a" * 5000])
def test_a_link_that_is_not_one_is_a_404(client, token):
    assert client.get(f"/password/{token}").status_code == 404


def test_an_expired_link_is_a_410(admin, app, clock):
    invite(admin)
    token = emailed_token("sam@example.com")
    clock.advance(timedelta(hours=73))
    response = app.test_client().get(f"/password/{token}")
    assert response.status_code == 410
    assert "expired" in response.get_data(as_text=True)
