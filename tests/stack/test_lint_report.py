"""Where the team looks: file and line on every finding, and the GitLab Code Quality report.

The report is checked against tests/stack/schemas/gitlab-code-quality.json,
written from GitLab's documentation of the format (see its ``$comment``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from swarmkit.cli import main
from swarmkit.stack import load_stack
from swarmkit.stack.lint import (
    RULES,
    LintFinding,
    Severity,
    format_gitlab,
    format_json,
    format_text,
    lint_stack,
)

SCHEMA = json.loads((Path(__file__).parent / "schemas" / "gitlab-code-quality.json").read_text())

BASE = """\
version: "3.8"
services:
  app:
    image: nginx
    env_file: [app.env]
    environment:
      DEBUG: "1"
    cap_add: [SYS_ADMIN]
    volumes:
      - /var/run/docker.sock:/var/run/docker.sock
      - /etc:/host/etc:ro
    x-swarmkit: {lint-ignore: [SK999]}
  db:
    image: postgres:16
    ports: ["5432:5432"]
    volumes: [data:/var/lib/postgresql/data]
    security_opt: [no-new-privileges:true]
networks:
  n: {driver: bridge}
volumes:
  data: {}
"""

OVERLAY = """\
version: "3.8"
services:
  app:
    image: nginx:latest
    env_file: [prod.env]
    pid: host
    deploy:
      update_config: {order: start-first}
  worker:
    image: registry.example.com/w
    restart: always
    privileged: true
    networks: [outside]
networks:
  outside: {external: true, name: host}
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A base, an overlay and their env files, in the working directory as in CI."""
    (tmp_path / "deploy").mkdir()
    (tmp_path / "deploy" / "stack.yml").write_text(BASE)
    (tmp_path / "deploy" / "stack.prod.yml").write_text(OVERLAY)
    (tmp_path / "deploy" / "app.env").write_text("# app\nAPI_TOKEN=t0k3n\nLOG=info\n")
    (tmp_path / "deploy" / "prod.env").write_text("LOG=warning\n\nDB_PASSWORD=hunter2\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def findings(*files: str) -> list[LintFinding]:
    return lint_stack(load_stack(*files))


def at(found: list[LintFinding], code: str, key_path: str) -> tuple[str | None, int | None]:
    (finding,) = [f for f in found if f.code == code and f.key_path == key_path]
    return finding.file, finding.line


def validate(report: Any) -> None:
    jsonschema.Draft7Validator.check_schema(SCHEMA)
    errors = [e.message for e in jsonschema.Draft7Validator(SCHEMA).iter_errors(report)]
    assert errors == []


# -- file and line ----------------------------------------------------------------------


def test_every_finding_of_a_merged_stack_has_a_file_and_line(project: Path) -> None:
    found = findings("deploy/stack.yml", "deploy/stack.prod.yml")
    codes = {f.code for f in found}
    # Rules of every family fire, stack-wide ones included.
    assert {"SK000", "SK101", "SK102", "SK202", "SK302", "SK303", "SK305", "SK306"} <= codes
    assert {"SK307", "SK308", "SK304", "SK402", "SK501"} <= codes
    assert [f for f in found if f.file is None or not f.line] == []
    text = format_text(found).splitlines()[:-1]
    assert all(line.split(": ", 1)[0].rsplit(":", 1)[1].isdigit() for line in text), text
    assert all(item["file"] and item["line"] for item in json.loads(format_json(found)))


def test_a_variable_from_an_env_file_points_at_its_line(project: Path) -> None:
    found = findings("deploy/stack.yml")
    assert at(found, "SK303", "services.app.environment.API_TOKEN") == ("deploy/app.env", 2)
    # The overlay's env file is read for the overlay's service: its line wins.
    found = findings("deploy/stack.yml", "deploy/stack.prod.yml")
    assert at(found, "SK303", "services.app.environment.DB_PASSWORD") == ("deploy/prod.env", 3)
    assert at(found, "SK303", "services.app.environment.API_TOKEN") == ("deploy/app.env", 2)


def test_a_variable_the_stack_file_sets_keeps_the_stack_files_line(project: Path) -> None:
    (project / "deploy" / "app.env").write_text("API_TOKEN=from-the-env-file\n")
    stack = project / "deploy" / "stack.yml"
    stack.write_text(BASE.replace('      DEBUG: "1"\n', '      DEBUG: "1"\n      API_TOKEN: t\n'))
    found = findings("deploy/stack.yml")
    assert at(found, "SK303", "services.app.environment.API_TOKEN") == ("deploy/stack.yml", 8)


def test_findings_of_the_security_rules_point_at_their_keys(project: Path) -> None:
    found = findings("deploy/stack.yml", "deploy/stack.prod.yml")
    assert at(found, "SK305", "services.app.cap_add[0]") == ("deploy/stack.yml", 8)
    # Merged volumes are sorted by target: /host/etc comes first.
    assert at(found, "SK307", "services.app.volumes[0]") == ("deploy/stack.yml", 11)
    assert at(found, "SK308", "services.db.security_opt[0]") == ("deploy/stack.yml", 17)
    assert at(found, "SK306", "services.app.pid") == ("deploy/stack.prod.yml", 6)
    assert at(found, "SK306", "services.worker.networks.outside") == ("deploy/stack.prod.yml", 13)
    assert at(found, "SK305", "services.worker.privileged") == ("deploy/stack.prod.yml", 12)


# -- the GitLab Code Quality report ----------------------------------------------------


def test_report_matches_the_schema(project: Path) -> None:
    found = findings("deploy/stack.yml", "deploy/stack.prod.yml")
    report = json.loads(format_gitlab(found))
    validate(report)
    assert len(report) == len(found)
    assert json.loads(format_gitlab([])) == []


def test_report_fields(project: Path) -> None:
    found = findings("deploy/stack.yml")
    report = json.loads(format_gitlab(found))
    by_code = {item["check_name"]: item for item in report}
    sk101 = by_code["SK101"]
    assert sk101["location"] == {"path": "deploy/stack.yml", "lines": {"begin": 4}}
    assert sk101["severity"] == "major"
    assert sk101["description"].startswith("SK101 services.app.image: image nginx has no tag")
    assert "(fix: pin a version tag" in sk101["description"]
    assert by_code["SK303"]["location"] == {"path": "deploy/app.env", "lines": {"begin": 2}}
    assert by_code["SK305"]["categories"] == ["Security"]
    severities = {RULES[item["check_name"]].severity: item["severity"] for item in report}
    assert severities[Severity.ERROR] == "major" and severities[Severity.WARNING] == "minor"
    # Secret values stay out of the report as out of every other output.
    assert "t0k3n" not in json.dumps(report)


def test_absolute_paths_inside_the_working_directory_become_relative(project: Path) -> None:
    found = findings(str(project / "deploy" / "stack.yml"))
    paths = {item["location"]["path"] for item in json.loads(format_gitlab(found))}
    assert paths == {"deploy/stack.yml", "deploy/app.env"}
    dotted = findings("./deploy/stack.yml")
    assert {i["location"]["path"] for i in json.loads(format_gitlab(dotted))} == paths


def test_a_stack_built_in_python_still_validates() -> None:
    finding = LintFinding(
        code="SK101", severity=Severity.ERROR, service="app", key_path="services.app.image",
        message="m", fix="f",
    )  # fmt: skip
    report = json.loads(format_gitlab([finding]))
    validate(report)
    assert report[0]["location"] == {"path": "<stack>", "lines": {"begin": 1}}


def fingerprints(*files: str) -> dict[tuple[str, str], str]:
    report = json.loads(format_gitlab(findings(*files)))
    keys = [(item["check_name"], item["description"].split(":", 1)[0]) for item in report]
    return dict(zip(keys, (item["fingerprint"] for item in report), strict=True))


def test_fingerprints_are_unique_and_stable(project: Path) -> None:
    files = ("deploy/stack.yml", "deploy/stack.prod.yml")
    first = fingerprints(*files)
    assert len(set(first.values())) == len(first)
    assert fingerprints(*files) == first
    # Lines added above and a value changed: the same issues, the same fingerprints.
    base = project / "deploy" / "stack.yml"
    base.write_text("# comment\n# another\n" + BASE.replace("postgres:16", "postgres:17"))
    assert fingerprints(*files) == first


def test_fingerprints_tell_apart_same_code_same_key(project: Path) -> None:
    twice = LintFinding(
        code="SK302", severity=Severity.ERROR, service="app", key_path="services.app.volumes[0]",
        message="m", fix="f", file="stack.yml", line=3,
    )  # fmt: skip
    report = json.loads(format_gitlab([twice, twice]))
    assert report[0]["fingerprint"] != report[1]["fingerprint"]


def test_a_finding_of_the_shared_base_has_one_fingerprint_in_both_stacks(project: Path) -> None:
    (project / "deploy" / "stack.staging.yml").write_text('version: "3.8"\nservices: {}\n')
    staging = fingerprints("deploy/stack.yml", "deploy/stack.staging.yml")
    production = fingerprints("deploy/stack.yml", "deploy/stack.prod.yml")
    # The db service is the base file's alone: the same issues, listed once when merged.
    for key in [k for k in staging if "services.db." in k[1]]:
        assert staging[key] == production[key], key
    # The overlay's image replaces the base's: a finding at another place, another print.
    sk101 = ("SK101", "SK101 services.app.image")
    assert staging[sk101] != production[sk101]


def test_cli_writes_the_report_and_keeps_the_exit_code(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["lint", "-c", "deploy/stack.yml", "--format", "gitlab"]) == 1
    report = json.loads(capsys.readouterr().out)
    validate(report)
    clean = project / "clean.yml"
    clean.write_text('version: "3.8"\nservices: {}\n')
    assert main(["lint", "-c", str(clean), "--format", "gitlab"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert main(["lint", "-c", "missing.yml", "--format", "gitlab"]) == 2
    assert capsys.readouterr().out == ""
