"""What the Compose file schemas (v3.0 to v3.13) allow beyond key names and types.

The pydantic models describe format 3.13; these tables hold the rest of what
the docker CLI checks with its JSON schemas: which version introduced a key
(a 3.0 file may not use ``configs``), and which lists must not repeat an item.
Paths use ``*`` for a name and ``[]`` for a list item.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from typing import Any

from swarmkit.exceptions import StackValidationError

__all__ = [
    "SUPPORTED_VERSIONS",
    "UNIQUE_SERVICE_LISTS",
    "canonical_version",
    "check_schema",
    "normalize_version",
    "version_key",
]

SUPPORTED_VERSIONS = tuple(f"3.{minor}" for minor in range(14))
DEFAULT_VERSION = "3.13"

# The first version whose schema allows the key (keys absent here exist since 3.0).
_INTRODUCED: dict[str, str] = {
    "secrets": "3.1",
    "services.*.secrets": "3.1",
    "networks.*.attachable": "3.2",
    "services.*.build.cache_from": "3.2",
    "services.*.deploy.endpoint_mode": "3.2",
    "services.*.ports.[].mode": "3.2",
    "services.*.ports.[].protocol": "3.2",
    "services.*.ports.[].published": "3.2",
    "services.*.ports.[].target": "3.2",
    "services.*.volumes.[].bind": "3.2",
    "services.*.volumes.[].consistency": "3.2",
    "services.*.volumes.[].read_only": "3.2",
    "services.*.volumes.[].source": "3.2",
    "services.*.volumes.[].target": "3.2",
    "services.*.volumes.[].type": "3.2",
    "services.*.volumes.[].volume": "3.2",
    "configs": "3.3",
    "services.*.build.labels": "3.3",
    "services.*.configs": "3.3",
    "services.*.credential_spec": "3.3",
    "services.*.deploy.placement.preferences": "3.3",
    "services.*.build.network": "3.4",
    "services.*.build.target": "3.4",
    "services.*.deploy.update_config.order": "3.4",
    "services.*.healthcheck.start_period": "3.4",
    "volumes.*.name": "3.4",
    "configs.*.name": "3.5",
    "networks.*.name": "3.5",
    "secrets.*.name": "3.5",
    "services.*.build.shm_size": "3.5",
    "services.*.deploy.resources.reservations.generic_resources": "3.5",
    "services.*.isolation": "3.5",
    "services.*.volumes.[].tmpfs": "3.6",
    "services.*.deploy.rollback_config": "3.7",
    "services.*.init": "3.7",
    "configs.*.template_driver": "3.8",
    "secrets.*.driver": "3.8",
    "secrets.*.driver_opts": "3.8",
    "secrets.*.template_driver": "3.8",
    "services.*.credential_spec.config": "3.8",
    "services.*.deploy.placement.max_replicas_per_node": "3.8",
    "services.*.build.extra_hosts": "3.9",
    "services.*.cgroupns_mode": "3.9",
    "services.*.deploy.resources.limits.pids": "3.9",
    "services.*.healthcheck.start_interval": "3.12",
    "services.*.networks.*.driver_opts": "3.13",
    "services.*.oom_score_adj": "3.13",
}

# Lists whose items must be unique (as written, before any short form is expanded).
_UNIQUE: frozenset[str] = frozenset(
    {
        "configs.*.labels",
        "networks.*.labels",
        "secrets.*.labels",
        "volumes.*.labels",
        "services.*.build.args",
        "services.*.build.cache_from",
        "services.*.build.extra_hosts",
        "services.*.build.labels",
        "services.*.cap_add",
        "services.*.cap_drop",
        "services.*.depends_on",
        "services.*.deploy.labels",
        "services.*.devices",
        "services.*.dns",
        "services.*.dns_search",
        "services.*.env_file",
        "services.*.environment",
        "services.*.expose",
        "services.*.external_links",
        "services.*.extra_hosts",
        "services.*.labels",
        "services.*.links",
        "services.*.networks",
        "services.*.networks.*.aliases",
        "services.*.ports",
        "services.*.security_opt",
        "services.*.sysctls",
        "services.*.tmpfs",
    }
)

# Service lists of plain items that the schema wants without repeats (also
# under ``build``: cache_from, extra_hosts); merges append only what is missing.
UNIQUE_SERVICE_LISTS = frozenset(
    {
        "cap_add", "cap_drop", "depends_on", "devices", "dns", "dns_search", "env_file",
        "expose", "external_links", "extra_hosts", "links", "security_opt", "tmpfs",
        "cache_from",
    }
)  # fmt: skip

# Values a file must give as strings, though the model also takes a number.
_STRINGS_ONLY = frozenset(
    {
        "services.*.deploy.resources.limits.memory",
        "services.*.deploy.resources.reservations.memory",
    }
)

# Mappings whose keys are names (everything else is a fixed key).
_NAME_MAPS = frozenset(
    {
        "services",
        "networks",
        "volumes",
        "secrets",
        "configs",
        "services.*.networks",
        "services.*.ulimits",
    }
)

Loc = tuple[str | int, ...]


def version_key(version: str) -> tuple[int, ...]:
    """``"3.13"`` -> ``(3, 13)``, for comparing format versions."""
    return tuple(int(part) for part in version.split("."))


def canonical_version(raw: str) -> str | None:
    """``"3"`` and ``""`` -> ``"3.13"``, a supported version -> itself, else None.

    The one rule for both a loaded file (:func:`normalize_version`) and a
    ``Stack(version=...)`` built in Python.
    """
    version = DEFAULT_VERSION if raw in ("", "3") else raw
    return version if version in SUPPORTED_VERSIONS else None


def normalize_version(raw: Any, file: str) -> str:
    """The file's format version as the CLI reads it (no ``version`` means 3.13)."""
    if raw is None:
        return DEFAULT_VERSION
    if not isinstance(raw, str):
        raise StackValidationError(
            "version must be a string",
            file=file,
            loc=("version",),
            hint='quote it: version: "3.8"',
        )
    version = canonical_version(raw)
    if version is None:
        raise StackValidationError(
            f"unsupported Compose file version: {raw}",
            file=file,
            loc=("version",),
            hint="use a version from 3.0 to 3.13",
        )
    return version


# Where ``x-*`` extension keys are allowed, and since which version.
_EXTENSIONS_SINCE = {
    "": "3.4",
    "services.*": "3.7",
    "networks.*": "3.7",
    "volumes.*": "3.7",
    "secrets.*": "3.7",
    "configs.*": "3.7",
}


def _walk(value: Any, loc: Loc, pattern: str) -> Iterator[tuple[Loc, str, Any]]:
    yield loc, pattern, value
    if isinstance(value, dict):
        for key, child in value.items():
            if isinstance(key, str) and key.startswith("x-"):
                # Extension keys are not checked inside, only where they stand.
                yield (*loc, key), f"{pattern}.x-" if pattern else "x-", child
                continue
            if not pattern:
                child_pattern = str(key)
            elif pattern in _NAME_MAPS:
                child_pattern = f"{pattern}.*"
            else:
                child_pattern = f"{pattern}.{key}"
            yield from _walk(child, (*loc, key), child_pattern)
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _walk(child, (*loc, index), f"{pattern}.[]")


def _hashable(value: Any) -> Any:
    if isinstance(value, dict):
        return tuple(sorted((str(k), _hashable(v)) for k, v in value.items()))
    if isinstance(value, list):
        return tuple(_hashable(v) for v in value)
    return (type(value).__name__, value)


def _non_finite(value: Any, loc: Loc) -> Loc | None:
    if isinstance(value, float) and not math.isfinite(value):
        return loc
    children = (
        value.items()
        if isinstance(value, dict)
        else enumerate(value)
        if isinstance(value, list)
        else ()
    )
    for key, child in children:
        found = _non_finite(child, (*loc, key))
        if found is not None:
            return found
    return None


_NAME_RE = re.compile(r"^[a-zA-Z0-9._-]+$")


def _check_names(data: dict[str, Any], file: str) -> None:
    for section in ("services", "volumes", "secrets", "configs"):
        entries = data.get(section)
        for name in entries if isinstance(entries, dict) else ():
            if not _NAME_RE.match(name):
                raise StackValidationError(
                    f"{section[:-1]} name {name!r} may hold only letters, digits, '.', '_', '-'",
                    file=file,
                    loc=(section, name),
                    hint="rename it",
                )


def check_schema(data: dict[str, Any], version: str, file: str) -> None:
    """Refuse keys newer than ``version`` and repeated list items, as the CLI does."""
    _check_names(data, file)
    infinite = _non_finite(data, ())
    if infinite is not None:
        raise StackValidationError(
            "infinite and NaN numbers are not allowed (the docker CLI cannot encode them)",
            file=file,
            loc=infinite,
            hint="quote the value to make it a string",
        )
    wanted = version_key(version)
    for loc, pattern, value in _walk(data, (), ""):
        if pattern == "x-" or pattern.endswith(".x-"):
            parent = pattern[:-3].rstrip(".")
            since = _EXTENSIONS_SINCE.get(parent)
            if since is None or version_key(since) > wanted:
                where = "here" if since is None else f"before Compose file version {since}"
                raise StackValidationError(
                    f"extension key {str(loc[-1])!r} is not allowed {where}"
                    f" (this file declares {version})",
                    file=file,
                    loc=loc,
                    hint="x-* keys belong at the top level (3.4+) or in a service, network,"
                    " volume, secret or config (3.7+)",
                )
            continue
        if pattern in _STRINGS_ONLY and not isinstance(value, str):
            raise StackValidationError(
                f"{loc[-1]!s} must be a string, got {value!r}",
                file=file,
                loc=loc,
                hint='write the size as a string, for example "512M"',
            )
        introduced = _INTRODUCED.get(pattern)
        if introduced and version_key(introduced) > wanted:
            raise StackValidationError(
                f"key {str(loc[-1])!r} needs Compose file version {introduced} or later "
                f"(this file declares {version})",
                file=file,
                loc=loc,
                hint=f'raise the file\'s version to "{introduced}" or more',
            )
        if pattern in _UNIQUE and isinstance(value, list):
            seen: set[Any] = set()
            for index, item in enumerate(value):
                key = _hashable(item)
                if key in seen:
                    raise StackValidationError(
                        f"item {item!r} is listed twice",
                        file=file,
                        loc=(*loc, index),
                        hint="remove the repeated item",
                    )
                seen.add(key)
