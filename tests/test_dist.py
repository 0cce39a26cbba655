"""``make dist``: the release files are reproducible, shipped by the template and twine-clean."""

from __future__ import annotations

import hashlib
import importlib.util
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "scripts" / "dist.py"


def load_dist() -> ModuleType:
    spec = importlib.util.spec_from_file_location("dist_script", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_make_dist_builds_checks_and_prints_the_hashes(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, SCRIPT, "--outdir", tmp_path], capture_output=True,
                          text=True, timeout=600, check=False)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    wheel, sdist = (next(tmp_path.glob(f"swarm_django-*{ext}")) for ext in (".whl", ".tar.gz"))
    shipped = REPO / "{{cookiecutter.project_slug}}" / "requirements" / "wheels" / wheel.name
    assert wheel.read_bytes() == shipped.read_bytes()
    printed = dict(reversed(line.split("  ", 1)) for line in done.stdout.splitlines())
    for path in (wheel, sdist):
        assert printed[str(path)] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert "twine check passed" in done.stderr


def test_a_wheel_the_template_does_not_ship_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dist = load_dist()
    shipped = tmp_path / "wheels"
    shipped.mkdir()
    wheel = tmp_path / "swarm_django-0.1.0-py3-none-any.whl"
    wheel.write_bytes(b"a newer build")
    (shipped / wheel.name).write_bytes(b"the build the locks pin")
    monkeypatch.setattr(dist, "SHIPPED", shipped)
    monkeypatch.setattr(dist, "REPO", tmp_path)
    with pytest.raises(dist.DistError, match=r"wheels/swarm_django-0.1.0-py3-none-any.whl is not "
                       r"this build's wheel: run `make template-lock`"):  # fmt: skip
        dist.check_shipped(wheel)


def test_a_lock_pinning_another_wheel_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dist = load_dist()
    wheel = tmp_path / "wheels" / "swarm_django-0.1.0-py3-none-any.whl"
    wheel.parent.mkdir()
    wheel.write_bytes(b"the wheel")
    locks = tmp_path / "_locks" / "django5.2-noredis"
    locks.mkdir(parents=True)
    other = hashlib.sha256(b"another wheel").hexdigest()
    (locks / "deploy.txt").write_text(f"swarm-django==0.1.0 \\\n    --hash=sha256:{other}\n")
    monkeypatch.setattr(dist, "SHIPPED", wheel.parent)
    monkeypatch.setattr(dist, "LOCKS", tmp_path / "_locks")
    monkeypatch.setattr(dist, "REPO", tmp_path)
    with pytest.raises(dist.DistError, match=r"deploy\.txt pins another swarm-django wheel"):
        dist.check_shipped(wheel)


def test_twine_refuses_a_broken_description(tmp_path: Path) -> None:
    """The check that runs is twine's own: a wheel whose README does not render fails it."""
    dist = load_dist()
    built = dist.build(tmp_path / "built")
    broken = tmp_path / built["wheel"].name
    shutil.copyfile(built["wheel"], broken)
    _rewrite_metadata(broken, "Description-Content-Type: text/markdown",
                      "Description-Content-Type: text/x-rst")  # fmt: skip
    with pytest.raises(dist.DistError, match="twine check failed"):
        dist.twine_check([broken])


def _rewrite_metadata(wheel: Path, old: str, new: str) -> None:
    rewritten = wheel.with_suffix(".tmp")
    with zipfile.ZipFile(wheel) as source, zipfile.ZipFile(rewritten, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename.endswith(".dist-info/METADATA"):
                assert old.encode() in data
                data = data.replace(old.encode(), new.encode())
            target.writestr(item, data)
    rewritten.replace(wheel)


WORKFLOW = REPO / ".github" / "workflows" / "release.yml"


def test_release_workflow_matches_the_github_schema() -> None:
    checker = Path(sys.executable).parent / "check-jsonschema"
    done = subprocess.run([checker, "--builtin-schema", "vendor.github-workflows", WORKFLOW],
                          capture_output=True, text=True, timeout=300, check=False)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


def test_release_publishes_tested_files_by_trusted_publishing() -> None:
    import yaml

    workflow = yaml.safe_load(WORKFLOW.read_text())
    assert workflow[True] == {"push": {"tags": ["v*"]}}  # YAML 1.1 reads `on` as True
    assert workflow["permissions"] == {"contents": "read"}
    jobs = workflow["jobs"]
    publish = jobs["publish"]
    assert set(publish["needs"]) == {"test", "build"}
    assert publish["permissions"] == {"id-token": "write"}
    assert publish["environment"]["name"] == "pypi"
    upload = publish["steps"][-1]
    assert upload["uses"].startswith("pypa/gh-action-pypi-publish@")
    assert "with" not in upload, "trusted publishing takes no password or token"
    for name, job in jobs.items():
        if name != "publish":
            assert "permissions" not in job, f"only publish gets the OIDC token, not {name}"
    assert any(step.get("run") == "make dist" for step in jobs["build"]["steps"])


def test_changelog_has_a_section_for_this_version() -> None:
    from swarmkit import __version__

    changelog = (REPO / "CHANGELOG.md").read_text()
    assert f"\n## {__version__} " in changelog
    assert "\n## Unreleased\n" in changelog
