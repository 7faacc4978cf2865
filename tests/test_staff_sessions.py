"""Staff sessions: signing out ends them everywhere, they time out, guessing locks an account."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from clinic.audit.models import AuditEvent
from clinic.staff import services
from clinic.staff.auth import SESSION_ENDED
from clinic.staff.models import StaffUser
from clinic.staff.views import LOGIN_FAILED
from tests.helpers import make_staff, sign_in, sign_out

NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture
def app_config():
    # The real lengths: tests/helpers.make_app stretches them for every other test.
    return {"STAFF_SESSION_HOURS": 12, "STAFF_IDLE_MINUTES": 60}


@pytest.fixture
def desk(app, client):
    make_staff(role="desk", email="desk@example.com")
    assert sign_in(client).status_code == 302
    return client


def opens_desk(client) -> bool:
    response = client.get("/desk")
    if response.status_code == 200:
        return True
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")
    return False


def copy_of(app, client):
    """A second browser holding the same session cookie, as a thief with a copy would."""
    other = app.test_client()
    other.set_cookie("session", client.get_cookie("session").value)
    return other


def login_page_says(client, words: str) -> bool:
    return words in client.get("/login").get_data(as_text=True)


def test_a_copied_cookie_opens_the_desk_until_sign_out_and_never_after(app, desk):
    copied = copy_of(app, desk)
    assert opens_desk(copied)  # the copy is a working session, so the test can fail
    assert sign_out(desk).status_code == 302
    assert not opens_desk(copied)
    assert not opens_desk(desk)


def test_signing_out_in_one_browser_ends_the_session_in_another(app, desk):
    laptop = app.test_client()
    assert sign_in(laptop).status_code == 302
    assert opens_desk(laptop) and opens_desk(desk)
    sign_out(desk)
    assert not opens_desk(laptop)
    # Signing in again works, with a fresh session.
    assert sign_in(laptop).status_code == 302
    assert opens_desk(laptop)


def test_an_ended_session_goes_to_sign_in_with_a_plain_message(app, desk):
    sign_out(copy_of(app, desk))
    response = desk.get("/desk")
    assert response.headers["Location"].startswith("/login?next=")
    assert SESSION_ENDED in desk.get(response.headers["Location"]).get_data(as_text=True)


def test_a_new_password_ends_every_session(app, desk):
    copied = copy_of(app, desk)
    services.set_password("desk@example.com", NEW_PASSWORD)
    assert not opens_desk(desk) and not opens_desk(copied)
    assert sign_in(desk).status_code == 200  # the old password opens nothing
    assert sign_in(desk, password=NEW_PASSWORD).status_code == 302
    assert opens_desk(desk)


def test_the_reset_password_command_ends_every_session(app, desk):
    result = app.test_cli_runner().invoke(
        args=["reset-password", "Desk@example.com", "--password", NEW_PASSWORD]
    )
    assert result.exit_code == 0, result.output
    assert "sessions have ended" in result.output
    assert not opens_desk(desk)
    assert sign_in(desk, password=NEW_PASSWORD).status_code == 302


def test_the_reset_password_command_refuses_a_short_password_and_an_unknown_account(app, desk):
    runner = app.test_cli_runner()
    short = runner.invoke(args=["reset-password", "desk@example.com", "--password", "short"])
    unknown = runner.invoke(args=["reset-password", "who@example.com", "--password", NEW_PASSWORD])
    assert short.exit_code != 0 and "at least 12 characters" in short.output
    assert unknown.exit_code != 0 and "no account" in unknown.output
    assert opens_desk(desk)


def test_a_session_ends_after_an_idle_hour(desk, clock):
    clock.advance(minutes=59)
    assert opens_desk(desk)
    clock.advance(minutes=59)  # each request restarts the idle hour
    assert opens_desk(desk)
    clock.advance(minutes=60)
    assert not opens_desk(desk)
    assert login_page_says(desk, SESSION_ENDED)


def test_a_busy_session_still_ends_twelve_hours_after_sign_in(desk, clock):
    for _ in range(14):  # a request every 50 minutes: 11 h 40 min
        clock.advance(minutes=50)
        assert opens_desk(desk)
    clock.advance(minutes=20)  # 12 hours since sign-in
    assert not opens_desk(desk)
    assert sign_in(desk).status_code == 302
    assert opens_desk(desk)


def fail_sign_in(client, email="desk@example.com", times=1):
    for _ in range(times):
        response = sign_in(client, email=email, password="not the password")
        assert response.status_code == 200
        assert LOGIN_FAILED in response.get_data(as_text=True)


def test_ten_failed_sign_ins_lock_the_account_for_fifteen_minutes(app, client, clock, db):
    user = make_staff(role="desk", email="desk@example.com")
    fail_sign_in(client, times=10)
    locked = sign_in(client)  # the right password, but the account waits
    assert locked.status_code == 200
    assert LOGIN_FAILED in locked.get_data(as_text=True)
    clock.advance(minutes=14, seconds=59)
    assert sign_in(client).status_code == 200
    clock.advance(seconds=1)
    assert sign_in(client).status_code == 302
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "staff.locked_out"))
    assert event is not None and event.staff_id == user.id and event.actor_kind == "desk"


def test_nine_failures_then_the_right_password_start_the_count_again(client, db):
    make_staff(role="desk", email="desk@example.com")
    fail_sign_in(client, times=9)
    assert sign_in(client).status_code == 302
    sign_out(client)
    fail_sign_in(client, times=9)
    assert sign_in(client).status_code == 302
    assert db.session.scalar(select(StaffUser.locked_until)) is None


def test_a_locked_account_and_an_unknown_email_get_the_same_answer(client):
    make_staff(role="desk", email="desk@example.com")
    fail_sign_in(client, times=10)
    locked = sign_in(client).get_data(as_text=True)
    unknown = sign_in(client, email="nobody@example.com").get_data(as_text=True)

    def message(page: str) -> str:
        return page.split(LOGIN_FAILED[:20], 1)[1][:200]

    assert message(locked) == message(unknown)


def test_a_session_from_before_this_release_is_ended(app, desk):
    # A cookie without the sign-in time (or with a bare id) is not honoured.
    with desk.session_transaction() as session:
        session.pop("staff_signed_in_at")
    assert not opens_desk(desk)
