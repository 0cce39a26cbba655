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
from swarmkit.stack.interpolate import substitute

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


def set_env_variable(path: str, name: str, value: str, **more: str) -> str:
    """Set ``name=value`` (and each of ``more``) in the env file at ``path``, atomically.

    The last ``name=`` line (the one that wins) is replaced and every other
    byte kept; without one, the line is appended. Returns the old text.
    """
    old = read_bounded(path, MAX_ENV_FILE, what="env file").decode("utf-8")
    lines = old.splitlines(keepends=True)
    for variable, text in {name: value, **more}.items():
        pattern = re.compile(rf"^[ \t]*{re.escape(variable)}=")
        hits = [i for i, line in enumerate(lines) if pattern.match(line)]
        if hits:
            line = lines[hits[-1]]
            ending = line[len(line.rstrip("\r\n")) :]
            lines[hits[-1]] = f"{variable}={text}{ending}"
        else:
            if lines and not lines[-1].endswith("\n"):
                lines[-1] += "\n"
            lines.append(f"{variable}={text}\n")
    write_atomically(path, "".join(lines))
    return old


def rotate_secret(
    client: docker.DockerClient,
    files: Sequence[str],
    stack: str,
    name: str,
    values: Callable[[str, int], bytes],
    *,
    env_file: str,
    keep_old: bool = False,
    previous: str | None = None,
    retire_previous: bool = False,
    resolve_image: str = "always",
    timeout: float = 600,
    progress: Callable[[str], None] | None = None,
) -> Rotation:
    """Rotate ``name`` (and the secrets sharing its version variable) of ``stack``.

    ``values(key, version)`` gives each new value (all are read before
    anything is created). ``previous`` names a variable set to the old
    version in the same write: a secret of the stack named with that variable
    (``secret_key_fallbacks``: ``<base>_v${SECRET_KEY_FALLBACKS_VERSION}``)
    keeps the old value mounted, so version N stays (in use) and the version
    the variable named before goes once unused. ``retire_previous``: once
    that deploy converged, ``previous`` is emptied and the stack deployed
    again without the files that name it, so version N is mounted nowhere
    and goes too (the database URI: both login roles work while the app
    rolls, then the old one is disabled). ``resolve_image`` is
    ``swarmkit deploy``'s (``never`` for images only on the nodes). Raises
    :class:`DeployError` for bad input before anything changes,
    :class:`DeployFailedError` (old version still in use, new one kept, env
    file restored) when the deploy fails, a :class:`RollbackFailedError` when
    Swarm's rollback failed too.
    """
    say = progress or (lambda _: None)
    secrets = version_variables(files)
    if name not in secrets:
        raise DeployError(f"the stack files have no versioned external secret {name!r}",
                          hint="its name must end in _v${VARIABLE}")  # fmt: skip
    _, variable, default = secrets[name]
    if previous is not None and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", previous):
        raise DeployError(f"--previous {previous[:80]!r} is not a variable name")
    if retire_previous and previous is None:
        raise DeployError("--retire-previous needs --previous VARIABLE",
                          hint="name the variable of the previous version's secret")  # fmt: skip
    retired_files = [f for f in files if _names_variable(f, previous)] if retire_previous else []
    if retire_previous and not retired_files:
        raise DeployError(
            f"no stack file names a secret with {previous}",
            hint="add the overlay that mounts the previous version (-c FILE)",
        )
    for name_in_env in (variable, previous):
        if name_in_env and name_in_env in os.environ:
            raise DeployError(
                f"{name_in_env} is set in the environment, which wins over {env_file}",
                hint=f"unset {name_in_env} and run the rotation again",
            )
    variables = read_env_file(env_file, lambda _: None)
    current = variables.get(variable) or default
    earlier = variables.get(previous or "", "")
    if not current.isdigit():
        raise DeployError(f"{variable} in {env_file} is not a version number",
                          hint=f"set {variable}=1 (or the version in use)")  # fmt: skip
    old = int(current)

    # A base may itself hold variables (a review app's ${SECRETS_PREFIX:-...}):
    # the names are the ones the deploy will ask for, the environment winning.
    def lookup(var: str) -> str | None:
        return os.environ.get(var, variables.get(var))

    group = {key: substitute(base, lookup) for key, (base, var, _) in secrets.items()
             if var == variable}  # fmt: skip
    existing = [v.version for v in list_versions(client, set(group.values()))]
    new = max([old, *existing]) + 1
    labels = {v.base: v.labels for v in list_versions(client, set(group.values()))
              if v.version == old}  # fmt: skip
    new_values = {key: values(key, new) for key in sorted(group)}
    created = []
    for key, base in sorted(group.items()):
        secret_name = f"{base}_v{new}"
        create_secret(client, secret_name, new_values[key], labels=labels.get(base))
        created.append(secret_name)
        say(f"created secret {secret_name}")
    more = {previous: str(old)} if previous else {}
    before = set_env_variable(env_file, variable, str(new), **more)
    say(f"{variable}={new} in {env_file}" + (f", {previous}={old}" if previous else ""))
    try:
        deploy_stack(client, files, stack, env_file=env_file, resolve_image=resolve_image,
                     timeout=timeout)  # fmt: skip
    except DeployFailedError as exc:
        write_atomically(env_file, before)
        # The same class: a rollback that failed too (a mixed stack) stays exit 3.
        raise type(exc)(
            f"{exc.message}; {env_file} says {variable}={old} again: the next deploy uses "
            f"version {old} of {', '.join(sorted(group))}; version {new} is kept",
            failures=exc.failures,
            hint="fix the cause and run the rotation again",
        ) from exc
    if retire_previous and previous:
        kept_files = [f for f in files if f not in retired_files]
        _retire(client, kept_files, stack, env_file=env_file, previous=previous, old=old,
                resolve_image=resolve_image, timeout=timeout, say=say)  # fmt: skip
    old_names = [f"{base}_v{old}" for base in sorted(set(group.values()))]
    if earlier.isdigit() and int(earlier) != old:
        old_names += [f"{base}_v{earlier}" for base in sorted(set(group.values()))]
    removed = [] if keep_old else remove_unused(client, old_names)
    kept = [n for n in old_names if n not in removed]
    for secret_name in removed:
        say(f"removed secret {secret_name}")
    return Rotation(variable, old, new, tuple(created), tuple(removed), tuple(kept))


def _names_variable(file: str, variable: str | None) -> bool:
    return any(var == variable for _, var, _ in version_variables([file]).values())


def _retire(client: docker.DockerClient, files: Sequence[str], stack: str, *, env_file: str,
            previous: str, old: int, resolve_image: str, timeout: float,
            say: Callable[[str], None]) -> None:  # fmt: skip
    set_env_variable(env_file, previous, "")
    say(f"{previous}= in {env_file}: deploying without version {old}")
    try:
        deploy_stack(client, files, stack, env_file=env_file, resolve_image=resolve_image,
                     timeout=timeout)  # fmt: skip
    except DeployFailedError as exc:
        # What runs is the stack that still mounts version N: say so in the file.
        set_env_variable(env_file, previous, str(old))
        raise type(exc)(
            f"{exc.message}; the new version is in use, but the deploy without version {old} "
            f"failed: {env_file} says {previous}={old} again and version {old} is kept",
            failures=exc.failures,
            hint=f"fix the cause, then set {previous}= and deploy",
        ) from exc
