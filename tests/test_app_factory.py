from clinic import create_app
from clinic.config import database_url


def test_factory_takes_test_config(app):
    assert app.testing
    assert app.config["PUBLIC_BASE_URL"] == "http://clinic.test"


def test_factory_without_test_config_reads_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'x.sqlite'}")
    monkeypatch.setenv("SECRET_KEY", "from-env")
    monkeypatch.setenv("CLINIC_TIMEZONE", "America/New_York")
    app = create_app()
    assert not app.testing
    assert app.config["SECRET_KEY"] == "from-env"
    assert app.config["CLINIC_TIMEZONE"] == "America/New_York"


def test_hosting_provider_postgres_urls_work_as_given():
    assert database_url("postgres://u:p@h:5432/d", "/i") == "postgresql+psycopg://u:p@h:5432/d"
    assert database_url("postgresql://u@h/d", "/i") == "postgresql+psycopg://u@h/d"
    assert database_url(None, "/inst").endswith("/inst/clinic.sqlite")


def test_generated_secret_key_survives_restart(monkeypatch, tmp_path):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    first = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    second = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"]
    assert len(first.config["SECRET_KEY"]) == 64
