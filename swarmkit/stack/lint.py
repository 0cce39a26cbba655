"""``swarmkit lint``: check a stack against Swarm practices before deploying it.

::

    findings = lint_stack(load_stack("stack.yml"))
    print(format_text(findings), end="")
    sys.exit(1 if has_errors(findings) else 0)

Every rule has a code (``SK101``), a fixed severity and a one-line fix, listed
in :data:`RULES` and in ``docs/lint.md``. A service silences rules for itself
with ``x-swarmkit: {lint-ignore: [SK101]}``; the same key at the top level of
the file silences them for the whole stack. The checks themselves live in
:mod:`swarmkit.stack.lint_rules`.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Final

from pydantic import ConfigDict

from swarmkit.stack.base import StackModel
from swarmkit.stack.lint_rules import Hit, check_service, check_stack
from swarmkit.stack.model import Stack

__all__ = [
    "RULES",
    "LintFinding",
    "Rule",
    "Severity",
    "format_json",
    "format_text",
    "has_errors",
    "lint_stack",
]


class Severity(StrEnum):
    """How bad a finding is. Only ``error`` makes ``swarmkit lint`` exit 1."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True, slots=True)
class Rule:
    """One lint rule: its code, severity, what it checks (``title``) and the usual fix."""

    code: str
    severity: Severity
    title: str
    fix: str


_E, _W, _I = Severity.ERROR, Severity.WARNING, Severity.INFO

#: Every rule by code, in code order. ``SK000`` (a malformed ``lint-ignore``)
#: cannot itself be silenced.
RULES: Final[Mapping[str, Rule]] = MappingProxyType(
    {
        rule.code: rule
        for rule in (
            Rule("SK000", _E, "x-swarmkit.lint-ignore is not a list of known rule codes",
                 "write lint-ignore: [SK101, ...] with codes from docs/lint.md"),
            Rule("SK101", _E, "image has no tag, or the tag latest (a digest is fine)",
                 "pin a version tag or a digest: image: name:1.2.3 or name@sha256:..."),
            Rule("SK102", _E, "update or rollback order start-first without a healthcheck",
                 "add a healthcheck so Swarm waits for the new task, or use order: stop-first"),
            Rule("SK103", _W, "no update_config, or its failure_action is not rollback",
                 "set deploy.update_config.failure_action: rollback"),
            Rule("SK104", _W, "one replica updated stop-first: down during every update",
                 "set deploy.update_config.order: start-first with a healthcheck, or run 2+ "
                 "replicas"),
            Rule("SK105", _E, "healthcheck.test holds two commands (merged from two files)",
                 "set the whole healthcheck in one file, or override it with disable + a new test"),
            Rule("SK201", _E, "secret, config, network or named volume not declared at top level",
                 "declare it under the top-level secrets, configs, networks or volumes key"),
            Rule("SK202", _E, "network driver set and not overlay (network not external)",
                 "use driver: overlay (or leave it unset), or mark an existing network "
                 "external: true"),
            Rule("SK301", _W, "capabilities not dropped (no cap_drop: [ALL])",
                 "add cap_drop: [ALL], then cap_add only what the process needs"),
            Rule("SK302", _E, "Docker socket bind-mounted",
                 "remove the mount; if a tool needs the API, give it a filtering socket proxy"),
            Rule("SK303", _E, "secret-looking environment variable with a plain value",
                 "move the value to a Swarm secret and read it from /run/secrets/NAME"),
            Rule("SK304", _E, "database port published",
                 "remove the ports entry; reach the database over an overlay network"),
            Rule("SK401", _W, "database restarts on any exit (condition any, or no policy)",
                 "set deploy.restart_policy.condition: on-failure"),
            Rule("SK402", _W, "node-local named volume, but no constraint pins the node",
                 "pin it: deploy.placement.constraints: [node.labels.LABEL == true]"),
            Rule("SK501", _I, "key that docker stack deploy ignores",
                 "remove it, or keep it only for docker compose"),
        )
    }
)  # fmt: skip

_UNSILENCEABLE = frozenset({"SK000"})


class LintFinding(StackModel):
    """One problem found in a stack.

    ``service`` is ``None`` for findings about the stack as a whole (a top-level
    network, a top-level ``x-swarmkit``). ``key_path`` is the dotted path of the
    offending key (``services.app.deploy.update_config``); ``message`` says what
    is wrong and ``fix`` what to do, each in one line.
    """

    model_config = ConfigDict(frozen=True)

    code: str
    severity: Severity
    service: str | None
    key_path: str
    message: str
    fix: str

    def to_dict(self) -> dict[str, str | None]:
        """Plain data for JSON, keys in a fixed order: code, severity, service,
        key_path, message, fix."""
        return {
            "code": self.code,
            "severity": self.severity.value,
            "service": self.service,
            "key_path": self.key_path,
            "message": self.message,
            "fix": self.fix,
        }


def _finding(
    code: str, service: str | None, key_path: str, message: str, fix: str | None = None
) -> LintFinding:
    rule = RULES[code]
    return LintFinding(
        code=code,
        severity=rule.severity,
        service=service,
        key_path=key_path,
        message=message,
        fix=fix or rule.fix,
    )


def _from_hits(hits: Iterable[Hit], service: str | None) -> list[LintFinding]:
    return [_finding(h.code, service, h.key_path, h.message, h.fix) for h in hits]


def _yaml_kind(value: object) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return type(value).__name__


def _ignores(
    extensions: Mapping[str, Any], where: str, service: str | None
) -> tuple[frozenset[str], list[LintFinding]]:
    """The codes ``x-swarmkit.lint-ignore`` silences, and SK000 findings for bad values.

    A blank ``x-swarmkit:`` or ``lint-ignore:`` (YAML null) silences nothing
    and is not a mistake; anything else that is not a list of known codes is.
    """
    settings = extensions.get("x-swarmkit")
    if settings is None:
        return frozenset(), []
    if not isinstance(settings, dict):
        message = f"x-swarmkit must be a mapping, not {_yaml_kind(settings)}"
        return frozenset(), [_finding("SK000", service, where, message)]
    value = settings.get("lint-ignore")
    path = f"{where}.lint-ignore"
    if value is None:
        return frozenset(), []
    if not isinstance(value, list):
        message = f"lint-ignore must be a list of rule codes, not {_yaml_kind(value)}"
        fix = f"write lint-ignore: [{value}]" if isinstance(value, str) else None
        return frozenset(), [_finding("SK000", service, path, message, fix)]
    codes: set[str] = set()
    bad: list[LintFinding] = []
    known = sorted(set(RULES) - _UNSILENCEABLE)
    for i, code in enumerate(value):
        if isinstance(code, str) and code in known:
            codes.add(code)
        elif code in _UNSILENCEABLE:
            bad.append(_finding("SK000", service, f"{path}[{i}]", f"{code} cannot be silenced"))
        else:
            near = difflib.get_close_matches(str(code).upper(), known, n=1)
            fix = f"did you mean {near[0]}? Codes are listed in docs/lint.md" if near else None
            message = f"unknown rule code {code!r} in lint-ignore"
            bad.append(_finding("SK000", service, f"{path}[{i}]", message, fix))
    return frozenset(codes), bad


def lint_stack(stack: Stack) -> list[LintFinding]:
    """Check ``stack`` against every rule in :data:`RULES`.

    Findings come sorted: stack-wide ones first, then by service name, then by
    code; findings of the same service and code keep the order of the file.
    Silenced codes are dropped; malformed ``lint-ignore`` values are reported
    as ``SK000`` instead of raising.
    """
    findings: list[LintFinding] = []
    stack_ignored, bad = _ignores(stack.extensions, "x-swarmkit", None)
    findings += bad
    findings += [f for f in _from_hits(check_stack(stack), None) if f.code not in stack_ignored]
    for name in sorted(stack.services):
        service = stack.services[name]
        ignored, bad = _ignores(service.extensions, f"services.{name}.x-swarmkit", name)
        findings += bad
        ignored |= stack_ignored
        hits = check_service(stack, name, service)
        findings += [f for f in _from_hits(hits, name) if f.code not in ignored]
    return sorted(findings, key=lambda f: (f.service is not None, f.service or "", f.code))


def has_errors(findings: Iterable[LintFinding]) -> bool:
    """Whether any finding is error-level: what makes ``swarmkit lint`` exit 1."""
    return any(f.severity is Severity.ERROR for f in findings)


def _count(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 or word == "info" else f"{n} {word}s"


def format_text(findings: Iterable[LintFinding]) -> str:
    """One line per finding, then a summary; ends with a newline.

    ::

        error SK101 services.app.image: image nginx has no tag, ... (fix: pin a ...)
        1 error, 0 warnings, 0 info
    """
    lines: list[str] = []
    counts = dict.fromkeys(Severity, 0)
    for f in findings:
        counts[f.severity] += 1
        lines.append(f"{f.severity.value} {f.code} {f.key_path}: {f.message} (fix: {f.fix})")
    lines.append(", ".join(_count(counts[s], s.value) for s in Severity))
    return "\n".join(lines) + "\n"


def format_json(findings: Iterable[LintFinding]) -> str:
    """A JSON list of :meth:`LintFinding.to_dict` objects (keys in a fixed order)."""
    return json.dumps([f.to_dict() for f in findings], indent=2, ensure_ascii=False) + "\n"
