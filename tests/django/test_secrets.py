"""secret() and database_url(): every precedence case, stripping, each error."""

from __future__ import annotations

import functools
import logging
from pathlib import Path
from typing import Any

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
from tests.django.canary import CANARY, assert_hidden


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


def test_env_value_newlines_stripped(
    places: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
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


def test_unreadable_file_is_an_error(
    places: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
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
def test_cast_bool(
    places: dict[str, Path], monkeypatch: pytest.MonkeyPatch, raw: str, expected: bool
) -> None:
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


def test_custom_cast_errors_hide_the_value(
    places: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
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
        [sys.executable, "-m", "django", "check"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode != 0
    assert "MissingSecretError: secret 'secret_key' not found" in done.stderr
    assert "$SECRET_KEY_FILE is not set" in done.stderr


# --- files are read bounded --------------------------------------------------------------------


def test_a_secret_file_of_exactly_the_limit_is_read(places: dict[str, Path]) -> None:
    from swarmkit.files import MAX_SECRET_FILE

    (places["dir"] / "token").write_bytes(b"k" * MAX_SECRET_FILE)
    assert len(secret("token")) == MAX_SECRET_FILE


def test_a_secret_file_over_500_kib_is_refused_unread(
    places: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    from swarmkit.files import MAX_SECRET_FILE

    places["file"].write_bytes(CANARY.encode() * (MAX_SECRET_FILE // len(CANARY) + 1))
    monkeypatch.setenv("TOKEN_FILE", str(places["file"]))
    with pytest.raises(SecretFileError) as caught:
        secret("token")
    text = str(caught.value)
    assert text.startswith(f"secret 'token': $TOKEN_FILE names {str(places['file'])!r}: ")
    assert "larger than 500 KiB" in text and caught.value.path == str(places["file"])
    assert_hidden(exc=caught.value)


@pytest.mark.parametrize(
    ("path", "kind"), [("/dev/zero", "a character device"), ("/dev/null", "a character device")]
)
def test_a_device_is_refused_in_one_line(
    places: dict[str, Path], monkeypatch: pytest.MonkeyPatch, path: str, kind: str
) -> None:
    monkeypatch.setenv("TOKEN_FILE", path)
    with pytest.raises(SecretFileError) as caught:
        secret("token")
    assert str(caught.value) == (
        f"secret 'token': $TOKEN_FILE names {path!r}: cannot read the secret file: "
        f"it is {kind}, not a regular file (give the path of a regular file)"
    )
    assert caught.value.__context__ is None and caught.value.__cause__ is None


def test_a_fifo_is_refused_without_waiting_for_a_writer(
    places: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before, opening a FIFO that nobody writes blocked start-up for ever."""
    import os
    import threading

    fifo = places["file"].parent / "token.fifo"
    os.mkfifo(fifo)
    monkeypatch.setenv("TOKEN_FILE", str(fifo))
    caught: list[BaseException] = []

    def read() -> None:
        try:
            secret("token")
        except BaseException as exc:  # handed to the test thread
            caught.append(exc)

    reader = threading.Thread(target=read, daemon=True)  # a blocked open must not hang pytest
    reader.start()
    reader.join(10)
    assert not reader.is_alive(), "secret() blocked on the FIFO"
    (error,) = caught
    assert isinstance(error, SecretFileError)
    assert str(error) == (
        f"secret 'token': $TOKEN_FILE names {str(fifo)!r}: cannot read the secret file: "
        "it is a FIFO (named pipe), not a regular file (give the path of a regular file)"
    )


def test_a_fifo_in_the_secrets_dir_is_not_a_secret(places: dict[str, Path]) -> None:
    import os

    os.mkfifo(places["dir"] / "token")
    with pytest.raises(MissingSecretError, match="not a regular file"):
        secret("token")


def test_a_dangling_file_var_symlink_does_not_exist(
    places: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    link = places["file"].parent / "link"
    link.symlink_to(places["file"].parent / "gone")
    monkeypatch.setenv("TOKEN_FILE", str(link))
    with pytest.raises(SecretFileError) as caught:
        secret("token")
    text = str(caught.value)
    assert text.startswith(f"secret 'token': $TOKEN_FILE names {str(link)!r}: cannot read")


# --- the canary: no value in any message, chain or log -------------------------------------------


class _LoudError(Exception):
    pass


def _raises(kind: type[BaseException]) -> Any:
    def cast(value: str) -> Any:
        raise kind(value)

    return cast


CASTS = {
    "KeyError": _raises(KeyError),
    "ValueError": _raises(ValueError),
    "TypeError": _raises(TypeError),
    "custom": _raises(_LoudError),
    "lookup": lambda value: {}[value],
    "int": int,
    "float": float,
    "bool": bool,
    "partial": functools.partial(_raises(KeyError)),
    "database_url": database_url,
}


@pytest.mark.parametrize("source", ["env", "file_var", "dir", "default"])
@pytest.mark.parametrize("cast", sorted(CASTS))
def test_no_cast_error_shows_the_value(
    places: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    cast: str,
    source: str,
) -> None:
    value = f"postgresql://app:{CANARY}@db:port/app" if cast == "database_url" else CANARY
    if source == "env":
        monkeypatch.setenv("TOKEN", value)
    elif source == "file_var":
        places["file"].write_text(value + "\n")
        monkeypatch.setenv("TOKEN_FILE", str(places["file"]))
    elif source == "dir":
        (places["dir"] / "token").write_text(value)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(SecretValueError) as caught:
        if source == "default":
            secret("token", default=value, cast=CASTS[cast])
        else:
            secret("token", cast=CASTS[cast])
    assert str(caught.value).startswith("secret 'token' from ")
    assert caught.value.__context__ is None and caught.value.__cause__ is None
    assert_hidden(exc=caught.value, records=caplog.records)


@pytest.mark.parametrize(
    "url",
    [
        f"mongodb://app:{CANARY}@db/app",
        f"{CANARY}://app@db/app",
        f"app:{CANARY}@db/app",
        f"postgresql://app:{CANARY}@db:99999/app",
        f"postgresql://app:{CANARY}@[::1/app",
    ],
)
def test_no_database_url_error_shows_the_url(
    places: dict[str, Path], monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    monkeypatch.setenv("TOKEN", url)
    with pytest.raises(SecretValueError) as caught:
        secret("token", cast=database_url)
    assert_hidden(exc=caught.value)


def test_a_non_utf8_file_chains_nothing(places: dict[str, Path]) -> None:
    (places["dir"] / "token").write_bytes(CANARY.encode() + b"\xff\n")
    with pytest.raises(SecretFileError, match="not UTF-8") as caught:
        secret("token")
    # The UnicodeDecodeError would carry the file's bytes: it is not even the context.
    assert caught.value.__context__ is None
    assert_hidden(exc=caught.value)


def test_start_up_output_shows_no_value(tmp_path: Path) -> None:
    """What a crashing settings module prints (Django prints the whole chain)."""
    import subprocess
    import sys

    from tests.django.servers import REPO

    (tmp_path / "leaky.py").write_text(
        "from swarmkit.django import secret\n"
        "SECRET_KEY = secret('secret_key', cast=lambda value: {}[value])\n"
        "INSTALLED_APPS = []\n"
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": f"{tmp_path}:{REPO}",
        "DJANGO_SETTINGS_MODULE": "leaky",
        "SECRET_KEY": CANARY,
        "SWARMKIT_SECRETS_DIR": str(tmp_path),
    }
    done = subprocess.run(
        [sys.executable, "-m", "django", "check"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode != 0
    assert "SecretValueError: secret 'secret_key' from $SECRET_KEY was refused by" in done.stderr
    assert_hidden(texts=[done.stdout, done.stderr])
