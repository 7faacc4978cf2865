"""The desk's course pages: book a whole series in one step, and move its sessions."""

from __future__ import annotations

from dataclasses import replace

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from clinic.audit.context import staff_actor
from clinic.courses import queries
from clinic.courses import services as course_services
from clinic.courses.forms import CourseForm, MoveForm
from clinic.courses.plan import template
from clinic.errors import ChangeNotAllowed, SlotUnavailable, ValidationFailed
from clinic.staff.auth import any_staff_member
from clinic.staff.forms import record_id
from clinic.web.formatting import format_when

# Nested in the staff area (clinic/staff/area.py), which lets only signed-in staff in.
bp = Blueprint("courses", __name__)


@bp.route("/new", methods=["GET", "POST"])
@any_staff_member
def new():
    """Plan a course: choose the first session among the day's free times, preview where every
    session lands (clashes with the nearest free times instead), and book on confirm only."""
    patient = queries.patient(record_id(request.args.get("patient"), "patient"))
    form = CourseForm(
        services=queries.treatments(),
        practitioners=queries.practitioners(),
        chosen_service=request.values.get("service"),
    )
    if request.method == "GET" and request.args.get("service"):
        form.service.data = request.args["service"]
    action = request.form.get("action", "preview")

    def page(status: int, problems=(), preview=None):
        return render_template(
            "courses/new.html",
            patient=patient,
            form=form,
            problems=list(problems),
            preview=preview,
            times=_first_times(form, patient.id),
        ), status

    valid = form.validate_on_submit()
    if form.is_submitted() and action == "times":
        form.first_time.errors = []  # chosen next, among the day's free times
        return page(200)
    if not valid:
        return page(422 if form.is_submitted() else 200)
    first_start = form.first_start()
    if first_start is None:
        return page(422)
    request_ = course_services.CourseRequest(
        patient_id=patient.id,
        service_slug=form.service.data,
        template_key=form.template.data,
        first_start=first_start,
        practitioner_id=form.practitioner_id(),
    )
    chosen = form.session_choices(request.form, first_start, _sessions_of(form))
    try:
        preview = course_services.preview_course(request_, chosen)
    except SlotUnavailable as exc:
        return page(409, [exc.message])
    except ValidationFailed as exc:
        return page(422, form.add_service_errors(exc.errors))
    confirmed = action == "confirm" and form.previewed_first.data == first_start.isoformat()
    form.previewed_first.data = first_start.isoformat()
    if not confirmed:
        problems = [] if action != "confirm" else ["Check the sessions below, then book."]
        return page(200 if action != "confirm" else 422, problems, preview)
    if not preview.ready:
        return page(409, _clash_words(preview), preview)
    try:
        course = course_services.book_course(
            replace(request_, starts=preview.starts),
            current_user._get_current_object(),
            by=staff_actor(),
        )
    except SlotUnavailable as exc:
        return page(409, [exc.message], course_services.preview_course(request_, chosen))
    except ValidationFailed as exc:
        return page(422, form.add_service_errors(exc.errors), preview)
    flash(
        f"Course booked: {course.sessions_planned} sessions from "
        f"{format_when(preview.starts[0])}. "
        "The patient signs consent for the course before the first session.",
        "success",
    )
    return redirect(url_for(".course", course_id=course.id), code=303)


def _first_times(form, patient_id: int) -> list:
    day = form.times_day()
    if day is None or form.service.data not in {c[0] for c in form.service.iter_choices()}:
        return []
    practitioner = form.practitioner.data
    return course_services.first_session_times(
        form.service.data,
        day,
        practitioner_id=int(practitioner) if practitioner and practitioner.isdigit() else None,
        patient_id=patient_id,
    )


def _sessions_of(form) -> int:
    return template(form.template.data).sessions


def _clash_words(preview) -> list[str]:
    return [
        f"Session {session.position} ({format_when(session.start)}) cannot be booked: "
        f"{session.clash} Nothing was booked; choose one of the free times offered, or another "
        "first date or time."
        for session in preview.clashes
    ]


@bp.get("/<int:course_id>")
@any_staff_member
def course(course_id: int):
    return _course_page(course_id)


@bp.post("/<int:course_id>/sessions/<int:appointment_id>/move")
@any_staff_member
def move(course_id: int, appointment_id: int):
    session = queries.course_session(course_id, appointment_id)
    form = MoveForm(prefix=f"move-{session.id}")

    def page(status: int, problems=()):
        return _course_page(
            course_id, status=status, moving=session.id, form=form, problems=problems
        )

    if not form.validate_on_submit() or (new_start := form.new_start()) is None:
        return page(422)
    try:
        moved = course_services.move_session(
            session.id, new_start, shift_later_sessions=form.shift_later.data, by=staff_actor()
        )
    except (SlotUnavailable, ChangeNotAllowed) as exc:
        return page(409, [exc.message])
    except ValidationFailed as exc:
        return page(422, [m for messages in exc.errors.values() for m in messages])
    flash(_moved_words(session, moved), "success")
    return redirect(url_for(".course", course_id=course_id), code=303)


def _course_page(course_id: int, *, status=200, moving=None, form=None, problems=()):
    page = queries.course_page(course_id)
    forms = {
        session.id: form
        if session.id == moving
        else MoveForm(formdata=None, prefix=f"move-{session.id}")
        for session in page.sessions
    }
    return render_template(
        "courses/course.html",
        page=page,
        forms=forms,
        moving=moving,
        problems=list(problems),
    ), status


def _moved_words(session, moved) -> str:
    words = f"Session {session.course_position} moved to {format_when(session.start_at)}."
    later = sorted(a.course_position for a in moved if a.id != session.id)
    if len(later) == 1:
        words += f" Session {later[0]} moved with it."
    elif later:
        words += f" Sessions {later[0]}–{later[-1]} moved with it."
    return words
