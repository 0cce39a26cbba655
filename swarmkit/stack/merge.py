"""Merging stack files, with the docker CLI's own rules, quirks included.

``docker stack config -c base.yml -c overlay.yml`` merges typed Go values with
the mergo library (cli/compose/loader/merge.go). Its rules, reproduced here
because the merged file is what gets deployed:

* services merge field by field; a field of the overlay replaces the base's
  only when it is not a zero value (``replicas``, ``parallelism``,
  ``retries`` and ``max_attempts`` replace even when zero; ``init: false``,
  ``read_only: false``, ``delay: 0s`` and ``""`` never replace);
* ``ports`` merge by published port, ``secrets`` and ``configs`` by source,
  ``volumes`` by target (and come out sorted by that key) when the base has
  the list; otherwise the overlay's list is taken as written;
* ``command`` and ``entrypoint`` are replaced, every other list is appended
  (one difference: lists the schema wants unique, such as ``cap_add`` or
  ``dns``, get only the items they lack, where the CLI makes a repeat that
  it then refuses to load);
* ``environment``, ``labels`` and other mappings merge per key (an overlay's
  empty ``environment`` value never replaces a base value), ``x-*`` keys merge
  deeply, ``networks`` merge aliases and addresses, ``ulimits`` replace per key;
* ``logging`` options merge when the driver is the same, else it is replaced;
* top-level ``networks``, ``volumes``, ``secrets`` and ``configs`` are replaced
  per key; top-level ``x-*`` keys come from the first file only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic.fields import FieldInfo

from swarmkit.exceptions import StackValidationError, format_loc
from swarmkit.stack.base import ExtensibleModel, StackModel
from swarmkit.stack.model import Stack
from swarmkit.stack.schema import UNIQUE_SERVICE_LISTS
from swarmkit.stack.service import LoggingConfig, Service, ServiceNetwork, Ulimit

__all__ = ["merge_stacks"]

_KEYED_LISTS: dict[str, Callable[[Any], Any]] = {
    "ports": lambda port: port.published,
    "secrets": lambda ref: ref.source,
    "configs": lambda ref: ref.source,
    "volumes": lambda mount: mount.target,
}
_REPLACED_LISTS = frozenset({"command", "entrypoint"})
_ZERO_DURATION = "0s"


def _is_zero(value: Any) -> bool:
    return value is None or value == _ZERO_DURATION or not value


def _present(model: StackModel, name: str, value: Any) -> bool:
    """Whether a Go slice or map would be non-nil: set, or loaded from the file."""
    return bool(value) or name in model.model_fields_set


def _merge_keyed(dst: list[Any], src: list[Any], key: Callable[[Any], Any]) -> list[Any]:
    merged = {key(item): item for item in dst}
    merged.update((key(item), item) for item in src)
    return [merged[k] for k in sorted(merged)]


def _merge_nullable_str(dst: dict[str, Any], src: dict[str, Any]) -> dict[str, Any]:
    # A pointer-to-string map: an overlay value that is unset or empty leaves a
    # non-empty base value alone.
    result = dict(dst)
    for key, value in src.items():
        if key not in result or result[key] in (None, "") or value not in (None, ""):
            result[key] = value
    return result


def _merge_any(dst: Any, src: Any, loc: tuple[str | int, ...] = ()) -> Any:
    """Merge values of ``x-*`` keys: maps deeply, lists appended, scalars replaced."""
    if not isinstance(dst, dict) or not isinstance(src, dict):
        return src
    result = dict(dst)
    for key, value in src.items():
        if value is None or key not in result:
            result[key] = value
            continue
        old = result[key]
        if isinstance(value, dict) and isinstance(old, dict):
            result[key] = _merge_any(old, value, (*loc, key))
        elif isinstance(value, list) and isinstance(old, list):
            result[key] = old + value
        elif isinstance(value, list) and old is not None:
            # mergo refuses to append a list to a value of another type.
            raise StackValidationError(
                f"cannot merge {key!r}: a list cannot be appended to a {type(old).__name__}",
                loc=(*loc, key),
                hint="give the key the same type in every file",
            )
        else:
            result[key] = value
    return result


def _merge_networks(
    dst: dict[str, ServiceNetwork | None], src: dict[str, ServiceNetwork | None]
) -> dict[str, ServiceNetwork | None]:
    result = dict(dst)
    for name, network in src.items():
        old = result.get(name)
        if old is None or network is None:
            result[name] = network if old is None else old
            continue
        old.aliases = network.aliases
        if network.ipv4_address:
            old.ipv4_address = network.ipv4_address
        if network.ipv6_address:
            old.ipv6_address = network.ipv6_address
    return result


def _merge_ulimits(
    dst: dict[str, Ulimit | None], src: dict[str, Ulimit | None]
) -> dict[str, Ulimit | None]:
    result = dict(dst)
    for name, limit in src.items():
        if limit is not None or result.get(name) is None:
            result[name] = limit
    return result


def _merge_logging(dst: LoggingConfig | None, src: LoggingConfig | None) -> LoggingConfig | None:
    if src is None:
        return dst
    if dst is None:
        return src
    if dst.driver and src.driver and dst.driver != src.driver:
        return src
    if not dst.driver:
        dst.driver = src.driver
    # The CLI merges options into the base's map; when the base has no map
    # (not even an empty one) the overlay's options are lost: mergo fills a
    # copy of a nil map.
    if _present(dst, "options", dst.options):
        dst.options = {**dst.options, **src.options}
    return dst


def _merge_field(dst: StackModel, src: StackModel, name: str, field: FieldInfo) -> Any:
    old, new = getattr(dst, name), getattr(src, name)
    if name in _REPLACED_LISTS:
        return new if new else old
    if isinstance(old, list):
        key = _KEYED_LISTS.get(name) if isinstance(dst, Service) else None
        if key is not None and _present(dst, name, old):
            return _merge_keyed(old, new, key)
        if name in UNIQUE_SERVICE_LISTS:
            new = [item for item in new if item not in old]
        return old + new if new else old
    if isinstance(dst, Service) and name == "networks":
        return _merge_networks(old, new)
    if isinstance(dst, Service) and name == "ulimits":
        return _merge_ulimits(old, new)
    if isinstance(dst, Service) and name == "logging":
        return _merge_logging(old, new)
    if isinstance(old, dict):
        if name in ("environment", "args"):
            return _merge_nullable_str(old, new)
        return {**old, **new}
    pointer = field.default is None and field.default_factory is None
    if pointer:
        if new is None:
            return old
        if old is None:
            return new
        if isinstance(old, bool):
            return new or old
        if isinstance(old, int):
            return new  # *uint64 fields: a set overlay value always wins
    if isinstance(old, StackModel):
        _merge_into(old, new)
        return old
    return old if _is_zero(new) else new


def _merge_into(dst: StackModel, src: StackModel) -> None:
    for name, field in type(dst).model_fields.items():
        value = _merge_field(dst, src, name, field)
        if value is not getattr(dst, name):
            setattr(dst, name, value)
    if isinstance(dst, ExtensibleModel) and isinstance(src, ExtensibleModel):
        dst.extensions = _merge_any(dst.extensions, src.extensions)


def merge_owned(base: Stack, overlay: Stack) -> None:
    """Merge ``overlay`` into ``base`` in place; both belong to the caller.

    Parts of ``overlay`` move into ``base`` without copies, so neither may be
    used elsewhere. :func:`merge_stacks` is the safe, copying form.
    """
    services = dict(base.services)
    for name, service in overlay.services.items():
        current = services.get(name)
        if current is None:
            services[name] = service
            continue
        try:
            _merge_into(current, service)
        except StackValidationError as exc:
            exc.loc = ("services", name, *exc.loc)
            exc.key_path = format_loc(exc.loc)
            raise
    base.services = dict(sorted(services.items()))
    for section in ("networks", "volumes", "secrets", "configs"):
        merged_section = {**getattr(base, section), **getattr(overlay, section)}
        if merged_section != getattr(base, section):
            setattr(base, section, merged_section)


def merge_stacks(*stacks: Stack) -> Stack:
    """Merge stacks in order, each one over the result of the ones before it.

    The rules are the docker CLI's (see this module's docstring). The result
    is a new stack: inputs are neither changed nor shared with it. ``version``
    and top-level ``x-*`` keys come from the first.
    """
    if not stacks:
        raise ValueError("merge_stacks needs at least one stack")
    result = stacks[0].model_copy(deep=True)
    for overlay in stacks[1:]:
        merge_owned(result, overlay.model_copy(deep=True))
    return result
