"""Consent form versions published from the settings: numbering, taking effect, immutability,
and every place that asks for "the current consent" following the database's version."""

from __future__ import annotations

import hashlib
import re
import threading
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select

from clinic.actors import Actor
from clinic.audit.models import AuditEvent
from clinic.booking.models import Appointment
from clinic.consent import services as consent_services
from clinic.consent import texts
from clinic.consent.models import ConsentForm, SignedConsent
from clinic.errors import ChangeNotAllowed, ImmutableRecord, ValidationFailed
from clinic.extensions import db
from clinic.patients.models import Patient
from clinic.settings import consent_services as consent_settings
from clinic.staff.models import StaffUser
from clinic.visits import desk as visit_desk
from clinic.visits import services as visit_services
from tests.factories import make_booking, make_clinic, patient_details, publish_consent, signed
from tests.helpers import BOOKINGS, answered, booking_body, intake, make_staff

# The clock starts on Monday 2 March 2026, 08:00 UTC (GMT in London, the clinic's zone).
TUESDAY_10 = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)
NEXT_TUESDAY_10 = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)


def admin_actor(email: str = "admin@example.com", name: str = "Sam Admin") -> Actor:
    return Actor.staff(make_staff(role="admin", email=email, name=name))


def publishing(extra: str, effective_on: date, after_version: int) -> consent_settings.PublishInput:
    return consent_settings.PublishInput(
        title="Consent to scalp microneedling",
        text=texts.BUILT_IN.text + extra,
        effective_on=effective_on,
        after_version=after_version,
    )


def counts() -> tuple[int, int, int]:
    db.session.rollback()  # a fresh read: on SQLite an open one keeps its old snapshot
    return tuple(
        db.session.scalar(select(func.count()).select_from(model))
        for model in (Appointment, Patient, SignedConsent)
    )


# --- publishing -----------------------------------------------------------------------------


def test_publishing_takes_the_next_number_its_hash_and_records_who_without_the_text(any_app, clock):
    admin = admin_actor()
    published = consent_settings.publish(
        publishing("\nA paragraph about aftercare.\n", date(2026, 3, 9), 1), by=admin
    )

    assert published.version == 2
    assert published.sha256 == hashlib.sha256(published.text.encode("utf-8")).hexdigest()
    assert published.text == texts.BUILT_IN.text + "\nA paragraph about aftercare.\n"
    assert (published.published_at, published.published_by_id) == (clock.now(), admin.staff_id)
    # Version 1 is the built-in text, seeded when the table was empty.
    first = db.session.scalar(select(ConsentForm).where(ConsentForm.version == 1))
    assert (first.sha256, first.published_by_id) == (texts.BUILT_IN.sha256, None)

    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action.like("settings.%")))
    assert event.action == "settings.consent_published"
    assert event.staff_id == admin.staff_id
    assert event.changes == {
        "version": [None, 2],
        "title": [None, "Consent to scalp microneedling"],
        "effective_on": [None, "2026-03-09"],
    }
    assert "aftercare" not in event.detail


def test_the_text_is_stored_in_one_form_so_its_hash_is_of_what_patients_see(any_app):
    published = consent_settings.publish(
        consent_settings.PublishInput(
            title="  Consent   to treatment ",
            text="\r\n\r\n" + "First line   \r\nSecond line\t\r\n" * 20 + "\r\n\r\n",
            effective_on=date(2026, 3, 2),
            after_version=1,
        ),
        by=admin_actor(),
    )
    assert published.title == "Consent to treatment"
    assert published.text == "First line\nSecond line\n" * 20
    assert published.sha256 == hashlib.sha256(published.text.encode("utf-8")).hexdigest()


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"title": "  "}, "title", "Give the form a title"),
        ({"title": "T" * 201}, "title", "under 200"),
        ({"title": "Consent\x1b[31m"}, "title", "cannot be shown"),
        ({"text": "Too short to be a consent form."}, "text", "too short"),
        ({"text": "x" * 20_001}, "text", "under 20,000"),
        ({"text": texts.BUILT_IN.text + "\x00"}, "text", "control character"),
        ({"text": texts.BUILT_IN.text}, "text", "same text as version 1"),
        ({"effective_on": date(2026, 3, 1)}, "effective_on", "today or later"),
        ({"effective_on": date(2027, 3, 10)}, "effective_on", "within a year"),
    ],
)
def test_a_version_the_clinic_cannot_use_is_refused_field_by_field(app, change, field, message):
    values = dict(
        title="Consent to scalp microneedling",
        text=texts.BUILT_IN.text + "\nNew words.\n",
        effective_on=date(2026, 3, 2),
        after_version=1,
    )
    values.update(change)
    with pytest.raises(ValidationFailed) as caught:
        consent_settings.publish(consent_settings.PublishInput(**values), by=admin_actor())
    assert message in " ".join(caught.value.errors[field])
    assert db.session.scalar(select(func.count()).where(ConsentForm.version > 1)) == 0
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == 0


def test_versions_take_effect_in_order_of_their_numbers(app):
    admin = admin_actor()
    consent_settings.publish(publishing("\nTwo.\n", date(2026, 4, 1), 1), by=admin)
    with pytest.raises(ValidationFailed) as caught:
        consent_settings.publish(publishing("\nThree.\n", date(2026, 3, 20), 2), by=admin)
    assert "on or after version 2's (1 April 2026)" in caught.value.errors["effective_on"][0]
    third = consent_settings.publish(publishing("\nThree.\n", date(2026, 4, 1), 2), by=admin)
    assert third.version == 3


def test_a_publish_based_on_an_older_newest_version_is_stale(any_app):
    admin = admin_actor()
    consent_settings.publish(publishing("\nTwo.\n", date(2026, 3, 2), 1), by=admin)
    with pytest.raises(ChangeNotAllowed, match="Version 2 was published while you were writing"):
        consent_settings.publish(publishing("\nAnother two.\n", date(2026, 3, 2), 1), by=admin)
    assert db.session.scalar(select(func.max(ConsentForm.version))) == 2


def test_concurrent_publishes_get_distinct_numbers(any_app):
    admin_id = admin_actor().staff_id
    db.session.commit()
    writers = 4
    barrier = threading.Barrier(writers)
    outcomes: list = [None] * writers

    def write(n: int) -> None:
        with any_app.app_context():
            admin = Actor.staff(db.session.get(StaffUser, admin_id))
            barrier.wait(timeout=30)
            stale = 0
            try:
                # As an admin would: read the newest version, publish on top of it, and read
                # again when told another was published meanwhile.
                while True:
                    newest = consent_settings.latest().version
                    db.session.rollback()
                    try:
                        form = consent_settings.publish(
                            publishing(f"\nWriter {n}.\n", date(2026, 3, 2), newest), by=admin
                        )
                        outcomes[n] = (form.version, stale)
                        return
                    except ChangeNotAllowed:
                        stale += 1
            except Exception as exc:  # reported, so the test fails with the cause
                outcomes[n] = repr(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=write, args=(n,), daemon=True) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert all(isinstance(outcome, tuple) for outcome in outcomes), outcomes
    assert sorted(version for version, _ in outcomes) == [2, 3, 4, 5]
    db.session.rollback()
    stored = db.session.scalars(select(ConsentForm).order_by(ConsentForm.version)).all()
    assert [form.version for form in stored] == [1, 2, 3, 4, 5]
    assert len({form.sha256 for form in stored}) == 5
    published = db.session.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.action == "settings.consent_published")
    )
    assert published == 4


# --- immutability ---------------------------------------------------------------------------


def test_a_published_version_cannot_be_changed_or_deleted(any_app):
    publish_consent()
    form = db.session.scalar(select(ConsentForm).where(ConsentForm.version == 2))
    form.text = "rewritten"
    with pytest.raises(ImmutableRecord):
        db.session.commit()
    db.session.rollback()
    db.session.delete(db.session.scalar(select(ConsentForm).where(ConsentForm.version == 2)))
    with pytest.raises(ImmutableRecord):
        db.session.commit()
    db.session.rollback()
    if db.engine.dialect.name == "postgresql":
        # The database's own trigger refuses it too, whatever the application does.
        for statement in (
            "UPDATE consent_form SET title = 'X' WHERE version = 2",
            "DELETE FROM consent_form WHERE version = 2",
        ):
            with (
                pytest.raises(sa.exc.IntegrityError, match="immutable"),
                db.engine.begin() as connection,
            ):
                connection.execute(sa.text(statement))
    stored = db.session.scalar(select(ConsentForm).where(ConsentForm.version == 2))
    assert stored.text.endswith("A new paragraph the clinic added.\n")


# --- taking effect --------------------------------------------------------------------------


def test_a_version_takes_effect_at_midnight_in_the_clinic_time_zone(any_app, clock):
    publish_consent(effective_on=date(2026, 7, 1))
    assert consent_services.current_version() == 1
    # 30 June, 23:59 in London (BST): still the day before.
    clock.set(datetime(2026, 6, 30, 22, 59, tzinfo=UTC))
    assert consent_services.current_version() == 1
    # 1 July, 00:00 in London, though still 30 June in UTC.
    clock.advance(minutes=1)
    assert consent_services.current_version() == 2
    assert consent_services.current_form().text.endswith("A new paragraph the clinic added.\n")


def test_the_intake_offers_the_version_in_force_and_books_with_it(any_app, clock):
    make_clinic()
    client = any_app.test_client()
    publish_consent(effective_on=date(2026, 3, 3))
    assert intake(client, "microneedling")["consent"]["version"] == 1
    clock.set(datetime(2026, 3, 3, 0, 0, tzinfo=UTC))
    offered = intake(client, "microneedling")["consent"]
    assert offered["version"] == 2
    assert offered["sha256"] == hashlib.sha256(offered["text"].encode("utf-8")).hexdigest()

    body = answered(client, booking_body(service="microneedling", start=TUESDAY_10.isoformat()))
    assert client.post(BOOKINGS, json=body).status_code == 201
    signature = db.session.scalar(select(SignedConsent))
    assert (signature.form_version, signature.form_sha256) == (2, offered["sha256"])


def test_a_signature_of_the_version_replaced_since_the_form_was_read_books_nothing(any_app, clock):
    make_clinic()
    client = any_app.test_client()
    publish_consent(effective_on=date(2026, 3, 3))
    # The patient reads the form on Monday evening and sends it after midnight.
    body = answered(
        client, booking_body(service="microneedling", start=NEXT_TUESDAY_10.isoformat())
    )
    assert body["consent"]["version"] == 1
    clock.set(datetime(2026, 3, 3, 0, 5, tzinfo=UTC))

    response = client.post(BOOKINGS, json=body)
    assert response.status_code == 422
    fields = response.get_json()["fields"]
    assert fields["consent.version"] == [consent_services.STALE_VERSION]
    assert counts() == (0, 0, 0)


def test_a_signature_recorded_after_the_version_changed_is_refused_in_the_transaction(any_app):
    make_clinic()
    appointment = make_booking("consultation", TUESDAY_10)
    publish_consent()
    with pytest.raises(ValidationFailed) as caught:
        consent_services.sign(appointment.patient, signed(patient_details(), version=1))
    assert "consent.version" in caught.value.errors


def test_a_patient_who_signed_an_older_version_signs_the_new_one_at_their_next_visit(
    any_app, clock
):
    make_clinic()
    first = make_booking("microneedling", TUESDAY_10)
    second = make_booking("microneedling", NEXT_TUESDAY_10)
    publish_consent(effective_on=date(2026, 3, 5))

    # Tuesday: version 1 is still in force, and covers the first visit.
    clock.set(TUESDAY_10 - timedelta(minutes=30))
    assert consent_services.current_consent_for(first).form_version == 1
    # The next Tuesday, version 2 is in force: the same signature no longer covers a visit.
    clock.set(NEXT_TUESDAY_10 - timedelta(minutes=30))
    assert consent_services.current_consent_for(second) is None
    assert any("consent" in reason for reason in visit_services.blocked_reasons(second))

    with pytest.raises(ValidationFailed):
        visit_desk.sign_consent_at_desk(second.id, signed(patient_details(), version=1))
    visit_desk.sign_consent_at_desk(second.id, signed(patient_details()))
    assert consent_services.current_consent_for(second).form_version == 2
    assert visit_services.blocked_reasons(second) == []


# --- the pages ------------------------------------------------------------------------------


def hidden_value(page: str, name: str) -> str:
    return re.search(rf'<input[^>]*name="{name}"[^>]*value="([^"]*)"', page).group(1)


def publish_page_form(admin_client) -> dict:
    page = admin_client.get("/admin/settings/consent/new").get_data(as_text=True)
    return {
        "csrf_token": hidden_value(page, "csrf_token"),
        "after_version": hidden_value(page, "after_version"),
        "title": "Consent to scalp microneedling",
        "text": texts.BUILT_IN.text + "\nA paragraph about <b>photos</b> & sharing.\n",
        "effective_on": "2026-03-02",
    }


def test_an_admin_publishes_and_reads_versions_on_the_settings_pages(signed_in):
    admin = signed_in("admin", name="Sam Admin")
    listing = admin.get("/admin/settings/consent")
    assert listing.status_code == 200
    assert "Version 1" in listing.get_data(as_text=True)
    assert "Built in" in listing.get_data(as_text=True)

    response = admin.post("/admin/settings/consent/new", data=publish_page_form(admin))
    assert response.status_code == 303
    listing = admin.get("/admin/settings/consent").get_data(as_text=True)
    form = db.session.scalar(select(ConsentForm).where(ConsentForm.version == 2))
    assert "Published version 2" in listing
    assert "Sam Admin" in listing
    assert form.sha256[:12] in listing
    assert listing.index("Version 2") < listing.index("Current") < listing.index("Version 1")

    page = admin.get("/admin/settings/consent/2").get_data(as_text=True)
    # Plain text, escaped: what was typed is what is shown.
    assert "A paragraph about &lt;b&gt;photos&lt;/b&gt; &amp; sharing." in page
    assert form.sha256 in page
    assert admin.get("/admin/settings/consent/7").status_code == 404


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"effective_on": "2026-02-30"}, "Not a valid date value"),
        ({"effective_on": "yesterday"}, "Not a valid date value"),
        ({"effective_on": "2026-03-01"}, "today or later"),
        ({"title": ""}, "Give the form a title."),
        ({"text": "x" * 40_001}, "under 20,000"),
        ({"text": texts.BUILT_IN.text}, "same text as version 1"),
    ],
)
def test_a_publish_the_clinic_cannot_use_shows_field_messages(signed_in, change, message):
    admin = signed_in("admin")
    data = publish_page_form(admin) | change
    response = admin.post("/admin/settings/consent/new", data=data)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in page
    assert 'class="error-summary"' in page
    assert db.session.scalar(select(func.count()).select_from(ConsentForm)) == 1


def test_a_publish_after_another_admins_gets_409_and_keeps_the_text(signed_in):
    admin = signed_in("admin")
    data = publish_page_form(admin)
    publish_consent()  # another admin, meanwhile
    response = admin.post("/admin/settings/consent/new", data=data)
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "Version 2 was published while you were writing" in page
    assert "A paragraph about &lt;b&gt;photos&lt;/b&gt;" in page
    assert hidden_value(page, "after_version") == "2"
    assert db.session.scalar(select(func.max(ConsentForm.version))) == 2

    data["after_version"] = "not a number"
    assert admin.post("/admin/settings/consent/new", data=data).status_code == 409


def test_only_admins_reach_the_consent_settings(signed_in):
    desk = signed_in("desk")
    assert desk.get("/admin/settings/consent").status_code == 403
    assert desk.get("/admin/settings/consent/1").status_code == 403


def test_the_desk_visit_page_asks_for_the_version_in_force(signed_in, clock):
    make_clinic()
    appointment = make_booking("microneedling", NEXT_TUESDAY_10)
    publish_consent("\nWords only version two has.\n")
    desk = signed_in("desk")
    page = desk.get(f"/desk/visits/{appointment.id}").get_data(as_text=True)
    assert "version 2, from" in page
    assert "Words only version two has." in page
    assert hidden_value(page, "version") == "2"
