"""The JSON API at /api/v1, for clinics' own websites and integrations.

Field names here are a contract; clinic/api/openapi.py documents every shape. Errors come out as
``{"error": code, "message": ..., ...}`` through clinic.web.errors.
"""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, jsonify, request, url_for
from flask_limiter.errors import RateLimitExceeded

from clinic.api import openapi, schemas
from clinic.api.slot_json import availability_json
from clinic.audit.context import patient_actor
from clinic.booking import services, tokens
from clinic.booking.catalog import read_version as read_catalog_version
from clinic.booking.models import Appointment, AppointmentStatus
from clinic.booking.slots import Slot
from clinic.catalog.models import Service
from clinic.clock import utcnow
from clinic.errors import NotFound, SlotUnavailable, ValidationFailed
from clinic.extensions import limiter
from clinic.screening import services as screening
from clinic.web.cache import answer_cache
from clinic.web.errors import json_error

bp = Blueprint("api", __name__)

# Endpoints whose answers carry a patient's booking: no cache may keep them.
PRIVATE_ENDPOINTS = {"api.create_booking", "api.booking", "api.cancel_booking"}


def _rate_limit() -> str:
    # An empty setting yields no limit at all, which is how a clinic switches it off.
    return current_app.config["API_RATE_LIMIT"]


# One budget per client address for the whole API, so spreading calls over the endpoints does
# not multiply it.
limiter.shared_limit(_rate_limit, scope="api")(bp)


@limiter.request_filter
def _api_limit_switched_off() -> bool:
    """With the API's limit switched off, its requests skip the limiter's bookkeeping (there is
    nothing to count); every other limit is still checked as configured."""
    return request.blueprint == "api" and not current_app.config["API_RATE_LIMIT"]


@bp.errorhandler(RateLimitExceeded)
def _rate_limited(exc: RateLimitExceeded):
    current = limiter.current_limit
    wait = 60
    if current:
        # The limiter's windows run on wall-clock time, not the application's clock; reset_at
        # is rounded up, so keep the wait within one window.
        wait = max(1, min(current.reset_at - int(time.time()), current.limit.get_expiry()))
    response, status = json_error(
        429, "rate_limited", f"Too many requests; try again in {wait} seconds."
    )
    response.headers["Retry-After"] = str(wait)
    return response, status


@bp.after_request
def _no_store_private(response):
    if request.endpoint in PRIVATE_ENDPOINTS:
        response.headers["Cache-Control"] = "no-store"
    return response


# --- endpoints ----------------------------------------------------------------------------


@bp.get("/services")
def list_services():
    return {"services": services.online_service_fields()}


@bp.get("/services/<slug>/intake")
def service_intake(slug: str):
    try:
        slug = schemas.text(schemas.SERVICE_SLUG_MAX)(slug)
    except schemas.Invalid as exc:
        # A name no service could have (a NUL, say) must not reach the database.
        raise NotFound("We do not offer that service online.") from exc
    return screening.intake(services.service_by_slug(slug))


@bp.get("/availability")
def availability():
    query = schemas.availability_query(request.args)
    # Free times change with the minute (minimum notice) and with bookings (which clear the
    # cache); within that, the same question gets the same answer.
    key = ("availability", query, utcnow().replace(second=0, microsecond=0))
    answer_cache().follow_setup(read_catalog_version)
    body = answer_cache().get(key)
    if body is None:
        body = _availability(query)
        answer_cache().put(key, body)
    return current_app.response_class(body, mimetype="application/json")


def _availability(query) -> str:
    found = services.online_free_times(
        query.service, query.first_day, query.last_day, practitioner_id=query.practitioner_id
    )
    if query.practitioner_id is not None and query.practitioner_id not in found.zones:
        raise NotFound("No practitioner with that id offers this service.")
    return availability_json(
        found.service_slug,
        _zone_name(found.zones),
        found.table,
        found.zones,
        services.clinic_timezone(),
    )


@bp.post("/bookings")
def create_booking():
    booking = schemas.booking_request(
        schemas.json_object(request),
        ip_address=request.remote_addr,
        user_agent=request.user_agent.string,
    )
    service = _service_for_booking(booking.service_slug, booking.practitioner_id)
    if not service.needles:
        # The intake offers no consent for a service that does not needle; one sent anyway
        # was never shown to the patient, so it is not kept as their signature.
        booking = replace(booking, consent=None)
    try:
        appointment = services.book(booking, by=patient_actor())
    except SlotUnavailable as exc:
        nearby = services.alternatives_near(
            service, booking.start, practitioner_id=booking.practitioner_id
        )
        zones = _zones(service)
        alternatives = [_slot_json(slot, zones) for slot in nearby]
        raise SlotUnavailable(exc.message, details={"alternatives": alternatives}) from exc
    except ValidationFailed as exc:
        if "phone" not in exc.errors:
            raise
        # The services name the patient's fields bare; the body nests them.
        errors = {("patient.phone" if k == "phone" else k): v for k, v in exc.errors.items()}
        raise ValidationFailed(errors, message=exc.message) from exc
    link = tokens.manage_url(appointment)
    response = jsonify(_booking_json(appointment, link))
    response.headers["Location"] = url_for("api.booking", token=link.rsplit("/", 1)[-1])
    return response, 201


@bp.get("/bookings/<token>")
def booking(token: str):
    appointment = tokens.appointment_from_token(token)
    return _booking_json(appointment, tokens.manage_url(appointment))


@bp.delete("/bookings/<token>")
def cancel_booking(token: str):
    appointment = tokens.appointment_from_token(token)
    # DELETE is idempotent: a retry after a lost response sees the cancellation, not an error.
    if appointment.status != AppointmentStatus.CANCELLED:
        appointment = services.cancel(appointment, by=patient_actor())
    return _booking_json(appointment, tokens.manage_url(appointment))


@bp.get("/openapi.json")
def openapi_document():
    return openapi.document(current_app.config["PUBLIC_BASE_URL"] + "/api/v1")


# --- helpers ------------------------------------------------------------------------------


def _service_for_booking(slug: str, practitioner_id: int | None) -> Service:
    """The service a booking names; unknown names are field errors of the body, not 404s."""
    try:
        service = services.service_by_slug(slug)
    except NotFound as exc:
        raise ValidationFailed({"service": [exc.message]}) from exc
    if practitioner_id is not None and practitioner_id not in _zones(service):
        raise ValidationFailed(
            {"practitioner_id": ["No practitioner with that id offers this service."]}
        )
    return service


def _zones(service: Service) -> dict[int, ZoneInfo]:
    """Each practitioner offering the service, with the time zone of their location."""
    return {
        practitioner.id: ZoneInfo(practitioner.location.timezone)
        for practitioner in services.practitioners_for(service)
    }


def _zone_name(zones: dict[int, ZoneInfo]) -> str:
    names = {zone.key for zone in zones.values()}
    return names.pop() if len(names) == 1 else services.clinic_timezone().key


def _local(instant: datetime, zone: ZoneInfo) -> str:
    return instant.astimezone(zone).isoformat()


def _slot_json(slot: Slot, zones: dict[int, ZoneInfo]) -> dict:
    zone = zones.get(slot.practitioner_id) or services.clinic_timezone()
    return {
        "start": _local(slot.start, zone),
        "end": _local(slot.end, zone),
        "practitioner_id": slot.practitioner_id,
    }


def _booking_json(appointment: Appointment, manage_url: str) -> dict:
    zone = ZoneInfo(appointment.practitioner.location.timezone)
    return {
        "id": appointment.id,
        "status": str(appointment.status),
        "service": appointment.service.slug,
        "start": _local(appointment.start_at, zone),
        "end": _local(appointment.end_at, zone),
        "practitioner_id": appointment.practitioner_id,
        "can_change": services.patient_can_change(appointment),
        "change_deadline": _local(services.patient_change_deadline(appointment), zone),
        "manage_url": manage_url,
    }
