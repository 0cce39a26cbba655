"""The shared base of every stack model, and how a model becomes plain data.

Models mirror the docker CLI's own Go types (cli/compose/types): a field that
is a pointer there defaults to ``None`` here (absent), a field that is a plain
value defaults to its zero value. :meth:`StackModel.to_data` drops absent and
zero fields the way the CLI's YAML encoder drops them (``omitempty``), so the
data it returns is what ``docker stack config`` prints.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, ModelWrapValidatorHandler, PrivateAttr, model_validator

from swarmkit.exceptions import StackValidationError

__all__ = ["ExtensibleModel", "OpenModel", "StackModel"]


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
        # Data (a file, a dict) names a field only by its YAML key; a Python
        # name that differs from it (``cluster_spec`` for ``x-cluster-spec``)
        # must not be a second way in. Keyword arguments take the Python
        # names: __init__ below turns them into YAML keys.
        populate_by_name=False,
        arbitrary_types_allowed=False,
    )

    def __init__(self, /, **data: Any) -> None:
        fields = type(self).model_fields
        super().__init__(
            **{
                (fields[key].alias or key) if key in fields else key: value
                for key, value in data.items()
            }
        )

    # Only calls from Python go through __init__; model_validate and nested
    # models do not (pydantic's own marker, which RootModel.__init__ carries).
    __init__.__pydantic_base_init__ = True  # type: ignore[attr-defined]

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


def _is_extension(key: Any) -> bool:
    return isinstance(key, str) and key.startswith("x-")


class ExtensibleModel(StackModel):
    """A model that also keeps ``x-*`` extension keys, as the CLI does.

    The keys are held in a private attribute, not in a field: a field would be
    a key that input could set (``extensions: {cap_add: [...]}`` once rendered
    as a service's own keys). From data, only ``x-*`` keys reach it; from
    Python, ``extensions=`` too, and only ``x-*`` keys are taken.
    """

    _extensions: dict[str, Any] = PrivateAttr(default_factory=dict)

    def __init__(self, /, extensions: Mapping[str, Any] | None = None, **data: Any) -> None:
        super().__init__(**data)
        if extensions is not None:
            self.extensions = {**self._extensions, **extensions}

    # Validating data must not go through this __init__, or ``extensions``
    # would be a key again (see StackModel.__init__).
    __init__.__pydantic_base_init__ = True  # type: ignore[attr-defined]

    @property
    def extensions(self) -> dict[str, Any]:
        """The ``x-*`` keys of this object, as written."""
        return self._extensions

    @extensions.setter
    def extensions(self, value: Mapping[str, Any]) -> None:
        if not isinstance(value, Mapping):
            raise StackValidationError(
                f"extensions must be a mapping of x-* keys, got {type(value).__name__}",
                hint='e.g. {"x-swarmkit": {...}}',
            )
        for key in value:
            if not _is_extension(key):
                raise StackValidationError(
                    f"extension key {key!r} does not start with 'x-'",
                    loc=("extensions", str(key)),
                    hint="only x-* keys are extensions; set other keys as fields",
                )
        self._extensions = dict(value)

    @model_validator(mode="wrap")
    @classmethod
    def _collect_extensions(cls, data: Any, handler: ModelWrapValidatorHandler[Any]) -> Any:
        if not isinstance(data, dict):
            return handler(data)
        # An x-* key that is a field's YAML key (a volume's x-cluster-spec) is the field.
        fields = {field.alias for field in cls.model_fields.values() if field.alias}
        extensions = {k: v for k, v in data.items() if _is_extension(k) and k not in fields}
        model = handler({k: v for k, v in data.items() if k not in extensions})
        model._extensions = extensions
        return model

    def to_data(self) -> dict[str, Any]:
        data = super().to_data()
        for key, value in sorted(self._extensions.items()):
            data[key] = value
        return data


# Runes other than ASCII letters that Go's strings.EqualFold folds onto them.
_GO_FOLDS = {"\u017f": "s", "\u212a": "k"}


def _go_equal_fold(key: str, name: str) -> bool:
    # strings.EqualFold, for names made of ASCII letters and "_".
    if len(key) != len(name):
        return False
    for raw, n in zip(key, name, strict=True):
        k = _GO_FOLDS.get(raw, raw)
        if k != n and not (k.isascii() and k.lower() == n.lower()):
            return False
    return True


class OpenModel(StackModel):
    """An object the CLI's schema leaves open (``build``, a secret's long form...).

    The CLI decodes it with mapstructure, which ignores unknown keys and finds
    a field by its tag or Go name, exactly first, then ignoring case: so
    ``Target:`` sets ``target`` and must not be dropped. Two keys that only
    differ in case would let the CLI pick either (Go's map order is random),
    so they are refused.
    """

    model_config = ConfigDict(extra="ignore")

    #: The Go field name, for fields whose Go field has no mapstructure tag.
    _go_names: ClassVar[Mapping[str, str]] = {}

    @model_validator(mode="before")
    @classmethod
    def _match_keys(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        matched: dict[str, Any] = {}
        for name, field in cls.model_fields.items():
            key = field.alias or name
            go_name = cls._go_names.get(name, key)
            if go_name in data:
                matched[key] = data[go_name]
                continue
            found = [k for k in data if isinstance(k, str) and _go_equal_fold(k, go_name)]
            if len(found) > 1:
                raise ValueError(
                    f"keys {', '.join(map(repr, found))} all set {key!r} and the docker CLI"
                    " takes any one of them; keep one"
                )
            if found:
                matched[key] = data[found[0]]
        return matched
