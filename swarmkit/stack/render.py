"""Rendering a stack model to YAML, and content-addressed names for file-based objects."""

from __future__ import annotations

import hashlib
import re

from swarmkit.exceptions import StackValidationError
from swarmkit.files import MAX_CONFIG_FILE, MAX_SECRET_FILE, read_bounded
from swarmkit.stack.model import Config, Secret, Stack
from swarmkit.stack.output import render_data
from swarmkit.stack.schema import version_key

__all__ = ["hash_names", "render_stack"]

_HASH_LENGTH = 12
_HASH_SUFFIX = re.compile(rf"_[0-9a-f]{{{_HASH_LENGTH}}}$")


def render_stack(stack: Stack) -> str:
    """The stack as YAML, in the shape ``docker stack config`` prints.

    Deterministic: keys in a fixed order (fields in the CLI's order, names
    sorted), so the same model always gives the same bytes. Every ``$`` in a
    value is written ``$$``: the output is a stack file in its own right, and
    loading (or deploying) it interpolates back to exactly these values.
    """
    return render_data(stack.to_data())


def _digest(path: str, kind: str, key: str) -> str:
    # Swarm refuses a larger config or secret anyway; the bound keeps a path
    # such as /dev/zero from filling memory.
    limit = MAX_CONFIG_FILE if kind == "config" else MAX_SECRET_FILE
    content = read_bounded(
        path, limit, what=f"file of {kind} {key!r}", key_path=f"{kind}s.{key}.file"
    )
    return hashlib.sha256(content).hexdigest()[:_HASH_LENGTH]


def hash_names(stack: Stack, stack_name: str) -> Stack:
    """Name every file-based config and secret after its content.

    Swarm configs and secrets are immutable, so a changed file must become a
    new object for the services using it to roll. Each ``file:`` object gets
    ``name: <stack>_<key>_<12 hex of sha256>`` (or ``<name>_<hash>`` when it
    already has a name). External and driver-based objects are left alone.
    Returns a new stack; ``stack`` is not changed. Object names need format
    3.5 or later: an older stack raises :class:`StackValidationError`.
    """
    if version_key(stack.version) < (3, 5):
        raise StackValidationError(
            f"content-addressed names need Compose file version 3.5 or later "
            f"(this stack declares {stack.version})",
            key_path="version",
            hint='raise the version of your stack files to "3.8"',
        )
    result = stack.model_copy(deep=True)
    file_objects: list[tuple[str, str, Config | Secret]] = [
        *(("config", key, obj) for key, obj in result.configs.items()),
        *(("secret", key, obj) for key, obj in result.secrets.items()),
    ]
    for kind, key, obj in file_objects:
        if obj.external or (isinstance(obj, Secret) and obj.driver) or not obj.file:
            continue
        # A name that already ends in a content hash (our own output, hashed
        # again) gets the current hash instead of a second one.
        base = _HASH_SUFFIX.sub("", obj.name) or f"{stack_name}_{key}"
        obj.name = f"{base}_{_digest(obj.file, kind, key)}"
    return result
