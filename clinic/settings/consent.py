"""Settings: consent form versions (/admin/settings/consent). List, read, publish."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for

from clinic.audit.context import staff_actor
from clinic.errors import ChangeNotAllowed, ValidationFailed
from clinic.settings import consent_services as services
from clinic.settings.consent_forms import PublishForm
from clinic.staff.auth import allow
from clinic.staff.models import Role
from clinic.web.formatting import format_long_date
from clinic.web.forms import attach_errors

bp = Blueprint("consent", __name__)


@bp.get("")
@allow(Role.ADMIN)
def index():
    return render_template(
        "settings/consent/index.html",
        rows=services.versions(),
        published_by=services.published_by_label,
    )


@bp.get("/<int:number>")
@allow(Role.ADMIN)
def show(number: int):
    return render_template(
        "settings/consent/version.html",
        row=services.version(number),
        published_by=services.published_by_label,
    )


@bp.get("/new")
@allow(Role.ADMIN)
def new():
    newest = services.latest()
    form = PublishForm(
        formdata=None,
        data={"title": newest.title, "text": newest.text, "after_version": newest.version},
    )
    return _publish_page(form, newest)


@bp.post("/new")
@allow(Role.ADMIN)
def publish():
    form = PublishForm()
    if not form.validate_on_submit():
        return _publish_page(form, services.latest(), status=422)
    entry = services.PublishInput(
        title=form.title.data,
        text=form.text.data,
        effective_on=form.effective_on.data,
        after_version=form.after_version.data,
    )
    try:
        published = services.publish(entry, by=staff_actor())
    except ValidationFailed as exc:
        attach_errors(form, exc.errors)
        return _publish_page(form, services.latest(), status=422)
    except ChangeNotAllowed as exc:
        # Another admin published first: keep this text, and let a second press publish it
        # after the new version has been read.
        newest = services.latest()
        form.after_version.data = newest.version
        return _publish_page(form, newest, status=409, problem=exc.message)
    flash(
        f"Published version {published.version}; it takes effect on "
        f"{format_long_date(published.effective_on)}.",
        "success",
    )
    return redirect(url_for(".index"), code=303)


def _publish_page(form: PublishForm, newest, *, status: int = 200, problem: str = ""):
    return render_template(
        "settings/consent/new.html", form=form, newest=newest, problem=problem
    ), status
