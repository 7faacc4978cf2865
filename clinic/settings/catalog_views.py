"""Settings: services, locations and their rooms (/admin/settings/services, /locations, /rooms)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from wtforms import SelectChoice

from clinic.audit.context import staff_actor
from clinic.errors import ValidationFailed
from clinic.settings import catalog_services as catalog
from clinic.settings.catalog_forms import (
    LocationForm,
    NewRoomForm,
    RoomActiveForm,
    RoomForm,
    ServiceForm,
)
from clinic.staff.auth import allow
from clinic.staff.models import Role
from clinic.web.forms import attach_errors

bp = Blueprint("catalog", __name__)


def _field_errors(form, exc: ValidationFailed | catalog.NameTaken) -> int:
    """Put a service's refusal on the form's fields, beside the form's own messages; returns
    the answer's status: 409 for a name already taken, 422 for anything else refused."""
    attach_errors(
        form, exc.errors if isinstance(exc, ValidationFailed) else {exc.field: [exc.message]}
    )
    return 409 if isinstance(exc, catalog.NameTaken) else 422


# --- services -------------------------------------------------------------------------------


@bp.get("/services")
@allow(Role.ADMIN)
def services():
    return render_template("settings/catalog/services.html", services=catalog.services())


@bp.route("/services/new", methods=["GET", "POST"])
@allow(Role.ADMIN)
def new_service():
    form = (
        ServiceForm()
        if request.method == "POST"
        else ServiceForm(
            formdata=None, data={"active": True, "bookable_online": True, "buffer_after_minutes": 0}
        )
    )
    if not form.is_submitted():
        return _service_page(None, form)
    if not form.validate():
        return _service_page(None, form, status=422)
    try:
        added = catalog.add_service(form.details(), form.slug.data or "", by=staff_actor())
    except (ValidationFailed, catalog.NameTaken) as exc:
        return _service_page(None, form, status=_field_errors(form, exc))
    flash("Service added.", "success")
    return redirect(url_for(".service", service_id=added.id), code=303)


@bp.route("/services/<int:service_id>", methods=["GET", "POST"])
@allow(Role.ADMIN)
def service(service_id: int):
    current = catalog.service(service_id)
    form = ServiceForm()
    if not form.is_submitted():
        return _service_page(current)
    if not form.validate():
        return _service_page(current, form, status=422)
    try:
        changes = catalog.change_service(
            service_id, form.details(), version=form.version.data or "", by=staff_actor()
        )
    except (ValidationFailed, catalog.NameTaken) as exc:
        return _service_page(current, form, status=_field_errors(form, exc))
    except catalog.StaleForm as exc:
        # A fresh form over the service as it is now: the old one would only be refused again.
        return _service_page(current, status=409, problem=exc.message)
    flash("Service saved." if changes else "Nothing changed.", "success" if changes else "info")
    return redirect(url_for(".services"), code=303)


def _service_page(current, form=None, *, status=200, problem=None):
    if current is not None and form is None:
        form = ServiceForm(formdata=None, data=ServiceForm.data_of(current))
    if current is not None and not form.version.data:
        form.version.data = catalog.service_version(current)
    return render_template(
        "settings/catalog/service.html",
        service=current,
        form=form,
        problem=problem,
        offered_by=catalog.practitioners_offering(current.id) if current else [],
    ), status


# --- locations ------------------------------------------------------------------------------


@bp.get("/locations")
@allow(Role.ADMIN)
def locations():
    return render_template("settings/catalog/locations.html", locations=catalog.locations())


@bp.route("/locations/new", methods=["GET", "POST"])
@allow(Role.ADMIN)
def new_location():
    form = LocationForm()
    if not form.is_submitted():
        return _location_page(None, form)
    if not form.validate():
        return _location_page(None, form, status=422)
    try:
        added = catalog.add_location(form.details(), by=staff_actor())
    except (ValidationFailed, catalog.NameTaken) as exc:
        return _location_page(None, form, status=_field_errors(form, exc))
    flash("Location added. Add its rooms next.", "success")
    return redirect(url_for(".rooms", location=added.id), code=303)


@bp.route("/locations/<int:location_id>", methods=["GET", "POST"])
@allow(Role.ADMIN)
def location(location_id: int):
    current = catalog.location(location_id)
    form = LocationForm()
    if not form.is_submitted():
        return _location_page(current)
    if not form.validate():
        return _location_page(current, form, status=422)
    try:
        changes = catalog.change_location(
            location_id, form.details(), version=form.version.data or "", by=staff_actor()
        )
    except (ValidationFailed, catalog.NameTaken) as exc:
        return _location_page(current, form, status=_field_errors(form, exc))
    except catalog.InUse as exc:
        return _location_page(current, form, status=409, problem=exc.message, visits=exc.visits)
    except catalog.StaleForm as exc:
        return _location_page(current, status=409, problem=exc.message)
    flash("Location saved." if changes else "Nothing changed.", "success" if changes else "info")
    return redirect(url_for(".locations"), code=303)


def _location_page(current, form=None, *, status=200, problem=None, visits=()):
    if current is not None and form is None:
        form = LocationForm(formdata=None, data=vars(catalog.LocationDetails.of(current)))
    if current is not None and not form.version.data:
        form.version.data = catalog.location_version(current)
    return render_template(
        "settings/catalog/location.html",
        location=current,
        form=form,
        problem=problem,
        visits=visits,
        pending=catalog.visits_not_ended_count(current.id) if current else 0,
    ), status


# --- rooms ----------------------------------------------------------------------------------


@bp.get("/rooms")
@allow(Role.ADMIN)
def rooms():
    form = NewRoomForm(formdata=None, data={"location": request.args.get("location", type=int)})
    return _rooms_page(form)


@bp.post("/rooms")
@allow(Role.ADMIN)
def new_room():
    form = NewRoomForm()
    if not form.validate():
        return _rooms_page(form, status=422)
    try:
        added = catalog.add_room(form.location.data, form.name.data, by=staff_actor())
    except (ValidationFailed, catalog.NameTaken) as exc:
        return _rooms_page(form, status=_field_errors(form, exc))
    flash(f"Room added: {added.name}.", "success")
    return redirect(url_for(".rooms", location=added.location_id), code=303)


def _rooms_page(form, *, status=200):
    places = catalog.locations()
    form.location.choices = [SelectChoice(place.id, place.name) for place in places]
    return render_template(
        "settings/catalog/rooms.html",
        locations=places,
        form=form,
        version=catalog.room_version,
    ), status


@bp.route("/rooms/<int:room_id>", methods=["GET", "POST"])
@allow(Role.ADMIN)
def room(room_id: int):
    current = catalog.room(room_id)
    form = RoomForm()
    if not form.is_submitted():
        return _room_page(current)
    if not form.validate():
        return _room_page(current, form, status=422)
    try:
        changes = catalog.rename_room(
            room_id, form.name.data, version=form.version.data or "", by=staff_actor()
        )
    except (ValidationFailed, catalog.NameTaken) as exc:
        return _room_page(current, form, status=_field_errors(form, exc))
    except catalog.StaleForm as exc:
        return _room_page(current, status=409, problem=exc.message)
    flash("Room renamed." if changes else "Nothing changed.", "success" if changes else "info")
    return redirect(url_for(".rooms", location=current.location_id), code=303)


@bp.post("/rooms/<int:room_id>/deactivate")
@allow(Role.ADMIN)
def deactivate_room(room_id: int):
    return _set_active(room_id, active=False)


@bp.post("/rooms/<int:room_id>/reactivate")
@allow(Role.ADMIN)
def reactivate_room(room_id: int):
    return _set_active(room_id, active=True)


def _set_active(room_id: int, *, active: bool):
    current = catalog.room(room_id)
    # CSRFProtect has checked the token; a missing version is a stale page, said as such.
    form = RoomActiveForm()
    try:
        changes = catalog.set_room_active(
            room_id, active, version=form.version.data or "", by=staff_actor()
        )
    except catalog.InUse as exc:
        return _room_page(current, status=409, problem=exc.message, visits=exc.visits)
    except catalog.StaleForm as exc:
        return _room_page(current, status=409, problem=exc.message)
    if changes:
        flash("Room reactivated." if active else "Room deactivated.", "success")
    else:
        flash("Nothing changed.", "info")
    return redirect(url_for(".rooms", location=current.location_id), code=303)


def _room_page(current, form=None, *, status=200, problem=None, visits=()):
    if form is None:
        form = RoomForm(formdata=None, data={"name": current.name})
    if not form.version.data:
        form.version.data = catalog.room_version(current)
    return render_template(
        "settings/catalog/room.html",
        room=current,
        form=form,
        problem=problem,
        visits=visits,
        version=catalog.room_version(current),
    ), status
