"""Stack data to the YAML text ``docker stack config`` prints.

Works on plain data (the shape :meth:`Stack.to_data` gives), not on models, so
that :mod:`swarmkit.stack.model` (``Stack.to_yaml``) and
:mod:`swarmkit.stack.render` can both use it without importing each other.
"""

from __future__ import annotations

from typing import Any

from swarmkit.exceptions import StackValidationError
from swarmkit.stack.schema import version_key
from swarmkit.stack.yamlio import dump_yaml

__all__ = ["render_data"]


def render_data(data: dict[str, Any]) -> str:
    """``data`` as YAML: names fitted to the file's version, every ``$`` written ``$$``.

    Every ``$`` is doubled because the output is a stack file in its own
    right: loading (or deploying) it interpolates back to exactly these values.
    """
    return dump_yaml(_escape(_fit_version(data)))


# The version that allows `name:` on each kind of top-level object.
_NAME_SINCE = {"networks": (3, 5), "volumes": (3, 4), "secrets": (3, 5), "configs": (3, 5)}


def _fit_version(data: dict[str, Any]) -> dict[str, Any]:
    """Write object names so that the file's own version accepts them.

    The CLI fills in ``name`` for every external object, even in files whose
    version has no ``name`` key, and then refuses its own output. For such
    versions an external object's name is written as the older
    ``external: {name: ...}``, or left out when it is just the key.
    """
    version = version_key(str(data["version"]))
    for section, since in _NAME_SINCE.items():
        if version >= since:
            continue
        for key, obj in data.get(section, {}).items():
            name = obj.get("name")
            if name is None:
                continue
            if not obj.get("external"):
                raise StackValidationError(
                    f"{section}.{key} has a name, which Compose file version {data['version']} "
                    "does not allow",
                    key_path=f"{section}.{key}.name",
                    hint=f'raise the stack\'s version to "{since[0]}.{since[1]}" or more',
                )
            del obj["name"]
            if name != key:
                obj["external"] = {"name": name}
    return data


def _escape(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("$", "$$")
    if isinstance(value, dict):
        return {key: _escape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_escape(item) for item in value]
    return value
