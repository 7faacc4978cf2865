"""Settings for services, locations and rooms: what an admin may save, what is refused and how,
the audit rows, and online availability following each change at once (cache on)."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import select

from clinic.audit.models import AuditEvent
from clinic.catalog.models import Location, Room, Service
from clinic.extensions import db
from tests.factories import make_booking, make_clinic
from tests.helpers import csrf_token, make_staff, sign_in

SETTINGS = "/admin/settings"
TUESDAY_10 = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)  # London is on GMT: UTC = local
AVAILABILITY = "/api/v1/availability?service={slug}&from=2026-03-03&to=2026-03-03"
TEN = "2026-03-03T10:00:00+00:00"


@pytest.fixture
def app_config():
    # A cached answer must not survive a settings change: the cache is on, as in production.
    return {"AVAILABILITY_CACHE_SECONDS": 30}


@pytest.fixture
def admin(any_app):
    """An admin signed in through /login, on the app under test (SQLite or PostgreSQL)."""
    client = any_app.test_client()
    make_staff(role="admin", email="admin@example.com", name="Kim Admin")
    assert sign_in(client, email="admin@example.com").status_code == 302
    return client


def send(client, path: str, data: dict, *, form_page: str | None = None):
    """Submit a form as a browser would: the token (and hidden version) from the page shown."""
    page = client.get(form_page or path).get_data(as_text=True)
    body = {"csrf_token": csrf_token(client, form_page or path)}
    version = re.search(r'name="version" value="([^"]*)"', page)
    if version:
        body["version"] = version.group(1)
    body.update(data)
    return client.post(path, data=body)


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def audit_rows(action: str) -> list[AuditEvent]:
    db.session.expire_all()
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def fresh(model, record_id):
    db.session.expire_all()
    return db.session.get(model, record_id)


def starts(client, slug: str = "consultation") -> list[str]:
    response = client.get(AVAILABILITY.format(slug=slug))
    assert response.status_code == 200, response.get_data(as_text=True)
    return [slot["start"] for slot in response.get_json()["slots"]]


SERVICE = {
    "name": "Beard microneedling",
    "slug": "",
    "description": "Microneedling for a patchy beard.",
    "duration_minutes": "30",
    "buffer_after_minutes": "10",
    "price": "£1,120.50",
    "needles": "y",
    "ingredients": ["numbing"],
    "bookable_online": "y",
    "active": "y",
}


def service_form(service: Service, **changes) -> dict:
    data = {
        "name": service.name,
        "description": service.description,
        "duration_minutes": str(service.duration_minutes),
        "buffer_after_minutes": str(service.buffer_after_minutes),
        "price": f"{service.price_pence / 100:.2f}",
        "ingredients": list(service.ingredients),
    }
    for flag in ("needles", "bookable_online", "active"):
        if getattr(service, flag):
            data[flag] = "y"
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


# --- services -------------------------------------------------------------------------------


def test_an_added_service_is_stored_in_pence_with_a_slug_from_its_name_and_audited(admin):
    make_clinic()
    response = send(admin, f"{SETTINGS}/services/new", SERVICE)
    assert response.status_code == 303, text(response)

    added = db.session.scalar(select(Service).where(Service.name == "Beard microneedling"))
    assert (added.slug, added.price_pence, added.duration_minutes) == (
        "beard-microneedling",
        112050,
        30,
    )
    assert added.buffer_after_minutes == 10 and added.needles and added.uses_numbing
    assert not added.uses_prp and added.bookable_online and added.active
    (row,) = audit_rows("settings.service_added")
    assert row.actor_label.startswith("Kim Admin")
    assert row.changes["price_pence"] == [None, 112050]
    assert row.changes["slug"] == [None, "beard-microneedling"]
    listing = text(admin.get(f"{SETTINGS}/services"))
    assert "Beard microneedling" in listing and "£1,120.50" in listing


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"duration_minutes": "0"}, "duration_minutes", "between 5 and 480 minutes"),
        ({"duration_minutes": "481"}, "duration_minutes", "between 5 and 480 minutes"),
        ({"duration_minutes": "47"}, "duration_minutes", "whole 5-minute steps"),
        ({"duration_minutes": "half an hour"}, "duration_minutes", "integer"),
        ({"duration_minutes": "9" * 5000}, "duration_minutes", "integer"),
        ({"buffer_after_minutes": "-5"}, "buffer_after_minutes", "between 0 and 120"),
        ({"buffer_after_minutes": "7"}, "buffer_after_minutes", "whole 5-minute steps"),
        ({"price": "-10"}, "price", "in pounds"),
        ({"price": "12.345"}, "price", "in pounds"),
        ({"price": "ten pounds"}, "price", "in pounds"),
        ({"price": "10000.01"}, "price", "between £0 and £10,000"),
        ({"ingredients": ["numbing", "bleach"]}, "ingredients", "Choose among"),
        ({"needles": None, "ingredients": ["prp"]}, "ingredients", "Only a service that needles"),
        ({"name": "x" * 121}, "name", "Shorten the name"),
        ({"name": "   "}, "name", "Enter the service's name"),
        ({"slug": "Beard Needling!"}, "slug", "lower-case letters"),
        ({"description": "y" * 501}, "description", "Shorten the description"),
        ({"name": "Beard\x00needling"}, "name", "letters, digits, spaces and punctuation"),
        ({"description": "Line one\nline\x1b two"}, "description", "letters, digits, spaces"),
    ],
)
def test_a_service_the_rules_refuse_gets_a_field_message_and_nothing_is_saved(
    admin, changes, field, message
):
    make_clinic()
    data = {key: value for key, value in (SERVICE | changes).items() if value is not None}
    response = send(admin, f"{SETTINGS}/services/new", data)
    assert response.status_code == 422
    page = text(response)
    assert f'id="{field}-error"' in page or f'href="#{field}' in page
    assert message in page
    assert db.session.scalar(select(Service).where(Service.name == SERVICE["name"])) is None
    assert audit_rows("settings.service_added") == []


def test_a_taken_name_or_slug_is_a_conflict_on_its_field(admin):
    make_clinic()
    taken_name = send(admin, f"{SETTINGS}/services/new", SERVICE | {"name": "scalp MICRONEEDLING"})
    assert taken_name.status_code == 409
    assert "Another service already has this name." in text(taken_name)
    taken_slug = send(admin, f"{SETTINGS}/services/new", SERVICE | {"slug": "microneedling"})
    assert taken_slug.status_code == 409
    assert 'id="slug-error"' in text(taken_slug)
    assert db.session.scalar(select(Service).where(Service.name == SERVICE["name"])) is None


def test_an_edit_is_saved_with_each_changed_field_before_and_after_and_the_slug_stays(admin):
    clinic = make_clinic()
    service = clinic.services["microneedling"]
    path = f"{SETTINGS}/services/{service.id}"
    response = send(
        admin,
        path,
        service_form(service, price="260", duration_minutes="50", slug="renamed", ingredients=[]),
    )
    assert response.status_code == 303, text(response)

    saved = fresh(Service, service.id)
    assert (saved.price_pence, saved.duration_minutes, saved.slug) == (26000, 50, "microneedling")
    assert saved.ingredients == ()
    (row,) = audit_rows("settings.service_changed")
    assert row.changes == {
        "price_pence": [25000, 26000],
        "duration_minutes": [45, 50],
        "uses_numbing": [True, False],
        "uses_minoxidil": [True, False],
    }
    log = text(admin.get("/admin/audit"))
    assert "settings.service_changed" in log and "Kim Admin" in log
    # The same form again changes nothing and records nothing more.
    assert send(admin, path, service_form(saved)).status_code == 303
    assert len(audit_rows("settings.service_changed")) == 1


def test_an_edit_over_a_service_changed_since_the_form_opened_is_refused(admin):
    clinic = make_clinic()
    service = clinic.services["consultation"]
    path = f"{SETTINGS}/services/{service.id}"
    stale_page = admin.get(path).get_data(as_text=True)
    stale_version = re.search(r'name="version" value="([^"]*)"', stale_page).group(1)
    assert send(admin, path, service_form(service, price="60")).status_code == 303

    response = admin.post(
        path,
        data=service_form(service, name="Free consultation", price="0")
        | {"version": stale_version, "csrf_token": csrf_token(admin, path)},
    )

    assert response.status_code == 409
    assert "Someone changed this service after this form was opened" in text(response)
    saved = fresh(Service, service.id)
    assert (saved.name, saved.price_pence) == ("Hair-loss consultation", 6000)
    # A form without any version is as stale as an old one.
    bare = admin.post(
        path, data=service_form(saved, price="1") | {"csrf_token": csrf_token(admin, path)}
    )
    assert bare.status_code == 409
    assert fresh(Service, service.id).price_pence == 6000


def test_an_unknown_service_is_not_found(admin):
    make_clinic()
    assert admin.get(f"{SETTINGS}/services/999999").status_code == 404
    token = csrf_token(admin, f"{SETTINGS}/services")
    assert admin.post(f"{SETTINGS}/services/999999", data={"csrf_token": token}).status_code == 404


def test_a_service_made_inactive_or_not_online_stops_being_offered_at_once(admin):
    clinic = make_clinic()
    consultation = clinic.services["consultation"]
    microneedling = clinic.services["microneedling"]
    assert TEN in starts(admin, "consultation")  # now in the cache
    assert admin.get("/book/consultation").status_code == 200

    offline = send(
        admin,
        f"{SETTINGS}/services/{consultation.id}",
        service_form(consultation, bookable_online=None),
    )
    assert offline.status_code == 303
    assert admin.get(AVAILABILITY.format(slug="consultation")).status_code == 404
    assert admin.get("/book/consultation").status_code == 404
    assert "consultation" not in [
        s["slug"] for s in admin.get("/api/v1/services").get_json()["services"]
    ]

    assert TEN in starts(admin, "microneedling")
    inactive = send(
        admin,
        f"{SETTINGS}/services/{microneedling.id}",
        service_form(microneedling, active=None),
    )
    assert inactive.status_code == 303
    assert admin.get(AVAILABILITY.format(slug="microneedling")).status_code == 404
    (row,) = [r for r in audit_rows("settings.service_changed") if r.detail == "microneedling"]
    assert row.changes == {"active": [True, False]}


def test_a_longer_service_is_offered_with_its_new_length_at_once(admin):
    clinic = make_clinic(practitioners=1, rooms=1, hours=(time(9), time(10)))
    consultation = clinic.services["consultation"]
    assert "2026-03-03T09:30:00+00:00" in starts(admin)
    send(
        admin,
        f"{SETTINGS}/services/{consultation.id}",
        service_form(consultation, duration_minutes="45"),
    )
    assert starts(admin) == ["2026-03-03T09:00:00+00:00", "2026-03-03T09:15:00+00:00"]


# --- rooms ----------------------------------------------------------------------------------


def test_a_new_room_makes_a_parallel_time_free_at_once(admin):
    clinic = make_clinic(practitioners=2, rooms=1)
    make_booking("consultation", TUESDAY_10)
    assert TEN not in starts(admin)  # the only room is taken; now in the cache

    response = send(
        admin,
        f"{SETTINGS}/rooms",
        {"location": str(clinic.location.id), "name": "  Room   B "},
        form_page=f"{SETTINGS}/rooms",
    )

    assert response.status_code == 303, text(response)
    assert TEN in starts(admin)
    room = db.session.scalar(select(Room).where(Room.name == "Room B"))
    assert room.location_id == clinic.location.id and room.active
    (row,) = audit_rows("settings.room_added")
    assert row.changes == {"name": [None, "Room B"], "location": [None, "Test Clinic"]}


@pytest.mark.parametrize(
    ("data", "status", "message"),
    [
        ({"name": ""}, 422, "Enter the room's name."),
        ({"name": "r" * 81}, 422, "Shorten the name."),
        ({"name": "Room\x00 9"}, 422, "letters, digits, spaces"),
        ({"name": "room 1"}, 409, "already has a room with this name"),
        ({"name": "Room 9", "location": "999999"}, 404, None),
        ({"name": "Room 9", "location": "upstairs"}, 422, None),
        ({"name": "Room 9", "location": "99999999999999999999"}, 422, "Choose a location."),
        ({"name": "Room 9", "location": "-3"}, 422, "Choose a location."),
    ],
)
def test_a_room_the_rules_refuse_is_not_added(admin, data, status, message):
    clinic = make_clinic(rooms=1)
    body = {"location": str(clinic.location.id)} | data
    response = send(admin, f"{SETTINGS}/rooms", body)
    assert response.status_code == status
    if message:
        assert message in text(response)
    assert db.session.scalar(select(Room).where(Room.name != "Room 1")) is None
    assert audit_rows("settings.room_added") == []


def test_a_room_is_renamed_and_a_stale_rename_is_refused(admin):
    clinic = make_clinic(rooms=2)
    room = clinic.rooms[0]
    path = f"{SETTINGS}/rooms/{room.id}"
    stale_version = re.search(
        r'name="version" value="([^"]*)"', admin.get(path).get_data(as_text=True)
    ).group(1)
    assert send(admin, path, {"name": "Treatment room"}).status_code == 303
    assert fresh(Room, room.id).name == "Treatment room"
    (row,) = audit_rows("settings.room_renamed")
    assert row.changes == {"name": ["Room 1", "Treatment room"]}

    stale = admin.post(
        path,
        data={"name": "Back room", "version": stale_version, "csrf_token": csrf_token(admin, path)},
    )
    assert stale.status_code == 409
    assert fresh(Room, room.id).name == "Treatment room"
    clash = send(admin, path, {"name": "ROOM 2"})
    assert clash.status_code == 409
    assert fresh(Room, room.id).name == "Treatment room"


def test_a_room_with_a_visit_to_come_cannot_be_made_inactive_and_the_visit_is_named(admin, clock):
    clinic = make_clinic(practitioners=1, rooms=2)
    visit = make_booking("consultation", TUESDAY_10)
    room = fresh(Room, visit.room_id)
    path = f"{SETTINGS}/rooms/{room.id}/deactivate"

    refused = send(admin, path, {}, form_page=f"{SETTINGS}/rooms/{room.id}")

    assert refused.status_code == 409
    page = text(refused)
    assert "visits that have not ended yet" in page
    assert f"/desk/visits/{visit.id}" in page
    assert fresh(Room, room.id).active
    assert audit_rows("settings.room_deactivated") == []

    # Once the visit and its cleanup are over, the room may go.
    clock.set(TUESDAY_10 + timedelta(minutes=20))
    assert send(admin, path, {}, form_page=f"{SETTINGS}/rooms/{room.id}").status_code == 303
    assert not fresh(Room, room.id).active
    assert audit_rows("settings.room_deactivated")[0].changes == {"active": [True, False]}
    assert clinic.location.id == room.location_id


def test_an_inactive_room_takes_no_bookings_and_a_reactivated_one_does_at_once(admin):
    clinic = make_clinic(practitioners=1, rooms=1)
    room = clinic.rooms[0]
    assert TEN in starts(admin)
    off = send(
        admin, f"{SETTINGS}/rooms/{room.id}/deactivate", {}, form_page=f"{SETTINGS}/rooms/{room.id}"
    )
    assert off.status_code == 303
    assert starts(admin) == []
    # The rooms page's button from before the change is stale: nothing happens twice.
    on = send(
        admin, f"{SETTINGS}/rooms/{room.id}/reactivate", {}, form_page=f"{SETTINGS}/rooms/{room.id}"
    )
    assert on.status_code == 303
    assert TEN in starts(admin)
    assert [row.action for row in audit_rows("settings.room_reactivated")] == [
        "settings.room_reactivated"
    ]
    stale = admin.post(
        f"{SETTINGS}/rooms/{room.id}/deactivate",
        data={"version": "old", "csrf_token": csrf_token(admin, f"{SETTINGS}/rooms")},
    )
    assert stale.status_code == 409
    assert fresh(Room, room.id).active


# --- locations ------------------------------------------------------------------------------

LOCATION = {
    "name": "Riverside",
    "address": "2 Quay Street\nManchester",
    "phone": "0161 496 0000",
    "timezone": "Europe/London",
}


def test_an_added_location_keeps_its_phone_in_international_form_and_is_audited(admin):
    response = send(admin, f"{SETTINGS}/locations/new", LOCATION)
    assert response.status_code == 303, text(response)
    added = db.session.scalar(select(Location).where(Location.name == "Riverside"))
    assert (added.phone, added.timezone) == ("+44 161 496 0000", "Europe/London")
    assert response.headers["Location"].endswith(f"/rooms?location={added.id}")
    (row,) = audit_rows("settings.location_added")
    assert row.changes["phone"] == [None, "+44 161 496 0000"]


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"phone": "12345"}, "phone", "not a valid phone number"),
        ({"phone": "call us"}, "phone", "does not look like a phone number"),
        ({"phone": "0" * 40}, "phone", "too long"),
        ({"timezone": "Mars/Olympus"}, "timezone", "IANA name"),
        ({"timezone": "../../etc/passwd"}, "timezone", "IANA name"),
        ({"timezone": "europe/london"}, "timezone", "IANA name"),
        ({"name": ""}, "name", "Enter the location's name."),
        ({"address": "a" * 301}, "address", "Shorten the address"),
        ({"address": "2 Quay Street\x00"}, "address", "letters, digits, spaces"),
        ({"name": "River\x00side"}, "name", "letters, digits, spaces"),
        ({"timezone": "Europe/London\x00"}, "timezone", "IANA name"),
        ({"phone": "0161 496\x00 0000"}, "phone", "phone number"),
    ],
)
def test_a_location_the_rules_refuse_gets_a_field_message(admin, changes, field, message):
    response = send(admin, f"{SETTINGS}/locations/new", LOCATION | changes)
    assert response.status_code == 422
    page = text(response)
    assert f'id="{field}-error"' in page and message in page
    assert db.session.scalar(select(Location)) is None


def test_a_location_with_visits_to_come_keeps_its_time_zone_but_other_details_change(admin):
    clinic = make_clinic()
    visit = make_booking("consultation", TUESDAY_10)
    path = f"{SETTINGS}/locations/{clinic.location.id}"
    details = {
        "name": "Test Clinic",
        "address": "1 High Street",
        "phone": "+44 20 7946 0000",
        "timezone": "Europe/London",
    }

    moved = send(admin, path, details | {"timezone": "Europe/Dublin"})
    assert moved.status_code == 409
    assert f"/desk/visits/{visit.id}" in text(moved)
    assert fresh(Location, clinic.location.id).timezone == "Europe/London"

    renamed = send(admin, path, details | {"name": "High Street Clinic"})
    assert renamed.status_code == 303
    place = fresh(Location, clinic.location.id)
    assert (place.name, place.phone) == ("High Street Clinic", "+44 20 7946 0000")
    (row,) = audit_rows("settings.location_changed")
    assert row.changes == {"name": ["Test Clinic", "High Street Clinic"]}


def test_an_empty_location_may_change_its_time_zone_and_a_stale_edit_is_refused(admin):
    send(admin, f"{SETTINGS}/locations/new", LOCATION)
    place = db.session.scalar(select(Location))
    path = f"{SETTINGS}/locations/{place.id}"
    stale_version = re.search(
        r'name="version" value="([^"]*)"', admin.get(path).get_data(as_text=True)
    ).group(1)
    assert send(admin, path, LOCATION | {"timezone": "America/New_York"}).status_code == 303
    assert fresh(Location, place.id).timezone == "America/New_York"

    stale = admin.post(
        path,
        data=LOCATION | {"version": stale_version, "csrf_token": csrf_token(admin, path)},
    )
    assert stale.status_code == 409
    assert fresh(Location, place.id).timezone == "America/New_York"
    assert send(admin, path, LOCATION | {"name": "Test Clinic"}).status_code == 303
    clash = send(admin, f"{SETTINGS}/locations/new", LOCATION | {"name": "test clinic"})
    assert clash.status_code == 409


def test_an_ingredient_added_to_a_service_asks_booked_visits_its_questions_again(admin):
    clinic = make_clinic()
    service = clinic.services["microneedling"]
    visit = make_booking("microneedling", TUESDAY_10)
    assert "Screening is missing" not in text(admin.get(f"/desk/visits/{visit.id}"))

    response = send(
        admin,
        f"{SETTINGS}/services/{service.id}",
        service_form(service, ingredients=["numbing", "minoxidil", "prp"]),
    )

    assert response.status_code == 303
    assert "Screening is missing or out of date" in text(admin.get(f"/desk/visits/{visit.id}"))
