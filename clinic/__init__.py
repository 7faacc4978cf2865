"""clinic: online booking and aftercare texts for hair-loss clinics."""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

from flask import Flask

from clinic import config as environment
from clinic.clock import SystemClock


def create_app(test_config: dict | None = None) -> Flask:
    app = Flask(
        __name__,
        instance_relative_config=True,
        template_folder="../templates",
        static_folder="../static",
    )
    load_settings(app, test_config)
    register_logging_privacy()
    register_proxy(app)
    register_extensions(app)
    register_blueprints(app)
    register_text_hooks(app)
    register_errorhandlers(app)
    register_security(app)
    register_template_helpers(app)
    register_caches(app)
    register_subscribers(app)
    register_commands(app)
    return app


def load_settings(app: Flask, test_config: dict | None) -> None:
    # The instance folder holds the secret key and, by default, the database: its owner only.
    instance = Path(app.instance_path)
    instance.mkdir(mode=0o700, parents=True, exist_ok=True)
    if instance.stat().st_mode & 0o777 != 0o700:
        try:
            instance.chmod(0o700)
        except PermissionError:
            logging.getLogger(__name__).warning("cannot make %s private (mode 0700)", instance)
    if test_config is None:
        from dotenv import load_dotenv

        load_dotenv(Path(app.root_path).parent / ".env", override=False)
    app.config.from_mapping(environment.from_environment(app.instance_path))
    if test_config:
        app.config.from_mapping(test_config)
    app.config["SQLALCHEMY_DATABASE_URI"] = environment.database_url(
        app.config["SQLALCHEMY_DATABASE_URI"], app.instance_path
    )
    # A test config may set the locale too: it is checked the same way.
    app.config["CLINIC_LOCALE"] = environment.clinic_locale(app.config["CLINIC_LOCALE"])
    check_text_settings(app.config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret(Path(app.instance_path))
    # Flask pre-sets these to False, so setdefault would never apply; a test config may still
    # choose explicitly.
    public_https = app.config["PUBLIC_BASE_URL"].startswith("https://")
    for name in ("SESSION_COOKIE_SECURE", "REMEMBER_COOKIE_SECURE"):
        app.config[name] = (test_config or {}).get(name, public_https)
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        SQLALCHEMY_ENGINE_OPTIONS=app.config.get("SQLALCHEMY_ENGINE_OPTIONS")
        or _engine_options(app.config["SQLALCHEMY_DATABASE_URI"]),
    )
    app.extensions["clock"] = app.config.get("CLOCK") or SystemClock()


def check_text_settings(config) -> None:
    """Settings that texts carry as they are must pass the texts' own checks: a clinic finds
    out at start, not when an urgent reply goes out wrong."""
    from clinic.sms import hours
    from clinic.sms.wording import check_setting_text

    errors = check_setting_text("OUT_OF_HOURS_ADVICE", config["OUT_OF_HOURS_ADVICE"])
    if errors:
        raise RuntimeError("; ".join(errors))
    try:
        hours.parse(config["CLINIC_OPEN_HOURS"])
    except ValueError as exc:
        raise RuntimeError(f"setting CLINIC_OPEN_HOURS: {exc}") from exc


def _engine_options(url: str) -> dict:
    # Statement parameters can hold health answers: keep them out of logs and error messages.
    if url.startswith("sqlite"):
        return {
            "connect_args": {"timeout": 30, "check_same_thread": False},
            "hide_parameters": True,
        }
    return {"pool_pre_ping": True, "hide_parameters": True}


def _instance_secret(instance: Path) -> str:
    """A generated key kept in the instance folder, so a demo's links survive restarts."""
    path = instance / "secret_key"
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


class _NoResultRows(logging.Filter):
    """SQLAlchemy logs fetched rows at DEBUG; rows can hold health answers, so they never reach
    a log, whatever level an operator sets (statement parameters are hidden by the engine)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.msg not in ("Row %r", "Col %r")


def register_logging_privacy() -> None:
    from clinic.web import log_privacy

    log_privacy.install()
    for name in ("sqlalchemy.engine", "sqlalchemy.engine.Engine"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _NoResultRows) for f in logger.filters):
            logger.addFilter(_NoResultRows())


def register_proxy(app: Flask) -> None:
    """Behind a reverse proxy, trust its X-Forwarded-* headers (TRUSTED_PROXY_COUNT hops) so
    rate limits see the real client address."""
    hops = app.config["TRUSTED_PROXY_COUNT"]
    if hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)


def register_extensions(app: Flask) -> None:
    from clinic.database import configure_engine
    from clinic.extensions import csrf, db, limiter, login_manager, migrate

    db.init_app(app)
    migrate.init_app(app, db, directory=str(Path(app.root_path).parent / "migrations"))
    csrf.init_app(app)
    limiter.init_app(app)
    warn_if_limits_per_worker(app)
    login_manager.init_app(app)
    with app.app_context():
        configure_engine(db.engine)


def warn_if_limits_per_worker(app: Flask) -> None:
    """Several workers with memory storage each count on their own: every limit multiplies."""
    workers = os.environ.get("WEB_CONCURRENCY", "")
    storage = app.config["RATELIMIT_STORAGE_URI"]
    if storage.startswith("memory://") and workers.isdigit() and int(workers) > 1:
        logging.getLogger(__name__).warning(
            "rate limits are counted per worker (%s workers, memory storage), so each limit "
            "is %s times looser: set REDIS_URL to share the counts",
            workers,
            workers,
        )


def register_blueprints(app: Flask) -> None:
    from clinic.api.views import bp as api_bp
    from clinic.booking.views import bp as booking_bp
    from clinic.extensions import csrf
    from clinic.sms.views import bp as sms_bp
    from clinic.staff.area import staff_area
    from clinic.waitlist.views import bp as waitlist_bp

    app.register_blueprint(booking_bp)
    app.register_blueprint(waitlist_bp, url_prefix="/waitlist")
    # Every staff page (desk, visits, courses, review, texts, /admin) nests in this one parent.
    app.register_blueprint(staff_area())
    # Twilio's webhooks prove themselves with a signature, not a CSRF token.
    csrf.exempt(sms_bp)
    app.register_blueprint(sms_bp, url_prefix="/sms")
    # The JSON API is stateless (no cookies), so CSRF tokens do not apply to it.
    csrf.exempt(api_bp)
    app.register_blueprint(api_bp, url_prefix="/api/v1")


def register_text_hooks(app: Flask) -> None:
    """The texts package sits beneath the features and never imports them: they hand it what
    its texts need of them (a visit's details, what a reply confirms, daily jobs)."""
    from clinic.audit.texts import init_app as audit_text_settings
    from clinic.booking.texts import init_app as booking_texts
    from clinic.courses.nudges import init_app as course_nudges
    from clinic.mail.dispatch import init_app as email_dispatch
    from clinic.waitlist.hooks import init_app as waitlist_offers

    booking_texts(app)
    course_nudges(app)
    email_dispatch(app)
    waitlist_offers(app)
    audit_text_settings(app)


def register_errorhandlers(app: Flask) -> None:
    from clinic.web.errors import init_app

    init_app(app)


def register_security(app: Flask) -> None:
    from clinic.web import sessions
    from clinic.web.security import init_app

    init_app(app)
    sessions.init_app(app)


def register_template_helpers(app: Flask) -> None:
    from clinic.booking.models import source_words
    from clinic.patients.phones import format_national
    from clinic.web.formatting import init_app

    init_app(app)
    app.add_template_filter(source_words, "source_words")

    # Here, not in clinic.web: the web helpers and the patients package never import each other.
    @app.template_filter("phone")
    def phone(e164: str | None) -> str:
        """A stored number in national format when it is the clinic's region's, else
        international."""
        return format_national(e164, app.config["DEFAULT_PHONE_REGION"]) if e164 else ""


def register_caches(app: Flask) -> None:
    from clinic.booking.catalog import init_app as booking_catalog
    from clinic.catalog.version import init_app as catalog_version
    from clinic.web.cache import init_app

    init_app(app)
    catalog_version(app)
    booking_catalog(app)


def register_subscribers(app: Flask) -> None:
    from clinic.visits.subscribers import init_app
    from clinic.waitlist.hooks import subscribe as waitlist_subscribe

    init_app(app)
    waitlist_subscribe(app)


def register_commands(app: Flask) -> None:
    from clinic.demo.seed import seed_demo_command
    from clinic.sms.cli import dispatch_command, scheduler_command
    from clinic.staff.cli import create_staff_command, reset_password_command

    app.cli.add_command(seed_demo_command)
    app.cli.add_command(create_staff_command)
    app.cli.add_command(reset_password_command)
    app.cli.add_command(dispatch_command)
    app.cli.add_command(scheduler_command)
