"""How a lint rule is declared: its code, severity, title and fix beside its check.

A rule is one function, registered in a :class:`RuleSet` by a decorator that
carries everything the table in ``docs/lint.md`` says about it::

    rules = RuleSet()

    @rules.service_rule("SK101", Severity.ERROR,
                        title="image has no tag, or the tag latest",
                        fix="pin a version tag or a digest")
    def image_pinned(stack: Stack, name: str, service: Service) -> Iterator[Hit]:
        ...
        yield Hit(("services", name, "image"), "image nginx has no tag")

A :class:`Hit` has no code: the rule that ran the check stamps its own on
every finding, so a check cannot report a code that is not registered, nor
another rule's. :mod:`swarmkit.stack.lint` joins the rule sets into
:data:`~swarmkit.stack.lint.RULES` and runs them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import NamedTuple

from swarmkit.exceptions import format_loc
from swarmkit.stack.model import Stack
from swarmkit.stack.service import Service

__all__ = [
    "Hit",
    "Loc",
    "Rule",
    "RuleSet",
    "ServiceCheck",
    "Severity",
    "StackCheck",
    "join_rules",
]

Loc = tuple[str | int, ...]

_CODE = re.compile(r"SK\d{3}")


class Severity(StrEnum):
    """How bad a finding is. Only ``error`` makes ``swarmkit lint`` exit 1."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


class Hit(NamedTuple):
    """One rule firing at ``loc`` (``("services", "app", "image")``).

    ``fix`` is ``None`` when the rule's own fix applies. ``service`` is the
    service the hit belongs to; service rules fill it in themselves. There is
    deliberately no code: the rule that yields the hit owns it.
    """

    loc: Loc
    message: str
    fix: str | None = None
    service: str | None = None

    @property
    def key_path(self) -> str:
        """The dotted key path: ``services.app.ports[0]``."""
        return format_loc(self.loc) or ""


#: A check over the whole stack.
StackCheck = Callable[[Stack], Iterable[Hit]]
#: A check over one service: the stack, the service's name and the service.
ServiceCheck = Callable[[Stack, str, Service], Iterable[Hit]]


@dataclass(frozen=True, slots=True)
class Rule:
    """One lint rule: its code, severity, what it checks (``title``), the usual fix,
    and ``check``, the function that finds it (``None`` only for a rule built by
    hand, outside a :class:`RuleSet`)."""

    code: str
    severity: Severity
    title: str
    fix: str
    check: StackCheck | None = field(default=None, compare=False, repr=False)

    def hits(self, stack: Stack) -> Iterator[Hit]:
        """Run the check on ``stack``."""
        if self.check is None:
            return
        for hit in self.check(stack):
            if not isinstance(hit, Hit):
                # A check that yields a bare tuple would otherwise pass it off as a finding.
                raise TypeError(f"{self.code}'s check yielded {type(hit).__name__}, not a Hit")
            yield hit


class RuleSet:
    """Rules registered with :meth:`stack_rule` and :meth:`service_rule`, by code.

    Registering a code twice, or a code that is not ``SK`` and three digits,
    raises :class:`ValueError` at import time, before any lint runs.
    """

    def __init__(self) -> None:
        self._rules: dict[str, Rule] = {}

    def __iter__(self) -> Iterator[Rule]:
        return iter(self._rules.values())

    def add(self, rule: Rule) -> Rule:
        """Register ``rule``; return it."""
        if not _CODE.fullmatch(rule.code):
            raise ValueError(f"rule code {rule.code!r} is not SK and three digits")
        if rule.code in self._rules:
            raise ValueError(f"rule {rule.code} is registered twice")
        if rule.check is None:
            raise ValueError(f"rule {rule.code} has no check")
        if "\n" in rule.title + rule.fix:
            raise ValueError(f"rule {rule.code}: title and fix are one line each")
        self._rules[rule.code] = rule
        return rule

    def stack_rule(
        self, code: str, severity: Severity, *, title: str, fix: str
    ) -> Callable[[StackCheck], StackCheck]:
        """Register the decorated function as the check of rule ``code``, run once per stack."""

        def register(check: StackCheck) -> StackCheck:
            self.add(Rule(code, severity, title, fix, check))
            return check

        return register

    def service_rule(
        self, code: str, severity: Severity, *, title: str, fix: str
    ) -> Callable[[ServiceCheck], ServiceCheck]:
        """Register the decorated function as the check of rule ``code``, run per service.

        The check's hits get the service's name as their ``service``.
        """

        def register(check: ServiceCheck) -> ServiceCheck:
            def per_service(stack: Stack) -> Iterator[Hit]:
                for name in sorted(stack.services):
                    for hit in check(stack, name, stack.services[name]):
                        yield hit._replace(service=name)

            self.add(Rule(code, severity, title, fix, per_service))
            return check

        return register


def join_rules(*sets: RuleSet) -> Mapping[str, Rule]:
    """Every rule of ``sets`` by code, in code order; a code in two sets raises."""
    rules: dict[str, Rule] = {}
    for rule_set in sets:
        for rule in rule_set:
            if rule.code in rules:
                raise ValueError(f"rule {rule.code} is registered twice")
            rules[rule.code] = rule
    return MappingProxyType(dict(sorted(rules.items())))
