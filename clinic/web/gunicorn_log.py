"""gunicorn's logger with private links redacted (gunicorn.conf.py sets it as logger_class).

The access log line is built from the request line, the path, the query, the Referer and any
header a format asks for: every one of them is redacted before the line is written.
"""

from __future__ import annotations

from gunicorn.glogging import Logger

from clinic.web.log_privacy import RedactLinks, redact_links


class RedactingLogger(Logger):
    def setup(self, cfg) -> None:
        super().setup(cfg)
        # "Error handling request /manage/…" and the like.
        if not any(isinstance(f, RedactLinks) for f in self.error_log.filters):
            self.error_log.addFilter(RedactLinks())

    def atoms(self, resp, req, environ, request_time) -> dict:
        atoms = super().atoms(resp, req, environ, request_time)
        return {
            name: redact_links(value) if isinstance(value, str) else value
            for name, value in atoms.items()
        }
