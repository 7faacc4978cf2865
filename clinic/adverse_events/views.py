"""Adverse event pages: record one from a visit or an alert, follow it up, export the reports.

For practitioners and admins: the desk gets a 403 page.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user

from clinic.adverse_events import queries, report, rules
from clinic.adverse_events import services as event_services
from clinic.adverse_events.forms import EventForm, ListFilterForm
from clinic.audit.context import staff_actor
from clinic.booking.services import clinic_timezone
from clinic.clock import utcnow
from clinic.errors import ChangeNotAllowed, ValidationFailed
from clinic.staff.auth import allow
from clinic.staff.forms import keep_private, record_id
from clinic.staff.models import Role

# Nested in the staff area (clinic/staff/area.py), which signs in, keeps answers out of caches
# and refuses impossible ids; its hooks run before this blueprint's.
bp = Blueprint("adverse_events", __name__)

RECORDERS = (Role.PRACTITIONER, Role.ADMIN)


@bp.before_request
def _practitioners_and_admins_only():
    if current_user.role not in RECORDERS:
        abort(403, description="Only practitioners and administrators see adverse events.")


@bp.context_processor
def _labels():
    return {"rules": rules, "event_type_words": report.event_type_words}


@bp.get("")
@allow(*RECORDERS)
def index():
    form = ListFilterForm(request.args)
    if not form.validate():
        return render_template("adverse_events/list.html", form=form, events=None), 400
    filters = form.filters()
    return render_template(
        "adverse_events/list.html",
        form=form,
        events=queries.events(filters, page=form.page_number),
        patient=queries.patient(filters.patient_id) if filters.patient_id else None,
    )


@bp.get("/export.csv")
@allow(*RECORDERS)
def export():
    form = ListFilterForm(request.args)
    if not form.validate():
        return render_template("adverse_events/list.html", form=form, events=None), 400
    return _csv(queries.all_events(form.filters()), "adverse-events")


@bp.get("/<int:event_id>/report.csv")
@allow(*RECORDERS)
def event_csv(event_id: int):
    return _csv([queries.event(event_id)], f"adverse-event-{event_id}")


@bp.route("/new", methods=["GET", "POST"])
@allow(*RECORDERS)
def new():
    alert = None
    if request.args.get("appointment") is not None:
        chosen = queries.appointment(record_id(request.args.get("appointment"), "visit"))
        patient = chosen.patient
    elif request.args.get("alert") is not None:
        alert = queries.alert(record_id(request.args.get("alert"), "alert"))
        if alert.patient is None:
            abort(400, description="That alert came from an unknown number: no patient to name.")
        patient, chosen = alert.patient, None
    else:
        abort(400, description="Open this page from a visit or from an alert.")
    sessions = event_services.sessions_of(patient.id)
    form = EventForm(sessions=sessions)
    if request.method == "GET":
        latest = chosen if chosen in sessions else (sessions[0] if sessions else None)
        form.session.data = str(latest.id) if latest else None

    def page(status: int, problems=()):
        return render_template(
            "adverse_events/new.html",
            form=form,
            patient=patient,
            alert=alert,
            sessions=sessions,
            problems=list(problems),
        ), status

    if not sessions:
        return page(409 if form.is_submitted() else 200)
    if not form.validate_on_submit():
        return page(422 if form.is_submitted() else 200)
    try:
        event = event_services.record_event(
            form.session_id(),
            form.event_input(),
            by=staff_actor(),
            alert_id=alert.id if alert else None,
        )
    except ValidationFailed as exc:
        return page(422, form.add_service_errors(exc.errors))
    except ChangeNotAllowed as exc:
        return page(409, [exc.message])
    flash("Report saved.", "success")
    return redirect(url_for(".event", event_id=event.id), code=303)


@bp.get("/<int:event_id>")
@allow(*RECORDERS)
def event(event_id: int):
    return render_template("adverse_events/event.html", detail=queries.event(event_id))


@bp.route("/<int:event_id>/edit", methods=["GET", "POST"])
@allow(*RECORDERS)
def edit(event_id: int):
    detail = queries.event(event_id)
    form = EventForm() if request.method == "POST" else EventForm.filled_from(detail.event)

    def page(status: int, problems=()):
        return render_template(
            "adverse_events/edit.html", form=form, detail=detail, problems=list(problems)
        ), status

    if not form.validate_on_submit():
        return page(422 if form.is_submitted() else 200)
    try:
        event_services.update_event(event_id, form.event_input(), by=staff_actor())
    except ValidationFailed as exc:
        return page(422, form.add_service_errors(exc.errors))
    except ChangeNotAllowed as exc:
        return page(409, [exc.message])
    flash("Report updated.", "success")
    return redirect(url_for(".event", event_id=event_id), code=303)


def _csv(details, name: str) -> Response:
    config = current_app.config
    body = report.to_csv(
        details,
        organisation=config["CLINIC_NAME"],
        phone=config["CLINIC_PHONE"],
        tz=clinic_timezone(),
    )
    stamp = utcnow().astimezone(clinic_timezone()).date().isoformat()
    response = Response(body, mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}-{stamp}.csv"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    return keep_private(response)
