"""What a new user does first with a generated project, as the docs say it.

Each test is one defect a new user hit (issue 13, part 4): a hint, an example
or an instruction that did not work on the project's own files.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.template.helpers import (
    DEFAULT_COMBO,
    REPO,
    SLUG,
    Bakes,
    bake,
    clean_env,
    output,
    run,
    tool,
)


def compose(project: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((project / "docker-compose.yml").read_text())
    return loaded


def test_make_test_without_a_database_gives_a_hint_that_matches_compose(bakes: Bakes) -> None:
    project = bakes.project(DEFAULT_COMBO)
    env = clean_env()
    env.pop("DATABASE_URI", None)
    done = run(
        [tool("make", "apt install make"), "test", f"PYTHON={sys.executable}"], cwd=project, env=env
    )
    hint = done.stdout + done.stderr
    assert done.returncode != 0, output(done)
    assert "DATABASE_URI is not set" in hint, output(done)
    assert "Traceback" not in hint
    services = compose(project)["services"]
    db_env = services["db"]["environment"]
    # Every compose command the hint gives names a service of the compose file...
    for command in re.findall(r"docker compose (?:run --rm |up -d |exec )(\w+)", hint):
        assert command in services, f"the hint names compose service {command!r}: {hint}"
    # ...the one it recommends has the database in its environment...
    assert "docker compose run --rm app pytest" in hint, hint
    assert "@db:" in services["app"]["environment"]["DATABASE_URI"]
    # ...and a URL on this machine is not said to be the compose db, which publishes no port.
    for user, host, port in re.findall(r"postgresql://([^:@\s]+):[^@\s]*@([\w.]+):(\d+)", hint):
        if host in {"localhost", "127.0.0.1"} and "up -d db" in hint:
            published = [str(p) for p in services["db"].get("ports", [])]
            assert any(port in p for p in published), f"the db publishes no port {port}: {hint}"
            assert user == db_env["POSTGRES_USER"], f"the compose db's user is not {user}"
        assert user in {"USER", db_env["POSTGRES_USER"]}, f"no such user {user!r}: {hint}"


def readme_blocks(language: str) -> list[str]:
    text = (REPO / "README.md").read_text()
    return re.findall(rf"^```{language}\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL)


def test_readme_python_example_runs_on_a_generated_project(bakes: Bakes) -> None:
    """As written, from the project's folder, with no variable set beforehand."""
    project = bakes.project(DEFAULT_COMBO)
    [example] = [block for block in readme_blocks("python") if "load_stack(" in block]
    env = clean_env()
    for name in ("IMAGE", "TAG"):
        env.pop(name, None)
    done = run([sys.executable, "-c", example], cwd=project, env=env)
    assert done.returncode == 0, output(done)
    app = yaml.safe_load(done.stdout)["services"]["app"]
    assert app["deploy"]["replicas"] == 4
    assert app["image"].startswith("registry.gitlab.com/acme/acme-shop:")


def test_readme_config_and_lint_commands_run_on_a_generated_project(bakes: Bakes) -> None:
    project = bakes.project(DEFAULT_COMBO)
    [usage] = [block for block in readme_blocks("sh") if "swarmkit config -c deploy/" in block]
    # The lines that need no engine and no placeholder ("..."), in order, in one shell.
    lines = [
        line.split("#")[0].strip()
        for line in usage.splitlines()
        if line.startswith(("export ", "swarmkit config -c", "swarmkit lint -c"))
    ]
    assert len(lines) == 3, lines
    env = clean_env()
    env.pop("TAG", None)
    env["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', '')}"
    done = run(["sh", "-ec", "\n".join(lines)], cwd=project, env=env)
    assert done.returncode == 0, output(done)
    assert "0 errors" in done.stdout


def test_docs_say_which_python_to_use(bakes: Bakes) -> None:
    project = bakes.project(DEFAULT_COMBO)
    needs = (project / "README.md").read_text().split("## What you need", 1)[1].split("\n## ", 1)[0]
    [row] = [line for line in needs.splitlines() if line.startswith("| Python")]
    assert "3.12" in row and "Django 6.1 needs 3.12+" in row, row
    assert "Python 3.12 or 3.13" in (REPO / "docs/template.md").read_text()


def test_settings_docstring_gives_the_lookup_order_secret_uses(bakes: Bakes) -> None:
    from swarmkit.django.secrets import _not_found_places

    project = bakes.project(DEFAULT_COMBO)
    settings = (project / SLUG / "settings.py").read_text()
    docstring = settings.split('"""')[1]
    said = [
        docstring.index(place) for place in ("$<NAME>_FILE", "/run/secrets/<name>", "$<NAME>``")
    ]
    assert said == sorted(said), "the docstring's order is not secret()'s"
    # secret()'s own order, as its not-found message lists the places it tried.
    tried = _not_found_places("secret_key")
    assert [tried[0].split()[0], tried[1].split()[0], tried[2].split()[0]] == [
        "$SECRET_KEY_FILE", "/run/secrets/secret_key", "$SECRET_KEY",
    ]  # fmt: skip
    for name in ("SECRET_KEY", "DATABASE_URI", "CRON_API_KEY", "docs/development.md"):
        assert name in docstring, name


def test_check_deploy_outside_compose_runs_as_documented(bakes: Bakes) -> None:
    project = bakes.project(DEFAULT_COMBO)
    text = (project / "docs/development.md").read_text()
    [command] = [
        block
        for block in re.findall(r"^```sh\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL)
        if "check --deploy" in block
    ]
    env = clean_env()
    for name in ("SECRET_KEY", "DATABASE_URI", "CRON_API_KEY", "DJANGO_DEBUG"):
        env.pop(name, None)
    # `python` of the docs is the virtualenv's: this test run's has the project's packages.
    env["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', '')}"
    done = run(["sh", "-ec", command], cwd=project, env=env)
    assert done.returncode == 0, output(done)
    assert "System check identified no issues" in done.stdout + done.stderr, output(done)


def test_post_generation_message_gives_the_readmes_first_command(
    tmp_path: Path, cookiecutter_user_config: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """The hook's "Next:" is the command the README's "Run it locally" starts with."""
    project = bake(tmp_path, cookiecutter_user_config, {"project_name": "Acme Shop"})
    printed = capfd.readouterr().out
    match = re.search(r"Next: cd (\S+) && (.+?) \(see README\.md\)", printed)
    assert match, printed
    assert match[1] == project.name
    readme = (project / "README.md").read_text()
    section = readme.split("## Run it locally", 1)[1]
    first_block = re.search(r"^```sh\n(.*?)^```", section, flags=re.MULTILINE | re.DOTALL)
    assert first_block
    first_command = first_block[1].splitlines()[0].split("#", 1)[0].strip()
    assert match[2] == first_command
