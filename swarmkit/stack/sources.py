"""Where each key of a loaded stack was written: file and line, after merging.

The loader notes the line of every key path of each file. A merged stack is
not any one file, so :func:`merged_sources` follows the merge: a key path
takes the position from the last file that sets it (top-level ``x-*`` keys
from the first file, as the merge keeps only those; a top-level network,
volume, secret or config from the file whose definition replaced the
others). List items move when lists merge (appended, or sorted by their
key), so an item takes the position of the item it came from: the same
object for models, the same value for strings and numbers.

:meth:`SourceMap.lookup` answers for any key path with the nearest ancestor
that has a position, so a key that exists only in normalised form (a
service's ``deploy`` where the file has none, an ``environment`` variable read
from an env file) points at its parent.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Self

from swarmkit.stack.base import ExtensibleModel, StackModel

__all__ = ["Position", "SourceMap", "file_positions", "merged_sources", "snapshot"]

Loc = tuple[str | int, ...]

# Top-level sections the merge replaces per key (see merge.merge_owned).
_REPLACED_PER_KEY = frozenset({"networks", "volumes", "secrets", "configs"})
# Service keys a file may write as a list of "KEY=value" (or of names, for
# networks) that the models hold as a mapping.
_LIST_MAPPINGS: tuple[tuple[str, ...], ...] = (
    ("environment",),
    ("labels",),
    ("deploy", "labels"),
    ("sysctls",),
    ("networks",),
)


@dataclass(frozen=True, slots=True)
class Position:
    """A place in a stack file: the file as it was named (``-c``) and a 1-based line."""

    file: str
    line: int


class SourceMap:
    """The position of key paths of one stack, with an ancestor fallback.

    Read-only; shared, not copied, by copies of the stack.
    """

    __slots__ = ("_positions",)

    def __init__(self, positions: Mapping[Loc, Position] | None = None) -> None:
        self._positions: Mapping[Loc, Position] = MappingProxyType(dict(positions or {}))

    def __len__(self) -> int:
        return len(self._positions)

    def __repr__(self) -> str:
        return f"SourceMap({len(self._positions)} key paths)"

    def __copy__(self) -> Self:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Self:
        return self

    @property
    def positions(self) -> Mapping[Loc, Position]:
        """Every key path that has a position of its own."""
        return self._positions

    def lookup(self, loc: Loc) -> Position | None:
        """The position of ``loc``, or of its nearest ancestor that has one."""
        while True:
            found = self._positions.get(loc)
            if found is not None or not loc:
                return found
            loc = loc[:-1]


def _raw_at(data: Any, loc: Loc) -> Any:
    for part in loc:
        in_dict = isinstance(data, dict) and part in data
        in_list = isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data)
        if not (in_dict or in_list):
            return None
        data = data[part]
    return data


def _lists(value: Any, loc: Loc) -> Iterator[tuple[Loc, list[Any]]]:
    """Every list in a model tree, outermost first, not those inside list items."""
    if isinstance(value, StackModel):
        for name, field in type(value).model_fields.items():
            item = getattr(value, name)
            if isinstance(item, StackModel | dict | list):
                yield from _lists(item, (*loc, field.alias or name))
        if isinstance(value, ExtensibleModel):
            for key, item in value.extensions.items():
                yield from _lists(item, (*loc, key))
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _lists(item, (*loc, key))
    elif isinstance(value, list):
        yield loc, value


def _first_index(loc: Loc) -> int | None:
    for i, part in enumerate(loc):
        if isinstance(part, int):
            return i
    return None


def file_positions(file: str, data: Any, lines: Mapping[Loc, int], model: StackModel) -> SourceMap:
    """The positions of one file's keys, by the key paths of ``model`` loaded from ``data``.

    ``lines`` is the loader's line of each raw key path. Variables written as
    ``- KEY=value`` are also found as ``environment.KEY``; the items of a list
    the model holds in another number than the file (a port range) have no
    position of their own, since their index differs.
    """
    positions = {loc: Position(file, line) for loc, line in lines.items()}
    services = data.get("services") if isinstance(data, dict) else None
    for name, service in services.items() if isinstance(services, dict) else ():
        for path in _LIST_MAPPINGS:
            items = _raw_at(service, path)
            if not isinstance(items, list):
                continue
            for i, item in enumerate(items):
                where = positions.get(("services", name, *path, i))
                if isinstance(item, str) and where is not None:
                    key = item.split("=", 1)[0] if path != ("networks",) else item
                    positions.setdefault(("services", name, *path, key), where)
    renumbered = {
        loc
        for loc, items in _lists(model, ())
        if isinstance(raw := _raw_at(data, loc), list) and len(raw) != len(items)
    }
    if renumbered:
        positions = {
            loc: where
            for loc, where in positions.items()
            if not any(loc[:i] in renumbered for i, part in enumerate(loc) if isinstance(part, int))
        }
    return SourceMap(positions)


@dataclass(frozen=True, slots=True)
class _Snapshot:
    """One file's stack before merging: its positions and where its list items were."""

    sources: SourceMap
    # id of a model in a list -> (the model, kept alive so the id stays its, its key path)
    models: dict[int, tuple[StackModel, Loc]]
    # (key path of a list, a hashable item) -> key paths of that item, in order
    values: dict[tuple[Loc, Any], list[Loc]]
    # key path of a list item -> (rest of the key path, position) under it
    under_items: dict[Loc, list[tuple[Loc, Position]]]
    # key paths of the lists whose items have positions
    placed: frozenset[Loc]


def snapshot(stack: StackModel, sources: SourceMap) -> _Snapshot:
    """Note where the list items of ``stack`` are, before a merge moves them."""
    under_items: dict[Loc, list[tuple[Loc, Position]]] = {}
    for loc, where in sources.positions.items():
        index = _first_index(loc)
        if index is not None:
            under_items.setdefault(loc[: index + 1], []).append((loc[index + 1 :], where))
    # Only the items of lists that have positions: a port range's thousands have none.
    placed = {item[:-1] for item in under_items}
    models: dict[int, tuple[StackModel, Loc]] = {}
    values: dict[tuple[Loc, Any], list[Loc]] = {}
    for loc, items in _lists(stack, ()):
        if loc not in placed:
            continue
        for i, item in enumerate(items):
            if isinstance(item, StackModel):
                models[id(item)] = (item, (*loc, i))
            elif isinstance(item, str | int | float | bool) or item is None:
                values.setdefault((loc, item), []).append((*loc, i))
    return _Snapshot(sources, models, values, under_items, frozenset(placed))


def merged_sources(merged: StackModel, files: Sequence[_Snapshot]) -> SourceMap:
    """The positions of ``merged``, the merge of the stacks ``files`` were taken of, in order."""
    positions: dict[Loc, Position] = {}
    for number, snap in enumerate(files):
        own = {
            loc: where for loc, where in snap.sources.positions.items() if _first_index(loc) is None
        }
        if number:
            # Top-level x-* keys come from the first file only.
            own = {loc: w for loc, w in own.items() if not (loc and str(loc[0]).startswith("x-"))}
            replaced = {loc[:2] for loc in own if len(loc) >= 2 and loc[0] in _REPLACED_PER_KEY}
            if replaced:
                positions = {loc: w for loc, w in positions.items() if loc[:2] not in replaced}
        positions.update(own)
    used: dict[tuple[Loc, Any, int], int] = {}
    for loc, items in _lists(merged, ()):
        if not any(loc in snap.placed for snap in files):
            continue
        for i, item in enumerate(items):
            source = _source_of(item, loc, files, used)
            if source is not None:
                snap, item_loc = source
                for rest, where in snap.under_items.get(item_loc, ()):
                    positions[(*loc, i, *rest)] = where
    return SourceMap(positions)


def _source_of(
    item: Any, loc: Loc, files: Sequence[_Snapshot], used: dict[tuple[Loc, Any, int], int]
) -> tuple[_Snapshot, Loc] | None:
    """The file and key path a merged list item came from: the same model, else
    the same value in the last file that has one left."""
    if isinstance(item, StackModel):
        for snap in reversed(files):
            found = snap.models.get(id(item))
            if found is not None and found[0] is item:
                return snap, found[1]
        return None
    if not (isinstance(item, str | int | float | bool) or item is None):
        return None
    for number in range(len(files) - 1, -1, -1):
        occurrences = files[number].values.get((loc, item))
        taken = used.get((loc, item, number), 0)
        if occurrences and taken < len(occurrences):
            used[(loc, item, number)] = taken + 1
            return files[number], occurrences[taken]
    return None
