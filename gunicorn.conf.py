"""gunicorn's settings for the web process (the Procfile passes this file with -c)."""

import os

# Private manage links are redacted from the access and error logs.
logger_class = "clinic.web.gunicorn_log.RedactingLogger"


def on_starting(server):
    # The app warns at start when several workers would each keep their own rate-limit
    # counters (memory storage): tell it how many workers this server runs.
    os.environ["WEB_CONCURRENCY"] = str(server.cfg.workers)
