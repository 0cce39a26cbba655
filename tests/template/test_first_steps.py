"""What a new user does first with a generated project, as the docs say it.

Each test is one defect a new user hit (issue 13, part 4): a hint, an example
or an instruction that did not work on the project's own files.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import yaml

from tests.template.helpers import DEFAULT_COMBO, Bakes, clean_env, output, run, tool


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
