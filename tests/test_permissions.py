"""Who may open each staff page: every staff route declares its roles, and the area enforces them.

The walks read the routes from ``app.url_map`` and the declarations from the views
(``@allow``, ``@any_staff_member``, ``@public_page`` in clinic/staff/auth.py; the admin child
declares admins for the pages nested in it), so a staff page added later is checked without
editing this file, and one without a declaration is named here.
"""

from __future__ import annotations

import pytest

from clinic.staff.area import roles_for
from clinic.staff.auth import is_public_page
from clinic.staff.models import Role
from tests.helpers import PASSWORD, make_staff

# Clinical pages the desk must never reach, whatever their views declare.
NOT_FOR_THE_DESK = ("staff.review.", "staff.adverse_events.", "staff.visits.complete")
ADMINS_ONLY = ("staff.admin.",)


@pytest.fixture
def app_config():
    # Forms go without their token here, so a refused role's 403 is not hidden behind the 400
    # every tokenless form gets (tests/test_staff_area.py covers the token).
    return {"WTF_CSRF_ENABLED": False}


def staff_rules(app):
    return sorted(
        (rule for rule in app.url_map.iter_rules() if rule.endpoint.startswith("staff.")),
        key=lambda rule: (rule.endpoint, rule.rule),
    )


def fill(rule) -> str:
    values = {}
    for name, converter in rule._converters.items():
        kind = type(converter).__name__
        if kind == "IntegerConverter":
            values[name] = 1
        elif kind == "UnicodeConverter":
            values[name] = "confirmation"
        else:
            pytest.fail(f"{rule.rule}: teach this walk the {kind} part {name!r}")
    return rule.build(values, append_unknown=False)[1]


def guarded_requests(app):
    """(method, path, endpoint) for every method of every staff rule that is not public."""
    return [
        (method, fill(rule), rule.endpoint)
        for rule in staff_rules(app)
        if not is_public_page(app.view_functions[rule.endpoint])
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"})
    ]


def signed_in_as(app, role: Role):
    client = app.test_client()
    make_staff(role=role, email=f"{role}@example.com")
    response = client.post("/login", data={"email": f"{role}@example.com", "password": PASSWORD})
    assert response.status_code == 302 and not response.headers["Location"].startswith("/login")
    return client


def test_every_staff_route_declares_who_may_open_it(app):
    undeclared = [
        f"{rule.endpoint} ({rule.rule}): mark its view with @allow(Role...) or @any_staff_member"
        for rule in staff_rules(app)
        if not is_public_page(app.view_functions[rule.endpoint])
        and roles_for(rule.endpoint) is None
    ]
    assert undeclared == [], "\n".join(undeclared)


def test_admins_may_open_every_staff_page_and_clinical_pages_are_not_the_desks(app):
    assert staff_rules(app), "the walk found no staff routes"
    for rule in staff_rules(app):
        allowed = roles_for(rule.endpoint)
        if allowed is None:
            continue  # named by the test above
        assert Role.ADMIN in allowed, rule.endpoint
        if rule.endpoint.startswith(NOT_FOR_THE_DESK):
            assert Role.DESK not in allowed, rule.endpoint
        if rule.endpoint.startswith(ADMINS_ONLY):
            assert allowed == {Role.ADMIN}, rule.endpoint


@pytest.mark.parametrize("role", list(Role))
def test_each_role_reaches_exactly_the_staff_pages_declared_for_it(app, role):
    client = signed_in_as(app, role)
    wrong = []
    for method, path, endpoint in guarded_requests(app):
        allowed = roles_for(endpoint)
        assert allowed is not None, f"{endpoint} declares no roles"
        status = client.open(path, method=method).status_code
        if (role in allowed) == (status == 403):
            expected = "any answer but 403" if role in allowed else "403"
            wrong.append(f"{method} {path} ({endpoint}): {status}, expected {expected}")
    assert wrong == [], "\n".join(wrong)
    assert client.get("/desk").status_code == 200  # still signed in after the walk


def test_signed_out_visitors_are_sent_to_sign_in_from_every_guarded_staff_page(app, client):
    for method, path, endpoint in guarded_requests(app):
        response = client.open(path, method=method)
        assert response.status_code == 302, f"{method} {path} ({endpoint})"
        assert response.headers["Location"].startswith("/login?next="), endpoint


def test_a_staff_view_without_a_declaration_is_refused_for_everyone(app, monkeypatch, caplog):
    admin = signed_in_as(app, Role.ADMIN)

    def undeclared():
        return "open to all"

    monkeypatch.setitem(app.view_functions, "staff.desk.index", undeclared)
    response = admin.get("/desk")
    assert response.status_code == 500
    assert "open to all" not in response.get_data(as_text=True)
    assert "staff.desk.index declares no roles" in caplog.text
