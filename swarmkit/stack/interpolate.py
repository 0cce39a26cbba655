"""Variable interpolation in stack files, exactly as the docker CLI (v28.2.2) does it.

:func:`substitute` expands ``$VAR``, ``${VAR}``, ``${VAR:-default}``,
``${VAR-default}``, ``${VAR:?message}``, ``${VAR?message}`` and ``$$`` in one
string; :func:`interpolate` does it for every string value of a parsed stack
file and converts the values the CLI converts (``deploy.replicas`` to an int,
``read_only`` to a bool, ...).

The CLI's behaviour is reproduced bug for bug, because a stack file must mean
the same to us as to ``docker stack deploy``. The surprising parts:

* ``$VAR`` without braces also takes a ``-``, ``:-``, ``?`` or ``:?`` suffix,
  up to the next ``}`` or the end of the value: ``$A-x y`` is ``${A-x y}``.
* The operator is found by searching the whole expression, in the order
  ``:-``, ``-``, ``:?``, ``?``: ``${A:?no-way}`` means "variable ``A:?no``,
  default ``way``", and never fails.
* A default is not expanded again: ``${A:-${B}}`` gives ``${B}`` when ``A`` is
  unset (the inner ``${B`` is the default, the last ``}`` is literal text).
* Only the last ``$`` expression of a value decides whether it fails:
  ``${} $A`` and ``${A:?} $B`` are accepted, the failing part becoming ``""``.
* Names are ``[_a-z][_a-z0-9]*`` without regard to case, and Go's case folding
  also lets in U+017F (long s) and U+212A (Kelvin sign).
* A value is converted only when interpolation changed it: ``replicas: "3"``
  stays the string ``"3"`` (and the schema refuses it later).
* The conversion is chosen by the dotted path of keys, so a network called
  ``my.net`` gets no conversion of ``external``.

Errors are :class:`~swarmkit.exceptions.InterpolationError`, including a
value that cannot be converted (``replicas: "$N"`` with ``N=abc``); they carry
``loc`` (the keys and list indices of the value) but no file or line, which
the caller adds.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from swarmkit.exceptions import InterpolationError
from swarmkit.stack.golang import RANGE, GoNumError, atoi, parse_float

__all__ = ["interpolate", "substitute"]

Lookup = Callable[[str], str | None]

# Go's (?i) uses Unicode simple case folding, under which U+017F (long s) and
# U+212A (Kelvin sign) join s and k. Python's IGNORECASE would also let in
# U+0130 and U+0131 (dotted and dotless i), which Go refuses, so the letters are
# spelled out instead.
_LETTER = "_a-zA-Z\u017f\u212a"
_EXPR = f"[{_LETTER}][{_LETTER}0-9]*(?::?[-?][^}}]*)?"
_PATTERN = re.compile(
    rf"\$(?:(?P<escaped>\$)|(?P<named>{_EXPR})|\{{(?P<braced>{_EXPR})\}}|(?P<invalid>))"
)

_FORMS = "${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?message} or ${NAME?message}"


class _Failure(NamedTuple):
    message: str
    variable: str | None
    hint: str


def _quote(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _invalid(template: str, offset: int) -> _Failure:
    after = template[offset + 1 : offset + 2]
    if not after:
        detail = 'it ends with a lone "$"'
    elif after == "{":
        detail = f'the "${{" at character {offset + 1} is not one of {_FORMS}'
    else:
        detail = f'the "$" at character {offset + 1} is followed by {_quote(after)}'
    return _Failure(
        f"invalid interpolation format in {_quote(template)}: {detail}",
        None,
        'write "$$" for a literal "$"',
    )


def _required(name: str, message: str, value: str | None) -> _Failure:
    text = f"required variable {name} is missing a value"
    if message:
        text += f": {message}"
    where = "in the environment or in the --env-file"
    if value is None:
        hint = f"set {name} {where}"
    else:
        hint = f"{name} is set but empty; give it a value {where}"
    return _Failure(text, name, hint)


def _resolve(expr: str, lookup: Lookup) -> tuple[str, _Failure | None]:
    # The CLI tries each operator in this order and looks for it anywhere in the
    # expression, not just after the name; see the module docstring.
    if ":-" in expr:
        name, _, default = expr.partition(":-")
        return lookup(name) or default, None
    if "-" in expr:
        name, _, default = expr.partition("-")
        value = lookup(name)
        return (default if value is None else value), None
    for operator, allow_empty in ((":?", False), ("?", True)):
        if operator in expr:
            name, _, message = expr.partition(operator)
            value = lookup(name)
            if value is None or (value == "" and not allow_empty):
                return "", _required(name, message, value)
            return value, None
    return lookup(expr) or "", None


def _expand(template: str, lookup: Lookup) -> tuple[str, _Failure | None]:
    parts: list[str] = []
    failure: _Failure | None = None
    end = 0
    for match in _PATTERN.finditer(template):
        parts.append(template[end : match.start()])
        end = match.end()
        if match["escaped"] is not None:
            parts.append("$")
            continue
        expr = match["named"] or match["braced"]
        # The CLI keeps one error slot that every later expression overwrites,
        # so an error survives only if no "$NAME" or "${...}" follows it.
        if expr is None:
            failure = _invalid(template, match.start())
            continue
        value, failure = _resolve(expr, lookup)
        parts.append(value)
    parts.append(template[end:])
    return "".join(parts), failure


def substitute(template: str, lookup: Callable[[str], str | None]) -> str:
    """Expand the ``$`` expressions of ``template``; ``lookup`` gives a variable or ``None``.

    Raises :class:`~swarmkit.exceptions.InterpolationError` (with an empty
    ``loc``) for an invalid template or a ``${VAR:?message}`` whose variable is
    missing.
    """
    result, failure = _expand(template, lookup)
    if failure is not None:
        raise InterpolationError(failure.message, variable=failure.variable, hint=failure.hint)
    return result


class _CastError(ValueError):
    pass


def _to_int(text: str) -> int:
    try:
        return atoi(text)
    except GoNumError as exc:
        raise _CastError(
            "is out of range for an integer" if exc.reason == RANGE else "is not an integer"
        ) from None


def _to_float(text: str) -> float:
    try:
        return parse_float(text)
    except GoNumError as exc:
        raise _CastError(
            "is out of range for a float" if exc.reason == RANGE else "is not a number"
        ) from None


def _to_bool(text: str) -> bool:
    # YAML 1.1 booleans, as the CLI spells them out.
    lowered = text.lower()
    if lowered in ("y", "yes", "true", "on"):
        return True
    if lowered in ("n", "no", "false", "off"):
        return False
    raise _CastError("is not a boolean (use true/false, yes/no, on/off or y/n)")


# Paths of the values the CLI converts after interpolation; "*" is any key and
# "[]" any list item.
_CAST_PATHS: tuple[tuple[Callable[[str], Any], str], ...] = (
    (
        _to_int,
        """
        services.*.configs.[].mode services.*.secrets.[].mode
        services.*.healthcheck.retries services.*.deploy.replicas
        services.*.deploy.update_config.parallelism
        services.*.deploy.rollback_config.parallelism
        services.*.deploy.restart_policy.max_attempts
        services.*.deploy.placement.max_replicas_per_node
        services.*.ports.[].target services.*.ports.[].published
        services.*.ulimits.* services.*.ulimits.*.hard services.*.ulimits.*.soft
        services.*.oom_score_adj
    """,
    ),
    (
        _to_float,
        """
        services.*.deploy.update_config.max_failure_ratio
        services.*.deploy.rollback_config.max_failure_ratio
    """,
    ),
    (
        _to_bool,
        """
        services.*.healthcheck.disable services.*.privileged services.*.read_only
        services.*.stdin_open services.*.tty services.*.volumes.[].read_only
        services.*.volumes.[].volume.nocopy
        networks.*.external networks.*.internal networks.*.attachable
        volumes.*.external secrets.*.external configs.*.external
    """,
    ),
)
_CASTS = {tuple(path.split(".")): cast for cast, paths in _CAST_PATHS for path in paths.split()}


def _caster(path: str) -> Callable[[str], Any] | None:
    # The CLI joins keys with "." and splits again, so a key holding a "." shifts
    # the parts; matching the joined string reproduces that.
    parts = path.split(".")
    for pattern, cast in _CASTS.items():
        if len(pattern) == len(parts) and all(
            want in ("*", got) for want, got in zip(pattern, parts, strict=True)
        ):
            return cast
    return None


def _walk(value: Any, loc: tuple[str | int, ...], path: str, lookup: Lookup) -> Any:
    if isinstance(value, str):
        result, failure = _expand(value, lookup)
        if failure is not None:
            raise InterpolationError(
                failure.message, variable=failure.variable, loc=loc, hint=failure.hint
            )
        if result == value:
            return value
        cast = _caster(path)
        if cast is None:
            return result
        try:
            return cast(result)
        except _CastError as exc:
            # The result is not shown: it holds the variables' values, maybe secrets.
            raise InterpolationError(
                f"{_quote(value)} {exc} after interpolation",
                loc=loc,
                hint="check the variables this value uses",
            ) from None
    if isinstance(value, dict):
        return {
            key: _walk(item, (*loc, key), f"{path}.{key}", lookup) for key, item in value.items()
        }
    if isinstance(value, list):
        return [
            _walk(item, (*loc, index), f"{path}.[]", lookup) for index, item in enumerate(value)
        ]
    return value


def interpolate(config: dict[str, Any], environ: Mapping[str, str]) -> dict[str, Any]:
    """A copy of ``config`` with every string value interpolated from ``environ``.

    Keys are left alone; dicts and lists are copied, other values shared.
    Values at the paths the CLI converts (``services.*.deploy.replicas``,
    ``services.*.read_only``, ``networks.*.external``, ...) become ints, floats
    or bools when interpolation changed them. Raises
    :class:`~swarmkit.exceptions.InterpolationError` with ``loc`` set for an
    invalid template, a missing required variable or a value that cannot be
    converted; the first one in document order wins.
    """
    lookup: Lookup = environ.get
    return {key: _walk(value, (key,), str(key), lookup) for key, value in config.items()}
