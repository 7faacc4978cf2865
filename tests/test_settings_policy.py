"""The clinic's policy page: the cancellation window and the texts' quiet hours, saved in the
database over the environment's defaults, audited, refused when stale, and obeyed at once by
every reader (the patient's link, the visit lifecycle, the texts' planner and dispatcher)."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import func, select

from clinic.actors import Actor
from clinic.audit.models import AuditEvent
from clinic.booking import services as booking
from clinic.booking.tokens import manage_token
from clinic.catalog.models import ClinicPolicy
from clinic.catalog.policy import check, clinic_policy
from clinic.errors import ChangeNotAllowed, ValidationFailed
from clinic.extensions import db
from clinic.settings import policy_services
from clinic.sms.dispatch import dispatch_pass
from clinic.sms.kinds import Kind
from clinic.sms.models import OutboundText, TextStatus
from clinic.visits.changes import change_window
from tests.factories import make_booking, make_clinic, patient_details
from tests.helpers import csrf_token, make_staff, sign_in

PAGE = "/admin/settings/policy"
# Monday 2 March 2026, 08:00 in London (GMT: UTC is local time).
MONDAY_8 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
WEDNESDAY_10 = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)


@pytest.fixture
def app_config():
    return {
        "CANCELLATION_WINDOW_HOURS": 24,
        "SMS_QUIET_START": "20:00",
        "SMS_QUIET_END": "09:00",
        "SMS_SEGMENTS_PER_SECOND": 0,
    }


@pytest.fixture
def admin(signed_in, app):
    make_clinic()
    return signed_in("admin", name="Ana Admin")


def page_text(response) -> str:
    words = re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))
    return re.sub(r"\s+", " ", html.unescape(words))


def form(client, **values) -> dict:
    """The form as the page shows it now, with ``values`` typed over it."""
    markup = client.get(PAGE).get_data(as_text=True)
    shown = {
        name: html.unescape(re.search(rf'name="{name}"[^>]*value="([^"]*)"', markup).group(1))
        for name in ("cancellation_window_hours", "quiet_start", "quiet_end", "version")
    }
    return {**shown, "csrf_token": csrf_token(client, PAGE), **values}


def events(action: str | None = None) -> list[AuditEvent]:
    db.session.rollback()  # a fresh read: the request wrote in its own transaction
    query = select(AuditEvent).order_by(AuditEvent.id)
    if action:
        query = query.where(AuditEvent.action == action)
    return list(db.session.scalars(query))


def saved_rows() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(ClinicPolicy))


_admins = iter(range(1, 1000))


def an_admin() -> Actor:
    email = f"boss{next(_admins)}@example.com"
    return Actor.staff(make_staff(role="admin", email=email, name="Bo Boss"))


# --- the rules, without an app ---------------------------------------------------------------


def test_the_window_runs_from_none_to_two_weeks():
    assert check(0, time(20), time(9)) == {}
    assert check(336, time(20), time(9)) == {}
    assert "cancellation_window_hours" in check(337, time(20), time(9))
    assert "cancellation_window_hours" in check(-1, time(20), time(9))


def test_quiet_hours_must_end_at_another_time_than_they_start():
    assert check(24, time(9), time(17)) == {}  # a daytime window is allowed
    assert list(check(24, time(20), time(20))) == ["quiet_end"]
    assert "quiet_start" in check(24, time(20, 0, 30), time(9))


# --- where the values come from --------------------------------------------------------------


def test_the_environment_holds_until_the_clinic_saves_its_own(any_app):
    any_app.config.update(
        CANCELLATION_WINDOW_HOURS=6, SMS_QUIET_START="21:30", SMS_QUIET_END="07:45"
    )
    policy = clinic_policy()
    assert (policy.cancellation_window_hours, policy.quiet_start, policy.quiet_end) == (
        6,
        time(21, 30),
        time(7, 45),
    )
    assert policy.version == 0 and len(policy.from_environment) == 3
    assert change_window() == timedelta(hours=6)

    admin = an_admin()
    policy_services.save_policy(48, time(22), time(8), shown_version=0, by=admin)
    saved = clinic_policy()
    assert (saved.cancellation_window_hours, saved.quiet_start, saved.quiet_end) == (
        48,
        time(22),
        time(8),
    )
    assert saved.version == 1 and saved.from_environment == frozenset()
    assert change_window() == timedelta(hours=48)
    # The environment changes under a saved policy: the clinic's values still win.
    any_app.config.update(CANCELLATION_WINDOW_HOURS=2)
    assert clinic_policy().cancellation_window_hours == 48

    changes = policy_services.reset_to_environment(shown_version=1, by=admin)
    assert changes == {
        "cancellation_window_hours": (48, 2),
        "quiet_start": ("22:00", "21:30"),
        "quiet_end": ("08:00", "07:45"),
    }
    back = clinic_policy()
    assert back.cancellation_window_hours == 2 and back.version == 2
    assert len(back.from_environment) == 3


def test_a_save_records_only_what_changed_with_before_and_after(any_app):
    admin = an_admin()
    policy_services.save_policy(24, time(21), time(9), shown_version=0, by=admin)
    (event,) = events("settings.policy_changed")
    assert event.changes == {"quiet_start": ["20:00", "21:00"]}
    assert event.staff_id == admin.staff_id and event.actor_kind == "admin"


def test_an_unchanged_save_writes_nothing(any_app):
    assert policy_services.save_policy(24, time(20), time(9), shown_version=0, by=an_admin()) == {}
    assert saved_rows() == 0 and events() == []


def test_a_save_over_someone_elses_is_refused_and_changes_nothing(any_app):
    admin = an_admin()
    policy_services.save_policy(48, time(20), time(9), shown_version=0, by=admin)
    with pytest.raises(policy_services.StalePolicyForm):
        policy_services.save_policy(12, time(20), time(9), shown_version=0, by=admin)
    with pytest.raises(policy_services.StalePolicyForm):
        policy_services.reset_to_environment(shown_version=0, by=admin)
    with pytest.raises(policy_services.StalePolicyForm):
        policy_services.save_policy(12, time(20), time(9), shown_version=None, by=admin)
    assert clinic_policy().cancellation_window_hours == 48
    assert len(events()) == 1


def test_a_form_shown_before_a_save_that_was_later_undone_is_still_stale(any_app):
    admin = an_admin()
    policy_services.save_policy(48, time(20), time(9), shown_version=0, by=admin)
    policy_services.reset_to_environment(shown_version=1, by=admin)
    with pytest.raises(policy_services.StalePolicyForm):
        policy_services.save_policy(12, time(20), time(9), shown_version=0, by=admin)


def test_values_the_rules_refuse_are_not_saved(any_app):
    with pytest.raises(ValidationFailed) as refused:
        policy_services.save_policy(400, time(9), time(9), shown_version=0, by=an_admin())
    assert set(refused.value.errors) == {"cancellation_window_hours", "quiet_end"}
    assert saved_rows() == 0 and events() == []


# --- the page --------------------------------------------------------------------------------


def test_the_page_shows_the_policy_in_force_and_where_it_comes_from(admin):
    response = admin.get(PAGE)
    assert response.status_code == 200
    text = page_text(response)
    assert "until 24 hours before the visit (the server's default)" in text
    assert "20:00 to 09:00" in text
    assert "Use the server's defaults" not in text  # nothing of the clinic's own to drop
    assert "Cancellation window and quiet hours" in page_text(admin.get("/admin/settings"))


def test_an_admin_saves_the_policy_and_the_audit_log_keeps_before_and_after(admin):
    response = admin.post(
        PAGE, data=form(admin, cancellation_window_hours="48", quiet_start="21:00")
    )
    assert response.status_code == 303 and response.headers["Location"] == PAGE
    policy = clinic_policy()
    assert (policy.cancellation_window_hours, policy.quiet_start) == (48, time(21))
    (event,) = events("settings.policy_changed")
    assert event.changes == {
        "cancellation_window_hours": [24, 48],
        "quiet_start": ["20:00", "21:00"],
    }
    assert event.actor_label.startswith("Ana Admin")
    text = page_text(admin.get(PAGE))
    assert "Policy saved." in text and "until 48 hours before the visit" in text
    assert "(the server's default)" not in text


def test_an_unchanged_form_says_so_and_records_nothing(admin):
    response = admin.post(PAGE, data=form(admin))
    assert response.status_code == 303
    assert "Nothing changed." in page_text(admin.get(PAGE))
    assert saved_rows() == 0 and events() == []


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"cancellation_window_hours": "337"}, "cancellation_window_hours", "from 0 to 336"),
        ({"cancellation_window_hours": "-1"}, "cancellation_window_hours", "whole number"),
        ({"cancellation_window_hours": "1.5"}, "cancellation_window_hours", "whole number"),
        ({"cancellation_window_hours": "9" * 40}, "cancellation_window_hours", "whole number"),
        ({"cancellation_window_hours": "２４"}, "cancellation_window_hours", "whole number"),
        ({"cancellation_window_hours": ""}, "cancellation_window_hours", "number of hours"),
        ({"quiet_start": "25:00"}, "quiet_start", "like 20:00"),
        ({"quiet_start": "8pm"}, "quiet_start", "like 20:00"),
        ({"quiet_end": "09:00:30"}, "quiet_end", "like 20:00"),
        ({"quiet_end": "<script>"}, "quiet_end", "like 20:00"),
        ({"quiet_end": "20:00"}, "quiet_end", "different time"),
        ({"quiet_end": ""}, "quiet_end", "quiet hours end"),
    ],
)
def test_a_value_out_of_shape_or_range_gets_a_field_message_and_saves_nothing(
    admin, values, field, message
):
    response = admin.post(PAGE, data=form(admin, **values))
    assert response.status_code == 422
    markup = response.get_data(as_text=True)
    assert f'id="{field}-error"' in markup and 'aria-invalid="true"' in markup
    assert message in page_text(response)
    assert saved_rows() == 0 and events() == []


def test_a_stale_form_gets_409_and_a_fresh_form_over_the_current_policy(admin):
    first = form(admin, cancellation_window_hours="48")
    second = form(admin, cancellation_window_hours="12")
    assert admin.post(PAGE, data=first).status_code == 303
    response = admin.post(PAGE, data=second)
    assert response.status_code == 409
    text = page_text(response)
    assert "Someone else changed the policy" in text
    assert 'value="48"' in response.get_data(as_text=True)  # the form shows the policy now
    assert clinic_policy().cancellation_window_hours == 48
    assert len(events()) == 1


def test_a_tampered_version_is_treated_as_stale(admin):
    for version in ("x", "", "1" * 40, "-1"):
        response = admin.post(PAGE, data=form(admin, version=version, quiet_start="21:00"))
        assert response.status_code == 409
    assert saved_rows() == 0 and events() == []


def test_going_back_to_the_servers_defaults_is_audited(admin):
    admin.post(PAGE, data=form(admin, cancellation_window_hours="48"))
    assert "Use the server's defaults" in page_text(admin.get(PAGE))
    shown = form(admin)
    response = admin.post(
        PAGE + "/reset", data={"csrf_token": shown["csrf_token"], "version": shown["version"]}
    )
    assert response.status_code == 303
    assert clinic_policy().cancellation_window_hours == 24
    (event,) = events("settings.policy_reset")
    assert event.changes == {"cancellation_window_hours": [48, 24]}
    stale = admin.post(
        PAGE + "/reset", data={"csrf_token": shown["csrf_token"], "version": shown["version"]}
    )
    assert stale.status_code == 409


def test_only_admins_open_or_change_the_policy(signed_in, app):
    make_clinic()
    for role in ("desk", "practitioner"):
        client = signed_in(role, email=f"{role}@example.com")
        assert client.get(PAGE).status_code == 403
        token = csrf_token(client, "/desk")
        data = {"csrf_token": token, "cancellation_window_hours": "0", "version": "0"}
        assert client.post(PAGE, data=data).status_code == 403
        client.post("/logout", data={"csrf_token": token})
    assert saved_rows() == 0


def test_without_a_csrf_token_nothing_is_saved(admin):
    data = form(admin, cancellation_window_hours="48")
    del data["csrf_token"]
    assert admin.post(PAGE, data=data).status_code == 400
    assert saved_rows() == 0


@pytest.mark.postgres
def test_the_page_saves_and_refuses_stale_forms_on_postgresql(pg_app, clock):
    make_clinic()
    make_staff(role="admin", email="admin@example.com", name="Ana Admin")
    client = pg_app.test_client()
    sign_in(client, email="admin@example.com")
    first = form(client, quiet_start="22:15", quiet_end="06:30")
    second = form(client, cancellation_window_hours="3")
    assert client.post(PAGE, data=first).status_code == 303
    assert client.post(PAGE, data=second).status_code == 409
    assert client.post(PAGE, data=form(client, quiet_end="22:15")).status_code == 422
    policy = clinic_policy()
    assert (policy.quiet_start, policy.quiet_end, policy.version) == (time(22, 15), time(6, 30), 1)
    assert [e.action for e in events()] == ["settings.policy_changed"]


# --- every reader follows at once ------------------------------------------------------------


def test_a_longer_window_stops_patients_changing_a_visit_online(admin, clock):
    clock.set(MONDAY_8)
    visit = make_booking("consultation", WEDNESDAY_10, patient=patient_details(), sms_opt_in=True)
    token = manage_token(visit)
    assert booking.patient_can_change(visit)  # 50 hours ahead, window 24

    admin.post(PAGE, data=form(admin, cancellation_window_hours="72"))
    db.session.rollback()
    assert not booking.patient_can_change(visit)
    assert booking.patient_change_deadline(visit) == WEDNESDAY_10 - timedelta(hours=72)
    with pytest.raises(ChangeNotAllowed, match="up to 72 hours before"):
        booking.ensure_patient_can_change(visit)
    assert "Visits can be changed online up to 72 hours before they start." in page_text(
        admin.get(f"/manage/{token}")
    )


def test_new_quiet_hours_hold_back_a_text_planned_before_the_change(admin, clock):
    clock.set(MONDAY_8)
    make_booking("consultation", WEDNESDAY_10, patient=patient_details(), sms_opt_in=True)
    db.session.commit()
    reminder = db.session.scalar(select(OutboundText).where(OutboundText.kind == Kind.REMINDER_48H))
    assert reminder.send_at == datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # planned for 10:00

    # Quiet hours now run over the morning, past the time the reminder was planned for.
    admin.post(PAGE, data=form(admin, quiet_start="09:30", quiet_end="11:00"))
    clock.set(datetime(2026, 3, 2, 10, 0, tzinfo=UTC))
    dispatch_pass()
    db.session.rollback()
    reminder = db.session.get(OutboundText, reminder.id)
    assert reminder.status == TextStatus.PENDING
    assert reminder.send_at == datetime(2026, 3, 2, 11, 0, tzinfo=UTC)

    clock.set(datetime(2026, 3, 2, 11, 0, tzinfo=UTC))
    dispatch_pass()
    db.session.rollback()
    assert db.session.get(OutboundText, reminder.id).status == TextStatus.SENT


def test_texts_planned_after_the_change_are_planned_around_the_new_quiet_hours(admin, clock):
    clock.set(MONDAY_8)
    admin.post(PAGE, data=form(admin, quiet_start="09:30", quiet_end="11:00"))
    make_booking("consultation", WEDNESDAY_10, patient=patient_details(), sms_opt_in=True)
    db.session.commit()
    reminder = db.session.scalar(select(OutboundText).where(OutboundText.kind == Kind.REMINDER_48H))
    assert reminder.send_at == datetime(2026, 3, 2, 11, 0, tzinfo=UTC)
