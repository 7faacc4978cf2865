"""Response headers that every page and API answer carries."""

from __future__ import annotations

from flask import Flask, Response, current_app

# No inline script or style, nothing from other hosts: pages work with JavaScript off and every
# asset is served from /static.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


# Set on every answer unless its view chose otherwise.
HEADERS = (
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    # Manage links carry a private token in the path: never leak it to another site.
    ("Referrer-Policy", "no-referrer"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
)
HSTS = ("Strict-Transport-Security", "max-age=31536000; includeSubDomains")


def add_security_headers(response: Response) -> Response:
    headers = response.headers
    # One look at the headers a view set, then the missing ones in one go: this runs on every
    # answer, and a lookup per header scans the list each time.
    present = {key.lower() for key, _value in headers.items()}
    missing = [pair for pair in HEADERS if pair[0].lower() not in present]
    if current_app.config["PUBLIC_BASE_URL"].startswith("https://") and (
        HSTS[0].lower() not in present
    ):
        missing.append(HSTS)
    if missing:
        headers.extend(missing)
    return response


def init_app(app: Flask) -> None:
    app.after_request(add_security_headers)
