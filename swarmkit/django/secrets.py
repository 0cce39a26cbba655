"""Settings from Docker secrets: :func:`secret` and the :func:`database_url` cast.

A secret is looked up, in this order, in the file named by ``<NAME>_FILE``,
in ``<secrets dir>/<name>`` (``/run/secrets``, or ``$SWARMKIT_SECRETS_DIR``),
in the environment variable ``<NAME>``, and last in ``default``. Files are
read bounded: regular files of at most 500 KiB (Swarm's own secret limit).
Messages never contain a secret's value, only where it was looked for.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final, TypeVar, overload

from django.core.exceptions import ImproperlyConfigured

from swarmkit.exceptions import StackFileError, SwarmkitError
from swarmkit.files import MAX_SECRET_FILE, read_bounded

__all__ = [
    "DEFAULT_SECRETS_DIR",
    "MissingSecretError",
    "SecretError",
    "SecretFileError",
    "SecretValueError",
    "database_url",
    "secret",
    "secrets_dir",
]

DEFAULT_SECRETS_DIR: Final = "/run/secrets"

T = TypeVar("T")


class _Missing:
    def __repr__(self) -> str:
        return "<no default>"


_NO_DEFAULT: Final = _Missing()

_TRUE = frozenset({"1", "true", "yes", "on", "y", "t"})
_FALSE = frozenset({"0", "false", "no", "off", "n", "f", ""})


class SecretError(SwarmkitError, ImproperlyConfigured):
    """A secret is missing, unreadable or has a value its cast refuses.

    Also Django's ``ImproperlyConfigured``, so a settings module that raises it
    stops start-up with the message. ``name`` is the secret's name.
    """

    def __init__(self, message: str, *, name: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.name = name


class MissingSecretError(SecretError):
    """No place had the secret and no default was given; ``looked_at`` lists the places."""

    def __init__(self, name: str, looked_at: tuple[str, ...]) -> None:
        places = "; ".join(looked_at)
        super().__init__(
            f"secret {name!r} not found: {places}",
            name=name,
            hint=(
                f"create the Docker secret {name!r} and list it under the service's "
                f"secrets:, or set {_env_name(name)} or {_env_name(name)}_FILE"
            ),
        )
        self.looked_at = looked_at


class SecretFileError(SecretError):
    """A secret file that should be read is missing, unreadable, not a regular file,
    larger than 500 KiB or not UTF-8 (``path``)."""

    def __init__(self, message: str, *, name: str, path: str, hint: str | None = None) -> None:
        super().__init__(message, name=name, hint=hint)
        self.path = path


class SecretValueError(SecretError):
    """A secret was found but its cast refused it (``source`` says where it came from)."""

    def __init__(self, message: str, *, name: str, source: str, hint: str | None = None) -> None:
        super().__init__(message, name=name, hint=hint)
        self.source = source


class _SafeValueError(ValueError):
    """A cast's refusal whose message quotes nothing of the value, so it can be shown."""


def _env_name(name: str) -> str:
    return name.upper()


def secrets_dir() -> Path:
    """The directory Docker mounts secrets in: ``$SWARMKIT_SECRETS_DIR`` or ``/run/secrets``."""
    return Path(os.environ.get("SWARMKIT_SECRETS_DIR") or DEFAULT_SECRETS_DIR)


def _file_error(name: str, path: Path, source: str, exc: StackFileError) -> SecretFileError:
    """One line naming the secret and the file (never its content) for a refused read."""
    shown = str(path)
    where = repr(shown) if source == shown else f"{source} names {shown!r}"
    if not os.path.lexists(path):
        return SecretFileError(
            f"secret {name!r}: {where}, which does not exist",
            name=name,
            path=shown,
            hint="fix the path or unset the variable",
        )
    hint = exc.hint
    if os.path.isfile(path) and not os.access(path, os.R_OK):
        hint = "check the file's owner and mode (secrets: mode: 0400, uid: of the app user)"
    return SecretFileError(
        f"secret {name!r}: {where}: {exc.message}", name=name, path=shown, hint=hint
    )


def _read(name: str, path: Path, source: str) -> str:
    """The text of a secret file, read bounded (:data:`~swarmkit.files.MAX_SECRET_FILE`).

    A FIFO, device or directory is refused before anything is read (a
    ``$<NAME>_FILE`` of ``/dev/zero`` would otherwise fill memory, a FIFO hang
    start-up), and so is a file larger than Swarm's own secret limit.
    """
    # Each error is raised outside its ``except`` block, so it chains nothing:
    # a UnicodeDecodeError carries the file's bytes, and Django prints chains.
    error: SecretFileError | None = None
    try:
        raw = read_bounded(path, MAX_SECRET_FILE, what="secret file")
    except StackFileError as exc:
        error = _file_error(name, path, source, exc)
    if error is not None:
        raise error
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        error = SecretFileError(
            f"secret {name!r}: {str(path)!r} is not UTF-8 text",
            name=name,
            path=str(path),
            hint="store the secret as UTF-8 text",
        )
    if error is not None:
        raise error
    return text.rstrip("\r\n")


def _lookup(name: str) -> tuple[str, str] | None:
    """``(value, source)`` of the first place that has ``name``, or ``None``."""
    env = _env_name(name)
    file_var = f"{env}_FILE"
    file_path = os.environ.get(file_var)
    if file_path:
        # A _FILE that points nowhere is a typo or a missing mount: never fall through.
        return _read(name, Path(file_path), f"${file_var}"), f"${file_var}"
    path = secrets_dir() / name
    if path.is_file():
        return _read(name, path, str(path)), str(path)
    if env in os.environ:
        return os.environ[env].rstrip("\r\n"), f"${env}"
    return None


def _not_found_places(name: str) -> tuple[str, ...]:
    env = _env_name(name)
    path = secrets_dir() / name
    dir_note = "no such file" if not path.exists() else "not a regular file"
    return (
        f"${env}_FILE is not set",
        f"{path} ({dir_note})",
        f"${env} is not set",
    )


def _cast_name(cast: Callable[[str], Any]) -> str:
    # Never str(cast): a partial or an object's repr could show anything.
    return str(getattr(cast, "__qualname__", None) or type(cast).__name__)


def _cast_value(name: str, value: str, source: str, cast: Callable[[str], Any]) -> Any:
    """``cast(value)``, or :class:`SecretValueError` naming the cast's exception type only.

    The value never reaches a message: a cast's exception text quotes it as
    often as not (``int()``'s, ``KeyError``'s, a URL parser's), so neither
    that text nor the exception itself is kept; the error is raised outside
    the ``except`` block so that it chains no exception at all.
    """
    if cast is bool:
        lowered = value.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise SecretValueError(
            f"secret {name!r} from {source} is not a boolean",
            name=name,
            source=source,
            hint="use one of true/false, yes/no, on/off, 1/0",
        )
    if cast is list:
        return [item.strip() for item in value.split(",") if item.strip()]
    error: SecretValueError | None = None
    if cast is int:
        try:
            return int(value.strip())
        except ValueError:
            error = SecretValueError(
                f"secret {name!r} from {source} is not an integer",
                name=name,
                source=source,
                hint="write a whole number such as 30",
            )
        raise error
    try:
        return cast(value)
    except SecretError:
        raise
    except _SafeValueError as exc:
        error = SecretValueError(f"secret {name!r} from {source}: {exc}", name=name, source=source)
    except Exception as exc:  # any cast, any exception: only its type is shown
        error = SecretValueError(
            f"secret {name!r} from {source} was refused by {_cast_name(cast)} "
            f"({type(exc).__name__})",
            name=name,
            source=source,
            hint="the value is not shown; check it against what the cast expects",
        )
    raise error


@overload
def secret(name: str) -> str: ...
@overload
def secret(name: str, default: T) -> str | T: ...
@overload
def secret(name: str, *, cast: Callable[[str], T]) -> T: ...
@overload
def secret(name: str, default: Any, cast: Callable[[str], T]) -> T: ...


def secret(name: str, default: Any = _NO_DEFAULT, cast: Callable[[str], Any] | None = None) -> Any:
    """The secret ``name``, from the first place that has it.

    Places, in order: the file named by ``$<NAME>_FILE``; ``<secrets dir>/<name>``;
    ``$<NAME>``; ``default``. Trailing newlines are stripped. ``cast`` may be
    ``bool``, ``int``, ``list`` (comma-separated), :func:`database_url` or any
    callable taking the string; a string ``default`` is cast too, any other
    default is returned as it is.

    Raises :class:`MissingSecretError` when nothing has it and there is no
    default, :class:`SecretFileError` when ``$<NAME>_FILE`` names a missing or
    unreadable file (or a FIFO, a device, a file over 500 KiB: files are read
    bounded), :class:`SecretValueError` when ``cast`` refuses the value.
    All three are ``ImproperlyConfigured``.
    """
    if not name or "/" in name or name in (".", ".."):
        raise SecretError(f"invalid secret name {name!r}", name=name, hint="use a plain file name")
    found = _lookup(name)
    if found is None:
        if default is _NO_DEFAULT:
            raise MissingSecretError(name, _not_found_places(name))
        if cast is not None and isinstance(default, str):
            return _cast_value(name, default, "the default", cast)
        return default
    value, source = found
    if cast is None:
        return value
    return _cast_value(name, value, source, cast)


def database_url(url: str) -> dict[str, Any]:
    """A ``DATABASES`` entry from a URL (``postgresql://...``, ``sqlite:///path``).

    Uses dj-database-url; query parameters become ``OPTIONS``
    (``?sslmode=require``). Use as ``secret("database_uri", cast=database_url)``.
    """
    import dj_database_url

    url = url.strip()
    if "://" not in url:
        raise _SafeValueError("not a URL: write scheme://..., e.g. postgresql://user@host/db")
    unknown = False
    try:
        config = dj_database_url.parse(url)
    except dj_database_url.UnknownSchemeError:
        unknown = True
    if unknown:
        # Not even the scheme is quoted: it is part of the secret's value.
        raise _SafeValueError("unknown database scheme: use postgresql:// or sqlite://")
    return dict(config)
