"""A patient's private link stays private: never in a log, closed once the visit is over, and a
signed id the database cannot hold is refused like a tampered one."""

from __future__ import annotations

import logging
import os
import re
import socket
import subprocess
import threading
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import pytest

from clinic.actors import Actor, ActorKind
from clinic.booking import services
from clinic.booking.tokens import MAX_ID, _serializer, manage_token
from clinic.extensions import db
from clinic.visits import changes
from clinic.visits.lifecycle import Event
from clinic.web.log_privacy import redact_links
from tests.factories import make_booking, make_clinic
from tests.helpers import copy_sqlite_template

ROOT = Path(__file__).resolve().parent.parent
WED_10 = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)
LOCATION_PHONE = "+44 20 7946 0000"
DESK = Actor(ActorKind.DESK, staff_name="Jo Ellis")
TOKEN = "WzEsImFiYyJd.aBcDeF.x-Y_z0123456789"


# --- redaction ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "redacted"),
    [
        ('"GET /manage/T0k.en-_1 HTTP/1.1" 200', '"GET /manage/<redacted> HTTP/1.1" 200'),
        ("POST /manage/T0k.en/cancel", "POST /manage/<redacted>/cancel"),
        (
            "/manage/T0k.en/reschedule?day=2026-03-04",
            "/manage/<redacted>/reschedule?day=2026-03-04",
        ),
        ("GET /api/v1/bookings/T0k.en", "GET /api/v1/bookings/<redacted>"),
        ("https://clinic.example/manage/T0k.en", "https://clinic.example/manage/<redacted>"),
        # What is no private link stays as it is: the route pattern, the booking endpoint.
        ("error on GET /manage/<token>/cancel", "error on GET /manage/<token>/cancel"),
        ("POST /api/v1/bookings HTTP/1.1", "POST /api/v1/bookings HTTP/1.1"),
        ("GET /desk/visits/12", "GET /desk/visits/12"),
    ],
)
def test_private_segments_are_redacted(line, redacted):
    assert redact_links(line) == redacted


def messages(caplog) -> list[str]:
    return [record.getMessage() for record in caplog.records]


def test_the_apps_own_log_lines_are_redacted(app, caplog):
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("clinic.booking.views").info("opened %s", f"/manage/{TOKEN}")
        app.logger.warning(f"odd request to /api/v1/bookings/{TOKEN}")

    assert messages(caplog) == [
        "opened /manage/<redacted>",
        "odd request to /api/v1/bookings/<redacted>",
    ]
    assert TOKEN not in caplog.text


def test_the_development_servers_access_log_is_redacted(app, serve, caplog):
    base = serve(app)
    with caplog.at_level(logging.INFO, logger="werkzeug"):
        for path in (f"/manage/{TOKEN}", f"/api/v1/bookings/{TOKEN}"):
            with pytest.raises(urllib.error.HTTPError):
                urllib.request.urlopen(base + path, timeout=10)

    lines = [r.getMessage() for r in caplog.records if r.name == "werkzeug"]
    assert any("GET /manage/<redacted> HTTP/1.1" in line for line in lines), lines
    assert any("GET /api/v1/bookings/<redacted> HTTP/1.1" in line for line in lines), lines
    assert TOKEN not in caplog.text


def test_an_unexpected_error_logs_the_route_not_the_path(app, client, caplog):
    def broken(token):
        raise RuntimeError("boom")

    app.add_url_rule("/manage/<token>/broken", "broken", broken)
    with caplog.at_level(logging.ERROR):
        response = client.get(f"/manage/{TOKEN}/broken")

    assert response.status_code == 500
    assert "unhandled error on GET /manage/<token>/broken" in messages(caplog)
    assert TOKEN not in caplog.text


# --- gunicorn's access log ------------------------------------------------------------------


def procfile_web_command() -> str:
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.startswith("web:"):
            return line.removeprefix("web:").strip()
    raise AssertionError("the Procfile has no web process")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_gunicorn_access_log_never_holds_a_token(sqlite_template, tmp_path):
    """The web process as the Procfile starts it: its access log, captured whole."""
    port = free_port()
    env = {
        **os.environ,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "WEB_CONCURRENCY": "1",
        "DATABASE_URL": copy_sqlite_template(sqlite_template, tmp_path),
        "SECRET_KEY": "test-secret",
        "PATH": f"{Path(os.sys.executable).parent}:{os.environ.get('PATH', '')}",
    }
    server = subprocess.Popen(
        ["bash", "-c", f"exec {procfile_web_command()}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    errors: list[str] = []
    listening = threading.Event()

    def read_errors():
        for line in server.stderr:
            errors.append(line)
            if "Listening at" in line:
                listening.set()
        listening.set()

    reader = threading.Thread(target=read_errors, daemon=True)
    reader.start()
    try:
        assert listening.wait(60) and server.poll() is None, "".join(errors)
        base = f"http://127.0.0.1:{port}"
        for path in (f"/manage/{TOKEN}", f"/manage/{TOKEN}/cancel", f"/api/v1/bookings/{TOKEN}"):
            request = urllib.request.Request(
                base + path, headers={"Referer": f"{base}/manage/{TOKEN}/reschedule"}
            )
            with pytest.raises(urllib.error.HTTPError):
                urllib.request.urlopen(request, timeout=30)
    finally:
        server.terminate()
        access_log, _ = server.communicate(timeout=30)
        reader.join(timeout=10)

    assert TOKEN not in access_log
    assert TOKEN not in "".join(errors)
    assert re.search(r'"GET /manage/<redacted> HTTP/1\.1" 404', access_log), access_log
    assert '"GET /manage/<redacted>/cancel HTTP/1.1" 405' in access_log
    assert '"GET /api/v1/bookings/<redacted> HTTP/1.1" 404' in access_log
    assert f"{base}/manage/<redacted>/reschedule" in access_log  # the Referer


# --- closing the link when the visit is over ------------------------------------------------


@pytest.fixture
def clinic(any_app):
    return make_clinic()


def test_cancelling_closes_every_link_sent_so_far(any_app, clinic):
    visit = make_booking("microneedling", WED_10)
    token = manage_token(visit)
    client = any_app.test_client()
    assert client.get(f"/manage/{token}").status_code == 200

    services.cancel(visit, reason="Away", by=DESK)

    page = client.get(f"/manage/{token}")
    assert page.status_code == 410
    body = page.get_data(as_text=True)
    assert "This visit has been cancelled" in body and LOCATION_PHONE in body
    answer = client.get(f"/api/v1/bookings/{token}")
    assert answer.status_code == 410
    assert answer.get_json() == {
        "error": "revoked_token",
        "message": answer.get_json()["message"],
        "visit_status": "cancelled",
        "phone": LOCATION_PHONE,
    }
    # Nothing can be done through it either.
    for path in (f"/manage/{token}/calendar.ics", f"/manage/{token}/reschedule"):
        assert client.get(path).status_code == 410


def test_completing_closes_the_link(any_app, clinic, clock):
    visit = make_booking("consultation", WED_10)
    token = manage_token(visit)
    clock.advance(days=2, hours=2, minutes=5)  # Wednesday 10:05
    changes.apply(visit, Event.CHECK_IN, DESK)
    changes.apply(visit, Event.COMPLETE, DESK)
    db.session.commit()

    response = any_app.test_client().get(f"/manage/{token}")

    assert response.status_code == 410
    assert "This visit has taken place" in response.get_data(as_text=True)


def test_a_moved_or_confirmed_visit_keeps_its_link(any_app, clinic):
    visit = make_booking("microneedling", WED_10)
    token = manage_token(visit)
    services.reschedule(visit, datetime(2026, 3, 5, 11, 0, tzinfo=UTC), by=DESK)
    changes.apply(visit, Event.CONFIRM, DESK)
    db.session.commit()

    assert any_app.test_client().get(f"/manage/{token}").status_code == 200


def test_a_patient_who_cancels_returns_to_booking_and_the_link_says_whom_to_call(any_app, clinic):
    visit = make_booking("microneedling", WED_10)
    token = manage_token(visit)
    client = any_app.test_client()
    page = client.get(f"/manage/{token}").get_data(as_text=True)
    csrf = re.search(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"', page).group(1)

    response = client.post(f"/manage/{token}/cancel", data={"csrf_token": csrf, "reason": "Away"})
    assert response.status_code == 303
    assert response.headers["Location"] == "/"
    assert "Your visit has been cancelled" in client.get("/").get_data(as_text=True)
    # Back from the booking page (the browser's history): the closed link says whom to call.
    again = client.get(f"/manage/{token}")
    assert again.status_code == 410
    assert LOCATION_PHONE in again.get_data(as_text=True)


def test_a_link_with_a_new_key_after_closing_opens_nothing_old(any_app, clinic):
    # The rotated key belongs to the visit now; only a link signed with it opens the visit.
    visit = make_booking("microneedling", WED_10)
    old = manage_token(visit)
    services.cancel(visit, by=DESK)
    db.session.refresh(visit)

    assert manage_token(visit) != old
    assert any_app.test_client().get(f"/manage/{manage_token(visit)}").status_code == 200


# --- signed ids the database cannot hold ----------------------------------------------------


@pytest.mark.parametrize("signed_id", [MAX_ID + 1, 2**63, 10**30, -1, 0, True])
def test_a_signed_id_beyond_the_databases_range_is_an_invalid_link(any_app, clinic, signed_id):
    visit = make_booking("microneedling", WED_10)
    token = _serializer().dumps([signed_id, visit.manage_key])
    client = any_app.test_client()

    for response in (client.get(f"/manage/{token}"), client.get(f"/api/v1/bookings/{token}")):
        assert response.status_code == 404
    assert client.get(f"/api/v1/bookings/{token}").get_json()["error"] == "invalid_token"


def test_the_largest_id_the_database_holds_is_looked_up(any_app, clinic):
    token = _serializer().dumps([MAX_ID, "0" * 32])

    response = any_app.test_client().get(f"/api/v1/bookings/{token}")

    assert response.status_code == 404
    assert response.get_json()["error"] == "invalid_token"
