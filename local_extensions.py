"""The template's answer checks, as a cookiecutter (Jinja) extension.

cookiecutter loads this module through ``_extensions`` in cookiecutter.json
(the template's folder is on ``sys.path`` while it prompts and renders). It
gives the template:

- the ``project_slug`` filter: the slug suggested for a project name, always a
  valid one ("Café Bar" -> ``cafe_bar``, "123 Shop" -> ``project_123_shop``);
- interactive runs: each answer is checked as soon as it is typed; a bad one
  gets one line saying why and what to enter, and the question is asked again
  (cookiecutter has no per-question validation, so this wraps its
  ``read_user_variable`` for this template's questions only);
- ``check_answers(cookiecutter)``, rendered by the last variable of
  cookiecutter.json once every answer is in: it normalises answers
  (``Example.com`` -> ``example.com``) and refuses, one line per problem and
  before anything is written, bad answers that came without a prompt
  (``--no-input``, extra context, a user config);
- ``problems()``, which hooks/pre_gen_project.py runs again on replayed answers.

The choices of the option questions live in ``_choices`` of cookiecutter.json;
the options are plain text variables so that a bad value given on the command
line reaches these checks instead of ending in cookiecutter's ``ValueError``.
"""

from __future__ import annotations

import functools
import json
import keyword
import re
import sys
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import click
from cookiecutter.exceptions import FailedHookException
from jinja2.ext import Extension
from rich.markup import escape

__all__ = ["AnswersExtension", "AnswersRefused", "check_answers", "problems", "suggest_slug"]

TEMPLATE: dict[str, Any] = json.loads(
    Path(__file__).with_name("cookiecutter.json").read_text(encoding="utf-8")
)
CHOICES: dict[str, list[str]] = TEMPLATE["_choices"]
PROMPTS: dict[str, str] = TEMPLATE["__prompts__"]

# Names the project package must not shadow: it sits first on sys.path.
RESERVED_SLUGS = {
    "django", "swarmkit", "test", "tests", "config", "deploy", "docker",
    "requirements", "scripts", "static", "media", "site", "logging", "email",
    "json", "secrets", "http", "types", "visits", "gunicorn",
}  # fmt: skip
SLUG_MAX = 40
SLUG = re.compile(rf"^[a-z][a-z0-9_]{{0,{SLUG_MAX - 1}}}$")
# RFC 1123 host name with at least one dot; no scheme, port or path.
DOMAIN = re.compile(
    r"^(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$"
)
# Docker reference without tag or digest: [registry[:port]/]path, lower case.
IMAGE = re.compile(
    r"^((?:[a-z0-9]([a-z0-9-]*[a-z0-9])?)(?:\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(?::[0-9]+)?/)?"
    r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$"
)
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class AnswersRefused(FailedHookException):
    """Answers the template cannot generate a working project from; one line each.

    A hook failure to cookiecutter's API callers: what they catch for a refusing hook.
    """


def suggest_slug(name: str) -> str:
    """A valid ``project_slug`` for a project name: ASCII, lower case, ``_`` between words."""
    ascii_name = unicodedata.normalize("NFKD", name.casefold()).encode("ascii", "ignore")
    slug = re.sub(r"[^a-z0-9]+", "_", ascii_name.decode()).strip("_") or "project"
    if slug[0].isdigit():
        slug = f"project_{slug}"
    slug = slug[:SLUG_MAX].rstrip("_")
    if keyword.iskeyword(slug) or slug in RESERVED_SLUGS:
        slug = f"{slug[: SLUG_MAX - len('_project')]}_project"
    return slug


def _slug_problem(slug: str) -> str | None:
    if not SLUG.match(slug) or keyword.iskeyword(slug):
        return (
            f"project_slug {slug!r} is not a valid package name: use lower-case letters, "
            f"digits and underscores, starting with a letter (at most {SLUG_MAX}), "
            f"e.g. {suggest_slug(slug)!r}"
        )
    if slug in RESERVED_SLUGS:
        return (
            f"project_slug {slug!r} would shadow a package or folder the project uses: "
            f"pick another name, e.g. {suggest_slug(slug)!r}"
        )
    return None


def _check(key: str, value: str) -> tuple[str, str | None]:
    """One answer, normalised, and the reason it is refused (None when it is fine)."""
    if key in CHOICES:
        value = value.strip().lower()
        allowed = CHOICES[key]
        if value not in allowed:
            return value, f"{key} {value!r} is not supported: choose one of {', '.join(allowed)}"
        return value, None
    if key == "project_name":
        if not value.strip():
            return value, "project_name is empty: give the project a name, e.g. 'Acme Shop'"
        return value, None
    if key == "project_slug":
        return value, _slug_problem(value)
    if key == "domain_name":
        # Host names are case-insensitive: take Example.com as example.com.
        value = value.strip().lower()
        if not DOMAIN.match(value):
            return value, (
                f"domain_name {value!r} is not a host name: give the bare domain, "
                "without scheme, port or path, e.g. 'shop.example.com'"
            )
        return value, None
    if key == "author_email":
        if not EMAIL.match(value):
            return value, f"author_email {value!r} is not an e-mail address, e.g. 'web@example.com'"
        return value, None
    if key == "registry_image":
        if not IMAGE.match(value):
            return value, (
                f"registry_image {value!r} is not an image path without tag: use lower case, "
                "no ':tag' or '@digest' (the pipeline adds the commit SHA), "
                "e.g. 'registry.gitlab.com/acme/shop'"
            )
        return value, None
    return value, None


CHECKED = (
    "project_name",
    "project_slug",
    "author_email",
    "domain_name",
    "registry_image",
    *CHOICES,
)


def problems(answers: dict[str, Any]) -> list[str]:
    """One message per invalid answer, each saying what to enter instead."""
    found = []
    slug_ok = _slug_problem(str(answers.get("project_slug", ""))) is None
    derived_image = "/" + str(answers.get("project_slug", "")).replace("_", "-")
    for key in CHECKED:
        if key not in answers:
            continue
        value = str(answers[key])
        # The default image is made from the slug: a bad slug is reported once, not twice.
        if key == "registry_image" and not slug_ok and value.endswith(derived_image):
            continue
        problem = _check(key, value)[1]
        if problem:
            found.append(problem)
    return found


def refuse(found: list[str]) -> NoReturn:
    """Stop generation: one ``Error:`` line per problem on the command line, else an exception."""
    if click.get_current_context(silent=True) is not None:
        # Inside the cookiecutter command: its own handler would add a traceback.
        for message in found:
            print(f"Error: {message}", file=sys.stderr)
        raise click.exceptions.Exit(1)
    raise AnswersRefused("\n".join(found))


def check_answers(cookiecutter: dict[str, Any]) -> str:
    """Normalise the answers in place and refuse bad ones; renders as nothing."""
    for key in CHECKED:
        if isinstance(cookiecutter.get(key), str):
            cookiecutter[key] = _check(key, cookiecutter[key])[0]
    found = problems(cookiecutter)
    if found:
        refuse(found)
    return ""


def _checked_reader(read: Callable[..., Any]) -> Callable[..., Any]:
    """``read_user_variable`` that asks again until this template's answer is valid."""

    @functools.wraps(read)
    def read_checked(
        var_name: str, default_value: Any, prompts: Any = None, prefix: str = ""
    ) -> Any:
        # Only this template's questions: the process may prompt for another template later.
        if prompts != PROMPTS or var_name not in CHECKED:
            return read(var_name, default_value, prompts, prefix)
        if var_name in CHOICES:
            # cookiecutter's prompts are rich markup: escape the brackets of the choices.
            choices = escape(f"[{'/'.join(CHOICES[var_name])}]")
            prompts = {**prompts, var_name: f"{prompts[var_name]} {choices}"}
        while True:
            try:
                answer = read(var_name, default_value, prompts, prefix)
            except EOFError:
                refuse([f"{var_name} was not answered: the input ended"])
            value, problem = _check(var_name, str(answer))
            if problem is None:
                return value
            print(f"Error: {problem}", file=sys.stderr)

    read_checked.__wrapped_by_template__ = True  # type: ignore[attr-defined]
    return read_checked


def _install_prompt_checks() -> None:
    from cookiecutter import prompt

    read = getattr(prompt, "read_user_variable", None)
    # Without it (another cookiecutter), check_answers still refuses after the last question.
    if read is not None and not getattr(read, "__wrapped_by_template__", False):
        prompt.read_user_variable = _checked_reader(read)


class AnswersExtension(Extension):
    """Adds the ``project_slug`` filter and ``check_answers``, and checks typed answers."""

    def __init__(self, environment: Any) -> None:
        super().__init__(environment)
        environment.filters["project_slug"] = suggest_slug
        environment.globals["check_answers"] = check_answers
        _install_prompt_checks()
