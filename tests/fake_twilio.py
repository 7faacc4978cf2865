"""A fake Twilio REST API on 127.0.0.1 for the real ``twilio`` client to talk to.

It speaks the part of the 2010-04-01 API the clinic uses: creating a message (POST
``/2010-04-01/Accounts/{sid}/Messages.json``), listing messages with Twilio's filters and paging
(GET on the same path) and fetching one. Answers have Twilio's shapes, so the client parses them
as it would in production; nothing in the library is patched.

Tests script what Twilio would do: refuse the next creates (429, 500 ...), refuse a number for
good (21211, 21614, 30006, 21610), answer slowly, and then check what arrived, e.g. that every
text reached the fake exactly once.

    with FakeTwilio() as fake:
        client = Client(fake.account_sid, fake.auth_token)
        client.api.base_url = fake.base_url
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import random
import secrets
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

API = "/2010-04-01"

# Twilio's own wording for the errors the fake can give (https://www.twilio.com/docs/api/errors).
ERRORS = {
    20003: (401, "Authenticate"),
    20404: (404, "The requested resource was not found"),
    20429: (429, "Too Many Requests"),
    20500: (500, "An internal server error has occurred"),
    20503: (503, "Service unavailable"),
    21211: (400, "The 'To' number is not a valid phone number."),
    21602: (400, "Message body is required."),
    21604: (400, "A 'To' phone number is required."),
    21606: (400, "The 'From' phone number provided is not a valid message-capable phone number."),
    21610: (400, "Attempt to send to unsubscribed recipient"),
    21614: (400, "'To' number is not a valid mobile number"),
    30006: (400, "Landline or unreachable carrier"),
}
STATUS_CODES = {429: 20429, 500: 20500, 503: 20503, 401: 20003, 404: 20404}
PERMANENT_CODES = {21211, 21610, 21614, 30006}

# GSM 03.38: the basic set costs one unit a character, the extension set two; anything else
# sends the whole text as UCS-2.
GSM_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENSION = set("^{}\\[~]|€\f")


def segments_of(body: str) -> int:
    """How many parts Twilio would bill for this body."""
    if all(ch in GSM_BASIC or ch in GSM_EXTENSION for ch in body):
        units, single, part = sum(2 if ch in GSM_EXTENSION else 1 for ch in body), 160, 153
    else:
        units = sum(2 if ord(ch) > 0xFFFF else 1 for ch in body)
        single, part = 70, 67
    if units <= single:
        return 1
    return -(-units // part)


def rfc2822(moment: datetime) -> str:
    return format_datetime(moment.astimezone(UTC).replace(microsecond=0), usegmt=False)


@dataclass(frozen=True)
class Failure:
    status: int
    code: int
    delay: float = 0.0


class FakeTwilio:
    """The fake server. Start it with ``start()`` or ``with``; every method is thread-safe."""

    def __init__(
        self,
        *,
        account_sid: str | None = None,
        auth_token: str | None = None,
        now: Callable[[], datetime] | None = None,
    ):
        self.account_sid = account_sid or "AC" + secrets.token_hex(16)
        self.auth_token = auth_token or secrets.token_hex(16)
        # Twilio's clock: the test's frozen clock in-process, the real one for subprocesses.
        self.now = now or (lambda: datetime.now(UTC))
        self._lock = threading.Condition()
        self._messages: list[dict] = []
        self._by_sid: dict[str, dict] = {}
        self._failures: deque[Failure] = deque()
        self._slow: deque[float] = deque()
        self._refused: dict[str, int] = {}
        self._latency: tuple[float, float] = (0.0, 0.0)
        self.create_requests = 0
        self.list_requests = 0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ----------------------------------------------------------------------------

    def start(self) -> FakeTwilio:
        handler = type("Handler", (_Handler,), {"fake": self})
        self._server = _Server(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fake-twilio",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._thread.join(timeout=10)
        self._server.server_close()
        self._server = None

    def __enter__(self) -> FakeTwilio:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """What to set as ``client.api.base_url`` (TWILIO_API_BASE_URL)."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # --- scripting ----------------------------------------------------------------------------

    def fail_next(self, count: int, status: int = 429, *, code: int | None = None, delay=0.0):
        """Refuse the next ``count`` creates with this status (429, 500 ...); nothing is sent.

        ``delay`` holds each answer back first, so a client with a shorter timeout gives up on
        a request Twilio never accepted.
        """
        failure = Failure(status, code or STATUS_CODES.get(status, status * 100), delay)
        with self._lock:
            self._failures.extend([failure] * count)

    def slow_next(self, count: int, seconds: float) -> None:
        """Accept the next ``count`` creates but answer only after ``seconds``."""
        with self._lock:
            self._slow.extend([seconds] * count)

    def refuse(self, number: str, code: int) -> None:
        """Refuse every text to ``number`` with a permanent error (21211, 21614, 30006, 21610)."""
        if code not in PERMANENT_CODES:
            raise ValueError(f"{code} is not one of the permanent errors {sorted(PERMANENT_CODES)}")
        with self._lock:
            self._refused[number] = code

    def set_latency(self, low: float, high: float | None = None) -> None:
        """Answer every accepted create after a random pause between ``low`` and ``high``."""
        with self._lock:
            self._latency = (low, low if high is None else high)

    # --- what arrived -------------------------------------------------------------------------

    @property
    def messages(self) -> list[dict]:
        """Every accepted message, oldest first (copies of the stored resources)."""
        with self._lock:
            return [dict(m) for m in self._messages]

    def received(self) -> Counter:
        """How many times each (to, body) was accepted."""
        with self._lock:
            return Counter((m["to"], m["body"]) for m in self._messages)

    def count(self) -> int:
        with self._lock:
            return len(self._messages)

    def wait_for_count(self, at_least: int, timeout: float) -> bool:
        """Block until ``at_least`` messages were accepted, or ``timeout`` seconds pass."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(self._messages) < at_least:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._lock.wait(left)
            return True

    # --- the API ------------------------------------------------------------------------------

    def _create(self, account_sid: str, form: dict[str, str]) -> tuple[int, dict, float]:
        to, body = form.get("To", ""), form.get("Body", "")
        sender, service = form.get("From"), form.get("MessagingServiceSid")
        if not to:
            return _error(21604)
        if not body:
            return _error(21602)
        if not (sender or service):
            return _error(21606)
        with self._lock:
            self.create_requests += 1
            if self._failures:
                failure = self._failures.popleft()
                status, payload, _ = _error(failure.code, failure.status)
                return status, payload, failure.delay
            if to in self._refused:
                return _error(self._refused[to])
            now = self.now()
            sid = "SM" + secrets.token_hex(16)
            uri = f"{API}/Accounts/{account_sid}/Messages/{sid}.json"
            message = {
                "account_sid": account_sid,
                "api_version": "2010-04-01",
                "body": body,
                "date_created": rfc2822(now),
                "date_sent": rfc2822(now),
                "date_updated": rfc2822(now),
                "direction": "outbound-api",
                "error_code": None,
                "error_message": None,
                "from": sender,
                "messaging_service_sid": service,
                "num_media": "0",
                # Twilio picks the sender of a messaging service later and reports 0 until then.
                "num_segments": "0" if service and not sender else str(segments_of(body)),
                "price": None,
                "price_unit": "USD",
                "sid": sid,
                "status": "accepted" if service and not sender else "queued",
                "subresource_uris": {"media": uri.replace(".json", "/Media.json")},
                "to": to,
                "uri": uri,
                # Kept for the tests, not part of Twilio's answer.
                "_status_callback": form.get("StatusCallback"),
                "_created": now,
            }
            self._messages.append(message)
            self._by_sid[sid] = message
            self._lock.notify_all()
            # The pause is random: no secret, only jitter.
            delay = self._slow.popleft() if self._slow else random.uniform(*self._latency)
        return 201, _public(message), delay

    def _list(self, account_sid: str, query: dict[str, str]) -> tuple[int, dict]:
        try:
            size = min(max(int(query.get("PageSize", 50)), 1), 1000)
            page = max(int(query.get("Page", 0)), 0)
            wanted = _date_filters(query)
        except ValueError:
            return _error(20404)[:2]
        with self._lock:
            self.list_requests += 1
            found = [
                m
                for m in reversed(self._messages)  # Twilio lists the newest first
                if m["account_sid"] == account_sid
                and query.get("To", m["to"]) == m["to"]
                and query.get("From", m["from"]) == m["from"]
                and all(test(m["_created"]) for test in wanted)
            ]
        start = page * size
        records = [_public(m) for m in found[start : start + size]]
        base = f"{API}/Accounts/{account_sid}/Messages.json"
        keep = {k: v for k, v in query.items() if k not in ("Page", "PageSize", "PageToken")}

        def page_uri(number: int) -> str:
            return base + "?" + urlencode({**keep, "PageSize": size, "Page": number})

        more = start + size < len(found)
        return 200, {
            "end": start + max(len(records) - 1, 0),
            "first_page_uri": page_uri(0),
            "messages": records,
            "next_page_uri": (page_uri(page + 1) + f"&PageToken=PA{start + size}")
            if more
            else None,
            "page": page,
            "page_size": size,
            "previous_page_uri": page_uri(page - 1) if page else None,
            "start": start,
            "uri": page_uri(page),
        }

    def _fetch(self, account_sid: str, sid: str) -> tuple[int, dict]:
        with self._lock:
            message = self._by_sid.get(sid)
        if message is None or message["account_sid"] != account_sid:
            return _error(20404)[:2]
        return 200, _public(message)


def _public(message: dict) -> dict:
    return {k: v for k, v in message.items() if not k.startswith("_")}


def _error(code: int, status: int | None = None) -> tuple[int, dict, float]:
    default_status, text = ERRORS.get(code, (status or 400, "Error"))
    status = status or default_status
    return (
        status,
        {
            "code": code,
            "message": text,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        },
        0.0,
    )


def _date_filters(query: dict[str, str]) -> list[Callable[[datetime], bool]]:
    """Twilio's DateSent, DateSent< and DateSent> (a day, or an instant to the second)."""
    tests = []
    for name, compare in (
        ("DateSent", lambda a, b: a == b),
        ("DateSent<", lambda a, b: a <= b),
        ("DateSent>", lambda a, b: a >= b),
    ):
        raw = query.get(name)
        if not raw:
            continue
        if len(raw) == 10:
            day = date.fromisoformat(raw)
            tests.append(lambda moment, c=compare, d=day: c(moment.astimezone(UTC).date(), d))
        else:
            instant = datetime.fromisoformat(raw.replace("Z", "+00:00"))
            tests.append(lambda moment, c=compare, i=instant: c(moment.replace(microsecond=0), i))
    return tests


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # A client that gave up (a timeout, a killed dispatcher) leaves a broken socket behind;
        # that is the scenario under test, not a fault of the fake.
        pass


class _Handler(BaseHTTPRequestHandler):
    # Keep-alive, as Twilio's API does: the client's session reuses one connection.
    protocol_version = "HTTP/1.1"
    # One write per answer, sent at once: headers and body in separate small packets would
    # meet Nagle's algorithm and the client's delayed ACK, 40 ms per request.
    wbufsize = 64 * 1024
    disable_nagle_algorithm = True
    fake: FakeTwilio

    def log_message(self, format, *args):
        pass

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode("utf-8", "replace")
        account_sid = self._authorised()
        if account_sid is None:
            return
        form = {k: v[-1] for k, v in parse_qs(raw, keep_blank_values=True).items()}
        if urlsplit(self.path).path != f"{API}/Accounts/{account_sid}/Messages.json":
            return self._answer(*_error(20404)[:2])
        status, payload, delay = self.fake._create(account_sid, form)
        if delay:
            time.sleep(delay)  # the latency being simulated, not a test waiting
        self._answer(status, payload)

    def do_GET(self):
        account_sid = self._authorised()
        if account_sid is None:
            return
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        prefix = f"{API}/Accounts/{account_sid}/Messages"
        if parts.path == prefix + ".json":
            return self._answer(*self.fake._list(account_sid, query))
        if parts.path.startswith(prefix + "/") and parts.path.endswith(".json"):
            sid = parts.path[len(prefix) + 1 : -len(".json")]
            return self._answer(*self.fake._fetch(account_sid, sid))
        self._answer(*_error(20404)[:2])

    def _authorised(self) -> str | None:
        """The account sid from valid basic-auth credentials, or None after answering 401."""
        header = self.headers.get("Authorization", "")
        user = password = None
        if header.startswith("Basic "):
            with contextlib.suppress(binascii.Error, UnicodeDecodeError):
                user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        fake = self.fake
        if (
            user == fake.account_sid
            and secrets.compare_digest(password or "", fake.auth_token)
            and self.path.startswith(f"{API}/Accounts/{user}/")
        ):
            return user
        self._answer(*_error(20003)[:2])
        return None

    def _answer(self, status: int, payload: dict) -> None:
        data = json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            self.close_connection = True


def drop_sender(app) -> None:
    """Forget the app's cached sender (to rebuild it from new settings) and close its sockets."""
    sender = app.extensions.pop("sms_sender", None)
    client = getattr(sender, "client", None)
    if client is not None and getattr(client.http_client, "session", None) is not None:
        client.http_client.session.close()
