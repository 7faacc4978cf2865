"""Signed consents are immutable, versioned, and renewed when the form or the course changes."""

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select

from clinic.consent import services as consent_services
from clinic.consent import texts
from clinic.consent.models import ConsentForm, SignedConsent
from clinic.courses.services import CourseRequest, book_course, sessions
from clinic.errors import ImmutableRecord, ValidationFailed
from clinic.extensions import db
from tests.factories import make_booking, make_clinic, patient_details, publish_consent, signed

TUESDAY_10 = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)


@pytest.fixture
def new_form_version(app):
    return publish_consent()


def test_booking_records_the_signature_with_form_hash_time_and_client(app, clock):
    make_clinic()
    appointment = make_booking("microneedling", TUESDAY_10)
    signature = db.session.scalar(select(SignedConsent))
    assert signature.appointment_id == appointment.id
    assert signature.form_version == 1
    assert signature.form_sha256 == texts.VERSION_1.sha256
    assert signature.form.text == texts.VERSION_1.text
    assert signature.signed_name == "Alex Morgan"
    assert signature.signed_at == clock.now()
    assert (signature.ip_address, signature.user_agent) == ("127.0.0.1", "pytest")


def test_a_signed_consent_cannot_be_changed_or_deleted_through_the_application(app):
    make_clinic()
    make_booking("microneedling", TUESDAY_10)
    signature = db.session.scalar(select(SignedConsent))
    signature.signed_name = "Someone Else"
    with pytest.raises(ImmutableRecord):
        db.session.commit()
    db.session.rollback()
    db.session.delete(db.session.scalar(select(SignedConsent)))
    with pytest.raises(ImmutableRecord):
        db.session.commit()
    db.session.rollback()
    form = db.session.scalar(select(ConsentForm))
    form.text = "rewritten"
    with pytest.raises(ImmutableRecord):
        db.session.commit()
    db.session.rollback()
    assert db.session.scalar(select(SignedConsent)).signed_name == "Alex Morgan"


def test_postgres_itself_refuses_to_change_or_delete_a_signed_consent(pg_app):
    make_clinic()
    make_booking("microneedling", TUESDAY_10)
    for statement in (
        "UPDATE signed_consent SET signed_name = 'X'",
        "DELETE FROM signed_consent",
        "UPDATE consent_form SET text = 'X'",
        "DELETE FROM consent_form",
    ):
        with (
            pytest.raises(sa.exc.IntegrityError, match="immutable"),
            db.engine.begin() as connection,
        ):
            connection.execute(sa.text(statement))
    assert db.session.scalar(select(func.count()).select_from(SignedConsent)) == 1


def test_online_booking_of_a_needling_service_needs_a_current_signed_consent(app):
    make_clinic()
    patient = patient_details()
    cases = {
        "consent": None,
        "consent.agree": signed(patient, agree=False),
        "consent.version": signed(patient, version=0),
        "consent.signed_name": signed(patient, signed_name="Somebody Else"),
    }
    for field, consent in cases.items():
        with pytest.raises(ValidationFailed) as caught:
            make_booking("microneedling", TUESDAY_10, patient=patient, consent=consent)
        assert field in caught.value.errors
    assert db.session.scalar(select(func.count()).select_from(SignedConsent)) == 0
    # A consultation needles nobody and needs no consent.
    make_booking("consultation", TUESDAY_10, consent=None)


def test_a_new_form_version_requires_consent_again(app, new_form_version):
    make_clinic()
    with pytest.raises(ValidationFailed) as caught:
        make_booking("microneedling", TUESDAY_10, consent=signed(patient_details(), version=1))
    assert "updated" in caught.value.errors["consent.version"][0]
    appointment = make_booking("microneedling", TUESDAY_10)
    assert consent_services.current_consent_for(appointment).form_version == 2
    assert consent_services.current_form().sha256 == new_form_version.sha256


def test_a_signature_of_the_old_version_no_longer_covers_a_visit(app):
    make_clinic()
    appointment = make_booking("microneedling", TUESDAY_10)
    assert consent_services.current_consent_for(appointment) is not None
    publish_consent()
    assert consent_services.current_consent_for(appointment) is None


def test_each_course_needs_its_own_consent(app):
    make_clinic()
    first = make_booking("microneedling", TUESDAY_10)
    course = book_course(
        CourseRequest(
            patient_id=first.patient_id,
            service_slug="microneedling-steroid",
            template_key="three-weekly-3",
            first_start=TUESDAY_10 + timedelta(days=7),
        )
    )
    session = sessions(course.id)[0]
    # The booking's own signature predates the course: the course needs its own.
    assert consent_services.current_consent_for(session) is None
    from clinic.database import write_transaction

    with write_transaction():
        consent_services.sign(first.patient, signed(patient_details()), course=course)
    assert consent_services.current_consent_for(session).course_id == course.id
