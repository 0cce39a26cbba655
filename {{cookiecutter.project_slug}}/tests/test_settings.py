"""The settings module, loaded in new processes as the containers load it."""

import json
import subprocess
import sys
import textwrap

import pytest

PRODUCTION_HOST = "{{ cookiecutter.domain_name }}"

# Loads the settings the way manage.py and gunicorn do; exit code 3 when they
# refuse to load.
LOAD_SETTINGS = textwrap.dedent(
    """
    import sys
    import django
    from django.core.exceptions import ImproperlyConfigured
    try:
        django.setup()
    except ImproperlyConfigured as exc:
        print(f"ImproperlyConfigured: {exc}", file=sys.stderr)
        sys.exit(3)
    """
)


def run_python(code, env):
    return subprocess.run(
        [sys.executable, "-c", LOAD_SETTINGS + textwrap.dedent(code)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


@pytest.mark.parametrize("missing", ["secret_key", "database_uri"])
def test_the_settings_refuse_to_load_without_a_required_secret(missing, project_env, secrets_dir):
    (secrets_dir / missing).unlink()
    done = run_python("", project_env(SWARMKIT_SECRETS_DIR=secrets_dir))
    assert done.returncode == 3, done.stderr
    assert f"ImproperlyConfigured: secret '{missing}' not found" in done.stderr


def test_the_production_settings_pass_check_deploy(manage, project_env, secrets_dir):
    env = project_env(SWARMKIT_SECRETS_DIR=secrets_dir, DJANGO_ALLOWED_HOSTS=PRODUCTION_HOST)
    done = manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "System check identified no issues" in done.stdout


def test_secrets_come_from_the_secrets_directory(project_env, secrets_dir):
    (secrets_dir / "secret_key_fallbacks").write_text("old-key-1\nold-key-2\n")
    done = run_python(
        """
        from django.conf import settings
        print(settings.SECRET_KEY_FALLBACKS, settings.CSRF_TRUSTED_ORIGINS)
        """,
        project_env(SWARMKIT_SECRETS_DIR=secrets_dir, DJANGO_ALLOWED_HOSTS="a.example.com,.b.org"),
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[0] == (
        "['old-key-1', 'old-key-2'] ['https://a.example.com', 'https://*.b.org']"
    )


def test_more_csrf_origins_come_from_the_environment(project_env, secrets_dir):
    # A review app's URL has its own port: https://<host>:<port>.
    done = run_python(
        """
        from django.conf import settings
        print(settings.CSRF_TRUSTED_ORIGINS)
        """,
        project_env(
            SWARMKIT_SECRETS_DIR=secrets_dir,
            DJANGO_ALLOWED_HOSTS="mr.review.example.com",
            DJANGO_CSRF_TRUSTED_ORIGINS="https://mr.review.example.com:20003",
        ),
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[0] == (
        "['https://mr.review.example.com', 'https://mr.review.example.com:20003']"
    )


def test_build_mode_collects_static_files_without_any_secret(manage, project_env, tmp_path):
    static_root = tmp_path / "staticfiles"
    env = project_env(DJANGO_BUILD="1", DJANGO_STATIC_ROOT=static_root)
    done = manage("collectstatic", "--noinput", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    manifest = json.loads((static_root / "staticfiles.json").read_text())
    hashed = manifest["paths"]["admin/css/base.css"]
    assert hashed != "admin/css/base.css"
    assert (static_root / f"{hashed}.gz").is_file()


def test_build_mode_cannot_serve(project_env):
    done = run_python(
        """
        from django.conf import settings
        print(settings.ALLOWED_HOSTS, settings.DEBUG, settings.DATABASES["default"]["ENGINE"])
        """,
        project_env(DJANGO_BUILD="1", DJANGO_DEBUG="true"),
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[0] == "[] False django.db.backends.dummy"


def test_logs_are_json_lines_on_stdout(project_env, secrets_dir):
    done = run_python(
        """
        import logging
        log = logging.getLogger("{{ cookiecutter.project_slug }}.test")
        log.warning("hello %s", "there", extra={"job": 7})
        try:
            1 / 0
        except ZeroDivisionError:
            log.exception("it broke")
        """,
        project_env(SWARMKIT_SECRETS_DIR=secrets_dir),
    )
    assert done.returncode == 0, done.stderr
    first, second = (json.loads(line) for line in done.stdout.splitlines())
    assert first["level"] == "WARNING"
    assert first["logger"] == "{{ cookiecutter.project_slug }}.test"
    assert first["message"] == "hello there"
    assert first["job"] == 7
    assert second["level"] == "ERROR"
    assert "ZeroDivisionError" in second["exc_info"]
