"""The waitlist: a freed time is offered by text to matching requests, oldest first; the first
to take it books it, the others are told it has gone; an offer that runs out passes on; and two
takers racing never double-book, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
import threading
import time as monotonic
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import func, select

from clinic.actors import Actor, ActorKind
from clinic.booking import services as booking
from clinic.booking.models import RELEASED_STATUSES, Appointment
from clinic.consent import texts as consent_texts
from clinic.extensions import db
from clinic.sms.dispatch import dispatch_pass
from clinic.sms.kinds import Kind
from clinic.sms.models import OutboundText, TextStatus
from clinic.waitlist import services
from clinic.waitlist.models import (
    EntryStatus,
    OfferStatus,
    OpeningStatus,
    WaitlistEntry,
    WaitlistOffer,
    WaitlistOpening,
)
from clinic.waitlist.services import JoinRequest, OfferClosed
from tests.factories import all_no, make_booking, make_clinic, patient_details, signed
from tests.helpers import csrf_token

# Monday 2 March 2026, 10:00 in London (GMT): texts may go out.
MORNING = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
# Wednesday 4 March 2026, 10:00: the visit that will be cancelled.
FREED = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)
DESK = Actor(ActorKind.DESK)
PATIENT = Actor(ActorKind.PATIENT_LINK)


def waitlisted(
    n: int, *, slug="microneedling", first=date(2026, 3, 3), last=date(2026, 3, 6), **wish
):
    """Patient ``n`` joins online, as the join page does."""
    wish.setdefault("time_of_day", "any")
    return services.join(
        JoinRequest(
            service_slug=slug,
            first_day=first,
            last_day=last,
            patient=patient_details(full_name=f"Waiting Patient {n}", phone=f"+4479001{n:05d}"),
            sms_opt_in=True,
            **wish,
        ),
        by=PATIENT,
    )


def cancel_freed_visit():
    visit = make_booking("microneedling", FREED, patient=patient_details(phone="+447911000999"))
    booking.cancel(visit, by=DESK, reason="cannot come")
    return visit


def offers_of(entry) -> list[WaitlistOffer]:
    db.session.rollback()
    return list(
        db.session.scalars(
            select(WaitlistOffer)
            .where(WaitlistOffer.entry_id == entry.id)
            .order_by(WaitlistOffer.id)
        )
    )


def entry_status(entry) -> str:
    db.session.rollback()
    return db.session.get(WaitlistEntry, entry.id).status


def take_form(slug="microneedling", name="Waiting Patient 1", **extra) -> dict:
    form = {f"answer_{key}": "no" for key in all_no(slug)} | extra
    form.update(consent_version=str(consent_texts.BUILT_IN.version), signed_name=name, agree="y")
    return form


def active_at(start: datetime) -> list[Appointment]:
    db.session.rollback()
    return list(
        db.session.scalars(
            select(Appointment).where(
                Appointment.start_at == start, Appointment.status.not_in(RELEASED_STATUSES)
            )
        )
    )


def link_in(body: str) -> str:
    return re.search(r"(/waitlist/offer/\S+)", body).group(1)


# --- the scenario the issue asks for ----------------------------------------------------------


def test_a_cancellation_is_offered_to_two_one_books_it_and_the_other_is_told_it_has_gone(
    twilio_app, fake_twilio, client, clock
):
    clock.set(MORNING)
    make_clinic(practitioners=1)
    first, second, third = waitlisted(1), waitlisted(2), waitlisted(3)
    cancel_freed_visit()
    sent_before = fake_twilio.count()

    dispatch_pass()

    offers = [m for m in fake_twilio.messages[sent_before:] if "/waitlist/offer/" in m["body"]]
    assert sorted(m["to"] for m in offers) == ["+447900100001", "+447900100002"]
    for message in offers:
        assert "Wednesday 4 March at 10:00" in message["body"]
        assert "Northside Hair Clinic" in message["body"]
    assert entry_status(third) == EntryStatus.WAITING  # the batch is two, oldest first
    link = {m["to"]: link_in(m["body"]) for m in offers}

    page = client.get(link["+447900100001"])
    assert page.status_code == 200
    assert "Book this time" in page.get_data(as_text=True)
    taken = client.post(link["+447900100001"], data=take_form(csrf_token=csrf_token(client)))
    assert taken.status_code == 303
    assert taken.headers["Location"].startswith("/manage/")

    late = client.post(
        link["+447900100002"],
        data=take_form(name="Waiting Patient 2", csrf_token=csrf_token(client)),
    )
    assert late.status_code == 410
    assert "this time has gone" in late.get_data(as_text=True).lower()
    assert [a.patient.full_name for a in active_at(FREED)] == ["Waiting Patient 1"]
    assert entry_status(first) == EntryStatus.BOOKED
    assert entry_status(second) == EntryStatus.WAITING

    told_before = fake_twilio.count()
    dispatch_pass()
    gone = [m for m in fake_twilio.messages[told_before:] if m["to"] == "+447900100002"]
    assert len(gone) == 1
    assert "has gone to someone else" in gone[0]["body"]
    assert "Wednesday 4 March at 10:00" in gone[0]["body"]
    assert not any(m["to"] == "+447900100003" for m in fake_twilio.messages)


def test_an_offer_that_expires_passes_to_the_next_waiting_patient(any_app, clock):
    any_app.config["WAITLIST_OFFER_BATCH"] = 1
    clock.set(MORNING)
    make_clinic(practitioners=1)
    first, second = waitlisted(1), waitlisted(2)
    cancel_freed_visit()

    services.offer_pass()
    [offer] = offers_of(first)
    assert offer.expires_at == MORNING + timedelta(minutes=60)
    assert offers_of(second) == []

    clock.advance(timedelta(minutes=61))
    services.offer_pass()

    assert offers_of(first)[0].status == OfferStatus.EXPIRED
    assert entry_status(first) == EntryStatus.WAITING
    [passed_on] = offers_of(second)
    assert passed_on.status == OfferStatus.OPEN
    token = services.offer_token(offers_of(first)[0])
    answer = any_app.test_client().get(f"/waitlist/offer/{token}")
    assert answer.status_code == 410
    assert "This offer has ended" in answer.get_data(as_text=True)


def race(app, jobs):
    barrier = threading.Barrier(len(jobs))
    outcomes: list = [None] * len(jobs)

    def run(index, job):
        with app.app_context():
            try:
                barrier.wait(timeout=30)
                outcomes[index] = job()
            except Exception as exc:
                outcomes[index] = exc

    threads = [threading.Thread(target=run, args=pair, daemon=True) for pair in enumerate(jobs)]
    for thread in threads:
        thread.start()
    deadline = monotonic.monotonic() + 120
    for thread in threads:
        thread.join(timeout=max(0.0, deadline - monotonic.monotonic()))
    assert not any(thread.is_alive() for thread in threads), "a taker hung"
    return outcomes


def test_two_takers_racing_for_one_freed_time_make_one_booking(any_app, clock):
    clock.set(MORNING)
    make_clinic(practitioners=1)
    entries = [waitlisted(1), waitlisted(2)]
    cancel_freed_visit()
    services.offer_pass()
    tokens = [services.offer_token(offers_of(entry)[0]) for entry in entries]

    def taker(token: str, n: int):
        def job():
            offer = services.offer_from_token(token)
            details = patient_details(full_name=f"Waiting Patient {n}")
            return services.take(offer, all_no("microneedling"), signed(details), by=PATIENT).id

        return job

    outcomes = race(any_app, [taker(token, n) for n, token in enumerate(tokens, start=1)])

    booked = [o for o in outcomes if isinstance(o, int)]
    refused = [o for o in outcomes if isinstance(o, OfferClosed)]
    assert len(booked) == 1 and len(refused) == 1, outcomes
    assert [a.id for a in active_at(FREED)] == booked
    statuses = sorted(offers_of(entry)[0].status for entry in entries)
    assert statuses == [OfferStatus.GONE, OfferStatus.TAKEN]


# --- what matches a freed time ------------------------------------------------------------------


def offered(entry) -> bool:
    return bool(offers_of(entry))


def test_only_requests_for_the_same_service_are_offered_the_time(app, clock):
    clock.set(MORNING)
    make_clinic(practitioners=1)
    same, other = waitlisted(1), waitlisted(2, slug="consultation")
    cancel_freed_visit()
    services.offer_pass()
    assert offered(same) and not offered(other)


def test_the_time_must_fall_inside_the_requested_days(app, clock):
    clock.set(MORNING)
    make_clinic(practitioners=1)
    before = waitlisted(1, first=date(2026, 3, 2), last=date(2026, 3, 3))
    after = waitlisted(2, first=date(2026, 3, 5), last=date(2026, 3, 9))
    covering = waitlisted(3, first=date(2026, 3, 4), last=date(2026, 3, 4))
    cancel_freed_visit()
    services.offer_pass()
    assert [offered(before), offered(after), offered(covering)] == [False, False, True]


def test_the_time_must_fall_inside_the_requested_time_of_day(app, clock):
    clock.set(MORNING)
    make_clinic(practitioners=1)
    evening = waitlisted(1, time_of_day="evening")
    afternoon = waitlisted(2, time_of_day="afternoon")
    late = waitlisted(3, time_of_day="between", time_from=time(10, 30), time_to=time(14))
    morning = waitlisted(4, time_of_day="morning")
    between = waitlisted(5, time_of_day="between", time_from=time(9), time_to=time(10))
    app.config["WAITLIST_OFFER_BATCH"] = 5
    cancel_freed_visit()
    services.offer_pass()
    got = [offered(e) for e in (evening, afternoon, late, morning, between)]
    assert got == [False, False, False, True, True]


def test_a_request_for_one_practitioner_is_offered_only_that_practitioners_times(app, clock):
    clock.set(MORNING)
    clinic = make_clinic(practitioners=2, rooms=2)
    first, second = clinic.practitioners
    visit = make_booking(
        "microneedling",
        FREED,
        practitioner_id=second.id,
        patient=patient_details(phone="+447911000999"),
    )
    with_first = waitlisted(1, practitioner_id=first.id)
    with_second = waitlisted(2, practitioner_id=second.id)
    booking.cancel(visit, by=DESK)
    services.offer_pass()
    assert not offered(with_first) and offered(with_second)


def test_a_patient_inside_the_needling_gap_is_skipped_for_the_next(app, clock):
    clock.set(MORNING)
    make_clinic(practitioners=1, rooms=2)
    near = waitlisted(1)
    # Patient 1 already has a session the day after the freed time.
    make_booking(
        "microneedling",
        FREED + timedelta(days=1),
        patient=patient_details(full_name="Waiting Patient 1", phone="+447900100001"),
    )
    clear = waitlisted(2)
    cancel_freed_visit()
    services.offer_pass()
    assert not offered(near) and offered(clear)


def test_a_moved_visit_frees_its_old_time_for_the_waitlist(app, clock):
    clock.set(MORNING)
    make_clinic(practitioners=1)
    entry = waitlisted(1)
    visit = make_booking("microneedling", FREED, patient=patient_details(phone="+447911000999"))
    booking.reschedule(visit, FREED + timedelta(days=7), by=DESK)
    services.offer_pass()
    [offer] = offers_of(entry)
    assert offer.opening.start_at == FREED


def test_a_time_booked_another_way_closes_its_offers_and_tells_the_patients(app, clock):
    clock.set(MORNING)
    make_clinic(practitioners=1)
    entry = waitlisted(1)
    cancel_freed_visit()
    services.offer_pass()
    # The offer's text went out; then the desk books the time for someone on the phone.
    db.session.execute(
        OutboundText.__table__.update().values(status=TextStatus.SENT, sent_at=MORNING)
    )
    db.session.commit()
    make_booking(
        "microneedling", FREED, source="desk", patient=patient_details(phone="+447911000888")
    )
    services.offer_pass()
    [offer] = offers_of(entry)
    assert offer.status == OfferStatus.GONE
    assert offer.opening.status == OpeningStatus.GONE
    assert db.session.get(OutboundText, offer.gone_text_id).kind == Kind.WAITLIST_GONE
    assert entry_status(entry) == EntryStatus.WAITING


# --- quiet hours --------------------------------------------------------------------------------


def test_a_time_freed_at_night_is_offered_in_the_morning_and_its_hour_starts_then(app, clock):
    make_clinic(practitioners=1)
    clock.set(MORNING)
    entry = waitlisted(1)
    visit = make_booking("microneedling", FREED, patient=patient_details(phone="+447911000999"))
    night = datetime(2026, 3, 2, 22, 30, tzinfo=UTC)
    clock.set(night)
    booking.cancel(visit, by=DESK)

    report = dispatch_pass()

    [offer] = offers_of(entry)
    nine = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)
    assert offer.offered_at == nine
    assert offer.expires_at == nine + timedelta(minutes=60)
    text = db.session.get(OutboundText, offer.text_id)
    assert text.status == TextStatus.PENDING and text.send_at == nine
    assert "sent" not in report.counts


# --- the patient's links ------------------------------------------------------------------------


def test_withdrawing_through_the_entry_link_takes_the_request_off_the_list(app, client, clock):
    clock.set(MORNING)
    make_clinic(practitioners=1)
    entry = waitlisted(1)
    token = services.entry_token(entry)
    assert "Take me off the waiting list" in client.get(f"/waitlist/entry/{token}").get_data(
        as_text=True
    )
    response = client.post(
        f"/waitlist/entry/{token}/withdraw", data={"csrf_token": csrf_token(client)}
    )
    assert response.status_code == 303
    assert entry_status(entry) == EntryStatus.WITHDRAWN
    cancel_freed_visit()
    services.offer_pass()
    assert not offered(entry)


def test_withdrawing_with_an_open_offer_passes_the_time_on(app, client, clock):
    app.config["WAITLIST_OFFER_BATCH"] = 1
    clock.set(MORNING)
    make_clinic(practitioners=1)
    first, second = waitlisted(1), waitlisted(2)
    cancel_freed_visit()
    services.offer_pass()
    client.post(
        f"/waitlist/entry/{services.entry_token(first)}/withdraw",
        data={"csrf_token": csrf_token(client)},
    )
    services.offer_pass()
    assert offers_of(first)[0].status == OfferStatus.GONE
    assert offers_of(second)[0].status == OfferStatus.OPEN


@pytest.mark.parametrize(
    "path",
    [
        "/waitlist/offer/nonsense",
        "/waitlist/offer/" + "x" * 400,
        "/waitlist/entry/nonsense",
        "/waitlist/entry/WzEsImFiYyJd.forged",
    ],
)
def test_bad_links_are_not_found_never_an_error(app, client, path):
    assert client.get(path).status_code == 404
    assert client.post(path, data={"csrf_token": csrf_token(client)}).status_code in (404, 405)


def test_a_link_signed_with_another_key_or_for_an_entry_opens_no_offer(app, client, clock):
    from itsdangerous import URLSafeSerializer

    clock.set(MORNING)
    make_clinic(practitioners=1)
    entry = waitlisted(1)
    cancel_freed_visit()
    services.offer_pass()
    [offer] = offers_of(entry)
    forged = URLSafeSerializer("another secret", salt="waitlist-offer").dumps([offer.id, offer.key])
    wrong_key = URLSafeSerializer(app.config["SECRET_KEY"], salt="waitlist-offer").dumps(
        [offer.id, "0" * 32]
    )
    entry_link_as_offer = services.entry_token(entry)
    for token in (forged, wrong_key, entry_link_as_offer):
        assert client.get(f"/waitlist/offer/{token}").status_code == 404
    assert client.get(f"/waitlist/offer/{services.offer_token(offer)}").status_code == 200


# --- joining ----------------------------------------------------------------------------------


def join_form(**overrides) -> dict:
    form = {
        "full_name": "Sam Patel",
        "mobile": "07900 200001",
        "date_of_birth": "12/04/1988",
        "first_day": "03/03/2026",
        "last_day": "10/03/2026",
        "time_of_day": "morning",
        "practitioner": "",
        "sms_opt_in": "y",
    }
    form.update(overrides)
    return form


def test_joining_online_puts_the_patient_on_the_list_and_shows_their_private_page(
    app, client, clock
):
    clock.set(MORNING)
    make_clinic(practitioners=1)
    response = client.post(
        "/waitlist/join/microneedling", data=join_form(csrf_token=csrf_token(client))
    )
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/waitlist/entry/")
    [entry] = db.session.scalars(select(WaitlistEntry)).all()
    assert (entry.status, entry.source, entry.time_of_day) == ("waiting", "online", "morning")
    assert entry.patient.sms_opt_in
    page = client.get(response.headers["Location"], follow_redirects=True)
    assert "You are on our waiting list" in page.get_data(as_text=True)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"sms_opt_in": ""}, "please agree to texts to join"),
        ({"first_day": "01/03/2026"}, "The first day cannot be in the past."),
        ({"last_day": "02/03/2026"}, "The last day must not be before the first day."),
        (
            {"time_of_day": "between", "time_from": "14:00", "time_to": "10:00"},
            "after the earliest",
        ),
        ({"time_of_day": "between"}, "Enter the earliest start time"),
        ({"mobile": "12"}, ""),
        ({"full_name": ""}, "Please enter your full name."),
    ],
)
def test_joining_with_bad_details_gets_field_messages_and_stores_nothing(
    app, client, clock, overrides, message
):
    clock.set(MORNING)
    make_clinic(practitioners=1)
    response = client.post(
        "/waitlist/join/microneedling", data=join_form(csrf_token=csrf_token(client), **overrides)
    )
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(WaitlistEntry.id))) == 0


def test_joins_per_number_are_limited_like_online_bookings(app, client, clock):
    app.config["BOOKINGS_PER_NUMBER_PER_DAY"] = 2
    clock.set(MORNING)
    make_clinic(practitioners=1)
    for slug in ("microneedling", "consultation"):
        assert (
            client.post(
                f"/waitlist/join/{slug}", data=join_form(csrf_token=csrf_token(client))
            ).status_code
            == 303
        )
    refused = client.post(
        "/waitlist/join/microneedling-prp",
        data=join_form(full_name="Someone Else", csrf_token=csrf_token(client)),
    )
    assert refused.status_code == 422
    assert "more waiting list requests for this mobile number today" in refused.get_data(
        as_text=True
    )


def test_the_no_free_times_page_offers_the_waitlist(app, client, clock):
    clock.set(MORNING)
    make_clinic(practitioners=1, weekdays=(0,))  # open Mondays only
    page = client.get("/book/microneedling/slots?day=2026-03-03").get_data(as_text=True)
    assert "/waitlist/join/microneedling?" in page
    assert "Join the waiting list" in page


# --- the desk -----------------------------------------------------------------------------------


def test_the_desk_adds_a_patient_found_by_search_and_sees_the_list(app, signed_in, clock):
    clock.set(MORNING)
    make_clinic(practitioners=1)
    make_booking(
        "consultation", FREED, patient=patient_details(full_name="Robin Hale"), sms_opt_in=True
    )
    desk = signed_in("desk")
    search = desk.get("/desk/waitlist/new?q=robin")
    assert search.status_code == 200 and "Robin Hale" in search.get_data(as_text=True)
    patient_id = re.search(r'name="patient_id"[^>]*value="(\d+)"', search.get_data(as_text=True))
    response = desk.post(
        "/desk/waitlist/new",
        data={
            "csrf_token": csrf_token(desk, "/desk"),
            "q": "robin",
            "patient_id": patient_id.group(1),
            "service": "microneedling",
            "practitioner": "",
            "first_day": "03/03/2026",
            "last_day": "06/03/2026",
            "time_of_day": "any",
        },
    )
    assert response.status_code == 303, response.get_data(as_text=True)
    listing = desk.get("/desk/waitlist").get_data(as_text=True)
    assert "Robin Hale" in listing and "desk" in listing
    [entry] = db.session.scalars(select(WaitlistEntry)).all()
    assert (
        desk.post(
            f"/desk/waitlist/{entry.id}/withdraw", data={"csrf_token": csrf_token(desk, "/desk")}
        ).status_code
        == 303
    )
    assert entry_status(entry) == EntryStatus.WITHDRAWN


def test_the_desk_cannot_waitlist_a_patient_who_takes_no_texts(app, signed_in, clock):
    clock.set(MORNING)
    make_clinic(practitioners=1)
    make_booking("consultation", FREED, patient=patient_details(full_name="Robin Hale"))
    desk = signed_in("desk")
    page = desk.get("/desk/waitlist/new?q=robin").get_data(as_text=True)
    patient_id = re.search(r'name="patient_id"[^>]*value="(\d+)"', page).group(1)
    response = desk.post(
        "/desk/waitlist/new",
        data={
            "csrf_token": csrf_token(desk, "/desk"),
            "q": "robin",
            "patient_id": patient_id,
            "service": "microneedling",
            "first_day": "03/03/2026",
            "last_day": "06/03/2026",
            "time_of_day": "any",
        },
    )
    assert response.status_code == 422
    assert "cannot be texted" in response.get_data(as_text=True)


# --- the database facts ---------------------------------------------------------------------------


def test_the_database_refuses_a_second_taker_for_one_freed_time(any_app, clock):
    from sqlalchemy.exc import IntegrityError

    clock.set(MORNING)
    make_clinic(practitioners=1)
    entries = [waitlisted(1), waitlisted(2)]
    cancel_freed_visit()
    services.offer_pass()
    offers = [offers_of(entry)[0] for entry in entries]
    for offer in offers:
        offer.status = OfferStatus.TAKEN
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    assert db.session.scalar(select(func.count(WaitlistOpening.id))) == 1


def test_an_offer_not_yet_texted_is_called_off_quietly_when_the_time_goes(app, clock):
    make_clinic(practitioners=1)
    clock.set(MORNING)
    entry = waitlisted(1)
    visit = make_booking("microneedling", FREED, patient=patient_details(phone="+447911000999"))
    clock.set(datetime(2026, 3, 2, 22, 30, tzinfo=UTC))
    booking.cancel(visit, by=DESK)
    services.offer_pass()  # the offer's text waits for the morning
    make_booking(
        "microneedling", FREED, source="desk", patient=patient_details(phone="+447911000888")
    )
    services.offer_pass()
    [offer] = offers_of(entry)
    assert offer.status == OfferStatus.GONE
    assert offer.gone_text_id is None
    assert db.session.get(OutboundText, offer.text_id).status == TextStatus.CANCELLED
