"""secret() and database_url(): every precedence case, stripping, each error."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from swarmkit.django import (
    MissingSecretError,
    SecretError,
    SecretFileError,
    SecretValueError,
    database_url,
    secret,
)
from swarmkit.exceptions import SwarmkitError


@pytest.fixture
def places(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """An empty secrets dir and a spare file; no TOKEN variables set."""
    secrets = tmp_path / "run-secrets"
    secrets.mkdir()
    monkeypatch.setenv("SWARMKIT_SECRETS_DIR", str(secrets))
    for var in ("TOKEN", "TOKEN_FILE"):
        monkeypatch.delenv(var, raising=False)
    return {"dir": secrets, "file": tmp_path / "elsewhere.txt"}


def test_default_secrets_dir_is_run_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    from swarmkit.django.secrets import secrets_dir

    monkeypatch.delenv("SWARMKIT_SECRETS_DIR", raising=False)
    assert secrets_dir() == Path("/run/secrets")


# Each row: which places hold a value -> which one wins.
PRECEDENCE = [
    ({"file_var", "dir", "env"}, "file_var"),
    ({"file_var", "dir"}, "file_var"),
    ({"file_var", "env"}, "file_var"),
    ({"file_var"}, "file_var"),
    ({"dir", "env"}, "dir"),
    ({"dir"}, "dir"),
    ({"env"}, "env"),
    (set(), "default"),
]


@pytest.mark.parametrize(("present", "winner"), PRECEDENCE)
def test_precedence(
    places: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
    present: set[str],
    winner: str,
) -> None:
    if "file_var" in present:
        places["file"].write_text("from-file-var\n")
        monkeypatch.setenv("TOKEN_FILE", str(places["file"]))
    if "dir" in present:
        (places["dir"] / "token").write_text("from-dir\n")
    if "env" in present:
        monkeypatch.setenv("TOKEN", "from-env")
    expected = {
        "file_var": "from-file-var",
        "dir": "from-dir",
        "env": "from-env",
        "default": "from-default",
    }[winner]
    assert secret("token", default="from-default") == expected


def test_none_is_a_valid_default(places: dict[str, Path]) -> None:
    assert secret("token", default=None) is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("value\n", "value"),
        ("value\r\n", "value"),
        ("value\n\n\n", "value"),
        ("  spaced value  \n", "  spaced value  "),
        ("multi\nline\n", "multi\nline"),
        ("", ""),
    ],
)
def test_trailing_newlines_are_stripped(places: dict[str, Path], raw: str, expected: str) -> None:
    (places["dir"] / "token").write_text(raw)
    assert secret("token") == expected


def test_env_value_newlines_stripped(places: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOKEN", "abc\n")
    assert secret("token") == "abc"


def test_missing_secret_names_all_three_places(places: dict[str, Path]) -> None:
    with pytest.raises(MissingSecretError) as caught:
        secret("token")
    error = caught.value
    text = str(error)
    assert "$TOKEN_FILE" in text
    assert str(places["dir"] / "token") in text
    assert "$TOKEN is not set" in text
    assert "create the Docker secret 'token'" in text
    assert error.name == "token"
    assert len(error.looked_at) == 3
    assert isinstance(error, ImproperlyConfigured)
    assert isinstance(error, SwarmkitError)
    assert isinstance(error, SecretError)


def test_file_var_pointing_nowhere_is_an_error_not_a_fall_through(
    places: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    (places["dir"] / "token").write_text("would-be-found")
    monkeypatch.setenv("TOKEN", "also-there")
    missing = places["file"].parent / "nope"
    monkeypatch.setenv("TOKEN_FILE", str(missing))
    with pytest.raises(SecretFileError) as caught:
        secret("token", default="never-used")
    assert caught.value.path == str(missing)
    assert "$TOKEN_FILE" in str(caught.value)
    assert str(missing) in str(caught.value)
    assert isinstance(caught.value, ImproperlyConfigured)


def test_unreadable_file_is_an_error(places: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    # A directory where a file should be: reading fails whatever the user id.
    monkeypatch.setenv("TOKEN_FILE", str(places["dir"]))
    with pytest.raises(SecretFileError, match="cannot read"):
        secret("token")


def test_non_utf8_file_is_an_error(places: dict[str, Path]) -> None:
    (places["dir"] / "token").write_bytes(b"\xff\xfe\n")
    with pytest.raises(SecretFileError, match="not UTF-8"):
        secret("token")


def test_directory_in_secrets_dir_is_not_a_secret(places: dict[str, Path]) -> None:
    (places["dir"] / "token").mkdir()
    with pytest.raises(MissingSecretError, match="not a regular file"):
        secret("token")


@pytest.mark.parametrize("name", ["", "a/b", "..", "."])
def test_invalid_names(places: dict[str, Path], name: str) -> None:
    with pytest.raises(SecretError, match="invalid secret name"):
        secret(name)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("true", True), ("YES", True), ("on", True), ("1", True), ("false", False),
     ("no", False), ("Off", False), ("0", False), ("", False)],
)  # fmt: skip
def test_cast_bool(places: dict[str, Path], monkeypatch: pytest.MonkeyPatch, raw: str, expected: bool) -> None:
    monkeypatch.setenv("TOKEN", raw)
    assert secret("token", cast=bool) is expected


def test_cast_bool_refuses_other_words_without_echoing(
    places: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TOKEN", "maybe-s3cret")
    with pytest.raises(SecretValueError) as caught:
        secret("token", cast=bool)
    assert "not a boolean" in str(caught.value)
    assert "$TOKEN" in str(caught.value)
    assert "maybe-s3cret" not in str(caught.value)
    assert caught.value.source == "$TOKEN"


def test_cast_int(places: dict[str, Path]) -> None:
    (places["dir"] / "token").write_text(" 42 \n")
    assert secret("token", cast=int) == 42
    (places["dir"] / "token").write_text("4x2")
    with pytest.raises(SecretValueError, match="not an integer") as caught:
        secret("token", cast=int)
    assert str(places["dir"] / "token") in str(caught.value)


def test_cast_list(places: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOKEN", "a.example.com, b.example.com,,c ")
    assert secret("token", cast=list) == ["a.example.com", "b.example.com", "c"]


def test_string_default_is_cast_other_defaults_are_not(places: dict[str, Path]) -> None:
    assert secret("token", default="yes", cast=bool) is True
    assert secret("token", default="7", cast=int) == 7
    assert secret("token", default=["x"], cast=list) == ["x"]
    assert secret("token", default=None, cast=int) is None


def test_custom_cast_errors_hide_the_value(places: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    def strict(value: str) -> str:
        raise ValueError(f"bad value {value}")

    monkeypatch.setenv("TOKEN", "hunter2")
    with pytest.raises(SecretValueError) as caught:
        secret("token", cast=strict)
    assert "hunter2" not in str(caught.value)
    assert "strict" in str(caught.value)


def test_database_url_postgres() -> None:
    config = database_url("postgresql://app:pa%40ss@db:5432/app?sslmode=require\n")
    assert config["ENGINE"] == "django.db.backends.postgresql"
    assert (config["USER"], config["PASSWORD"], config["HOST"], config["PORT"], config["NAME"]) == (
        "app", "pa@ss", "db", 5432, "app",
    )  # fmt: skip
    assert config["OPTIONS"] == {"sslmode": "require"}


@pytest.mark.parametrize("scheme", ["postgres", "postgresql", "pgsql"])
def test_database_url_postgres_aliases(scheme: str) -> None:
    assert database_url(f"{scheme}://u@h/db")["ENGINE"] == "django.db.backends.postgresql"


def test_database_url_sqlite(tmp_path: Path) -> None:
    config = database_url(f"sqlite:///{tmp_path}/db.sqlite3")
    assert config["ENGINE"] == "django.db.backends.sqlite3"
    assert config["NAME"] == f"{tmp_path}/db.sqlite3"
    assert database_url("sqlite://:memory:")["NAME"] == ":memory:"


def test_database_url_through_secret(places: dict[str, Path]) -> None:
    (places["dir"] / "database_uri").write_text("postgresql://app:pw@db/app\n")
    assert secret("database_uri", cast=database_url)["NAME"] == "app"


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("app:hunter2@db/app", "not a URL"),
        ("mongodb://app:hunter2@db/app", "unknown database scheme"),
    ],
)
def test_database_url_errors_name_the_secret_not_the_password(
    places: dict[str, Path], url: str, fragment: str
) -> None:
    (places["dir"] / "database_uri").write_text(url)
    with pytest.raises(SecretValueError) as caught:
        secret("database_uri", cast=database_url)
    text = str(caught.value)
    assert fragment in text
    assert "'database_uri'" in text
    assert "hunter2" not in text


def test_settings_module_stops_with_the_message(tmp_path: Path) -> None:
    """A settings module whose secret is missing fails start-up with the message, no traceback noise."""
    import subprocess
    import sys

    from tests.django.servers import REPO

    settings = tmp_path / "badsettings.py"
    settings.write_text(
        "from swarmkit.django import secret\n"
        "SECRET_KEY = secret('secret_key')\n"
        "INSTALLED_APPS = []\n"
    )
    empty = tmp_path / "secrets"
    empty.mkdir()
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": f"{tmp_path}:{REPO}",
        "DJANGO_SETTINGS_MODULE": "badsettings",
        "SWARMKIT_SECRETS_DIR": str(empty),
    }
    done = subprocess.run(
        [sys.executable, "-m", "django", "check"], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode != 0
    assert "MissingSecretError: secret 'secret_key' not found" in done.stderr
    assert "$SECRET_KEY_FILE is not set" in done.stderr
