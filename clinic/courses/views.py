"""The desk's course pages: book a whole series in one step, and move its sessions."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from clinic.audit.context import staff_actor
from clinic.courses import queries
from clinic.courses import services as course_services
from clinic.courses.forms import CourseForm, MoveForm
from clinic.errors import ChangeNotAllowed, SlotUnavailable, ValidationFailed
from clinic.staff.auth import any_staff_member
from clinic.staff.forms import record_id
from clinic.web.formatting import format_when

# Nested in the staff area (clinic/staff/area.py), which lets only signed-in staff in.
bp = Blueprint("courses", __name__)


@bp.route("/new", methods=["GET", "POST"])
@any_staff_member
def new():
    patient = queries.patient(record_id(request.args.get("patient"), "patient"))
    form = CourseForm(
        services=queries.treatments(),
        practitioners=queries.practitioners(),
        chosen_service=request.values.get("service"),
    )
    if request.method == "GET" and request.args.get("service"):
        form.service.data = request.args["service"]

    def page(status: int, problem: str | None = None, problems=()):
        problems = [*([problem] if problem else []), *problems]
        return render_template(
            "courses/new.html", patient=patient, form=form, problems=problems
        ), status

    if not form.validate_on_submit():
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
    try:
        course = course_services.book_course(
            request_, current_user._get_current_object(), by=staff_actor()
        )
    except SlotUnavailable as exc:
        return page(409, problem=exc.message)
    except ValidationFailed as exc:
        return page(422, problems=form.add_service_errors(exc.errors))
    flash(
        f"Course booked: {course.sessions_planned} sessions from {format_when(first_start)}. "
        "The patient signs consent for the course before the first session.",
        "success",
    )
    return redirect(url_for(".course", course_id=course.id), code=303)


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
