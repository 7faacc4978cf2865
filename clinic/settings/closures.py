"""Settings: closures of a whole location (/admin/settings/closures): bank holidays, a
training day, a burst pipe. Nobody there can be booked while it is closed."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for

from clinic.audit.context import staff_actor
from clinic.errors import ValidationFailed
from clinic.settings import practitioners_services as services
from clinic.settings.practitioners_forms import ClosureForm
from clinic.staff.auth import allow
from clinic.staff.models import Role
from clinic.web.forms import attach_errors

bp = Blueprint("closures", __name__)


@bp.route("", methods=["GET", "POST"])
@allow(Role.ADMIN)
def index():
    form = _form()
    if not form.is_submitted():
        return _page(form)
    if not form.validate():
        return _page(form, status=422)
    try:
        _closure, inside = services.add_closure(
            form.location_id.data, form.entry(), by=staff_actor()
        )
    except ValidationFailed as exc:
        attach_errors(form, exc.errors, fallback=form.location_id)
        return _page(form, status=422)
    except services.OverlappingTimeOff as exc:
        return _page(form, status=409, problem=exc.message)
    if inside:
        count = len(inside)
        flash(
            f"Closure added. {count} booked visit{'' if count == 1 else 's'} "
            f"{'is' if count == 1 else 'are'} inside it: they are kept, listed below for you "
            "to move.",
            "info",
        )
    else:
        flash("Closure added.", "success")
    return redirect(url_for(".index"), code=303)


@bp.post("/<int:closure_id>/remove")
@allow(Role.ADMIN)
def remove(closure_id: int):
    try:
        services.remove_closure(closure_id, by=staff_actor())
    except services.StaleSettings as exc:
        return _page(_form(blank=True), status=409, problem=exc.message)
    flash("Closure removed: the location can be booked again at those times.", "success")
    return redirect(url_for(".index"), code=303)


def _form(*, blank: bool = False) -> ClosureForm:
    form = ClosureForm(formdata=None) if blank else ClosureForm()
    form.fill_choices(services.locations())
    return form


def _page(form, *, status=200, problem=None):
    return render_template(
        "settings/closures/index.html",
        form=form,
        problem=problem,
        entries=services.upcoming_closures(),
        several_locations=len(form.location_id.choices) > 1,
    ), status
