"""Security basics: CSRF, cookies, headers, sign-in gates and the sign-in rate limit."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from clinic import create_app
from clinic.clock import FrozenClock
from clinic.staff import services

PASSWORD = "correct horse battery"


@pytest.fixture
def app_config():
    return {"LOGIN_RATE_LIMIT": "3/minute"}


def csrf_token(client, path="/login", **kwargs) -> str:
    page = client.get(path, **kwargs).get_data(as_text=True)
    return re.search(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


def attempt(client, email="desk@example.com", password=PASSWORD, **kwargs):
    token = csrf_token(client, **kwargs)
    return client.post(
        "/login", data={"email": email, "password": password, "csrf_token": token}, **kwargs
    )


def make_staff(active=True, db=None):
    user = services.create_staff(
        email="desk@example.com", name="Jo Ellis", role="desk", password=PASSWORD
    )
    if not active:
        user.active = False
        db.session.commit()
    return user


# --- CSRF ---------------------------------------------------------------------------------


def test_sign_in_without_a_csrf_token_is_refused(client):
    make_staff()
    response = client.post("/login", data={"email": "desk@example.com", "password": PASSWORD})
    assert response.status_code == 400
    assert "Form expired" in response.get_data(as_text=True)
    assert client.get("/desk").status_code == 302


def test_sign_in_with_a_forged_csrf_token_is_refused(client):
    make_staff()
    client.get("/login")
    response = client.post(
        "/login",
        data={"email": "desk@example.com", "password": PASSWORD, "csrf_token": "forged"},
    )
    assert response.status_code == 400


def test_sign_out_without_a_csrf_token_is_refused(client):
    make_staff()
    assert attempt(client).status_code == 302
    assert client.post("/logout").status_code == 400
    assert client.get("/desk").status_code == 200


# --- cookies ------------------------------------------------------------------------------


def session_cookie(response) -> str:
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]
    assert cookies, "the sign-in page sets a session cookie for its CSRF token"
    return cookies[0]


def test_session_cookie_is_http_only_and_same_site_lax(client):
    cookie = session_cookie(client.get("/login"))
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # PUBLIC_BASE_URL is http:// in tests


def test_session_cookie_is_secure_behind_https(tmp_path):
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'https.sqlite'}",
            "PUBLIC_BASE_URL": "https://clinic.example",
            "CLOCK": FrozenClock(datetime(2026, 3, 2, 8, 0, tzinfo=UTC)),
            "LOGIN_RATE_LIMIT": "",
        }
    )
    response = app.test_client().get("/login", base_url="https://clinic.example")
    cookie = session_cookie(response)
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    with app.app_context():
        from clinic.extensions import db

        db.engine.dispose()


# --- headers ------------------------------------------------------------------------------


def assert_strict_headers(response):
    policy = response.headers["Content-Security-Policy"]
    directives = dict(
        (part.split()[0], part.split()[1:]) for part in policy.split(";") if part.strip()
    )
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["script-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'"]
    for sources in directives.values():
        for source in sources:
            # Only this site: no inline code, no eval, no other hosts or schemes beyond data:.
            assert source in {"'self'", "'none'", "data:"}, policy
    assert "unsafe-inline" not in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "no-referrer"


def test_pages_carry_the_strict_security_headers(client):
    response = client.get("/login")
    assert response.status_code == 200
    assert_strict_headers(response)


def test_api_answers_carry_the_strict_security_headers(client):
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.is_json
    assert_strict_headers(response)


def test_login_page_has_no_inline_script_or_style(client):
    page = client.get("/login").get_data(as_text=True)
    assert "<script" not in page
    assert "<style" not in page
    assert " style=" not in page


# --- sign-in gates ------------------------------------------------------------------------


def test_desk_sends_signed_out_visitors_to_sign_in(client):
    response = client.get("/desk")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")
    assert "Please sign in" in client.get(response.headers["Location"]).get_data(as_text=True)


def test_inactive_staff_cannot_sign_in(client, db):
    make_staff(active=False, db=db)
    response = attempt(client)
    assert response.status_code == 200
    assert "Email or password is not right." in response.get_data(as_text=True)
    assert client.get("/desk").status_code == 302


@pytest.mark.parametrize(
    "target",
    ["https://evil.example/", "//evil.example/", "/\\evil.example", "http:evil.example"],
)
def test_sign_in_never_redirects_to_another_site(client, target):
    make_staff()
    response = attempt(client, query_string={"next": target})
    assert response.status_code == 302
    assert response.headers["Location"] == "/desk"


# --- rate limit ---------------------------------------------------------------------------


def test_too_many_sign_in_attempts_get_a_429_page(client):
    make_staff()
    for _ in range(3):
        assert attempt(client, password="guess guess guess").status_code == 200
    response = attempt(client)  # even the right password waits now
    assert response.status_code == 429
    assert "Too many sign-in attempts" in response.get_data(as_text=True)
    assert client.get("/login").status_code == 200  # only attempts count, not the page


def test_sign_in_rate_limit_is_per_client_address(app, client):
    make_staff()
    for _ in range(3):
        attempt(client, password="guess guess guess")
    assert attempt(client).status_code == 429
    other = app.test_client()
    elsewhere = {"environ_base": {"REMOTE_ADDR": "192.0.2.7"}}
    assert attempt(other, **elsewhere).status_code == 302
