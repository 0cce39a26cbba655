"""The ``swarmkit`` command: exit codes, stdout, one-line errors.

The cases run in-process through ``swarmkit.cli.main(argv)`` (a subprocess per
case cost a Python start-up each); the smoke tests at the end run the real
console script and ``python -m swarmkit`` in a subprocess, as a user does.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from swarmkit import __version__
from swarmkit.stack.yamlio import load_yaml
from tests.stack.docker_cli import docker_stack_config

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
EXAMPLE_ENV = {
    "IMAGE": "registry.example.com/team/mysite",
    "TAG": "3f2a9c1",
    "DOMAIN": "www.example.com",
}


@dataclass(frozen=True)
class Result:
    """What one run of the command left: exit code, standard output and error."""

    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def swarmkit(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[..., Result]:
    """Run ``swarmkit ARGS`` in-process from the repository root, with only ``env`` set.

    The example variables are removed from the environment first, so a case
    sees exactly the variables it passes, as the subprocess did.
    """
    from swarmkit.cli import main

    def run(*args: str, env: dict[str, str] | None = None, stdin: str | None = None) -> Result:
        with monkeypatch.context() as patch:
            patch.chdir(ROOT)
            for name in EXAMPLE_ENV:
                patch.delenv(name, raising=False)
            for name, value in (env or {}).items():
                patch.setenv(name, value)
            patch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO((stdin or "").encode())))
            capsys.readouterr()
            try:
                code = main(list(args))
            except SystemExit as exc:  # argparse: --version, usage errors
                code = exc.code if isinstance(exc.code, int) else 1
            out, err = capsys.readouterr()
        return Result(code, out, err)

    return run


def run_subprocess(*command: str) -> Result:
    done = subprocess.run(
        list(command),
        capture_output=True,
        text=True,
        env={"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/root")},
        check=False,
        cwd=ROOT,
        timeout=60,
    )
    return Result(done.returncode, done.stdout, done.stderr)


def assert_one_line_error(result: Result, *words: str) -> None:
    assert result.returncode == 2, result
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("swarmkit: error: ")
    for word in words:
        assert word in lines[0]


def test_version(swarmkit: Callable[..., Result]) -> None:
    result = swarmkit("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"swarmkit {__version__}"


def test_config_matches_docker_stack_config(swarmkit: Callable[..., Result]) -> None:
    files = [EXAMPLES / "stack.yml", EXAMPLES / "stack.production.yml"]
    result = swarmkit("config", "-c", str(files[0]), "-c", str(files[1]), env=EXAMPLE_ENV)
    assert result.returncode == 0, result.stderr
    cli = docker_stack_config(files, EXAMPLE_ENV)
    assert cli.returncode == 0, cli.stderr
    assert load_yaml(result.stdout, "ours")[0] == load_yaml(cli.stdout, "docker")[0]


def test_config_env_file_and_stdin(tmp_path: Path, swarmkit: Callable[..., Result]) -> None:
    result = swarmkit(
        "config",
        "-c",
        "-",
        "--env-file",
        str(EXAMPLES / "production.env"),
        stdin='version: "3.8"\nservices:\n  app: {image: "${IMAGE}:${TAG}"}\n',
    )
    assert result.returncode == 0, result.stderr
    assert "image: registry.example.com/team/mysite:3f2a9c1" in result.stdout


def test_config_hash_names_is_content_addressed(
    tmp_path: Path, swarmkit: Callable[..., Result]
) -> None:
    conf = tmp_path / "nginx.conf"
    stack = tmp_path / "stack.yml"
    stack.write_text(
        'version: "3.8"\nservices:\n  web: {image: "nginx:1.22", configs: [site]}\n'
        "configs:\n  site: {file: ./nginx.conf}\n"
    )
    names = []
    for content in ("a", "b", "a"):
        conf.write_text(content)
        result = swarmkit("config", "-c", str(stack), "--hash-names", "demo")
        assert result.returncode == 0, result.stderr
        names.append(load_yaml(result.stdout, "out")[0]["configs"]["site"]["name"])
    assert names[0] == names[2] != names[1]
    assert names[0].startswith("demo_site_") and len(names[0]) == len("demo_site_") + 12
    rendered = tmp_path / "rendered.yml"
    conf.write_text("a")
    rendered.write_text(swarmkit("config", "-c", str(stack), "--hash-names", "demo").stdout)
    assert docker_stack_config([rendered]).returncode == 0


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (
            'version: "3.8"\nservices:\n  app:\n    image: x\n    replicas: 2\n',
            ["stack.yml:5", "services.app.replicas", "unknown key"],
        ),
        ('version: "3.8"\nservices:\n  app: {image: x\n', ["stack.yml", "YAML"]),
        (
            'version: "3.8"\nservices:\n  app:\n    image: ${TAG:?give the tag}\n',
            ["stack.yml:4", "give the tag"],
        ),
        (
            'version: "3.8"\nservices:\n  app:\n    image: x\n    deploy: {replicas: "2"}\n',
            ["stack.yml:5", "deploy.replicas"],
        ),
    ],
)
def test_bad_input_is_one_line_exit_2(
    tmp_path: Path, text: str, words: list[str], swarmkit: Callable[..., Result]
) -> None:
    path = tmp_path / "stack.yml"
    path.write_text(text)
    assert_one_line_error(swarmkit("config", "-c", str(path)), *words)
    assert_one_line_error(swarmkit("lint", "-c", str(path)), *words)


def test_missing_file_and_usage_errors(tmp_path: Path, swarmkit: Callable[..., Result]) -> None:
    assert_one_line_error(
        swarmkit("config", "-c", str(tmp_path / "nope.yml")), "nope.yml", "no such file"
    )
    assert_one_line_error(swarmkit("config"), "-c")
    assert_one_line_error(swarmkit(), "COMMAND")
    assert_one_line_error(swarmkit("deploy-everything"), "invalid choice")
    assert_one_line_error(
        swarmkit(
            "config", "-c", str(EXAMPLES / "stack.yml"), "--env-file", str(tmp_path / "x.env")
        ),
        "x.env",
    )


def test_lint_exit_codes_and_formats(tmp_path: Path, swarmkit: Callable[..., Result]) -> None:
    clean = swarmkit(
        "lint",
        "-c",
        str(EXAMPLES / "stack.yml"),
        "-c",
        str(EXAMPLES / "stack.production.yml"),
        env=EXAMPLE_ENV,
    )
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "0 errors" in clean.stdout
    bad = tmp_path / "stack.yml"
    bad.write_text('version: "3.8"\nservices:\n  app: {image: "nginx:latest"}\n')
    text = swarmkit("lint", "-c", str(bad))
    assert text.returncode == 1
    assert "SK101" in text.stdout
    as_json = swarmkit("lint", "-c", str(bad), "--format", "json")
    assert as_json.returncode == 1
    findings = json.loads(as_json.stdout)
    assert any(f["code"] == "SK101" and f["severity"] == "error" for f in findings)


def test_lint_names_file_and_line(tmp_path: Path, swarmkit: Callable[..., Result]) -> None:
    base = tmp_path / "stack.yml"
    base.write_text(
        'version: "3.8"\nservices:\n  app:\n    image: nginx\n'
        "    environment: [LOG=1, API_TOKEN=t]\n"
    )
    overlay = tmp_path / "stack.prod.yml"
    overlay.write_text('version: "3.8"\nservices:\n  app:\n    image: "nginx:latest"\n')
    text = swarmkit("lint", "-c", str(base), "-c", str(overlay)).stdout.splitlines()
    assert f"{overlay}:4: SK101 error services.app.image: image nginx:latest uses" in text[0]
    assert text[0].endswith(
        "(fix: pin a version tag or a digest: image: name:1.2.3 or name@sha256:...)"
    )
    assert any(line.startswith(f"{base}:5: SK303 error services.app.environment.API_TOKEN: ")
               for line in text)  # fmt: skip
    as_json = json.loads(swarmkit("lint", "-c", str(base), "--format", "json").stdout)
    image = next(f for f in as_json if f["code"] == "SK101")
    assert (image["file"], image["line"], image["key_path"]) == (str(base), 4, "services.app.image")
    deploy = next(f for f in as_json if f["code"] == "SK103")
    assert (deploy["file"], deploy["line"], deploy["key_path"]) == (
        str(base),
        3,
        "services.app.deploy",
    )
    piped = swarmkit("lint", "-c", "-", stdin=base.read_text()).stdout
    assert piped.startswith("<stdin>:4: SK101 error services.app.image: ")


def test_config_output_file_is_written_whole(
    tmp_path: Path, swarmkit: Callable[..., Result]
) -> None:
    out = tmp_path / "rendered.yml"
    out.write_text("old content\n")
    result = swarmkit("config", "-c", str(EXAMPLES / "stack.yml"), "-o", str(out), env=EXAMPLE_ENV)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert out.read_text().startswith('version: "3.8"')
    assert [p.name for p in tmp_path.iterdir()] == ["rendered.yml"]
    failed = swarmkit("config", "-c", str(EXAMPLES / "stack.yml"), "-o", str(out))
    assert_one_line_error(failed, "required variable")
    assert out.read_text().startswith('version: "3.8"')
    assert_one_line_error(
        swarmkit(
            "config",
            "-c",
            str(EXAMPLES / "stack.yml"),
            "-o",
            str(tmp_path / "no" / "x.yml"),
            env=EXAMPLE_ENV,
        ),
        "cannot write",
    )


# Smoke tests: the installed command and ``python -m swarmkit``, in a subprocess.


def test_console_script_runs_and_prints_the_version() -> None:
    script = shutil.which("swarmkit", path=str(Path(sys.executable).parent))
    assert script is not None, "the swarmkit console script is not installed"
    result = run_subprocess(script, "--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"swarmkit {__version__}"


def test_python_dash_m_renders_the_example(tmp_path: Path) -> None:
    (tmp_path / "vars.env").write_text("\n".join(f"{k}={v}" for k, v in EXAMPLE_ENV.items()))
    result = run_subprocess(
        sys.executable,
        "-m",
        "swarmkit",
        "config",
        "-c",
        str(EXAMPLES / "stack.yml"),
        "--env-file",
        str(tmp_path / "vars.env"),
    )
    assert result.returncode == 0, result.stderr
    assert "image: registry.example.com/team/mysite:3f2a9c1" in result.stdout


def test_bad_input_in_a_real_process_is_one_line_without_traceback(tmp_path: Path) -> None:
    path = tmp_path / "stack.yml"
    path.write_text('version: "3.8"\nservices:\n  app:\n    image: x\n    replicas: 2\n')
    assert_one_line_error(
        run_subprocess(sys.executable, "-m", "swarmkit", "lint", "-c", str(path)),
        "stack.yml:5",
        "unknown key",
    )
    assert_one_line_error(run_subprocess(sys.executable, "-m", "swarmkit"), "COMMAND")
