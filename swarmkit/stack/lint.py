"""``swarmkit lint``: check a stack against Swarm practices before deploying it.

::

    findings = lint_stack(load_stack("stack.yml"))
    print(format_text(findings), end="")
    sys.exit(1 if has_errors(findings) else 0)

:func:`format_json` prints the findings as JSON, :func:`format_gitlab` as a
GitLab Code Quality report.

Every rule has a code (``SK101``), a fixed severity and a one-line fix,
declared beside its check (:mod:`swarmkit.stack.lint_rules`,
:mod:`swarmkit.stack.lint_hardening`, :mod:`swarmkit.stack.lint_security`,
and SK000 here), all listed in
:data:`RULES` and in ``docs/lint.md``. A service silences rules for itself
with ``x-swarmkit: {lint-ignore: [SK101]}``; the same key at the top level of
the file silences them for the whole stack. A finding of a loaded stack
names the file and line of its key.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Final

from pydantic import ConfigDict

from swarmkit.stack import lint_hardening, lint_rules, lint_security
from swarmkit.stack.base import StackModel
from swarmkit.stack.lint_registry import Hit, Loc, Rule, RuleSet, Severity, join_rules
from swarmkit.stack.model import Stack

__all__ = [
    "RULES",
    "LintFinding",
    "Rule",
    "Severity",
    "format_gitlab",
    "format_json",
    "format_text",
    "has_errors",
    "lint_stack",
]

# SK000 is the lint's own rule: its check reads lint-ignore, which needs RULES.
_own = RuleSet()
_UNSILENCEABLE = frozenset({"SK000"})


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


def _ignores(extensions: Mapping[str, Any], where: Loc) -> tuple[frozenset[str], list[Hit]]:
    """The codes ``x-swarmkit.lint-ignore`` silences, and SK000 hits for bad values.

    A blank ``x-swarmkit:`` or ``lint-ignore:`` (YAML null) silences nothing
    and is not a mistake; anything else that is not a list of known codes is.
    """
    settings = extensions.get("x-swarmkit")
    if settings is None:
        return frozenset(), []
    if not isinstance(settings, dict):
        return frozenset(), [
            Hit(where, f"x-swarmkit must be a mapping, not {_yaml_kind(settings)}")
        ]
    value = settings.get("lint-ignore")
    loc = (*where, "lint-ignore")
    if value is None:
        return frozenset(), []
    if not isinstance(value, list):
        message = f"lint-ignore must be a list of rule codes, not {_yaml_kind(value)}"
        fix = f"write lint-ignore: [{value}]" if isinstance(value, str) else None
        return frozenset(), [Hit(loc, message, fix)]
    codes: set[str] = set()
    bad: list[Hit] = []
    known = sorted(set(RULES) - _UNSILENCEABLE)
    for i, code in enumerate(value):
        if isinstance(code, str) and code in known:
            codes.add(code)
        elif code in _UNSILENCEABLE:
            bad.append(Hit((*loc, i), f"{code} cannot be silenced"))
        else:
            near = difflib.get_close_matches(str(code).upper(), known, n=1)
            fix = f"did you mean {near[0]}? Codes are listed in docs/lint.md" if near else None
            bad.append(Hit((*loc, i), f"unknown rule code {code!r} in lint-ignore", fix))
    return frozenset(codes), bad


@_own.stack_rule(
    "SK000",
    Severity.ERROR,
    title="x-swarmkit.lint-ignore is not a list of known rule codes",
    fix="write lint-ignore: [SK101, ...] with codes from docs/lint.md",
)
def _lint_ignore_is_valid(stack: Stack) -> Iterator[Hit]:
    """The top-level and every service's ``lint-ignore`` lists known codes."""
    yield from _ignores(stack.extensions, ("x-swarmkit",))[1]
    for name in sorted(stack.services):
        loc = ("services", name, "x-swarmkit")
        for hit in _ignores(stack.services[name].extensions, loc)[1]:
            yield hit._replace(service=name)


#: Every rule by code, in code order. ``SK000`` (a malformed ``lint-ignore``)
#: cannot itself be silenced.
RULES: Final[Mapping[str, Rule]] = join_rules(
    _own, lint_rules.rules, lint_hardening.rules, lint_security.rules
)


class LintFinding(StackModel):
    """One problem found in a stack.

    ``service`` is ``None`` for findings about the stack as a whole (a top-level
    network, a top-level ``x-swarmkit``). ``key_path`` is the dotted path of the
    offending key (``services.app.deploy.update_config``); ``message`` says what
    is wrong and ``fix`` what to do, each in one line. ``file`` and ``line``
    say where the key (or, for a key the file does not have, its nearest
    parent) was written; both are ``None`` for a stack built in Python.
    """

    model_config = ConfigDict(frozen=True)

    code: str
    severity: Severity
    service: str | None
    key_path: str
    message: str
    fix: str
    file: str | None = None
    line: int | None = None

    def to_dict(self) -> dict[str, str | int | None]:
        """Plain data for JSON, keys in a fixed order: code, severity, file, line,
        service, key_path, message, fix."""
        return {
            "code": self.code,
            "severity": self.severity.value,
            "file": self.file,
            "line": self.line,
            "service": self.service,
            "key_path": self.key_path,
            "message": self.message,
            "fix": self.fix,
        }


def _finding(rule: Rule, hit: Hit, stack: Stack) -> LintFinding:
    where = stack.sources.lookup(hit.loc) if stack.sources is not None else None
    return LintFinding(
        code=rule.code,
        severity=rule.severity,
        service=hit.service,
        key_path=hit.key_path,
        message=hit.message,
        fix=hit.fix or rule.fix,
        file=where.file if where else None,
        line=where.line if where else None,
    )


def lint_stack(stack: Stack) -> list[LintFinding]:
    """Check ``stack`` against every rule in :data:`RULES`.

    Findings come sorted: stack-wide ones first, then by service name, then by
    code; findings of the same service and code keep the order of the file.
    Silenced codes are dropped; malformed ``lint-ignore`` values are reported
    as ``SK000`` instead of raising.
    """
    stack_ignored = _ignores(stack.extensions, ("x-swarmkit",))[0]
    ignored = {
        name: stack_ignored | _ignores(service.extensions, ("services", name, "x-swarmkit"))[0]
        for name, service in stack.services.items()
    }
    findings = [
        _finding(rule, hit, stack)
        for rule in RULES.values()
        for hit in rule.hits(stack)
        if rule.code not in (stack_ignored if hit.service is None else ignored[hit.service])
    ]
    return sorted(findings, key=lambda f: (f.service is not None, f.service or "", f.code))


def has_errors(findings: Iterable[LintFinding]) -> bool:
    """Whether any finding is error-level: what makes ``swarmkit lint`` exit 1."""
    return any(f.severity is Severity.ERROR for f in findings)


def _count(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 or word == "info" else f"{n} {word}s"


def format_text(findings: Iterable[LintFinding]) -> str:
    """One line per finding, ``file:line:`` first when known, then a summary.

    Ends with a newline::

        stack.yml:7: SK101 error services.app.image: image nginx has no tag, ... (fix: pin ...)
        1 error, 0 warnings, 0 info
    """
    lines: list[str] = []
    counts = dict.fromkeys(Severity, 0)
    for f in findings:
        counts[f.severity] += 1
        where = f"{f.file}:{f.line}: " if f.file is not None and f.line is not None else ""
        lines.append(f"{where}{f.code} {f.severity.value} {f.key_path}: {f.message} (fix: {f.fix})")
    lines.append(", ".join(_count(counts[s], s.value) for s in Severity))
    return "\n".join(lines) + "\n"


def format_json(findings: Iterable[LintFinding]) -> str:
    """A JSON list of :meth:`LintFinding.to_dict` objects (keys in a fixed order)."""
    return json.dumps([f.to_dict() for f in findings], indent=2, ensure_ascii=False) + "\n"


#: GitLab's severity of each lint severity; only ``error`` fails the lint.
GITLAB_SEVERITY: Final[Mapping[Severity, str]] = {
    Severity.ERROR: "major",
    Severity.WARNING: "minor",
    Severity.INFO: "info",
}


def _report_path(file: str | None) -> str:
    # GitLab links location.path to the repository: relative, forward slashes, no "./".
    if file is None:
        return "<stack>"
    if os.path.isabs(file):
        relative = os.path.relpath(file)
        if relative != ".." and not relative.startswith(".." + os.sep):
            file = relative
    path = file.replace(os.sep, "/")
    while path.startswith("./"):
        path = path[2:]
    return path


def _category(code: str) -> str:
    if code.startswith("SK3"):
        return "Security"
    return "Compatibility" if code.startswith("SK5") else "Bug Risk"


def format_gitlab(findings: Iterable[LintFinding]) -> str:
    """A GitLab Code Quality report: a JSON list of CodeClimate issues.

    Each issue has ``description`` (the text line without its position),
    ``check_name`` (the code), ``fingerprint``, ``severity`` (error ``major``,
    warning ``minor``, info ``info``) and ``location.path`` and
    ``location.lines.begin`` (the finding's file relative to the working
    directory, and line; ``<stack>`` and 1 for a stack built in Python).

    The fingerprint is a hash of the code, the file and the key path, not of
    the line or the message: a finding keeps it when lines above it move or a
    value in it changes, so GitLab shows it as the same issue in the next
    pipeline. The same finding of two stacks sharing a file (staging and
    production) has the same fingerprint; GitLab lists it once. Two findings
    that would share one within a report are told apart by their order.
    """
    issues: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for f in findings:
        path = _report_path(f.file)
        key = "\0".join((f.code, path, f.key_path))
        seen[key] = seen.get(key, 0) + 1
        if seen[key] > 1:
            key += f"\0{seen[key]}"
        issues.append(
            {
                "type": "issue",
                "description": f"{f.code} {f.key_path}: {f.message} (fix: {f.fix})",
                "check_name": f.code,
                "categories": [_category(f.code)],
                "fingerprint": hashlib.sha256(key.encode()).hexdigest()[:32],
                "severity": GITLAB_SEVERITY[f.severity],
                "location": {"path": path, "lines": {"begin": f.line or 1}},
            }
        )
    return json.dumps(issues, indent=2, ensure_ascii=False) + "\n"
