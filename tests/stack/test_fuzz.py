"""Property-based fuzzing of the loader and the CLI with hostile stack and env files.

Documents are random nestings of mappings, lists and scalars whose keys are
mostly real stack keys (so that validation runs deep) and whose scalars are
hostile: explicit tags, anchors and aliases, merge keys, huge numbers,
variables, odd bytes. Whatever the input, only a :class:`SwarmkitError` may
leave ``load_stack``, ``lint_stack``, ``render_stack`` and ``hash_names``, and
``swarmkit.cli.main`` returns 0, 1 or 2 without a traceback.

Reproducible and bounded in CI: ``derandomize=True`` and no example database,
so every run tries the same examples, and ``max_examples`` caps the time.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from swarmkit.cli import main
from swarmkit.exceptions import SwarmkitError
from swarmkit.stack import hash_names, lint_stack, load_stack, render_stack

FUZZ = settings(
    max_examples=250,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

KEYS = ["image", "deploy", "replicas", "mode", "resources", "limits", "reservations", "cpus", "memory", "pids", "restart_policy", "condition", "delay", "max_attempts", "window", "update_config", "rollback_config", "parallelism", "failure_action", "monitor", "max_failure_ratio", "order", "placement", "constraints", "preferences", "spread", "max_replicas_per_node", "endpoint_mode", "labels", "ports", "target", "published", "protocol", "host_ip", "networks", "aliases", "ipv4_address", "volumes", "type", "source", "read_only", "bind", "propagation", "volume", "nocopy", "tmpfs", "size", "environment", "env_file", "configs", "secrets", "uid", "gid", "file", "external", "name", "driver", "driver_opts", "template_driver", "healthcheck", "test", "interval", "timeout", "retries", "start_period", "disable", "command", "entrypoint", "ulimits", "nofile", "soft", "hard", "logging", "options", "extra_hosts", "dns", "dns_search", "cap_add", "cap_drop", "sysctls", "user", "init", "stop_grace_period", "stop_signal", "hostname", "working_dir", "privileged", "tty", "stdin_open", "devices", "security_opt", "isolation", "credential_spec", "config", "registry", "build", "context", "depends_on", "container_name", "restart", "extends", "oom_score_adj", "extensions", "x-a", "x-b", "<<", "internal", "attachable", "ipam", "subnet", "version", "services", "0", "1", "true", "~"]  # fmt: skip

SCALARS = [
    "1",
    "0",
    "-1",
    "3.5",
    "1e400",
    "-1e400",
    ".inf",
    ".nan",
    "1_000",
    "0x" + "f" * 40,
    "0o777",
    "08",
    "0" * 5000 + "1",
    "9" * 5000,
    "1" * 30,
    "9223372036854775808",
    "18446744073709551616",
    "true",
    "yes",
    "on",
    "~",
    "null",
    "''",
    '""',
    "2001-12-14",
    "2001-12-14T21:59:43.10-05:00",
    "0001-01-01T00:00:00Z",
    "!!int abc",
    "!!int 12",
    "!!float abc",
    "!!float 1",
    "!!bool x",
    "!!bool true",
    "!!null x",
    "!!timestamp abc",
    "!!timestamp 2001-12-14",
    "!!str 12",
    "!!binary AAEC",
    "!!binary /w==",
    "!!set {a, b}",
    "!!omap [a: 1]",
    "!foo bar",
    "*a",
    "[*a, *a]",
    "{<<: *a}",
    "[1, {a: 1}]",
    "{a: 1}",
    "[]",
    "{}",
    "[[[[[]]]]]",
    "'${A}'",
    "'${A:?boom}'",
    "'${B:-x}'",
    "'$'",
    "'${'",
    "'$$A'",
    "'80:80'",
    "'1-8:1-8'",
    "'a:/b:ro'",
    "'./x:/y:z'",
    "'1.5GB'",
    "'10s'",
    "'1h1m'",
    "nginx",
    "'a b \"c'",
    '"\\u0000"',
    '"\\xff"',
    "'\u212a'",
]


def scalar() -> st.SearchStrategy[str]:
    # Printable text: control characters are tried once, below, as odd bytes.
    printable = st.characters(
        min_codepoint=32, max_codepoint=0x2FFF, blacklist_categories=["Cs", "Cc"]
    )
    return st.sampled_from(SCALARS) | st.text(alphabet=printable, max_size=12).map(
        lambda text: "'" + text.replace("'", "''") + "'"
    )


def key() -> st.SearchStrategy[str]:
    odd = st.sampled_from(["'<<'", "*a ", "[1]", "{a: 1}"])
    return st.sampled_from(KEYS) | st.sampled_from([False] * 9 + [True]).flatmap(
        lambda rare: odd if rare else st.sampled_from(KEYS)
    )


Node = Any  # ("s", text) | ("l", [Node]) | ("m", [(key, Node)])

NODES: st.SearchStrategy[Node] = st.recursive(
    scalar().map(lambda text: ("s", text)),
    lambda children: (
        st.lists(children, max_size=4).map(lambda items: ("l", items))
        | st.lists(st.tuples(key(), children), max_size=5).map(lambda pairs: ("m", pairs))
    ),
    max_leaves=25,
)


def emit(node: Node, indent: int) -> Iterator[str]:
    """Block YAML lines for ``node``, each already indented."""
    pad = " " * indent
    kind, value = node
    if kind == "s" or not value:
        yield pad + (value if kind == "s" else "[]" if kind == "l" else "{}")
        return
    for item in value:
        head, child = (f"{item[0]}:", item[1]) if kind == "m" else ("-", item)
        if child[0] == "s" or not child[1]:
            (text,) = emit(child, 0)
            yield f"{pad}{head} {text}"
        else:
            yield pad + head
            yield from emit(child, indent + 2)


# The shape of a stack, so that most documents get past the first unknown key
# and reach deep validation: key -> the keys of its mapping (or of its list's
# mappings, for LISTS).
MAPS = {
    "service": "image deploy ports networks volumes environment env_file configs secrets "
    "healthcheck labels command entrypoint ulimits logging extensions x-a << extra_hosts dns "
    "cap_add sysctls user init stop_grace_period read_only tmpfs devices privileged "
    "hostname build depends_on restart oom_score_adj credential_spec stop_signal",
    "deploy": "mode replicas resources restart_policy update_config rollback_config "
    "placement labels endpoint_mode x-a",
    "resources": "limits reservations",
    "limits": "cpus memory pids",
    "reservations": "cpus memory generic_resources devices",
    "restart_policy": "condition delay max_attempts window",
    "update_config": "parallelism delay failure_action monitor max_failure_ratio order",
    "rollback_config": "parallelism delay failure_action monitor max_failure_ratio order",
    "placement": "constraints preferences max_replicas_per_node",
    "healthcheck": "test interval timeout retries start_period start_interval disable",
    "logging": "driver options",
    "ulimits": "nofile nproc",
    "nofile": "soft hard",
    "networks": "front back",
    "front": "aliases ipv4_address ipv6_address x-a",
    "bind": "propagation create_host_path",
    "volume": "nocopy subpath",
    "tmpfs": "size mode",
    "object": "external name driver driver_opts file labels x-a template_driver attachable "
    "internal ipam environment content",
}
LISTS = {
    "ports": "target published protocol mode host_ip x-a",
    "volumes": "type source target read_only bind volume tmpfs consistency x-a",
    "configs": "source target uid gid mode x-a",
    "secrets": "source target uid gid mode x-a",
}
SHAPES = {name: keys.split() for name, keys in {**MAPS, **LISTS}.items()}
LEAF = st.one_of(scalar().map(lambda text: ("s", text)), NODES)


def shaped(name: str, depth: int = 0) -> st.SearchStrategy[Node]:
    """A node for key ``name``: mostly of the stack's shape, sometimes anything."""
    if name not in SHAPES or depth > 4:
        return LEAF
    keys = st.sampled_from(SHAPES[name]) | key()
    pairs = st.lists(keys, max_size=5, unique=True).flatmap(
        lambda chosen: st.tuples(*(shaped(k, depth + 1) for k in chosen)).map(
            lambda values, chosen=chosen: ("m", list(zip(chosen, values, strict=True)))
        )
    )
    if name in LISTS:
        return st.lists(pairs | LEAF, max_size=3).map(lambda items: ("l", items)) | LEAF
    return pairs | LEAF


VERSIONS = st.sampled_from(
    ['"3.8"'] * 6 + ['"3.8"', '"3"', '"3.13"', "3.0", '"2"', "!!int 3", '"3.8.1"']
)
SECTIONS = ("networks", "volumes", "configs", "secrets")


@st.composite
def documents(draw: st.DrawFn) -> bytes:
    service = draw(shaped("service"))
    lines = [f"version: {draw(VERSIONS)}", "x-anchor: &a {image: nginx, init: true}"]
    lines += ["services:", "  app:", "    image: nginx"]
    if service[0] == "m":
        service = ("m", [pair for pair in service[1] if pair[0] != "image"])
    lines += list(emit(service, 4)) if service[0] == "m" and service[1] else []
    for section in draw(st.lists(st.sampled_from(SECTIONS), max_size=4, unique=True)):
        objects = draw(
            st.lists(
                st.tuples(st.sampled_from(["front", "back", "s1"]), shaped("object")),
                max_size=2,
                unique_by=lambda pair: pair[0],
            )
        )
        lines += list(emit(("m", [(section, ("m", objects))]), 0))
    text = "\n".join(lines) + "\n"
    if draw(st.booleans()):
        text = text.replace("\n", "\r\n")
    data = text.encode("utf-8")
    if draw(st.sampled_from([False] * 9 + [True])):
        # Odd bytes somewhere: invalid UTF-8, NUL, a BOM, a tab.
        at = draw(st.integers(0, len(data)))
        junk = draw(st.sampled_from([b"\xff", b"\x00", b"\xef\xbb\xbf", b"\t", b"\xc3", b"\x85"]))
        data = data[:at] + junk + data[at:]
    return data


def only_swarmkit_errors(path: Path) -> None:
    """Load, lint, render, hash and re-load ``path``; only SwarmkitError may escape."""
    try:
        stack = load_stack(path, environ={"A": "1", "B": ""})
        lint_stack(stack)
        rendered = path.with_name("rendered.yml")
        rendered.write_text(render_stack(stack))
        load_stack(rendered, environ={})
        hash_names(stack, "fuzz")
    except SwarmkitError as exc:
        assert "\n" not in str(exc)


def cli_never_crashes(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own usage errors
        code = exc.code if isinstance(exc.code, int) else -1
    out, err = capsys.readouterr()
    assert code in (0, 1, 2), err
    assert "Traceback" not in err and "Traceback" not in out
    if code == 2:
        assert err.startswith("swarmkit: error: ") and err.count("\n") == 1, err


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("fuzz")
    (directory / "app.env").write_text("A=1\n")
    (directory / "conf").write_text("x")
    return directory


@FUZZ
@given(data=documents())
def test_loader_lets_only_swarmkit_errors_out(workdir: Path, data: bytes) -> None:
    path = workdir / "stack.yml"
    path.write_bytes(data)
    only_swarmkit_errors(path)


@settings(FUZZ, max_examples=120)
@given(data=documents())
def test_cli_never_prints_a_traceback(
    workdir: Path, data: bytes, capsys: pytest.CaptureFixture[str]
) -> None:
    path = workdir / "stack.yml"
    path.write_bytes(data)
    for argv in (
        ["config", "-c", str(path)],
        ["config", "-c", str(path), "--hash-names", "fuzz"],
        ["lint", "-c", str(path), "--format", "json"],
    ):
        cli_never_crashes(argv, capsys)


ENV_LINES = st.lists(
    st.sampled_from(
        [b"A=1", b"=x", b"  =x", b"export A=1", b"A B=1", b"A", b"#c", b"", b"\xef\xbb\xbfA=1"]
    )
    | st.binary(max_size=20)
    | st.text(max_size=20).map(lambda text: text.encode("utf-8", "surrogatepass")),
    max_size=8,
)


@FUZZ
@given(lines=ENV_LINES, crlf=st.booleans(), long_line=st.booleans())
def test_env_files_let_only_swarmkit_errors_out(
    workdir: Path,
    lines: list[bytes],
    crlf: bool,
    long_line: bool,
    capsys: pytest.CaptureFixture[str],
) -> None:
    env = workdir / "fuzz.env"
    body = (b"\r\n" if crlf else b"\n").join(lines)
    if long_line:
        body += b"\nL=" + b"y" * 70_000
    env.write_bytes(body)
    stack = workdir / "env-stack.yml"
    stack.write_text(
        'version: "3.8"\nservices:\n  app:\n    image: nginx\n    env_file: fuzz.env\n'
    )
    only_swarmkit_errors(stack)
    cli_never_crashes(["config", "-c", str(stack), "--env-file", str(env)], capsys)
