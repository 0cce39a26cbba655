"""The answers: checked as they are given, suggestions valid, every refusal one line.

Through cookiecutter's API, its command line with ``--no-input``, and the
interactive run with the answers piped on stdin (cookiecutter reads them as it
would from a terminal). The checks are local_extensions.py, the template's
cookiecutter extension; hooks/pre_gen_project.py runs them again on replays.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.template.helpers import CHOICES, CONTEXT, OPTIONS, REPO, bake, cookiecutter_config, run

# The tests import the checks the way cookiecutter does: from the template's folder.
sys.path.insert(0, str(REPO))
from local_extensions import AnswersRefused, problems, suggest_slug

QUESTIONS = [key for key in CONTEXT if not key.startswith("_")]

INVALID = [
    pytest.param({"project_slug": "Acme-Shop"}, "project_slug 'Acme-Shop' is not a valid package name", id="slug-case-dash"),
    pytest.param({"project_slug": "1shop"}, "project_slug '1shop' is not a valid package name", id="slug-digit"),
    pytest.param({"project_slug": "class"}, "project_slug 'class' is not a valid package name", id="slug-keyword"),
    pytest.param({"project_slug": "django"}, "project_slug 'django' would shadow", id="slug-reserved"),
    pytest.param({"project_slug": "visits"}, "project_slug 'visits' would shadow", id="slug-example-app"),
    pytest.param({"project_name": "   ", "project_slug": "shop"}, "project_name is empty", id="name-empty"),
    pytest.param({"project_name": "   "}, "project_name is empty", id="name-empty-derived-slug"),
    pytest.param({"domain_name": "https://example.com"}, "domain_name 'https://example.com' is not a host name", id="domain-scheme"),
    pytest.param({"domain_name": "example.com:8443"}, "domain_name 'example.com:8443' is not a host name", id="domain-port"),
    pytest.param({"domain_name": "localhost"}, "domain_name 'localhost' is not a host name", id="domain-no-dot"),
    pytest.param({"registry_image": "registry.gitlab.com/acme/shop:1.0"}, "registry_image 'registry.gitlab.com/acme/shop:1.0' is not an image path without tag", id="image-tag"),
    pytest.param({"registry_image": "registry.gitlab.com/acme/shop@sha256:" + "a" * 64}, "registry_image 'registry.gitlab.com/acme/shop@sha256:" + "a" * 64 + "' is not an image path without tag", id="image-digest"),
    pytest.param({"registry_image": "Registry.gitlab.com/Acme/Shop"}, "registry_image 'Registry.gitlab.com/Acme/Shop' is not an image path without tag", id="image-case"),
    pytest.param({"author_email": "web.example.com"}, "author_email 'web.example.com' is not an e-mail address", id="email"),
    pytest.param({"use_redis": "yes"}, "use_redis 'yes' is not supported: choose one of n, y", id="choice-yes"),
    pytest.param({"python_version": "3.11"}, "python_version '3.11' is not supported: choose one of 3.12, 3.13", id="choice-python"),
]  # fmt: skip


def assert_nothing_written(directory: Path) -> None:
    assert not directory.exists() or list(directory.iterdir()) == [], "a refused bake left files"


def cli(tmp_path: Path, *args: str, stdin: str | None = None) -> tuple[int, str, str, Path]:
    """``cookiecutter`` on this template, as a user runs it; (status, stdout, stderr, out dir)."""
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    config = cookiecutter_config(tmp_path / "home")
    command = [sys.executable, "-m", "cookiecutter", "--config-file", config, "-o", out, REPO]
    done = run([*command, *args], input=stdin, timeout=120)
    return done.returncode, done.stdout, done.stderr, out


def assert_no_traceback(*outputs: str) -> None:
    for text in outputs:
        assert "Traceback" not in text and "Exception" not in text, text


# -- the API and --no-input ------------------------------------------------------------


@pytest.mark.parametrize(("answers", "message"), INVALID)
def test_invalid_answer_is_refused_with_one_line(
    tmp_path: Path, answers: dict[str, str], message: str
) -> None:
    out = tmp_path / "out"
    with pytest.raises(AnswersRefused) as refused:
        bake(out, cookiecutter_config(tmp_path / "home"), answers)
    lines = str(refused.value).splitlines()
    assert len(lines) == 1 and lines[0].startswith(message), lines
    assert_nothing_written(out)


@pytest.mark.parametrize(
    ("name", "slug"),
    [("Café Bar", "cafe_bar"), ("My Shop!", "my_shop"), ("123 Shop", "project_123_shop")],
)
def test_suggested_slug_is_valid_and_bakes(tmp_path: Path, name: str, slug: str) -> None:
    project = bake(tmp_path / "out", cookiecutter_config(tmp_path / "home"), {"project_name": name})
    assert project.name == slug
    assert (project / slug / "settings.py").is_file()
    assert (
        f"registry.gitlab.com/acme/{slug.replace('_', '-')}" in (project / "Makefile").read_text()
    )


@pytest.mark.parametrize(
    "name",
    ["Django", "Class", "Tests", "", "!!!", "2048", "Straße " * 10, "Ærø Øl", "日本の店", "a-b—c"],
)
def test_every_suggestion_is_accepted(name: str) -> None:
    slug = suggest_slug(name)
    assert problems({"project_name": name or "x", "project_slug": slug}) == [], slug


def test_a_bad_slug_is_reported_once_not_again_as_the_image_made_from_it(tmp_path: Path) -> None:
    with pytest.raises(AnswersRefused) as refused:
        bake(tmp_path / "out", cookiecutter_config(tmp_path / "home"), {"project_slug": "My Shop"})
    assert str(refused.value).splitlines() == [
        "project_slug 'My Shop' is not a valid package name: use lower-case letters, digits and "
        "underscores, starting with a letter (at most 40), e.g. 'my_shop'"
    ]


def test_a_bad_image_given_with_a_bad_slug_is_reported_too(tmp_path: Path) -> None:
    answers = {"project_slug": "My Shop", "registry_image": "Registry.example.org/shop"}
    with pytest.raises(AnswersRefused) as refused:
        bake(tmp_path / "out", cookiecutter_config(tmp_path / "home"), answers)
    assert [line.split()[0] for line in str(refused.value).splitlines()] == [
        "project_slug", "registry_image",
    ]  # fmt: skip


def test_domain_is_lower_cased_not_refused(tmp_path: Path) -> None:
    answers = {"domain_name": "Shop.Example.com"}
    project = bake(tmp_path / "out", cookiecutter_config(tmp_path / "home"), answers)
    texts = "\n".join(p.read_text(errors="replace") for p in project.rglob("*") if p.is_file())
    assert "shop.example.com" in texts
    assert "Shop.Example.com" not in texts


def test_option_defaults_are_their_first_choice_and_every_question_has_a_prompt() -> None:
    for option in OPTIONS:
        assert CONTEXT[option] == CHOICES[option][0], option
    assert set(QUESTIONS) == set(CONTEXT["__prompts__"])


def test_replayed_bad_answers_are_refused_by_the_pre_gen_hook(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """A replay file skips the prompts and their checks: the hook runs them again."""
    from cookiecutter.exceptions import FailedHookException
    from cookiecutter.generate import generate_context
    from cookiecutter.main import cookiecutter
    from cookiecutter.prompt import prompt_for_config

    config = cookiecutter_config(tmp_path / "home")
    context = generate_context(context_file=str(REPO / "cookiecutter.json"))
    answers = prompt_for_config(context, no_input=True)
    answers.update(python_version="3.11", postgresql_version="9.6")
    replay = tmp_path / "answers.json"
    replay.write_text(json.dumps({"cookiecutter": answers}))
    capfd.readouterr()
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(FailedHookException):
        cookiecutter(str(REPO), replay=str(replay), output_dir=str(out), config_file=str(config))
    err = capfd.readouterr().err
    assert "ERROR: python_version '3.11' is not supported: choose one of 3.12, 3.13" in err
    assert "ERROR: postgresql_version '9.6' is not supported" in err
    assert_nothing_written(out)


def test_cli_no_input_bad_choice_is_one_line_not_a_value_error(tmp_path: Path) -> None:
    status, stdout, stderr, out = cli(tmp_path, "--no-input", "use_redis=yes")
    assert status == 1
    assert stderr.splitlines() == ["Error: use_redis 'yes' is not supported: choose one of n, y"]
    assert_no_traceback(stdout, stderr)
    assert_nothing_written(out)


def test_cli_no_input_shows_every_problem_once_and_fails(tmp_path: Path) -> None:
    status, stdout, stderr, out = cli(
        tmp_path, "--no-input", "project_slug=class", "domain_name=Example.com:80",
        "author_email=nobody",
    )  # fmt: skip
    assert status == 1
    assert [line.split()[:2] for line in stderr.splitlines()] == [
        ["Error:", "project_slug"], ["Error:", "author_email"], ["Error:", "domain_name"],
    ]  # fmt: skip
    assert_no_traceback(stdout, stderr)
    assert_nothing_written(out)


# -- interactive ----------------------------------------------------------------------


def answers_text(**given: str | list[str]) -> str:
    """stdin for the interactive run: each question's answer(s), Enter for the default."""
    lines: list[str] = []
    for question in QUESTIONS:
        answer = given.get(question, "")
        lines.extend(answer if isinstance(answer, list) else [answer])
    return "\n".join(lines) + "\n"


def test_interactive_bad_answers_are_asked_again_at_once(tmp_path: Path) -> None:
    stdin = answers_text(
        project_name="123 Shop",
        project_slug=["My Shop", "class", ""],  # two refusals, then the suggestion
        domain_name="Example.com",
        python_version=["3.11", "3.13"],
        use_redis=["yes", "y"],
    )
    status, stdout, stderr, out = cli(tmp_path, stdin=stdin)
    assert status == 0, stdout + stderr
    assert stderr.splitlines() == [
        "Error: project_slug 'My Shop' is not a valid package name: use lower-case letters, "
        "digits and underscores, starting with a letter (at most 40), e.g. 'my_shop'",
        "Error: project_slug 'class' is not a valid package name: use lower-case letters, "
        "digits and underscores, starting with a letter (at most 40), e.g. 'class_project'",
        "Error: python_version '3.11' is not supported: choose one of 3.12, 3.13",
        "Error: use_redis 'yes' is not supported: choose one of n, y",
    ]
    # The refused question is asked again right away, before the next one.
    assert stdout.count("[2/12] Python package and stack name (project_123_shop)") == 3
    assert "Python version of the image [3.12/3.13]" in stdout
    assert_no_traceback(stdout, stderr)
    project = out / "project_123_shop"
    assert "python:3.13" in (project / "docker/production/Dockerfile").read_text()
    assert "redis" in (project / "docker-compose.yml").read_text()
    assert "example.com" in (project / "README.md").read_text()
    assert "Example.com" not in (project / "README.md").read_text()


def test_interactive_input_ending_early_is_one_line(tmp_path: Path) -> None:
    status, stdout, stderr, out = cli(tmp_path, stdin="My Shop!\n")
    assert status == 1
    assert stderr.splitlines() == ["Error: project_slug was not answered: the input ended"]
    assert "(my_shop)" in stdout
    assert_no_traceback(stdout, stderr)
    assert_nothing_written(out)
