"""Rotate a versioned external secret: create v<N+1>, raise its variable, deploy, remove v<N>.

The stack files say which variable versions a secret: its ``name`` is
``<base>_v${VARIABLE:-<default>}``. Every secret whose name uses the same
variable rotates with it (``tls_cert`` and ``tls_key`` share ``TLS_VERSION``).
The env file keeps its comments and order; only the variable's line changes,
written atomically. A failed deploy puts the env file back and leaves both
versions in the swarm.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import docker
import yaml

from swarmkit.deploy.deploy import deploy_stack
from swarmkit.deploy.secrets import create_secret, list_versions, remove_unused
from swarmkit.exceptions import DeployError, DeployFailedError, StackFileError
from swarmkit.files import MAX_ENV_FILE, MAX_STACK_FILE, read_bounded, write_atomically
from swarmkit.stack.envfile import read_env_file

__all__ = ["Rotation", "rotate_secret", "set_env_variable", "version_variables"]

_TEMPLATE = re.compile(
    r"^(?P<base>.+)_v\$\{(?P<var>[A-Za-z_][A-Za-z0-9_]*)(?::?[-?](?P<default>[^}]*))?\}$"
)


@dataclass(frozen=True)
class Rotation:
    """What :func:`rotate_secret` did."""

    variable: str
    old_version: int
    new_version: int
    created: tuple[str, ...]
    removed: tuple[str, ...]
    kept: tuple[str, ...]


def version_variables(files: Sequence[str]) -> dict[str, tuple[str, str, str]]:
    """Secret key -> (base, variable, default) for each versioned external secret of ``files``."""
    found: dict[str, tuple[str, str, str]] = {}
    for file in files:
        if file == "-":
            raise StackFileError("a rotation reads the stack files twice", file=file,
                                 hint="name the files, not standard input")  # fmt: skip
        data = yaml.safe_load(read_bounded(file, MAX_STACK_FILE, what="stack file")) or {}
        secrets = data.get("secrets") if isinstance(data, dict) else None
        for key, spec in (secrets or {}).items():
            match = _TEMPLATE.match(str((spec or {}).get("name", "")))
            if match and (spec or {}).get("external"):
                found[str(key)] = (match["base"], match["var"], match["default"] or "")
    return found


def set_env_variable(path: str, name: str, value: str) -> str:
    """Set ``name=value`` in the env file at ``path``, atomically; returns the old text.

    The last ``name=`` line (the one that wins) is replaced and every other
    byte kept; without one, the line is appended.
    """
    old = read_bounded(path, MAX_ENV_FILE, what="env file").decode("utf-8")
    lines = old.splitlines(keepends=True)
    pattern = re.compile(rf"^[ \t]*{re.escape(name)}=")
    hits = [i for i, line in enumerate(lines) if pattern.match(line)]
    if hits:
        line = lines[hits[-1]]
        ending = line[len(line.rstrip("\r\n")) :]
        lines[hits[-1]] = f"{name}={value}{ending}"
    else:
        if lines and not lines[-1].endswith("\n"):
            lines[-1] += "\n"
        lines.append(f"{name}={value}\n")
    write_atomically(path, "".join(lines))
    return old


def rotate_secret(
    client: docker.DockerClient,
    files: Sequence[str],
    stack: str,
    name: str,
    values: Callable[[str], bytes],
    *,
    env_file: str,
    keep_old: bool = False,
    timeout: float = 600,
    progress: Callable[[str], None] | None = None,
) -> Rotation:
    """Rotate ``name`` (and the secrets sharing its version variable) of ``stack``.

    ``values(key)`` gives each new value. Raises :class:`DeployError` for bad
    input before anything changes, :class:`DeployFailedError` (old version
    still in use, new one kept, env file restored) when the deploy fails.
    """
    say = progress or (lambda _: None)
    secrets = version_variables(files)
    if name not in secrets:
        raise DeployError(f"the stack files have no versioned external secret {name!r}",
                          hint="its name must end in _v${VARIABLE}")  # fmt: skip
    _, variable, default = secrets[name]
    if variable in os.environ:
        raise DeployError(f"{variable} is set in the environment, which wins over {env_file}",
                          hint=f"unset {variable} and run the rotation again")  # fmt: skip
    current = read_env_file(env_file, lambda _: None).get(variable) or default
    if not current.isdigit():
        raise DeployError(f"{variable} in {env_file} is not a version number",
                          hint=f"set {variable}=1 (or the version in use)")  # fmt: skip
    old = int(current)
    group = {key: base for key, (base, var, _) in secrets.items() if var == variable}
    existing = [v.version for v in list_versions(client, set(group.values()))]
    new = max([old, *existing]) + 1
    labels = {v.base: v.labels for v in list_versions(client, set(group.values()))
              if v.version == old}  # fmt: skip
    created = []
    for key, base in sorted(group.items()):
        secret_name = f"{base}_v{new}"
        create_secret(client, secret_name, values(key), labels=labels.get(base))
        created.append(secret_name)
        say(f"created secret {secret_name}")
    before = set_env_variable(env_file, variable, str(new))
    say(f"{variable}={new} in {env_file}")
    try:
        deploy_stack(client, files, stack, env_file=env_file, timeout=timeout)
    except DeployFailedError as exc:
        write_atomically(env_file, before)
        raise DeployFailedError(
            f"{exc.message}; the stack still uses version {old} of {', '.join(sorted(group))}, "
            f"version {new} is kept and {env_file} says {variable}={old} again",
            failures=exc.failures,
            hint="fix the cause and run the rotation again",
        ) from exc
    old_names = [f"{base}_v{old}" for base in sorted(set(group.values()))]
    removed = [] if keep_old else remove_unused(client, old_names)
    kept = [n for n in old_names if n not in removed]
    for secret_name in removed:
        say(f"removed secret {secret_name}")
    return Rotation(variable, old, new, tuple(created), tuple(removed), tuple(kept))
