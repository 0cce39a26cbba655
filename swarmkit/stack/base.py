"""The shared base of every stack model, and how a model becomes plain data.

Models mirror the docker CLI's own Go types (cli/compose/types): a field that
is a pointer there defaults to ``None`` here (absent), a field that is a plain
value defaults to its zero value. :meth:`StackModel.to_data` drops absent and
zero fields the way the CLI's YAML encoder drops them (``omitempty``), so the
data it returns is what ``docker stack config`` prints.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["ExtensibleModel", "StackModel"]


def _plain(value: Any) -> Any:
    if isinstance(value, StackModel):
        return value.to_data()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


class StackModel(BaseModel):
    """Base of all stack models: strict types, unknown keys refused."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        validate_default=False,
        validate_assignment=True,
        populate_by_name=True,
        arbitrary_types_allowed=False,
    )

    #: Fields rendered as strings (the CLI prints byte sizes quoted).
    _as_string: ClassVar[frozenset[str]] = frozenset()

    def to_data(self) -> dict[str, Any]:
        """Plain data in the CLI's shape: absent and zero-valued fields dropped.

        A field whose default is ``None`` is a Go pointer: dropped only when
        ``None``. Any other field is a Go value, whose default is its zero
        value: dropped when it equals it (or is empty, for lists, mappings and
        nested models).
        """
        data: dict[str, Any] = {}
        for name, field in type(self).model_fields.items():
            if name == "extensions":
                continue
            value = getattr(self, name)
            if value is None:
                continue
            plain = _plain(value)
            if field.default_factory is not None:
                if not plain:
                    continue
            elif field.default is not None and plain == field.default:
                continue  # a Go value field at its zero value (0, "", false, 0s)
            if name in self._as_string:
                plain = str(plain)
            data[field.alias or name] = plain
        return data


class ExtensibleModel(StackModel):
    """A model that also keeps ``x-*`` extension keys, as the CLI does."""

    extensions: dict[str, Any] = Field(default_factory=dict)
    """The ``x-*`` keys of this object, as written."""

    @model_validator(mode="before")
    @classmethod
    def _collect_extensions(cls, data: Any) -> Any:
        # A non-mapping "extensions" is left to validation, which refuses it.
        if (
            isinstance(data, dict)
            and isinstance(data.get("extensions") or {}, dict)
            and any(isinstance(k, str) and k.startswith("x-") for k in data)
        ):
            data = dict(data)
            extensions = dict(data.pop("extensions", None) or {})
            for key in [k for k in data if isinstance(k, str) and k.startswith("x-")]:
                extensions[key] = data.pop(key)
            data["extensions"] = extensions
        return data

    def to_data(self) -> dict[str, Any]:
        data = super().to_data()
        for key, value in sorted(self.extensions.items()):
            data[key] = value
        return data
