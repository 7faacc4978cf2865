"""`flask dispatch` (one pass) and `flask scheduler` (the long-running process)."""

from __future__ import annotations

import contextlib
import logging

import click
from flask import current_app
from flask.cli import with_appcontext

log = logging.getLogger(__name__)


@click.command("dispatch")
@click.option("--max-rows", type=click.IntRange(min=1), default=None, help="Stop after this many.")
@with_appcontext
def dispatch_command(max_rows):
    """Send every text that is due now, once, and print what happened."""
    from clinic.sms.dispatch import dispatch_pass

    report = dispatch_pass(max_rows=max_rows)
    click.echo(f"dispatch: {report}")


@click.command("scheduler")
@with_appcontext
def scheduler_command():
    """Run the dispatcher every DISPATCH_INTERVAL_SECONDS and housekeeping daily."""
    from apscheduler.schedulers.blocking import BlockingScheduler

    app = current_app._get_current_object()
    scheduler = build_scheduler(app, BlockingScheduler)
    click.echo(
        f"scheduler: dispatching every {app.config['DISPATCH_INTERVAL_SECONDS']} s; "
        "housekeeping daily at 03:15"
    )
    with contextlib.suppress(KeyboardInterrupt, SystemExit):
        scheduler.start()


def build_scheduler(app, scheduler_class):
    """The scheduler with its two jobs, not yet started."""
    tz = app.config["CLINIC_TIMEZONE"]
    scheduler = scheduler_class(timezone=tz)
    # No run is ever dropped as "too late" (a restart must catch up), runs that piled up
    # collapse into one, and a pass never overlaps itself.
    job_defaults = {"coalesce": True, "max_instances": 1, "misfire_grace_time": None}
    scheduler.add_job(
        _in_app(app, _dispatch),
        "interval",
        seconds=app.config["DISPATCH_INTERVAL_SECONDS"],
        id="dispatch",
        next_run_time=_now(tz),
        **job_defaults,
    )
    scheduler.add_job(
        _in_app(app, _housekeeping), "cron", hour=3, minute=15, id="housekeeping", **job_defaults
    )
    return scheduler


def _now(tz):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    return datetime.now(ZoneInfo(tz))


def _in_app(app, job):
    def run():
        with app.app_context():
            try:
                job()
            except Exception:
                # One bad pass must not stop the scheduler; the next pass retries.
                log.exception("scheduled job %s failed", job.__name__)

    run.__name__ = job.__name__
    return run


def _dispatch():
    from clinic.sms.dispatch import dispatch_pass

    report = dispatch_pass()
    if report.counts:
        log.info("dispatch: %s", report)


def _housekeeping():
    from clinic.sms.housekeeping import run

    log.info("housekeeping: %s", run())
