"""Loading: errors that name the file, line and key; paths; env files; round trips."""

from __future__ import annotations

from pathlib import Path

import pytest

from swarmkit.exceptions import (
    InterpolationError,
    StackError,
    StackFileError,
    StackSyntaxError,
    StackValidationError,
)
from swarmkit.stack import Service, Stack, hash_names, load_stack, merge_stacks, render_stack

V = 'version: "3.8"\n'


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "error", "line", "key_path", "words"),
    [
        (
            V + "services:\n  app:\n    image: x\n    imagee: y\n",
            StackValidationError,
            5,
            "services.app.imagee",
            "unknown key",
        ),
        (
            V + "services:\n  app:\n    image: x\n    deploy:\n      replicas: two\n",
            StackValidationError,
            6,
            "services.app.deploy.replicas",
            "integer",
        ),
        (
            V + "services:\n  app:\n    image: x\n    ports:\n      - 80\n      - 80\n",
            StackValidationError,
            7,
            "services.app.ports[1]",
            "twice",
        ),
        (
            V + "services:\n  app:\n    image: x\n    cpu_shares: 3\n",
            StackValidationError,
            5,
            "services.app.cpu_shares",
            "deploy.resources",
        ),
        (
            V + "services:\n  app:\n    image: ${TAG:?TAG is needed}\n",
            InterpolationError,
            4,
            "services.app.image",
            "TAG is needed",
        ),
        (V + "services:\n  app:\n    image: x\n   bad: [\n", StackSyntaxError, None, None, "YAML"),
        (V + "services:\n  app:\n    image: x\n    image: y\n", StackSyntaxError, 5, None, "twice"),
        (
            'version: "3.0"\nservices:\n  app:\n    image: x\n    configs: [c]\n',
            StackValidationError,
            5,
            "services.app.configs",
            "3.3",
        ),
        ("version: 3.8\nservices: {}\n", StackValidationError, 1, "version", "string"),
        ('version: "4.0"\nservices: {}\n', StackValidationError, 1, "version", "unsupported"),
        ("- a\n- b\n", StackSyntaxError, 1, None, "mapping"),
        (
            V + "services:\n  app:\n    image: x\n    stop_grace_period: soon\n",
            StackValidationError,
            5,
            "services.app.stop_grace_period",
            "duration",
        ),
    ],
)
def test_errors_name_file_line_and_key(
    tmp_path: Path,
    text: str,
    error: type[StackError],
    line: int | None,
    key_path: str | None,
    words: str,
) -> None:
    path = write(tmp_path, "stack.yml", text)
    with pytest.raises(error) as caught:
        load_stack(path, environ={})
    exc = caught.value
    assert exc.file == str(path)
    if line is not None:
        assert exc.line == line
    if key_path is not None:
        assert exc.key_path == key_path
    message = str(exc)
    assert words.lower() in message.lower()
    assert message.startswith(str(path))
    assert "\n" not in message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(StackFileError, match="no such file"):
        load_stack(tmp_path / "nope.yml", environ={})


def test_missing_env_file_names_it(tmp_path: Path) -> None:
    path = write(tmp_path, "stack.yml", V + "services:\n  app: {image: x, env_file: gone.env}\n")
    with pytest.raises(StackError, match=r"gone\.env"):
        load_stack(path, environ={})


def test_env_file_and_config_paths_resolve_against_first_file(tmp_path: Path) -> None:
    (tmp_path / "deploy").mkdir()
    (tmp_path / "other").mkdir()
    write(tmp_path / "deploy", "app.env", "FROM_FILE=1\nEMPTY=\n")
    base = write(
        tmp_path / "deploy",
        "stack.yml",
        V + "services:\n  app:\n    image: x\n    env_file: app.env\n"
        "    volumes: ['./data:/data']\nconfigs:\n  c: {file: ./c.conf}\n",
    )
    overlay = write(tmp_path / "other", "o.yml", V + "configs:\n  d: {file: d.conf}\n")
    stack = load_stack(base, overlay, environ={"EMPTY": "from-env"})
    app = stack.services["app"]
    assert app.environment == {"FROM_FILE": "1", "EMPTY": "from-env"}
    assert app.volumes[0].source == str(tmp_path / "deploy" / "data")
    assert stack.configs["c"].file == str(tmp_path / "deploy" / "c.conf")
    assert stack.configs["d"].file == str(tmp_path / "deploy" / "d.conf")


def test_env_file_option_and_environment_precedence(tmp_path: Path) -> None:
    env_file = write(tmp_path, "vars.env", "TAG=from-file\nIMAGE=registry/app\n")
    path = write(tmp_path, "stack.yml", V + "services:\n  app: {image: '${IMAGE}:${TAG}'}\n")
    stack = load_stack(path, environ={"TAG": "from-env"}, env_file=env_file)
    assert stack.services["app"].image == "registry/app:from-env"


def test_round_trip_render_load(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "stack.yml",
        V + "services:\n  app:\n    image: x\n    command: echo '$$HOME'\n"
        "    environment: {A: 'costs $$5', B: ~}\n    ports: ['8000:80']\n"
        "    deploy: {resources: {limits: {memory: 1g}}, update_config: {delay: 90s}}\n"
        "    ulimits: {nofile: 10}\n    x-note: {who: me, when: 2026-11-28, at: 2026-11-28t10:00:00.5+01:00}\n"
        "networks: {n: {external: true}}\nx-top: 1\n",
    )
    stack = load_stack(path, environ={})
    text = render_stack(stack)
    again = load_stack(write(tmp_path, "again.yml", text), environ={})
    assert again == stack
    assert render_stack(again) == text
    assert stack.services["app"].command == ["echo", "$HOME"]
    assert "costs $$5" in text


def test_build_stack_in_python_and_write(tmp_path: Path) -> None:
    stack = Stack(
        services={
            "app": Service(
                image="registry.example.com/app:1.0",
                ports=["8000:80"],  # type: ignore[list-item]
                deploy={"replicas": 2, "update_config": {"order": "start-first"}},  # type: ignore[arg-type]
            )
        },
    )
    path = tmp_path / "stack.yml"
    path.write_text(stack.to_yaml())
    loaded = load_stack(path, environ={})
    assert loaded == stack
    assert loaded.services["app"].ports[0].published == 8000
    assert loaded.services["app"].deploy.update_config is not None


def test_merge_stacks_does_not_change_inputs() -> None:
    base = Stack.model_validate({"services": {"a": {"image": "x", "ports": ["9:9", "8:8"]}}})
    overlay = Stack.model_validate({"services": {"a": {"deploy": {"replicas": 0}}}})
    before = base.model_dump()
    merged = merge_stacks(base, overlay)
    assert base.model_dump() == before
    assert merged.services["a"].deploy.replicas == 0
    assert [p.published for p in merged.services["a"].ports] == [8, 9]


def test_merge_stacks_result_shares_nothing_with_inputs() -> None:
    base = Stack.model_validate({"services": {"a": {"image": "x", "labels": {"k": "v"}}}})
    overlay = Stack.model_validate(
        {"services": {"b": {"image": "y", "deploy": {"update_config": {"delay": "5s"}}}}}
    )
    merged = merge_stacks(base, overlay)
    merged.services["a"].labels["k"] = "changed"
    assert merged.services["b"].deploy.update_config is not None
    merged.services["b"].deploy.update_config.delay = "9s"
    assert base.services["a"].labels == {"k": "v"}
    assert overlay.services["b"].deploy.update_config is not None
    assert overlay.services["b"].deploy.update_config.delay == "5s"


def test_hash_names_is_idempotent_and_follows_content(tmp_path: Path) -> None:
    conf = write(tmp_path, "site.conf", "one")
    path = write(
        tmp_path,
        "stack.yml",
        V + "services:\n  web: {image: 'nginx:1.22', configs: [site]}\n"
        "configs:\n  site: {file: ./site.conf}\n  named: {file: ./site.conf, name: shared}\n"
        "secrets:\n  ext: {external: true}\n",
    )
    stack = hash_names(load_stack(path, environ={}), "demo")
    name = stack.configs["site"].name
    assert name.startswith("demo_site_") and len(name) == len("demo_site_") + 12
    assert stack.configs["named"].name.startswith("shared_")
    assert stack.secrets["ext"].name == "ext"
    again = write(tmp_path, "again.yml", render_stack(stack))
    assert hash_names(load_stack(again, environ={}), "demo").configs["site"].name == name
    conf.write_text("two")
    assert hash_names(load_stack(again, environ={}), "demo").configs["site"].name != name


def test_hash_names_names_a_missing_file(tmp_path: Path) -> None:
    path = write(tmp_path, "stack.yml", V + "services: {}\nconfigs:\n  site: {file: ./gone.conf}\n")
    with pytest.raises(StackFileError, match=r"gone\.conf"):
        hash_names(load_stack(path, environ={}), "demo")
