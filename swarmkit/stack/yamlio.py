"""YAML in and out, read the way the docker CLI (go-yaml v3) reads it.

PyYAML follows YAML 1.1 (``yes`` is a boolean, ``0644`` is octal, dates are
dates); the docker CLI decodes with go-yaml v3, which differs: ``yes`` and
``on`` stay strings, ``1_000`` is 1000, ``08`` is the float 8, timestamps
become times. A stack that means one thing to ``docker stack deploy`` must mean
the same to us, so the resolver here mimics go-yaml v3, and the loader also
records the line of every key so that errors can point at it.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

import yaml

from swarmkit.exceptions import StackSyntaxError
from swarmkit.stack.golang import GoNumError, format_float, parse_float
from swarmkit.stack.yamlwalk import Lines, Walker

__all__ = ["Lines", "dump_yaml", "load_yaml"]


_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_BaseDumper: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

_GO_NUMBER_TAG = "tag:swarmkit,2024:go-number"
_MAX_DECIMAL_DIGITS = 20  # 2**64 has 20 digits
_FLOAT_RE = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_INT_BASE0_RE = re.compile(r"^[-+]?(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)$")
# go-yaml v3 tries exactly these layouts: "2006-1-2T15:4:5.999999999Z07:00"
# (also with a lower-case t), "2006-1-2 15:4:5.999999999" and "2006-1-2".
_TIMESTAMP_RE = re.compile(
    r"^(\d{4})-(\d{1,2})-(\d{1,2})"
    r"(?:(?:[Tt](\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.(\d+))?(Z|[-+]\d{2}:\d{2}))"
    r"|(?: (\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.(\d+))?))?$"
)


class _GoYamlLoader(_BaseLoader):  # type: ignore[misc,valid-type]
    """A safe loader whose implicit types are go-yaml v3's."""

    yaml_implicit_resolvers: dict[str | None, list[tuple[str, re.Pattern[str]]]] = {}


_GoYamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""]
)
_GoYamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)
_GoYamlLoader.add_implicit_resolver("tag:yaml.org,2002:merge", re.compile(r"^(?:<<)$"), ["<"])
_GoYamlLoader.add_implicit_resolver(_GO_NUMBER_TAG, re.compile(r"^[-+.0-9]"), list("-+.0123456789"))


def _parse_timestamp(text: str) -> dt.datetime | None:
    match = _TIMESTAMP_RE.match(text)
    if not match:
        return None
    year, month, day, hour, minute, second, frac, zone, *spaced = match.groups()
    if hour is None and spaced[0] is not None:
        hour, minute, second, frac = spaced
    try:
        tz = dt.UTC
        if zone and zone != "Z":
            sign = -1 if zone[0] == "-" else 1
            offset = dt.timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
            if offset:
                tz = dt.timezone(sign * offset)
        return dt.datetime(
            int(year),
            int(month),
            int(day),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            int((frac or "0").ljust(6, "0")[:6]),
            tzinfo=tz,
        )
    except ValueError:
        return None


def go_yaml_scalar(text: str) -> Any:
    """Resolve a plain scalar that starts like a number, as go-yaml v3 does."""
    special = text.lstrip("+-")
    if special in (".inf", ".Inf", ".INF"):
        return -math.inf if text.startswith("-") else math.inf
    if text in (".nan", ".NaN", ".NAN"):
        return math.nan
    if text[0].isdigit():
        stamp = _parse_timestamp(text)
        if stamp is not None:
            return stamp
    plain = text.replace("_", "")
    if _INT_BASE0_RE.match(plain):
        sign = -1 if plain.startswith("-") else 1
        body = plain.lstrip("+-")
        if len(body) > 1 and body[0] == "0" and body[1] not in "xXoObB":
            value = sign * int(body, 8)
        elif len(body) > _MAX_DECIMAL_DIGITS and body[0] not in "0":
            # Out of 64 bits anyway, and int() refuses more than 4300 digits.
            value = 2**64
        else:
            value = sign * int(body, 0)
        if -(2**63) <= value < 2**64:
            return value
    if _FLOAT_RE.match(plain):
        try:
            return parse_float(plain)
        except GoNumError:
            # Go's ParseFloat fails on overflow, and go-yaml then keeps the string.
            return text
    return text


def _construct_go_number(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Any:
    return go_yaml_scalar(loader.construct_scalar(node))


_GoYamlLoader.add_constructor(_GO_NUMBER_TAG, _construct_go_number)


def _construct_binary(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Any:
    # go-yaml decodes !!binary into a string; keep bytes only when it is not text.
    data = loader.construct_yaml_binary(node)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data


_GoYamlLoader.add_constructor("tag:yaml.org,2002:binary", _construct_binary)

_NULL_TAG = "tag:yaml.org,2002:null"
_BOOL_TAG = "tag:yaml.org,2002:bool"


def _short_tag(value: Any) -> str:
    if value is None:
        return "!!null"
    for kind, tag in ((bool, "!!bool"), (int, "!!int"), (float, "!!float"), (str, "!!str")):
        if isinstance(value, kind):
            return tag
    return "!!timestamp"


def _plain_value(loader: yaml.SafeLoader, text: str) -> Any:
    """``text`` resolved as an untagged plain scalar, as go-yaml resolves it."""
    tag = loader.resolve(yaml.ScalarNode, text, (True, False))  # type: ignore[no-untyped-call]
    if tag == _NULL_TAG:
        return None
    if tag == _BOOL_TAG:
        return text.lower() == "true"
    if tag == _GO_NUMBER_TAG:
        return go_yaml_scalar(text)
    return text


def _tagged(kinds: tuple[type, ...], tag: str) -> Any:
    """A constructor for an explicit ``!!int``, ``!!bool``... tag: go-yaml's rules.

    The text is resolved as if untagged, and must give the tag's type (an
    integer also passes as a ``!!float``); otherwise it is an error, as in
    go-yaml ("cannot decode !!str `abc` as a !!int").
    """

    def construct(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Any:
        text = loader.construct_scalar(node)
        value = _plain_value(loader, text)
        if tag == "!!float" and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        wanted = isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds)
        if (value is None and tag == "!!null") or wanted:
            return value
        raise yaml.constructor.ConstructorError(
            None,
            None,
            f"cannot decode {_short_tag(value)} `{text}` as a {tag}",
            node.start_mark,
        )

    return construct


for _tag, _kinds in (
    ("null", ()),
    ("bool", (bool,)),
    ("int", (int,)),
    ("float", (float,)),
    ("timestamp", (dt.datetime,)),
):
    _GoYamlLoader.add_constructor(f"tag:yaml.org,2002:{_tag}", _tagged(_kinds, f"!!{_tag}"))


class _RedefiningLoader(yaml.SafeLoader):
    """The same loader in pure Python, where an anchor may be defined again.

    YAML allows it and go-yaml follows it (an alias means the latest anchor
    of that name before it); libyaml's composer refuses a second one. Only a
    file that redefines an anchor is composed by this slower loader.
    """

    yaml_implicit_resolvers = _GoYamlLoader.yaml_implicit_resolvers
    yaml_constructors = _GoYamlLoader.yaml_constructors

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        if not self.check_event(yaml.AliasEvent):
            anchor = self.peek_event().anchor  # type: ignore[no-untyped-call]
            if anchor is not None:
                self.anchors.pop(anchor, None)
        return super().compose_node(parent, index)


def load_yaml(text: str, source: str) -> tuple[Any, Lines]:
    """Parse one YAML document; return its value and the line of every key path.

    ``source`` names the file in errors. Raises :class:`StackSyntaxError`.
    """
    loader: yaml.SafeLoader = _GoYamlLoader(text)
    try:
        try:
            node = loader.get_single_node()
        except yaml.composer.ComposerError as exc:
            if not (exc.context or "").startswith("found duplicate anchor"):
                raise
            loader.dispose()
            loader = _RedefiningLoader(text)
            node = loader.get_single_node()
        if node is None:
            return None, {}
        walker = Walker(loader, source)
        return walker.build(node, ()), walker.lines
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = exc.problem or exc.context or "invalid YAML"
        raise StackSyntaxError(
            f"invalid YAML: {problem}",
            file=source,
            line=line,
            hint="fix the YAML syntax at that line",
        ) from None
    except yaml.YAMLError as exc:
        raise StackSyntaxError(f"invalid YAML: {exc}", file=source) from None
    finally:
        loader.dispose()


class _StackDumper(_BaseDumper):  # type: ignore[misc,valid-type]
    """Dumps plain data; strings that go-yaml would read as another type are quoted."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    style = None
    if data and (
        (go_yaml_scalar(data) is not data and data[0] in "-+.0123456789")
        or data.lower() in ("y", "yes", "n", "no", "on", "off")
    ):
        # Readable by both go-yaml and YAML 1.1 parsers as the same string.
        style = '"'
    if "\n" in data:
        style = "|" if not data.endswith(" ") else '"'
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


def _represent_time(dumper: yaml.SafeDumper, data: dt.datetime) -> yaml.ScalarNode:
    # RFC 3339 with a "T": the only timestamp layout with a zone that go-yaml reads.
    text = data.isoformat()
    if data.tzinfo is dt.UTC:
        text = text.removesuffix("+00:00") + "Z"
    return dumper.represent_scalar("tag:yaml.org,2002:timestamp", text)


def _represent_float(dumper: yaml.SafeDumper, data: float) -> yaml.ScalarNode:
    # go-yaml's encoder writes strconv.FormatFloat(f, 'g', -1, 64): 2 not 2.0,
    # 1e-05 not 1.0e-05. The loader refuses infinities and NaN before this.
    # PyYAML's YAML 1.1 resolver does not take "2" or "1e+20" for floats, so the
    # node gets whatever tag it resolves to: the text is then written plain, untagged.
    text = format_float(data)
    text = {"+Inf": ".inf", "-Inf": "-.inf", "NaN": ".nan"}.get(text, text)
    tag = dumper.resolve(yaml.ScalarNode, text, (True, False))  # type: ignore[no-untyped-call]
    return dumper.represent_scalar(tag, text)


_StackDumper.add_representer(str, _represent_str)
_StackDumper.add_representer(float, _represent_float)
_StackDumper.add_representer(dt.datetime, _represent_time)


def dump_yaml(data: Any) -> str:
    """Serialise plain data (dicts in their insertion order) as block YAML."""
    return str(
        yaml.dump(
            data,
            Dumper=_StackDumper,
            sort_keys=False,
            default_flow_style=False,
            allow_unicode=True,
            width=1 << 16,
            indent=2,
        )
    )
