"""The staff area: every staff address, page or error, is private and wears the staff layout.

The walks read the routes from ``app.url_map``, so a staff page added later is checked without
editing this file.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from flask import url_for

from clinic.calendar import views as calendar_views
from clinic.courses.services import CourseRequest, book_course
from clinic.staff.forms import MAX_RECORD_ID
from tests.factories import make_booking, make_clinic
from tests.helpers import csrf_token, make_staff, sign_in

STAFF_PREFIXES = ("/desk", "/review", "/admin", "/login", "/logout", "/password")
PUBLIC_STAFF_PAGES = {
    "staff.account.login",
    "staff.account.logout",
    "staff.account.choose_password",
}
TUESDAY_10 = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)
NO_SUCH_ID = 999_999


def under_staff_prefix(path: str) -> bool:
    return any(path == prefix or path.startswith(prefix + "/") for prefix in STAFF_PREFIXES)


def staff_rules(app):
    return [
        rule
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("staff.") or under_staff_prefix(rule.rule)
    ]


def fill(rule, record_id: int) -> str:
    """The rule's path with every int part set to ``record_id`` and text parts to a kind."""
    values = {}
    for name, converter in rule._converters.items():
        kind = type(converter).__name__
        if kind == "IntegerConverter":
            values[name] = record_id
        elif kind == "UnicodeConverter":
            values[name] = "confirmation"
        else:
            pytest.fail(f"{rule.rule}: teach this walk the {kind} part {name!r}")
    return rule.build(values, append_unknown=False)[1]


def requests_for(app, record_id: int = 1):
    """(method, path, endpoint) for every method of every staff rule."""
    return [
        (method, fill(rule, record_id), rule.endpoint)
        for rule in staff_rules(app)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"})
    ]


def assert_private(response, what: str) -> None:
    assert response.headers.get("Cache-Control") == "no-store", what


def assert_staff_layout(response, what: str) -> None:
    page = response.get_data(as_text=True)
    assert 'class="layout-staff"' in page, what
    assert 'class="site-footer"' not in page, what
    assert "Back to booking" not in page, what


@pytest.fixture
def records(app):
    make_clinic(practitioners=1)
    appointment = make_booking("microneedling", TUESDAY_10)
    course = book_course(
        CourseRequest(
            appointment.patient_id,
            "microneedling-steroid",
            "three-weekly-3",
            datetime(2026, 3, 17, 10, tzinfo=UTC),
        )
    )
    make_staff(role="admin", email="admin@example.com")
    make_staff(role="desk", email="desk@example.com")
    return appointment, course


@pytest.fixture
def admin(client, records):
    sign_in(client, email="admin@example.com")
    return client


@pytest.fixture
def desk(client, records):
    sign_in(client, email="desk@example.com")
    return client


# --- the family ---------------------------------------------------------------------------


def test_every_route_under_a_staff_address_belongs_to_the_staff_area(app):
    rules = staff_rules(app)
    assert len(rules) >= 25
    for rule in rules:
        assert rule.endpoint.startswith("staff."), rule.rule
        assert under_staff_prefix(rule.rule), rule.endpoint


@pytest.mark.parametrize(
    ("endpoint", "values", "path"),
    [
        ("staff.account.login", {}, "/login"),
        ("staff.account.logout", {}, "/logout"),
        ("staff.desk.index", {}, "/desk"),
        ("staff.visits.visit", {"appointment_id": 7}, "/desk/visits/7"),
        ("staff.visits.check_in", {"appointment_id": 7}, "/desk/visits/7/check-in"),
        ("staff.visits.rescreen", {"appointment_id": 7}, "/desk/visits/7/rescreen"),
        ("staff.visits.consent", {"appointment_id": 7}, "/desk/visits/7/consent"),
        ("staff.visits.complete", {"appointment_id": 7}, "/desk/visits/7/complete"),
        ("staff.visits.finish", {"appointment_id": 7}, "/desk/visits/7/finish"),
        ("staff.visits.no_show", {"appointment_id": 7}, "/desk/visits/7/no-show"),
        ("staff.visits.consent_record", {"signed_id": 7}, "/desk/visits/consents/7"),
        ("staff.courses.new", {}, "/desk/courses/new"),
        ("staff.courses.course", {"course_id": 7}, "/desk/courses/7"),
        (
            "staff.courses.move",
            {"course_id": 7, "appointment_id": 8},
            "/desk/courses/7/sessions/8/move",
        ),
        ("staff.review.queue", {}, "/review"),
        ("staff.review.detail", {"screening_id": 7}, "/review/7"),
        ("staff.review.approve", {"screening_id": 7}, "/review/7/approve"),
        ("staff.review.decline", {"screening_id": 7}, "/review/7/decline"),
        ("staff.reports.period", {}, "/desk/reports"),
        ("staff.reports.csv", {}, "/desk/reports/reports.csv"),
        ("staff.reports.day_sheet", {}, "/desk/reports/day-sheet"),
        ("staff.texts.index", {}, "/desk/texts"),
        ("staff.texts.alerts", {}, "/desk/texts/alerts"),
        ("staff.texts.acknowledge", {"alert_id": 7}, "/desk/texts/alerts/7/acknowledge"),
        ("staff.texts.inbox", {}, "/desk/texts/inbox"),
        ("staff.texts.handled", {"inbound_id": 7}, "/desk/texts/inbox/7/handled"),
        ("staff.texts.patient", {"patient_id": 7}, "/desk/texts/patients/7"),
        ("staff.texts.templates", {}, "/desk/texts/templates"),
        (
            "staff.texts.save_template",
            {"kind": "confirmation"},
            "/desk/texts/templates/confirmation",
        ),
        (
            "staff.texts.restore_template",
            {"kind": "confirmation"},
            "/desk/texts/templates/confirmation/restore",
        ),
    ],
)
def test_staff_addresses_stay_as_they_were_under_their_new_endpoint_names(
    app, endpoint, values, path
):
    with app.test_request_context():
        assert url_for(endpoint, **values) == path


# --- every staff route, signed in and signed out --------------------------------------------


def test_every_staff_page_is_private_and_staff_styled_for_an_admin(app, admin):
    walked = requests_for(app)
    for method, path, _endpoint in walked:
        if method != "GET":
            continue
        response = admin.get(path)
        what = f"GET {path} -> {response.status_code}"
        assert response.status_code < 500, what
        assert_private(response, what)
        if response.mimetype == "text/html" and response.status_code == 200:
            assert_staff_layout(response, what)
    assert sum(method == "GET" for method, _, _ in walked) >= 12


def test_every_staff_form_sent_without_its_token_gets_a_private_staff_error_page(app, admin):
    posts = [(path, endpoint) for method, path, endpoint in requests_for(app) if method == "POST"]
    assert len(posts) >= 12
    for path, endpoint in posts:
        response = admin.post(path, data={})
        what = f"POST {path} ({endpoint}) -> {response.status_code}"
        assert response.status_code == 400, what
        assert "Form expired" in response.get_data(as_text=True), what
        assert_private(response, what)
        assert_staff_layout(response, what)


def test_signed_out_visitors_are_sent_to_sign_in_and_nothing_is_cached(app, records, client):
    for method, path, endpoint in requests_for(app):
        response = client.open(path, method=method)
        what = f"{method} {path} -> {response.status_code}"
        assert_private(response, what)
        if endpoint in PUBLIC_STAFF_PAGES:
            # 404: a password link that is not one.
            assert response.status_code in (200, 302, 400, 404), what
        elif method == "GET":
            assert response.status_code == 302, what
            assert response.headers["Location"].startswith("/login?next="), what
        else:
            assert response.status_code == 400, what  # the missing token is refused first


def test_ids_no_row_can_have_and_rows_that_are_gone_are_private_staff_404s(app, admin):
    walked = [
        (method, path)
        for record_id in (MAX_RECORD_ID + 1, NO_SUCH_ID)
        for method, path, _ in requests_for(app, record_id)
        if method == "GET" and re.search(rf"/{record_id}(/|$)", path)
    ]
    assert len(walked) >= 10
    for method, path in walked:
        response = admin.open(path, method=method)
        what = f"{method} {path} -> {response.status_code}"
        assert response.status_code == 404, what
        assert_private(response, what)
        assert_staff_layout(response, what)


# --- error pages ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/desk/no-such-page",
        "/desk/visits/abc",
        "/review/x/y",
        "/admin",
        "/admin/no-such-page",
        "/login/x",
    ],
)
@pytest.mark.parametrize("signed_in", [True, False])
def test_unknown_addresses_under_a_staff_prefix_get_a_private_staff_404(
    client, records, path, signed_in
):
    if signed_in:
        sign_in(client, email="admin@example.com")
    response = client.get(path)
    assert response.status_code == 404
    assert_private(response, path)
    assert_staff_layout(response, path)


@pytest.mark.parametrize(
    ("method", "path"), [("GET", "/logout"), ("PUT", "/desk"), ("DELETE", "/review")]
)
def test_a_wrong_method_on_a_staff_address_gets_a_private_staff_405(admin, method, path):
    response = admin.open(path, method=method)
    assert response.status_code == 405
    assert_private(response, path)
    assert_staff_layout(response, path)


def test_a_desk_account_on_a_practitioners_page_gets_a_private_staff_403(desk):
    response = desk.get("/review")
    assert response.status_code == 403
    assert_private(response, "/review")
    assert_staff_layout(response, "/review")


def test_pages_under_admin_are_for_admins_only(app, records, client):
    # Stands in for an admin page nested in the staff area's admin blueprint.
    app.add_url_rule("/admin/probe", endpoint="staff.admin.probe", view_func=lambda: "admin page")
    assert client.get("/admin/probe").headers["Location"].startswith("/login?next=")
    sign_in(client, email="desk@example.com")
    refused = client.get("/admin/probe")
    assert refused.status_code == 403
    assert_private(refused, "desk on /admin")
    assert_staff_layout(refused, "desk on /admin")
    admin_client = app.test_client()
    sign_in(admin_client, email="admin@example.com")
    allowed = admin_client.get("/admin/probe")
    assert allowed.status_code == 200
    assert allowed.get_data(as_text=True) == "admin page"
    assert_private(allowed, "admin on /admin")


def test_a_crash_on_a_staff_page_is_a_private_staff_500(admin, monkeypatch):
    def broken(*_args, **_kwargs):
        raise RuntimeError("the desk page failed to render")

    monkeypatch.setattr(calendar_views, "render_template", broken)
    response = admin.get("/desk")
    assert response.status_code == 500
    assert_private(response, "/desk crash")
    assert_staff_layout(response, "/desk crash")


def test_refused_and_invalid_staff_actions_stay_private_and_staff_styled(admin, records):
    appointment, _course = records
    token = csrf_token(admin, f"/desk/visits/{appointment.id}")
    invalid = admin.post(f"/desk/visits/{appointment.id}/check-in", data={"csrf_token": token})
    assert invalid.status_code == 422
    not_yet = admin.post(f"/desk/visits/{appointment.id}/finish", data={"csrf_token": token})
    assert not_yet.status_code == 409
    for response in (invalid, not_yet):
        assert_private(response, str(response.status_code))
        assert_staff_layout(response, str(response.status_code))


def test_a_domain_error_on_a_staff_page_uses_the_staff_error_page(admin):
    response = admin.get(f"/desk/texts/patients/{NO_SUCH_ID}")
    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert '<section class="card staff-error">' in page
    assert "Back to the desk" in page
    assert_private(response, "domain 404")
    assert_staff_layout(response, "domain 404")


# --- patient pages keep their own rules -------------------------------------------------------


@pytest.mark.parametrize("path", ["/no-such-page", "/desktop", "/reviews", "/administer"])
def test_unknown_patient_addresses_get_the_patient_404_without_no_store(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert "Cache-Control" not in response.headers
    page = response.get_data(as_text=True)
    assert 'class="layout-patient"' in page
    assert "Back to booking" in page


def test_shared_assets_and_public_answers_stay_cacheable(client, records):
    for path in ("/static/css/site.css", "/static/css/staff.css", "/api/v1/services"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert "no-store" not in response.headers.get("Cache-Control", ""), path
        response.close()


def test_patient_pages_keep_the_patient_layout_even_for_signed_in_staff(admin):
    response = admin.get("/")
    page = response.get_data(as_text=True)
    assert 'class="layout-patient"' in page
    assert 'class="site-footer"' in page
    # The booking pages' own rule: nothing there belongs in a cache either.
    assert response.headers["Cache-Control"] == "no-store"
