"""Reading stack files: YAML, interpolation, validation and the CLI's load-time fix-ups.

:func:`load_stack` does what ``docker stack config -c a.yml -c b.yml`` does,
in the same order: parse each file, refuse properties the CLI forbids,
interpolate variables, validate, read ``env_file`` entries into
``environment``, make relative paths absolute against the directory of the
first file, then merge the files in order.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from swarmkit.exceptions import (
    InterpolationError,
    StackError,
    StackFileError,
    StackSyntaxError,
    StackValidationError,
    format_loc,
)
from swarmkit.files import MAX_STACK_FILE, read_bounded, read_stream_bounded
from swarmkit.stack.envfile import (
    env_file_lines,
    kv_list_to_mapping,
    parse_env_file,
    read_env_file,
)
from swarmkit.stack.golang import clean_path
from swarmkit.stack.interpolate import interpolate
from swarmkit.stack.merge import merge_owned
from swarmkit.stack.model import Config, Secret, Stack
from swarmkit.stack.schema import check_schema, normalize_version
from swarmkit.stack.service import Service
from swarmkit.stack.sources import (
    Position,
    SourceMap,
    file_positions,
    merged_sources,
    snapshot,
)
from swarmkit.stack.syntax import resolve_bind_source
from swarmkit.stack.yamlio import Lines, load_yaml

__all__ = ["build_environ", "load_stack", "load_stack_file"]

Loc = tuple[str | int, ...]

_MAX_SHOWN = 80  # characters of a wrong value shown in a message

# Keys the CLI refuses outright, with what to do instead.
_FORBIDDEN = {
    "extends": "copy the keys into the service; docker stack deploy cannot extend services",
    "volume_driver": "define a volume in the top-level volumes section and set its driver there",
    "volumes_from": "share a top-level volume between the services instead",
    "cpu_quota": "set resource limits with deploy.resources",
    "cpu_shares": "set resource limits with deploy.resources",
    "cpuset": "set resource limits with deploy.resources",
    "mem_limit": "set resource limits with deploy.resources",
    "memswap_limit": "set resource limits with deploy.resources",
}


def build_environ(
    environ: Mapping[str, str] | None = None, env_file: str | os.PathLike[str] | None = None
) -> dict[str, str]:
    """The variables interpolation sees: ``env_file`` values, then ``environ`` on top.

    ``environ`` defaults to the process environment; like ``docker compose``,
    a variable set in the environment wins over the same one in the file.
    """
    result: dict[str, str] = {}
    if env_file is not None:
        result.update(read_env_file(env_file))
    result.update(os.environ if environ is None else environ)
    return result


def _line(lines: Lines, loc: Loc) -> int | None:
    while loc:
        if loc in lines:
            return lines[loc]
        loc = loc[:-1]
    return lines.get(())


def _raw_loc(data: Any, loc: tuple[Any, ...]) -> Loc:
    """Map a pydantic error location onto the keys that exist in the raw data."""
    found: list[str | int] = []
    current = data
    for part in loc:
        in_dict = isinstance(current, dict) and part in current
        in_list = isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current)
        if in_dict or in_list:
            current = current[part]
            found.append(part)
    return tuple(found)


def _describe(error: Mapping[str, Any]) -> tuple[str, str | None]:
    kind = error["type"]
    if kind == "extra_forbidden":
        key = error["loc"][-1]
        return f"unknown key {key!r}", "check the spelling; docs/stack-reference.md lists every key"
    message = str(error["msg"]).removeprefix("Value error, ")
    if kind != "value_error" and not isinstance(error.get("input"), dict | list):
        got = repr(error.get("input"))
        # A 5000-digit number makes a 5000-character line otherwise.
        message += f", got {got if len(got) <= _MAX_SHOWN else got[:_MAX_SHOWN] + '...'}"
    return message, None


def _template_at(raw: Any, loc: Loc) -> str | None:
    """The value as written at ``loc`` when it has a ``$`` (interpolation may have changed it).

    A message about such a value must not show it: it holds the variables'
    values, and a variable may be a secret.
    """
    value = raw
    for part in loc:
        in_dict = isinstance(value, dict) and part in value
        in_list = isinstance(value, list) and isinstance(part, int) and 0 <= part < len(value)
        if not (in_dict or in_list):
            break
        value = value[part]
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str) and "$" in item:
            return item if item is value else format_loc(loc) or "the file"
        if isinstance(item, dict):
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return None


_REDACTED_HINT = "check the variables it uses; the value is not shown, it may be a secret"


def _validation_error(
    exc: ValidationError, data: Any, file: str, lines: Lines, raw: Any
) -> StackError:
    error = exc.errors()[0]
    loc = _raw_loc(data, error["loc"])
    if error["type"] == "extra_forbidden" and loc[-1:] != error["loc"][-1:]:
        loc = (*loc, error["loc"][-1])
    message, hint = _describe(error)
    template = None if error["type"] == "extra_forbidden" else _template_at(raw, loc)
    if template is not None:
        message, hint = f"invalid value after interpolating {template!r}", _REDACTED_HINT
    more = len(exc.errors()) - 1
    if more:
        message += f" (and {more} more error{'s' if more > 1 else ''})"
    return StackValidationError(message, file=file, line=_line(lines, loc), loc=loc, hint=hint)


def _check_forbidden(data: dict[str, Any], file: str, lines: Lines) -> None:
    services = data.get("services")
    if not isinstance(services, dict):
        return
    for name, service in services.items():
        if not isinstance(service, dict):
            continue
        for key, hint in _FORBIDDEN.items():
            if key in service:
                loc = ("services", name, key)
                raise StackValidationError(
                    f"{key!r} is not supported by docker stack deploy",
                    file=file,
                    line=_line(lines, loc),
                    loc=loc,
                    hint=hint,
                )


def _drop_unread_keys(data: dict[str, Any], file: str, lines: Lines) -> None:
    """Drop ``oom_score_adj``: the schema allows it, the CLI never reads it.

    Its Go field lacks the tag that maps the key, so ``docker stack deploy``
    silently ignores it; dropping it keeps our output the CLI's. The value is
    still type-checked first, as the CLI's schema does.
    """
    services = data.get("services")
    for name, service in (services or {}).items() if isinstance(services, dict) else ():
        if isinstance(service, dict) and "oom_score_adj" in service:
            value = service.pop("oom_score_adj")
            if not isinstance(value, int) or isinstance(value, bool):
                loc = ("services", name, "oom_score_adj")
                raise StackValidationError(
                    f"oom_score_adj must be an integer, got {value!r}",
                    file=file,
                    line=_line(lines, loc),
                    loc=loc,
                )


def _absolute(working_dir: str, path: str) -> str:
    # Go's filepath.Join also cleans the result (no "./", no "a/../").
    return path if os.path.isabs(path) else clean_path(os.path.join(working_dir, path))


def _resolve_environment(service: Service, working_dir: str, environ: Mapping[str, str]) -> None:
    """``env_file`` entries first, then ``environment``; empty values come from ``environ``."""
    resolved: dict[str, str | None] = {}

    def update(values: Mapping[str, str | None]) -> None:
        for key, value in values.items():
            if (value is None or value == "") and key in environ:
                resolved[key] = environ[key]
            else:
                resolved[key] = value

    if service.env_file:
        # Absolute, unlike the CLI's output, so that a rendered stack written
        # anywhere (say, a temporary file for `docker stack deploy`) still loads.
        service.env_file = [_absolute(working_dir, name) for name in service.env_file]
        entries: list[str] = []
        for env_file in service.env_file:
            entries.extend(parse_env_file(env_file, environ.get))
        update(kv_list_to_mapping(entries))
    update(service.environment)
    service.environment = resolved


def _fix_up(stack: Stack, working_dir: str, environ: Mapping[str, str]) -> None:
    """The CLI's load-time changes: env files, absolute paths, external names."""
    for service in stack.services.values():
        _resolve_environment(service, working_dir, environ)
        for mount in service.volumes:
            if mount.type == "bind":
                mount.source = resolve_bind_source(mount.source, working_dir, environ)
    for name, network in stack.networks.items():
        if network.external:
            network.name = network.name or name
        else:
            network.extensions = {}  # the CLI keeps x-* keys of external networks only
    for name, volume in stack.volumes.items():
        if volume.external:
            volume.name = volume.name or name
        else:
            volume.extensions = {}
    file_objects: list[tuple[str, Secret | Config]] = [
        *stack.secrets.items(),
        *stack.configs.items(),
    ]
    for name, obj in file_objects:
        if obj.external:
            obj.name = obj.name or name
        elif not isinstance(obj, Secret) or not obj.driver:
            obj.file = _absolute(working_dir, obj.file)


def _read(path: str) -> tuple[str, str]:
    if path == "-":
        file = "<stdin>"
        data = read_stream_bounded(sys.stdin.buffer, MAX_STACK_FILE, what="stack file", name=file)
    else:
        file = path
        if not os.path.lexists(path):
            raise StackFileError("no such file", file=path, hint="check the path given with -c")
        data = read_bounded(path, MAX_STACK_FILE, what="stack file")
    try:
        return data.decode("utf-8"), file
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise StackFileError(
            f"the stack file is not valid UTF-8 (byte {exc.start + 1})",
            file=file,
            line=line,
            hint="save the file as UTF-8",
        ) from None


def load_stack_file(
    path: str | os.PathLike[str],
    *,
    environ: Mapping[str, str] | None = None,
    working_dir: str | os.PathLike[str] | None = None,
) -> Stack:
    """Load one stack file without merging: parsed, interpolated, validated.

    Relative paths resolve against ``working_dir`` (default: the file's own
    directory). Raises a :class:`~swarmkit.exceptions.StackError` subclass
    naming the file, the line and the key.
    """
    stack, _ = _load_one(str(path), build_environ(environ), working_dir)
    return stack


def _load_one(
    path: str, environ: Mapping[str, str], working_dir: str | os.PathLike[str] | None
) -> tuple[Stack, str]:
    text, file = _read(path)
    data, lines = load_yaml(text, file)
    if not isinstance(data, dict):
        raise StackSyntaxError(
            "the top level must be a mapping",
            file=file,
            line=1,
            hint="a stack file starts with keys such as version: and services:",
        )
    raw = data
    try:
        version = normalize_version(data.get("version"), file)
        _check_forbidden(data, file, lines)
        data = interpolate(data, environ)
        check_schema(data, version, file)
        _drop_unread_keys(data, file, lines)
        stack = Stack.model_validate({**data, "version": version})
    except ValidationError as exc:
        raise _validation_error(exc, data, file, lines, raw) from None
    except StackError as exc:
        template = _template_at(raw, exc.loc) if exc.loc else None
        if template is not None and not isinstance(exc, InterpolationError):
            exc.message = f"invalid value after interpolating {template!r}"
            exc.hint = _REDACTED_HINT
        exc.file = file
        exc.line = exc.line or _line(lines, exc.loc)
        raise
    if working_dir is None:
        working_dir = os.getcwd() if path == "-" else os.path.dirname(os.path.abspath(path))
    try:
        _fix_up(stack, os.fspath(working_dir), environ)
    except StackError as exc:
        exc.file = exc.file or file
        raise
    stack.sources = _with_env_files(file_positions(file, data, lines, stack), stack)
    return stack, version


def _shown_path(path: str) -> str:
    """``path`` relative to the working directory when it is inside it, as CI annotations want."""
    relative = os.path.relpath(path)
    return path if relative == ".." or relative.startswith(".." + os.sep) else relative


def _with_env_files(sources: SourceMap, stack: Stack) -> SourceMap:
    """``sources`` plus the env file and line of each variable read from an ``env_file``.

    A variable the stack file sets itself keeps the stack file's position: its
    ``environment`` entry wins over the env file's, as the CLI lets it.
    """
    positions = dict(sources.positions)
    for name, service in stack.services.items():
        for path in service.env_file:  # later files win, as when they were read
            shown = _shown_path(path)
            for variable, line in env_file_lines(path).items():
                loc = ("services", name, "environment", variable)
                if loc not in sources.positions:
                    positions[loc] = Position(shown, line)
    return SourceMap(positions) if len(positions) != len(sources.positions) else sources


def load_stack(
    *paths: str | os.PathLike[str],
    environ: Mapping[str, str] | None = None,
    env_file: str | os.PathLike[str] | None = None,
) -> Stack:
    """Load stack files and merge them in order, exactly as ``docker stack config`` does.

    ``environ`` (default: the process environment) and the optional
    ``env_file`` give the variables for interpolation. Relative paths resolve
    against the directory of the first file, as the docker CLI does. The
    stack's :attr:`~swarmkit.stack.model.Stack.sources` say where each key
    was written (a later file wins for the keys it sets).
    """
    if not paths:
        raise StackFileError("no stack file given", hint="pass at least one file (-c FILE)")
    variables = build_environ(environ, env_file)
    first = os.fspath(paths[0])
    working_dir = os.getcwd() if first == "-" else os.path.dirname(os.path.abspath(first))
    merged, first_version = _load_one(first, variables, working_dir)
    if len(paths) == 1:
        return merged
    # Merging moves list items about; note where they were first.
    files = [snapshot(merged, merged.sources or SourceMap())]
    for path in paths[1:]:
        stack, version = _load_one(os.fspath(path), variables, working_dir)
        files.append(snapshot(stack, stack.sources or SourceMap()))
        if version != first_version:
            raise StackValidationError(
                f"version {version} differs from the first file's {first_version}",
                file=os.fspath(path),
                loc=("version",),
                hint="give every file the same version",
            )
        try:
            merge_owned(merged, stack)
        except StackError as exc:
            exc.file = os.fspath(path)
            raise
    merged.sources = merged_sources(merged, files)
    return merged
