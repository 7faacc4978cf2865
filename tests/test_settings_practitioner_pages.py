"""The practitioner, hours, time-off and closure settings pages: who may open them, what they
answer to malformed, hostile and stale forms (422, 409, 404, never a 500), and what they show."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from clinic.audit.models import AuditEvent
from clinic.catalog.models import Practitioner, TimeOff, WorkingHours
from clinic.extensions import db
from tests.factories import make_booking, make_clinic

TUESDAY_10 = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)
BASE = "/admin/settings"


@pytest.fixture
def clinic(app):
    return make_clinic(practitioners=2, rooms=2)


@pytest.fixture
def admin(signed_in, clinic):
    return signed_in("admin", name="Kim Admin")


def form_of(client, path: str, action: str | None = None) -> dict[str, str]:
    """The named inputs of the form posting to ``action`` (default: the page) on ``path``, as a
    browser would send them back: text values, ticked boxes, selected options."""
    page = client.get(path).get_data(as_text=True)
    action = action or path
    match = re.search(rf'<form[^>]*action="{re.escape(action)}"[^>]*>(.*?)</form>', page, re.S)
    assert match, f"no form posting to {action} on {path}"
    body = match.group(1)
    values: dict[str, str] = {}
    for tag in re.findall(r"<input[^>]*>", body):
        name = re.search(r'name="([^"]+)"', tag)
        if name is None:
            continue
        kind = re.search(r'type="([^"]+)"', tag)
        if kind and kind.group(1) in ("checkbox", "radio") and " checked" not in tag:
            continue
        value = re.search(r'value="([^"]*)"', tag)
        values[name.group(1)] = html.unescape(value.group(1)) if value else ""
    for name, options in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', body, re.S):
        chosen = re.search(r'<option[^>]*selected[^>]*value="([^"]*)"', options) or re.search(
            r'<option[^>]*value="([^"]*)"[^>]*selected', options
        )
        # With nothing selected a browser sends the first option.
        chosen = chosen or re.search(r'<option[^>]*value="([^"]*)"', options)
        if chosen:
            values[name] = chosen.group(1)
    return values


def text(response) -> str:
    return html.unescape(re.sub(r"\s+", " ", response.get_data(as_text=True)))


def words(response) -> str:
    """What the page says, without its markup."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))).split())


def fresh(model, row_id):
    db.session.rollback()
    return db.session.get(model, row_id)


def actions() -> list[str]:
    db.session.rollback()
    return [row.action for row in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))]


# --- who may open them ----------------------------------------------------------------------


@pytest.mark.parametrize("role", ["desk", "practitioner"])
def test_only_admins_open_the_pages(signed_in, clinic, role):
    client = signed_in(role)
    first = clinic.practitioners[0].id
    for path in (
        f"{BASE}/practitioners",
        f"{BASE}/practitioners/{first}/hours",
        f"{BASE}/practitioners/{first}/time-off",
        f"{BASE}/closures",
    ):
        assert client.get(path).status_code == 403, path


def test_the_pages_open_for_an_admin_and_the_settings_index_links_them(admin, clinic):
    first = clinic.practitioners[0].id
    index = admin.get(BASE).get_data(as_text=True)
    assert f"{BASE}/practitioners" in index and f"{BASE}/closures" in index
    listing = text(admin.get(f"{BASE}/practitioners"))
    assert "Practitioner 1" in listing and "Monday 09:00-17:00" in listing
    for path in (
        f"{BASE}/practitioners/new",
        f"{BASE}/practitioners/{first}",
        f"{BASE}/practitioners/{first}/hours",
        f"{BASE}/practitioners/{first}/time-off",
        f"{BASE}/closures",
    ):
        assert admin.get(path).status_code == 200, path
    assert admin.get(f"{BASE}/practitioners/999999/hours").status_code == 404


# --- practitioners --------------------------------------------------------------------------


def test_adding_a_practitioner_leads_to_their_hours(admin, clinic):
    form = form_of(admin, f"{BASE}/practitioners/new")
    form |= {"name": "  Dr   Nia Obi ", "service_ids": str(clinic.services["consultation"].id)}
    response = admin.post(f"{BASE}/practitioners/new", data=form)
    assert response.status_code == 303
    member = db.session.scalar(select(Practitioner).where(Practitioner.name == "Dr Nia Obi"))
    assert response.headers["Location"].endswith(f"/practitioners/{member.id}/hours")
    assert "settings.practitioner_added" in actions()


@pytest.mark.parametrize(
    ("change", "field_message"),
    [
        ({"name": ""}, "Enter the practitioner's name."),
        ({"name": "x" * 121}, "Shorten the name to 120 characters."),
        ({"name": "Dr\x00Rao"}, "Use letters, spaces and punctuation only."),
        ({"location_id": "999"}, "Choose one of the clinic's locations."),
        ({"location_id": "not-a-number"}, "Choose one of the clinic's locations."),
        ({"service_ids": "424242"}, "Choose from the services listed."),
    ],
    ids=[
        "no-name",
        "long-name",
        "control-character",
        "unknown-location",
        "junk-location",
        "unknown-service",
    ],
)
def test_a_malformed_practitioner_form_is_a_field_error(admin, clinic, change, field_message):
    first = clinic.practitioners[0]
    path = f"{BASE}/practitioners/{first.id}"
    response = admin.post(path, data=form_of(admin, path) | change)
    assert response.status_code == 422
    assert field_message in text(response)
    assert fresh(Practitioner, first.id).name == "Practitioner 1"
    assert "settings.practitioner_changed" not in actions()


def test_deactivating_a_practitioner_with_visits_to_come_lists_them_to_move(admin, clinic):
    first = clinic.practitioners[0]
    visit = make_booking("consultation", TUESDAY_10, practitioner_id=first.id)
    path = f"{BASE}/practitioners/{first.id}"
    form = form_of(admin, path)
    del form["active"]  # the box unticked
    response = admin.post(path, data=form)
    assert response.status_code == 409
    page = text(response)
    assert "Visits to move first" in page and "Alex Morgan" in page
    assert f"/desk/visits/{visit.id}" in page
    assert fresh(Practitioner, first.id).active


def test_unticking_a_service_keeps_its_booked_visits_and_lists_them(admin, clinic):
    first = clinic.practitioners[0]
    visit = make_booking("microneedling", TUESDAY_10, practitioner_id=first.id)
    path = f"{BASE}/practitioners/{first.id}"
    form = form_of(admin, path)
    form["service_ids"] = str(clinic.services["consultation"].id)
    assert admin.post(path, data=form).status_code == 303
    page = text(admin.get(path))
    assert "Booked visits for services no longer offered" in page
    assert f"/desk/visits/{visit.id}" in page
    assert [s.slug for s in fresh(Practitioner, first.id).services] == ["consultation"]


def test_a_stale_practitioner_form_gets_409_and_a_fresh_form(admin, clinic):
    first = clinic.practitioners[0]
    path = f"{BASE}/practitioners/{first.id}"
    stale = form_of(admin, path)
    assert admin.post(path, data=stale | {"name": "Dr Rao"}).status_code == 303
    response = admin.post(path, data=stale | {"name": "Dr Lee"})
    assert response.status_code == 409
    assert "Someone changed this practitioner" in text(response)
    assert 'value="Dr Rao"' in response.get_data(as_text=True)
    assert fresh(Practitioner, first.id).name == "Dr Rao"
    # A form without its version is as stale as an old one.
    form = form_of(admin, path)
    del form["version"]
    assert admin.post(path, data=form | {"name": "Dr Lee"}).status_code == 409


def test_a_name_another_practitioner_has_is_a_409_on_the_name(admin, clinic):
    path = f"{BASE}/practitioners/{clinic.practitioners[0].id}"
    response = admin.post(path, data=form_of(admin, path) | {"name": "PRACTITIONER 2"})
    assert response.status_code == 409
    assert "already works at this location" in text(response)


# --- hours ----------------------------------------------------------------------------------


def hours_path(clinic) -> str:
    return f"{BASE}/practitioners/{clinic.practitioners[0].id}/hours"


def test_saving_hours_shows_the_visits_left_outside_them(admin, clinic):
    visit = make_booking("consultation", TUESDAY_10, practitioner_id=clinic.practitioners[0].id)
    form = form_of(admin, hours_path(clinic))
    assert form["tuesday"] == "09:00-17:00"
    response = admin.post(
        hours_path(clinic), data=form | {"tuesday": "13:00-17:00", "sunday": "10:00-14:00"}
    )
    assert response.status_code == 303
    page = text(admin.get(hours_path(clinic)))
    assert "1 booked visit is now outside them" in page
    assert f"/desk/visits/{visit.id}" in page
    db.session.rollback()
    sundays = db.session.scalars(select(WorkingHours).where(WorkingHours.weekday == 6)).all()
    assert [(row.start_time.hour, row.end_time.hour) for row in sundays] == [(10, 14)]
    assert "settings.hours_changed" in actions()


@pytest.mark.parametrize(
    ("day", "typed", "message"),
    [
        ("monday", "9am to 5pm", 'cannot read "9am to 5pm"'),
        ("monday", "17:00-09:00", "ends before it starts"),
        ("tuesday", "09:00-13:00, 12:00-17:00", "overlaps the block before it"),
        ("wednesday", "09:07-17:00", "5-minute mark"),
        ("thursday", "09:00-24:00", 'cannot read "09:00-24:00"'),
        ("friday", "09:00-10:00," * 60, "Shorten Friday to 100 characters."),
        ("saturday", "<script>alert(1)</script>", "cannot read"),
    ],
    ids=["words", "backwards", "overlap", "off-grid", "midnight", "huge", "hostile"],
)
def test_a_week_that_cannot_be_saved_is_a_422_on_its_day(admin, clinic, day, typed, message):
    form = form_of(admin, hours_path(clinic))
    response = admin.post(hours_path(clinic), data=form | {day: typed})
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert message in text(response)
    assert "<script>alert(1)</script>" not in body
    assert f'id="{day}-error"' in body
    assert "settings.hours_changed" not in actions()


def test_hours_saved_over_a_week_someone_changed_get_409(admin, clinic):
    stale = form_of(admin, hours_path(clinic))
    assert admin.post(hours_path(clinic), data=stale | {"monday": ""}).status_code == 303
    response = admin.post(hours_path(clinic), data=stale | {"friday": ""})
    assert response.status_code == 409
    assert "Someone changed these hours" in text(response)
    assert actions().count("settings.hours_changed") == 1


# --- time off and closures ------------------------------------------------------------------


def test_time_off_is_added_listed_with_the_visits_inside_it_and_removed(admin, clinic):
    first = clinic.practitioners[0]
    visit = make_booking("consultation", TUESDAY_10, practitioner_id=first.id)
    path = f"{BASE}/practitioners/{first.id}/time-off"
    response = admin.post(
        path,
        data=form_of(admin, path)
        | {
            "start_day": "2026-03-03",
            "start_time": "09:00",
            "end_day": "2026-03-03",
            "end_time": "12:30",
            "reason": "Dentist",
        },
    )
    assert response.status_code == 303
    page = text(admin.get(path))
    assert "1 booked visit is inside it" in page and "Dentist" in page
    assert f"/desk/visits/{visit.id}" in page
    off_id = db.session.scalar(select(TimeOff.id))
    remove = f"{path}/{off_id}/remove"
    assert admin.post(remove, data=form_of(admin, path, remove)).status_code == 303
    assert fresh(TimeOff, off_id) is None
    again = admin.post(remove, data=form_of(admin, path))
    assert again.status_code == 409 and "already removed" in text(again)
    assert actions()[-2:] == ["settings.time_off_added", "settings.time_off_removed"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"start_time": "", "end_time": ""}, "Enter a start time, or tick whole days."),
        ({"start_day": "03/03/2026"}, "Not a valid date value."),
        ({"end_time": "25:99"}, "Not a valid time value."),
        ({"end_time": "08:00"}, "The end must be after the start."),
        ({"start_day": "2026-02-02", "end_day": "2026-02-02"}, "ends in the past"),
        ({"reason": "r" * 201}, "Shorten the reason to 200 characters."),
        ({"end_day": "9999-12-31"}, "Enter a date from now to 3 years ahead."),
        ({"start_day": "0001-01-01"}, "Enter a date from now to 3 years ahead."),
    ],
    ids=[
        "no-times",
        "bad-date",
        "bad-time",
        "backwards",
        "past",
        "long-reason",
        "year-9999",
        "year-1",
    ],
)
def test_time_off_that_cannot_be_is_a_422(admin, clinic, change, message):
    path = f"{BASE}/practitioners/{clinic.practitioners[0].id}/time-off"
    form = form_of(admin, path) | {
        "start_day": "2026-03-03",
        "start_time": "09:00",
        "end_day": "2026-03-03",
        "end_time": "12:30",
    }
    response = admin.post(path, data=form | change)
    assert response.status_code == 422
    assert message in text(response)
    db.session.rollback()
    assert db.session.scalars(select(TimeOff)).all() == []


def test_time_off_sent_twice_is_recorded_once(admin, clinic):
    path = f"{BASE}/practitioners/{clinic.practitioners[0].id}/time-off"
    form = form_of(admin, path) | {
        "start_day": "2026-03-04",
        "end_day": "2026-03-05",
        "whole_days": "y",
    }
    assert admin.post(path, data=form).status_code == 303
    shown = words(admin.get(path))
    assert "Wednesday 4 March 2026 to Thursday 5 March 2026 , whole days" in shown
    response = admin.post(path, data=form)
    assert response.status_code == 409
    assert "overlaps time off already recorded" in text(response)


def test_another_practitioners_time_off_cannot_be_removed_through_this_one(admin, clinic):
    first, second = clinic.practitioners
    path = f"{BASE}/practitioners/{first.id}/time-off"
    admin.post(
        path,
        data=form_of(admin, path)
        | {"start_day": "2026-03-04", "end_day": "2026-03-04", "whole_days": "y"},
    )
    off = db.session.scalar(select(TimeOff))
    other = f"{BASE}/practitioners/{second.id}/time-off/{off.id}/remove"
    assert admin.post(other, data=form_of(admin, path)).status_code == 404
    assert fresh(TimeOff, off.id) is not None


def test_a_closure_is_added_for_whole_days_and_removed(admin, clinic, clock):
    path = f"{BASE}/closures"
    clock.set(datetime(2026, 3, 20, 8, 0, tzinfo=UTC))
    response = admin.post(
        path,
        data=form_of(admin, path)
        | {
            "location_id": str(clinic.location.id),
            "start_day": "2026-03-29",
            "end_day": "2026-03-29",
            "whole_days": "y",
            "reason": "Staff training",
        },
    )
    assert response.status_code == 303
    closure = db.session.scalar(select(TimeOff))
    assert closure.practitioner_id is None
    assert closure.end_at - closure.start_at == timedelta(hours=23)
    page = words(admin.get(path))
    assert "Staff training" in page and "Sunday 29 March 2026 , whole day " in page
    remove = f"{path}/{closure.id}/remove"
    assert admin.post(remove, data=form_of(admin, path, remove)).status_code == 303
    assert actions()[-2:] == ["settings.closure_added", "settings.closure_removed"]


def test_a_whole_day_closure_at_the_end_of_time_is_a_422_not_a_crash(admin, clinic):
    path = f"{BASE}/closures"
    form = form_of(admin, path) | {
        "start_day": "9999-12-31",
        "end_day": "9999-12-31",
        "whole_days": "y",
    }
    response = admin.post(path, data=form)
    assert response.status_code == 422
    assert "Enter a date from now to 3 years ahead." in text(response)


def test_a_closure_form_with_an_unknown_location_is_a_422(admin, clinic):
    path = f"{BASE}/closures"
    form = form_of(admin, path) | {
        "location_id": "31337",
        "start_day": "2026-03-04",
        "end_day": "2026-03-04",
        "whole_days": "y",
    }
    response = admin.post(path, data=form)
    assert response.status_code == 422
    assert "Choose one of the clinic's locations." in text(response)


def test_a_practitioners_time_off_cannot_be_removed_as_a_closure(admin, clinic):
    path = f"{BASE}/practitioners/{clinic.practitioners[0].id}/time-off"
    admin.post(
        path,
        data=form_of(admin, path)
        | {"start_day": "2026-03-04", "end_day": "2026-03-04", "whole_days": "y"},
    )
    off = db.session.scalar(select(TimeOff))
    remove = f"{BASE}/closures/{off.id}/remove"
    assert admin.post(remove, data=form_of(admin, f"{BASE}/closures")).status_code == 404
