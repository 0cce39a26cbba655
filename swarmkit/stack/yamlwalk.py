"""The walk from a composed YAML node tree to plain values, as go-yaml decodes it.

:func:`swarmkit.stack.yamlio.load_yaml` composes a document with PyYAML and
hands the tree to :class:`Walker`, which builds the values, notes the line of
every key, applies merge keys in go-yaml's order and counts values the way
go-yaml's decoder counts them, so that alias bombs are refused exactly where
the docker CLI refuses them ("document contains excessive aliasing").
"""

from __future__ import annotations

from typing import Any

import yaml

from swarmkit.exceptions import StackSyntaxError

__all__ = ["MAX_VALUES", "Lines", "Loc", "Walker"]

Loc = tuple[str | int, ...]
Lines = dict[Loc, int]

MAX_VALUES = 1_000_000
"""The most values a document may expand to, whatever its aliases."""


def _allowed_alias_ratio(decodes: int) -> float:
    # go-yaml v3's own rule (decode.go, allowedAliasRatio): 99% of the values
    # may come from aliases in a small document, falling to 10% at 4 million.
    if decodes <= 400_000:
        return 0.99
    if decodes >= 4_000_000:
        return 0.10
    return 0.99 - 0.89 * (decodes - 400_000) / 3_600_000


class Walker:
    """Builds Python values from a composed node tree, noting key lines.

    It counts values as go-yaml's decoder does (every node, keys included;
    those reached through an alias also as aliased), so that a document is
    refused for "excessive aliasing" where the docker CLI refuses it, long
    before the expansion costs time; the budget of values is a second bound.
    """

    def __init__(self, loader: yaml.SafeLoader, source: str) -> None:
        self.loader = loader
        self.source = source
        self.lines: Lines = {}
        self.budget = MAX_VALUES
        self.open: set[int] = set()
        # Where the walk first met each node: met again elsewhere, it is an alias.
        self.defined: dict[int, tuple[int, int]] = {}
        self.decodes = 1  # go-yaml counts the document node too
        self.aliased = 0
        self.depth = 0  # how many aliases deep the walk is

    def _count(self, node: yaml.Node) -> None:
        self.decodes += 1
        if self.depth:
            self.aliased += 1
        if (
            self.aliased > 100
            and self.decodes > 1000
            and self.aliased / self.decodes > _allowed_alias_ratio(self.decodes)
        ):
            raise self._error(node, "document contains excessive aliasing")

    def build(self, node: yaml.Node, loc: Loc, edge: tuple[int, int] = (0, 0)) -> Any:
        """The value of ``node``, met at ``edge`` (its parent's id and its index there)."""
        alias = self.defined.setdefault(id(node), edge) != edge
        if alias:
            self._count(node)  # the alias node itself
        if alias:
            self.depth += 1
        try:
            return self._build(node, loc)
        finally:
            if alias:
                self.depth -= 1

    def _build(self, node: yaml.Node, loc: Loc) -> Any:
        self.lines.setdefault(loc, node.start_mark.line + 1)
        self._count(node)
        self.budget -= 1
        if self.budget < 0:
            # Aliases can make a small file expand without bound.
            raise self._error(node, f"the document expands to more than {MAX_VALUES} values")
        if id(node) in self.open:
            raise self._error(node, "an alias refers to the value that contains it")
        if isinstance(node, yaml.MappingNode):
            self.open.add(id(node))
            result: dict[str, Any] = {}
            self._mapping(node, loc, result, None)
            self.open.discard(id(node))
            return result
        if isinstance(node, yaml.SequenceNode):
            self.open.add(id(node))
            items = [
                self.build(item, (*loc, i), (id(node), i)) for i, item in enumerate(node.value)
            ]
            self.open.discard(id(node))
            return items
        return self.loader.construct_object(node, deep=True)

    def _mapping(
        self, node: yaml.MappingNode, loc: Loc, result: dict[str, Any], taken: set[str] | None
    ) -> None:
        """Fill ``result`` from ``node`` in go-yaml's order: own keys, then ``<<``.

        ``taken`` is go-yaml's set of keys a merge must not set again (the
        mapping's own keys, then each merged source's, so the first wins);
        ``None`` outside a merge. A merged key already taken is counted but its
        value is not read, as go-yaml does not read it.
        """
        merge: tuple[int, yaml.Node, yaml.Node] | None = None
        seen: set[str] = set()
        for index, (key_node, value_node) in enumerate(node.value):
            if key_node.tag == "tag:yaml.org,2002:merge":
                if merge is not None:
                    # go-yaml refuses this; PyYAML would merge both.
                    first = merge[1].start_mark.line + 1
                    raise self._error(key_node, f'mapping key "<<" already defined at line {first}')
                merge = (index, key_node, value_node)
                continue
            self._count(key_node)
            key = self.loader.construct_object(key_node, deep=True)
            if not isinstance(key, str):
                raise self._error(key_node, f"mapping key {key!r} is not a string: quote it")
            if key in seen:
                raise self._error(key_node, f"mapping key {key!r} is defined twice")
            seen.add(key)
            child = (*loc, key)
            if taken is not None:
                if key in taken:
                    continue
                taken.add(key)
                self.lines.setdefault(child, key_node.start_mark.line + 1)
            else:
                self.lines[child] = key_node.start_mark.line + 1
            result[key] = self.build(value_node, child, (id(node), index))
        if merge is None:
            return
        index, key_node, value_node = merge
        if taken is None:
            # go-yaml decodes the mapping's keys once more to learn what is taken.
            for other, _ in node.value:
                self._count(other)
            taken = set(result)
        if isinstance(value_node, yaml.SequenceNode):
            sources = [((id(value_node), i), item) for i, item in enumerate(value_node.value)]
        else:
            sources = [((id(node), index), value_node)]
        for edge, source in sources:
            self._merge(source, loc, edge, result, taken)

    def _merge(
        self,
        source: yaml.Node,
        loc: Loc,
        edge: tuple[int, int],
        result: dict[str, Any],
        taken: set[str],
    ) -> None:
        if not isinstance(source, yaml.MappingNode):
            raise self._error(source, "map merge requires map or sequence of maps as the value")
        alias = self.defined.setdefault(id(source), edge) != edge
        if alias:
            self._count(source)  # the alias node
            self.depth += 1
        try:
            self._count(source)
            self.budget -= 1
            if id(source) in self.open:
                raise self._error(source, "an alias refers to the value that contains it")
            self.open.add(id(source))
            self._mapping(source, loc, result, taken)
            self.open.discard(id(source))
        finally:
            if alias:
                self.depth -= 1

    def _error(self, node: yaml.Node, message: str) -> StackSyntaxError:
        return StackSyntaxError(message, file=self.source, line=node.start_mark.line + 1)
