"""Where texts go: Twilio in production, the console in the demo.

The sender sits behind a small interface kept on the app (``app.extensions["sms_sender"]``) and
is built the first time it is needed, never at import.
"""

from __future__ import annotations

import itertools
import logging
import re
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app

from clinic.sms.gsm import encoding_of

log = logging.getLogger(__name__)

# Twilio error codes (section 9 of the domain reference) and what they mean for us.
INVALID_NUMBER_CODES = {21211, 21614, 30006, 30005}
OPTED_OUT_CODES = {21610}
RETRY_ONCE_CODES = {30003, 30008}


@dataclass(frozen=True)
class SendResult:
    sid: str
    segments: int


class SendError(Exception):
    def __init__(self, message: str, *, code: int | None = None, status: int | None = None):
        super().__init__(message)
        self.code = code
        self.status = status


class TransientSendError(SendError):
    """Worth trying again later: rate limits, server errors, timeouts."""


class PermanentSendError(SendError):
    """Trying again will not help: the number, the account or the message is refused."""


class ConsoleSender:
    """Prints texts instead of sending them, so the demo works offline."""

    name = "console"

    def __init__(self):
        self._counter = itertools.count(1)
        self._lock = threading.Lock()
        self.sent: list[tuple[str, str, str]] = []

    def send(self, to: str, body: str, status_callback: str | None = None) -> SendResult:
        with self._lock:
            sid = f"CONSOLE{next(self._counter):08d}"
            self.sent.append((sid, to, body))
        print(f"[text to {to}] {body}", flush=True)  # noqa: T201 - the console sender's job
        return SendResult(sid=sid, segments=1)

    def find_sent(self, to: str, body: str, since: datetime) -> str | None:
        with self._lock:
            for sid, number, text in reversed(self.sent):
                if number == to and text == body:
                    return sid
        return None


class TwilioSender:
    name = "twilio"

    def __init__(self, config):
        self.from_number = config["TWILIO_FROM_NUMBER"]
        self.messaging_service_sid = config["TWILIO_MESSAGING_SERVICE_SID"]
        if not (self.from_number or self.messaging_service_sid):
            raise RuntimeError(
                "Set TWILIO_FROM_NUMBER or TWILIO_MESSAGING_SERVICE_SID to send texts."
            )
        self._settings = (
            config["TWILIO_ACCOUNT_SID"],
            config["TWILIO_AUTH_TOKEN"],
            config["TWILIO_TIMEOUT_SECONDS"],
            config["TWILIO_API_BASE_URL"],
        )
        self._local = threading.local()

    @property
    def client(self):
        """One client per thread: the dispatcher sends from several at once, and a requests
        session is not promised to be safe to share between threads."""
        client = getattr(self._local, "client", None)
        if client is None:
            from twilio.http.http_client import TwilioHttpClient
            from twilio.rest import Client

            sid, token, timeout, base_url = self._settings
            client = Client(sid, token, http_client=TwilioHttpClient(timeout=timeout))
            if base_url:
                # A regional gateway, or the fake server of the integration tests.
                client.api.base_url = base_url
            self._local.client = client
        return client

    def send(self, to: str, body: str, status_callback: str | None = None) -> SendResult:
        from requests.exceptions import RequestException
        from twilio.base.exceptions import TwilioRestException

        kwargs = {"to": to, "body": body}
        if self.messaging_service_sid:
            kwargs["messaging_service_sid"] = self.messaging_service_sid
        else:
            kwargs["from_"] = self.from_number
        if status_callback:
            kwargs["status_callback"] = status_callback
        try:
            message = self.client.messages.create(**kwargs)
        except TwilioRestException as exc:
            raise _classify(exc) from exc
        except RequestException as exc:
            raise TransientSendError(f"no answer from Twilio: {type(exc).__name__}") from exc
        # A Messaging Service first answers "0" segments (it has not split the text yet).
        segments = int(message.num_segments or 0) or encoding_of(body).segments
        return SendResult(sid=message.sid, segments=segments)

    def find_sent(self, to: str, body: str, since: datetime) -> str | None:
        """A message Twilio accepted for this number and body since ``since``, if any."""
        from requests.exceptions import RequestException
        from twilio.base.exceptions import TwilioRestException

        try:
            recent = self.client.messages.list(to=to, limit=50)
        except TwilioRestException as exc:
            raise _classify(exc) from exc
        except RequestException as exc:
            raise TransientSendError(f"no answer from Twilio: {type(exc).__name__}") from exc
        # Clocks differ a little between us and Twilio.
        earliest = since - timedelta(minutes=2)
        for message in recent:
            created = message.date_created
            if message.body == body and (created is None or created >= earliest):
                return message.sid
        return None


def error_code(value) -> int | None:
    """Twilio's numeric error code from a callback or exception, or None."""
    text = str(value or "")
    return int(text) if re.fullmatch(r"[0-9]{1,6}", text) else None


def _classify(exc) -> SendError:
    status, code = exc.status, exc.code
    message = f"Twilio {status} error {code}: {exc.msg}"[:300]
    if status == 429 or code == 20429 or (status and status >= 500):
        return TransientSendError(message, code=code, status=status)
    return PermanentSendError(message, code=code, status=status)


def get_sender():
    sender = current_app.extensions.get("sms_sender")
    if sender is None:
        config = current_app.config
        if config["TWILIO_ACCOUNT_SID"] and config["TWILIO_AUTH_TOKEN"]:
            sender = TwilioSender(config)
        else:
            sender = ConsoleSender()
        current_app.extensions["sms_sender"] = sender
    return sender
