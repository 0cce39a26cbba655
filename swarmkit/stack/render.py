"""Rendering a stack to YAML, and content-addressed names for file-based objects."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from swarmkit.exceptions import StackFileError
from swarmkit.stack.model import Config, Secret, Stack
from swarmkit.stack.yamlio import dump_yaml

__all__ = ["hash_names", "render_stack"]

_HASH_LENGTH = 12


def render_stack(stack: Stack) -> str:
    """The stack as YAML, in the shape ``docker stack config`` prints.

    Deterministic: keys in a fixed order (fields in the CLI's order, names
    sorted), so the same model always gives the same bytes. Every ``$`` in a
    value is written ``$$``: the output is a stack file in its own right, and
    loading (or deploying) it interpolates back to exactly these values.
    """
    return dump_yaml(_escape(stack.to_data()))


def _escape(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("$", "$$")
    if isinstance(value, dict):
        return {key: _escape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_escape(item) for item in value]
    return value


def _digest(path: str, kind: str, key: str) -> str:
    try:
        content = Path(path).read_bytes()
    except OSError as exc:
        raise StackFileError(
            f"cannot read the file of {kind} {key!r}: {exc.strerror or exc}",
            file=path,
            key_path=f"{kind}s.{key}.file",
            hint="create the file or fix its path",
        ) from None
    return hashlib.sha256(content).hexdigest()[:_HASH_LENGTH]


def hash_names(stack: Stack, stack_name: str) -> Stack:
    """Name every file-based config and secret after its content.

    Swarm configs and secrets are immutable, so a changed file must become a
    new object for the services using it to roll. Each ``file:`` object gets
    ``name: <stack>_<key>_<12 hex of sha256>`` (or ``<name>_<hash>`` when it
    already has a name). External and driver-based objects are left alone.
    Returns a new stack; ``stack`` is not changed.
    """
    result = stack.model_copy(deep=True)
    file_objects: list[tuple[str, str, Config | Secret]] = [
        *(("config", key, obj) for key, obj in result.configs.items()),
        *(("secret", key, obj) for key, obj in result.secrets.items()),
    ]
    for kind, key, obj in file_objects:
        if obj.external or obj.driver or not obj.file:
            continue
        base = obj.name or f"{stack_name}_{key}"
        obj.name = f"{base}_{_digest(obj.file, kind, key)}"
    return result
