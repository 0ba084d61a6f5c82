"""The production settings, loaded in a fresh process from the environment as a server would."""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

PROJECT_ROOT = Path(__file__).resolve().parents[1]

# Every variable the settings read. The child process gets none of them from this one; each test
# sets what it depends on explicitly, so that neither the caller's environment nor a `.env` file
# in the project root (read with overwrite=False: an explicit value wins) can change the outcome.
SETTINGS_VARIABLES = {
    "DEBUG",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "CSRF_TRUSTED_ORIGINS",
    "SITE_URL",
    "DATABASE_URL",
    "CONN_MAX_AGE",
    "TIME_ZONE",
    "EMAIL_URL",
    "DEFAULT_FROM_EMAIL",
    "REDIS_URL",
    "Q_WORKERS",
    "Q_TIMEOUT",
    "Q_RETRY",
    "Q_MAX_ATTEMPTS",
    "SECURE_SSL_REDIRECT",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "BEHIND_TLS_PROXY",
    "LOG_LEVEL",
    "Q_LOG_LEVEL",
    "CSAT_WORKER_STARTED_FILE",
    "FIELD_ENCRYPTION_KEY",
    "POSTGRES_JIT",
    "POSTGRES_PREPARED",
    # Not a setting, but the deploy check warns when it is set (browser tests set it).
    "DJANGO_ALLOW_ASYNC_UNSAFE",
}


@pytest.fixture
def production_env(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in SETTINGS_VARIABLES}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "csat_project.settings",
            "DEBUG": "false",
            "SECRET_KEY": secrets.token_urlsafe(48),  # 64 characters
            "ALLOWED_HOSTS": "csat.example.com",
            "CSRF_TRUSTED_ORIGINS": "https://csat.example.com",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'production.sqlite3'}",
            "SITE_URL": "https://csat.example.com",
            "EMAIL_URL": "consolemail://",
            "REDIS_URL": "",
            "SECURE_SSL_REDIRECT": "true",
            "SESSION_COOKIE_SECURE": "true",
            "CSRF_COOKIE_SECURE": "true",
            "SECURE_HSTS_SECONDS": "31536000",
            "SECURE_HSTS_INCLUDE_SUBDOMAINS": "true",
            "SECURE_HSTS_PRELOAD": "true",
            "BEHIND_TLS_PROXY": "false",
            "LOG_LEVEL": "WARNING",
            "PYTHONDONTWRITEBYTECODE": "1",
            # K3: the keys of the encrypted fields, the new one first (rotation in progress).
            "FIELD_ENCRYPTION_KEY": f"{Fernet.generate_key().decode()},"
            f"{Fernet.generate_key().decode()}",
        }
    )
    return env


def _run(args, env):
    return subprocess.run(
        [sys.executable, *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _q_cluster(env):
    result = _run(
        [
            "-c",
            "import json, django; django.setup(); from django.conf import settings; "
            "print(json.dumps(settings.Q_CLUSTER))",
        ],
        env,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def _settings(env, *names, read_dotenv=True):
    """The named settings as a fresh process reads them (without `.env` if told)."""
    code = (
        ("" if read_dotenv else "import environ; environ.Env.read_env = lambda *a, **k: None; ")
        + "import json, django; django.setup(); from django.conf import settings; "
        + f"print(json.dumps({{name: getattr(settings, name) for name in {list(names)!r}}}))"
    )
    result = _run(["-c", code], env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_production_settings_pass_the_deploy_check(production_env):
    assert len(production_env["SECRET_KEY"]) == 64

    result = _run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], production_env)

    assert result.returncode == 0, result.stdout + result.stderr
    output = result.stdout + result.stderr
    assert "WARNING" not in output
    assert "System check identified no issues" in output


def test_the_hardening_is_on_by_default_in_production(production_env):
    """The same check with no SECURE_* variables: the defaults alone are production-ready.
    A `.env` file is not read here (it could set them), so only the defaults speak."""
    for name in [n for n in production_env if n.startswith(("SECURE_", "SESSION_", "CSRF_C"))]:
        del production_env[name]
    no_dotenv_check = (
        "import environ; environ.Env.read_env = classmethod(lambda *args, **kwargs: None); "
        "from django.core.management import execute_from_command_line; "
        "execute_from_command_line(['manage.py', 'check', '--deploy', '--fail-level', 'WARNING'])"
    )

    result = _run(["-c", no_dotenv_check], production_env)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNING" not in result.stdout + result.stderr


@pytest.mark.parametrize("key", ["", "not-a-fernet-key"])
def test_K4_without_a_valid_field_encryption_key_the_deploy_check_fails(production_env, key):
    production_env["FIELD_ENCRYPTION_KEY"] = key  # explicit, so a .env file can't supply one

    result = _run(["manage.py", "check", "--deploy"], production_env)

    assert result.returncode != 0
    assert "csat.E001" in result.stderr and "FIELD_ENCRYPTION_KEY" in result.stderr


def test_K4_debug_runs_with_the_development_key(production_env):
    production_env.update({"DEBUG": "true", "FIELD_ENCRYPTION_KEY": ""})

    assert _run(["manage.py", "check"], production_env).returncode == 0
    keys = _settings(production_env, "FIELD_ENCRYPTION_KEY", read_dotenv=False)
    Fernet(keys["FIELD_ENCRYPTION_KEY"][0])


def test_without_a_secret_key_the_production_settings_refuse_to_load(production_env):
    production_env["SECRET_KEY"] = ""  # explicit, so a .env file can't supply one

    result = _run(["manage.py", "check"], production_env)

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "SECRET_KEY" in result.stderr


def test_debug_runs_without_a_secret_key(production_env):
    production_env.update({"SECRET_KEY": "", "DEBUG": "true"})

    result = _run(["manage.py", "check"], production_env)

    assert result.returncode == 0, result.stderr


def test_with_redis_url_the_queue_uses_redis(production_env):
    production_env["REDIS_URL"] = "redis://127.0.0.1:6379/0"

    q_cluster = _q_cluster(production_env)

    assert q_cluster["redis"] == "redis://127.0.0.1:6379/0"
    assert "orm" not in q_cluster


def test_without_redis_url_the_queue_uses_the_database(production_env):
    q_cluster = _q_cluster(production_env)

    assert q_cluster["orm"] == "default"
    assert "redis" not in q_cluster
    # retry > timeout keeps a slow task from being handed out twice (D4).
    assert q_cluster["retry"] > q_cluster["timeout"]


def test_in_development_mail_is_printed_and_kept_for_the_admin(production_env):
    """`make run`'s case: DEBUG and no EMAIL_URL. The sent mail is printed and kept."""
    production_env["DEBUG"] = "true"
    del production_env["EMAIL_URL"]

    assert _settings(production_env, "EMAIL_BACKEND", read_dotenv=False) == {
        "EMAIL_BACKEND": "mail.devbox.DevboxBackend"
    }


def test_a_mail_server_or_production_sends_mail_as_told(production_env):
    assert _settings(production_env, "EMAIL_BACKEND") == {
        "EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"
    }
    production_env.update({"DEBUG": "true", "EMAIL_URL": "smtp://mail.example.com:25"})
    assert _settings(production_env, "EMAIL_BACKEND") == {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend"
    }


def test_the_worker_log_level_is_q_log_level(production_env):
    default = _settings(production_env, "LOGGING")["LOGGING"]
    assert default["loggers"]["django-q"]["level"] == "INFO"
    assert default["loggers"]["django-q"]["filters"] == ["routine_tasks"]
    assert "worker_started" not in default["handlers"]  # only when scripts/run asks for it

    production_env.update({"Q_LOG_LEVEL": "DEBUG", "CSAT_WORKER_STARTED_FILE": "/tmp/started"})
    told = _settings(production_env, "LOGGING")["LOGGING"]
    assert told["loggers"]["django-q"]["level"] == "DEBUG"
    assert told["loggers"]["django-q"]["handlers"] == ["worker_started"]
    assert told["handlers"]["worker_started"]["path"] == "/tmp/started"


def test_postgresql_connections_run_without_jit_unless_told(production_env):
    """PostgreSQL's JIT costs the inbox search and the report pages 100–200 ms a query
    (bench/inbox.py): off on the app's connections, on with POSTGRES_JIT=true."""
    production_env["DATABASE_URL"] = "postgres://csat@db.example.com:5432/csat"
    options = _settings(production_env, "DATABASES")["DATABASES"]["default"]["OPTIONS"]
    assert options["options"] == "-c jit=off"
    production_env["POSTGRES_JIT"] = "true"
    options = _settings(production_env, "DATABASES")["DATABASES"]["default"].get("OPTIONS", {})
    assert "jit" not in options.get("options", "")


def test_H5_postgresql_statements_are_prepared_unless_told(production_env):
    """H5: server-side parameters on PostgreSQL, with no statement prepared by psycopg's
    count of runs (the hot reads prepare themselves: test_compiled_read.py);
    POSTGRES_PREPARED=false for a pooler that cannot keep them; nothing of the kind on
    SQLite."""
    production_env["DATABASE_URL"] = "postgres://csat@db.example.com:5432/csat"
    options = _settings(production_env, "DATABASES")["DATABASES"]["default"]["OPTIONS"]
    assert options["server_side_binding"] is True and options["prepare_threshold"] is None
    production_env["POSTGRES_PREPARED"] = "false"
    options = _settings(production_env, "DATABASES")["DATABASES"]["default"]["OPTIONS"]
    assert "server_side_binding" not in options and "prepare_threshold" not in options
    production_env["DATABASE_URL"] = "sqlite:////tmp/csat-settings-test.sqlite3"
    production_env.pop("POSTGRES_PREPARED")
    options = _settings(production_env, "DATABASES")["DATABASES"]["default"]["OPTIONS"]
    assert "server_side_binding" not in options


def test_K4_the_first_key_is_made_without_one_in_production(production_env):
    """`rotate_encryption_key --generate-key` is how a new installation gets its first key, so
    the missing key's system check (csat.E001) must not stop it; rotating still needs one."""
    del production_env["FIELD_ENCRYPTION_KEY"]

    made = _run(["manage.py", "rotate_encryption_key", "--generate-key"], production_env)
    rotate = _run(["manage.py", "rotate_encryption_key"], production_env)

    assert made.returncode == 0, made.stdout + made.stderr
    key = made.stdout.strip()
    from cryptography.fernet import Fernet

    assert Fernet(key).decrypt(Fernet(key).encrypt(b"x")) == b"x"
    assert rotate.returncode != 0
    assert "FIELD_ENCRYPTION_KEY" in rotate.stderr
