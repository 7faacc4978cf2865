"""The practitioners' review queue: screenings held for review, approved or declined here."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user

from clinic.audit.context import staff_actor
from clinic.errors import ChangeNotAllowed, ValidationFailed
from clinic.screening import queries
from clinic.screening import services as screening_services
from clinic.screening.forms import DeclineForm
from clinic.staff.auth import roles_required
from clinic.staff.forms import ButtonForm
from clinic.staff.models import Role

# Nested in the staff area (clinic/staff/area.py), which lets only signed-in staff in.
bp = Blueprint("review", __name__)

reviewers_only = roles_required(Role.PRACTITIONER, Role.ADMIN)

REVIEW_RECORDED = "Review recorded. The page below shows the decision and the visit."


# "/review" itself, not "/review/": the address staff type and the desk links to.
@bp.get("")
@reviewers_only
def queue():
    return render_template("review/queue.html", items=queries.review_queue())


@bp.get("/<int:screening_id>")
@reviewers_only
def detail(screening_id: int):
    return _detail_page(screening_id)


@bp.post("/<int:screening_id>/approve")
@reviewers_only
def approve(screening_id: int):
    if not ButtonForm().validate_on_submit():
        return _detail_page(screening_id, status=400, problem="The form had expired; try again.")
    try:
        decision = screening_services.approve(
            screening_id, current_user._get_current_object(), by=staff_actor()
        )
    except ChangeNotAllowed as exc:
        return _detail_page(screening_id, status=409, problem=exc.message)
    return _reviewed(decision)


@bp.post("/<int:screening_id>/decline")
@reviewers_only
def decline(screening_id: int):
    form = DeclineForm()
    if not form.validate_on_submit():
        return _detail_page(screening_id, status=422, decline_form=form)
    try:
        decision = screening_services.decline(
            screening_id, current_user._get_current_object(), form.reason.data, by=staff_actor()
        )
    except ValidationFailed as exc:
        form.reason.errors = [*form.reason.errors, *exc.errors.get("reason", [])]
        return _detail_page(screening_id, status=422, decline_form=form)
    except ChangeNotAllowed as exc:
        return _detail_page(screening_id, status=409, problem=exc.message)
    return _reviewed(decision)


def _detail_page(screening_id: int, *, status: int = 200, problem=None, decline_form=None):
    return render_template(
        "review/detail.html",
        item=queries.review_item(screening_id),
        approve_form=ButtonForm(formdata=None),
        decline_form=decline_form or DeclineForm(formdata=None),
        problem=problem,
    ), status


def _reviewed(decision):
    """Back to the screening's own page, which shows the decision and the visit's state.

    The flash message travels in the session cookie, which anyone holding it can read, so it
    names no patient and no outcome.
    """
    flash(REVIEW_RECORDED, "success")
    return redirect(url_for(".detail", screening_id=decision.screening.id), code=303)
