"""Review apps of the generated project: deploy/deploy.sh review and review-stop, the overlay, the jobs.

``deploy.sh`` runs here with stand-ins of ``swarmkit`` and ``docker`` first
on PATH that record their arguments and standard input: the stack's name,
its ports, its secrets (labelled as the stack's, values never on a command
line) and what the stop job removes. The real deploy and removal, two
review apps side by side, is tests/pipeline's.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from swarmkit.database_roles import read_login_role
from swarmkit.deploy.secrets import generate_value
from swarmkit.stack import format_text, has_errors, lint_stack, load_stack
from tests.template.helpers import DEFAULT_COMBO, Bakes, Combo, clean_env, output, run, tool

COMBOS = [
    DEFAULT_COMBO,
    dataclasses.replace(DEFAULT_COMBO, use_cron="n" if DEFAULT_COMBO.cron else "y"),
]
IDS = [c.id for c in COMBOS]
TAG = "0123abcd"
LONG_SLUG = "feature-" + "x" * 55  # GitLab's CI_COMMIT_REF_SLUG: at most 63 characters
# Over 30 characters: the first 23 and 6 hex digits of the SHA-256 of the whole.
CUT_SLUG = LONG_SLUG[:23] + "-" + hashlib.sha256(LONG_SLUG.encode()).hexdigest()[:6]
# What deploy.sh review exports, as the pipeline's lint gives them.
REVIEW = {"SECRETS_PREFIX": "review-lint", "REVIEW_HOST": "lint.review.example.com",
          "REVIEW_URL": "https://lint.review.example.com:20003"}  # fmt: skip

# Records each call as one JSON line: the program, its arguments, its stdin.
STAND_IN = """#!/bin/sh
stdin=
case "$*" in *"secret create"*--generate*) ;; *"secret create"*) stdin=$(cat) ;; esac
python3 -c 'import json, sys; print(json.dumps({"argv": sys.argv[2:], "stdin": sys.argv[1]}))' \
    "$stdin" "$(basename "$0")" "$@" >> "$CALLS"
case "$(basename "$0") $1 $2" in
    "docker secret ls") cat "$EXISTING" 2>/dev/null ;;
esac
"""


def review_files(project: Path) -> list[Path]:
    return [project / "deploy" / "stack.yml", project / "deploy" / "stack.review.yml"]


@pytest.fixture(params=COMBOS, ids=IDS)
def project(request: pytest.FixtureRequest, bakes: Bakes) -> Path:
    combo: Combo = request.param
    return bakes.project(combo)


def test_the_review_overlay_lints_clean(project: Path) -> None:
    stack = load_stack(*review_files(project), environ={"TAG": TAG, **REVIEW},
                       env_file=project / "deploy" / "review.env")  # fmt: skip
    findings = lint_stack(stack)
    assert not has_errors(findings), format_text(findings)


def test_the_review_overlay_gives_its_own_secrets_and_hostname(project: Path) -> None:
    """docker stack config, the oracle: the stack's own secrets, the staging TLS pair, one app."""
    docker = tool("docker", "apt-get install docker.io")
    args = [a for f in review_files(project) for a in ("-c", f)]
    env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/root"),
           "IMAGE": "registry.example.com/acme/shop", "TAG": TAG, "HTTP_PORT": "20006",
           "HTTPS_PORT": "20007", **REVIEW}  # fmt: skip
    done = run([docker, "stack", "config", *args], cwd=project, env=env, timeout=60)
    assert done.returncode == 0, output(done)
    rendered: dict[str, Any] = yaml.safe_load(done.stdout)
    slug = project.name
    names = {key: value["name"] for key, value in rendered["secrets"].items()}
    for key, name in names.items():
        prefix = slug if key.startswith("tls_") else "review-lint"
        assert name == f"{prefix}_{key}_v1", names
    app = rendered["services"]["app"]
    assert app["environment"]["DJANGO_ALLOWED_HOSTS"] == REVIEW["REVIEW_HOST"]
    assert app["environment"]["DJANGO_CSRF_TRUSTED_ORIGINS"] == REVIEW["REVIEW_URL"]
    assert app["deploy"]["replicas"] == 1
    ports = [p["published"] for p in rendered["services"]["proxy"]["ports"]]
    assert [str(p) for p in ports] == ["20006", "20007"]
    # Without the values deploy.sh sets, no review stack renders.
    del env["REVIEW_HOST"]
    done = run([docker, "stack", "config", *args], cwd=project, env=env, timeout=60)
    assert done.returncode != 0 and "REVIEW_HOST" in done.stderr, output(done)


def deploy_sh(project: Path, tmp_path: Path, *args: str, existing: str = "",
              **variables: str) -> tuple[int, str, list[dict[str, Any]]]:  # fmt: skip
    """``deploy/deploy.sh ARGS`` with the stand-ins; exit code, output, the recorded calls."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    for name in ("swarmkit", "docker"):
        (bin_dir / name).write_text(STAND_IN)
        (bin_dir / name).chmod(0o755)
    calls = tmp_path / "calls.jsonl"
    calls.unlink(missing_ok=True)
    (tmp_path / "existing").write_text(existing)
    env = clean_env(CALLS=str(calls), EXISTING=str(tmp_path / "existing"), **variables)
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    done = run(["sh", str(project / "deploy" / "deploy.sh"), *args], cwd=tmp_path, env=env)
    recorded = (
        [json.loads(line) for line in calls.read_text().splitlines()] if calls.exists() else []
    )
    # The output, and the error lines alone (one line per refusal).
    return done.returncode, f"{output(done)}\nSTDERR:{done.stderr}", recorded


def test_review_deploys_its_own_stack_ports_and_secrets(project: Path, tmp_path: Path) -> None:
    dotenv = tmp_path / "review.env"
    code, out, calls = deploy_sh(project, tmp_path, "review", "--timeout", "5m", TAG=TAG,
                                 REVIEW_SLUG=LONG_SLUG, REVIEW_ID="7",
                                 REVIEW_DOTENV=str(dotenv))  # fmt: skip
    assert code == 0, out
    stack = "review-" + CUT_SLUG
    deploy = calls[-1]["argv"]
    assert deploy[:2] == ["swarmkit", "deploy"] and deploy[-3:] == ["--name", stack, "--prune"]
    assert "deploy/stack.review.yml" in deploy and "--timeout" in deploy
    assert deploy[deploy.index("--env-file") + 1] == "deploy/review.env"
    url = f"https://{CUT_SLUG}.review.example.com:20015"
    assert dotenv.read_text() == f"REVIEW_URL={url}/\nREVIEW_STACK={stack}\n"
    # Its own secrets, labelled as the stack's; every value made by swarmkit.
    created = [c for c in calls if c["argv"][1:3] == ["secret", "create"]]
    keys = sorted(c["argv"][4] for c in created)
    cron = (project / "deploy" / "stack.cron-key-fallbacks.yml").exists()
    assert keys == sorted(["secret_key", "database_password", "database_uri",
                           *(["cron_api_key"] if cron else [])])  # fmt: skip
    for call in created:
        argv = call["argv"]
        assert argv[3] == stack and argv[argv.index("--prefix") + 1] == stack, argv
        assert argv[argv.index("--label") + 1] == f"com.docker.stack.namespace={stack}"
        assert argv[argv.index("--version") + 1] == "1"
    # Generated by swarmkit (values never in an argument): the owner's password,
    # and the URI of the login role of version 1, which db-roles accepts.
    generate = {c["argv"][4]: c["argv"][c["argv"].index("--generate") + 1] for c in created}
    assert generate["database_password"] == "hex:24"
    template = generate["database_uri"]
    assert template == (
        f"postgresql://{project.name}_v{{version}}:{{password}}@db:5432/{project.name}"
        "?connect_timeout=2"
    )
    uri = tmp_path / "database_uri"
    uri.write_bytes(generate_value(template, 1))
    role = read_login_role(str(uri), project.name)
    assert role.name == f"{project.name}_v1" and role.host == "db" and len(role.password) == 32
    # The lint ran on the same files, with the review app's values.
    lint = next(c["argv"] for c in calls if c["argv"][:2] == ["swarmkit", "lint"])
    assert "deploy/stack.review.yml" in lint
    # Every object name within Swarm's limits: services 63, configs and secrets 64.
    for name in ("scheduler", "proxy"):
        assert len(f"{stack}_{name}") <= 63
    assert len(f"{stack}_db_entrypoint_{'0' * 12}") <= 64
    assert len(f"{stack}_database_password_v1") <= 64


def test_a_second_deploy_keeps_the_secrets(project: Path, tmp_path: Path) -> None:
    stack = "review-feature-a"
    existing = "".join(f"{stack}_{key}_v1\n" for key in
                       ("secret_key", "database_password", "database_uri", "cron_api_key"))  # fmt: skip
    code, out, calls = deploy_sh(project, tmp_path, "review", existing=existing, TAG=TAG,
                                 REVIEW_SLUG="Feature_A", REVIEW_ID="3")  # fmt: skip
    assert code == 0, out
    assert not [c for c in calls if c["argv"][1:3] == ["secret", "create"]], calls
    assert calls[-1]["argv"][-3:] == ["--name", stack, "--prune"]


@pytest.mark.parametrize("made", ["database_password", "database_uri"])
def test_a_first_deploy_cut_short_makes_the_missing_database_secret(
    bakes: Bakes, tmp_path: Path, made: str
) -> None:
    """The owner's password and the URI are independent values: the missing one is made."""
    stack = "review-feature-a"
    code, out, calls = deploy_sh(bakes.project(DEFAULT_COMBO), tmp_path, "review",
                                 existing=f"{stack}_{made}_v1\n", TAG=TAG,
                                 REVIEW_SLUG="feature-a", REVIEW_ID="3")  # fmt: skip
    assert code == 0, out
    created = {c["argv"][4] for c in calls if c["argv"][1:3] == ["secret", "create"]}
    assert {"database_password", "database_uri"} - created == {made}, calls
    assert calls[-1]["argv"][:2] == ["swarmkit", "deploy"]


def test_review_stop_removes_the_stack_with_its_volumes(project: Path, tmp_path: Path) -> None:
    code, out, calls = deploy_sh(project, tmp_path, "review-stop", REVIEW_SLUG=LONG_SLUG + "-")
    assert code == 0, out
    assert [c["argv"] for c in calls] == [["swarmkit", "rm", "review-" + CUT_SLUG, "--volumes"]]


@pytest.mark.parametrize(
    ("slug", "stack"),
    [
        ("Feature_A", "review-feature-a"),
        ("two\nlines", "review-two-lines"),  # one name, never a line of its own
        ("-" + "a" * 30 + "-", "review-" + "a" * 30),  # 30 after the dashes go: kept whole
        # Alike in their first 30 characters, yet two apps (and no dash before
        # the hash): sha256("fix-bbbbbbbbbbbbbbbbbb-login-page-N")[:6].
        ("fix-" + "b" * 18 + "-login-page-1", "review-fix-" + "b" * 18 + "-6f385c"),
        ("fix-" + "b" * 18 + "-login-page-2", "review-fix-" + "b" * 18 + "-cde93d"),
    ],
)
def test_review_slugs_stay_distinct_and_within_limits(
    bakes: Bakes, tmp_path: Path, slug: str, stack: str
) -> None:
    code, out, calls = deploy_sh(bakes.project(DEFAULT_COMBO), tmp_path, "review-stop",
                                 REVIEW_SLUG=slug)  # fmt: skip
    assert code == 0, out
    assert calls[-1]["argv"][2] == stack and len(stack) <= len("review-") + 30


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"REVIEW_ID": "3"}, "set REVIEW_SLUG"),
        ({"REVIEW_SLUG": "a"}, "set REVIEW_ID"),
        ({"REVIEW_SLUG": "a", "REVIEW_ID": "3; rm -rf /"}, "set REVIEW_ID"),
        ({"REVIEW_SLUG": "---", "REVIEW_ID": "3"}, "has no letter or digit"),
        ({"REVIEW_SLUG": "a", "REVIEW_ID": "30000"}, "above 65535"),
    ],
)
def test_review_refuses_bad_input(
    bakes: Bakes, tmp_path: Path, variables: dict[str, str], message: str
) -> None:
    code, out, calls = deploy_sh(bakes.project(DEFAULT_COMBO), tmp_path, "review", TAG=TAG,
                                 **variables)  # fmt: skip
    stderr = out.partition("\nSTDERR:")[2]
    assert code == 2 and message in stderr and len(stderr.strip().splitlines()) == 1, out
    assert calls == []


def test_the_jobs_declare_the_environment_and_its_stop(project: Path) -> None:
    pipeline = yaml.safe_load((project / ".gitlab-ci.yml").read_text())
    deploy, stop = pipeline["deploy:review"], pipeline["stop:review"]
    assert deploy["environment"] == {"name": "review/$CI_COMMIT_REF_SLUG", "url": "$REVIEW_URL",
                                     "on_stop": "stop:review", "auto_stop_in": "1 week"}  # fmt: skip
    assert deploy["artifacts"]["reports"]["dotenv"] == deploy["variables"]["REVIEW_DOTENV"]
    assert stop["environment"] == {"name": deploy["environment"]["name"], "action": "stop"}
    mr = '$CI_PIPELINE_SOURCE == "merge_request_event"'
    assert [r["if"] for r in deploy["rules"]] == [mr] and [r["if"] for r in stop["rules"]] == [mr]
    assert stop["rules"][0]["when"] == "manual" and stop["rules"][0]["allow_failure"] is True
    assert stop["script"] == ["deploy/deploy.sh review-stop"]
    assert "GIT_STRATEGY" not in stop.get("variables", {})  # it runs deploy/deploy.sh
    # The test job lints the review overlay too.
    assert "for env in staging production review" in "\n".join(pipeline["test"]["script"])


def test_the_review_env_sets_every_version_the_stack_uses(project: Path) -> None:
    staging = set(
        re.findall(r"^([A-Z_]+)=", (project / "deploy" / "staging.env").read_text(), re.M)
    )
    review = set(re.findall(r"^([A-Z_]+)=", (project / "deploy" / "review.env").read_text(), re.M))
    assert staging == review, staging ^ review
