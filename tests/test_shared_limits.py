"""Rate limits count once for every worker: their counters live in Redis when REDIS_URL says so.

Each gunicorn worker is a process of its own, so the test's second app runs in a subprocess:
in one process the limiter is one object and would share its counts whatever the storage.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from clinic import create_app
from clinic.config import from_environment, ratelimit_storage

ROOT = Path(__file__).resolve().parent.parent
BUDGET = 3

# A second worker: its own process and app, on the same database, the same settings.
SECOND_WORKER = """
import json, sys
from clinic import create_app

settings = json.loads(sys.argv[1])
app = create_app({"TESTING": True, "SECRET_KEY": "test-secret", **settings})
print(app.test_client().get("/api/v1/services").status_code)
"""


def second_worker_status(app, **environ) -> int:
    settings = {
        "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
        "API_RATE_LIMIT": app.config["API_RATE_LIMIT"],
        "RATELIMIT_STORAGE_OPTIONS": app.config.get("RATELIMIT_STORAGE_OPTIONS", {}),
    }
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "RATELIMIT_STORAGE_URI")}
    env.update(environ)
    result = subprocess.run(
        [sys.executable, "-c", SECOND_WORKER, json.dumps(settings)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return int(result.stdout.strip().splitlines()[-1])


def spend_the_budget(client) -> None:
    statuses = [client.get("/api/v1/services").status_code for _ in range(BUDGET)]
    assert statuses == [200] * BUDGET


class TestWithRedis:
    @pytest.fixture
    def app_config(self, redis_url, redis_key_prefix):
        return {
            "API_RATE_LIMIT": f"{BUDGET}/minute",
            "RATELIMIT_STORAGE_URI": ratelimit_storage({"REDIS_URL": redis_url}),
            "RATELIMIT_STORAGE_OPTIONS": {"key_prefix": redis_key_prefix},
        }

    def test_two_workers_sharing_redis_share_one_budget(self, app, client, redis_url):
        spend_the_budget(client)

        assert second_worker_status(app, REDIS_URL=redis_url) == 429


class TestWithMemory:
    @pytest.fixture
    def app_config(self):
        return {"API_RATE_LIMIT": f"{BUDGET}/minute"}

    def test_workers_with_memory_storage_each_count_their_own(self, app, client):
        # What Redis is for: without it the second worker has the whole budget again.
        spend_the_budget(client)

        assert second_worker_status(app) == 200


def test_redis_url_puts_the_counters_in_redis():
    url = "redis://cache.internal:6379/2"
    assert from_environment("/tmp", {"REDIS_URL": url})["RATELIMIT_STORAGE_URI"] == url
    # RATELIMIT_STORAGE_URI, if given, wins.
    both = {"REDIS_URL": url, "RATELIMIT_STORAGE_URI": "redis://other:6379/0"}
    assert from_environment("/tmp", both)["RATELIMIT_STORAGE_URI"] == "redis://other:6379/0"


def test_without_redis_the_counters_stay_in_memory():
    assert from_environment("/tmp", {})["RATELIMIT_STORAGE_URI"] == "memory://"


def test_a_redis_url_that_is_not_one_stops_the_start():
    with pytest.raises(RuntimeError, match="REDIS_URL"):
        from_environment("/tmp", {"REDIS_URL": "http://cache.internal:6379"})


# In a process of its own: the limiter would stay in fallback mode for the tests that follow.
REDIS_DOWN = """
import json, sys
from clinic import create_app

app = create_app(json.loads(sys.argv[1]))
client = app.test_client()
print(json.dumps([client.get("/api/v1/openapi.json").status_code for _ in range(4)]))
"""


def test_a_redis_that_is_down_falls_back_to_counting_in_memory(tmp_path):
    settings = {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'down.sqlite'}",
        "API_RATE_LIMIT": f"{BUDGET}/minute",
    }
    env = {**os.environ, "REDIS_URL": "redis://127.0.0.1:1/0"}  # nothing listens on port 1
    env.pop("RATELIMIT_STORAGE_URI", None)
    result = subprocess.run(
        [sys.executable, "-c", REDIS_DOWN, json.dumps(settings)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr[-2000:]

    # Not a 500 on every limited route: the limit still holds, counted in the worker's memory.
    assert json.loads(result.stdout.strip().splitlines()[-1]) == [200] * BUDGET + [429]


def test_the_fallback_is_on_by_default():
    assert from_environment("/tmp", {})["RATELIMIT_IN_MEMORY_FALLBACK_ENABLED"] is True


def limit_warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if "rate limits are counted per worker" in r.msg]


def start(tmp_path, **settings):
    return create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'start.sqlite'}",
            **settings,
        }
    )


def test_several_workers_with_memory_storage_warn_at_start(tmp_path, caplog, monkeypatch):
    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    with caplog.at_level(logging.WARNING):
        start(tmp_path, RATELIMIT_STORAGE_URI="memory://")

    (warning,) = limit_warnings(caplog)
    assert "3 workers" in warning and "REDIS_URL" in warning


@pytest.mark.parametrize(
    ("workers", "storage"),
    [("1", "memory://"), ("", "memory://"), ("4", "redis://127.0.0.1:6379/0")],
)
def test_one_worker_or_shared_counters_start_quietly(
    tmp_path, caplog, monkeypatch, workers, storage
):
    monkeypatch.setenv("WEB_CONCURRENCY", workers)
    with caplog.at_level(logging.WARNING):
        start(tmp_path, RATELIMIT_STORAGE_URI=storage)

    assert limit_warnings(caplog) == []
