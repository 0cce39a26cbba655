"""SK305 to SK308: capabilities, host namespaces, host paths, hardening Swarm drops.

Each rule fires on its case and stays quiet on the near miss; the keys these
rules report are not reported again by SK501; the generated stacks of the
template pass (tests/template/test_static_checks.py lints every bake).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from swarmkit.stack import Stack, load_stack
from swarmkit.stack.lint import RULES, LintFinding, lint_stack
from swarmkit.stack.lint_hardening import IGNORED_KEYS
from tests.stack.docker_cli import docker_stack_config

V = 'version: "3.8"\n'
HOST_NET = "networks: {outside: {external: true, name: host}}\n"


def svc(body: str, top: str = "") -> str:
    """A stack with one service ``app`` (image pinned) whose other keys are ``body``."""
    return V + "services:\n  app:\n    image: a:1\n" + body + top


def lint(text: str) -> list[LintFinding]:
    return lint_stack(Stack.model_validate(yaml.safe_load(text)))


# (rule, stack text, fires?); only the rule under test is asserted.
SECURITY_CASES: list[tuple[str, str, bool]] = [
    # SK305 capabilities that break isolation, by name, in any spelling; privileged
    ("SK305", svc("    cap_drop: [ALL]\n    cap_add: [SYS_ADMIN]\n"), True),
    ("SK305", svc("    cap_add: [cap_net_admin]\n"), True),
    ("SK305", svc("    cap_add: [sys_ptrace]\n"), True),
    ("SK305", svc("    cap_add: [ALL]\n"), True),
    ("SK305", svc("    cap_add: [DAC_READ_SEARCH]\n"), True),
    ("SK305", svc("    cap_add: [SYS_MODULE]\n"), True),
    ("SK305", svc("    privileged: true\n"), True),
    ("SK305", svc("    cap_drop: [ALL]\n    cap_add: [NET_BIND_SERVICE, CHOWN, SETUID]\n"), False),
    ("SK305", svc("    cap_drop: [SYS_ADMIN, NET_ADMIN]\n    privileged: false\n"), False),
    # SK306 the node's namespaces
    ("SK306", svc("    networks: [outside]\n", HOST_NET), True),
    ("SK306", svc("    networks: [host]\n", "networks: {host: {external: true}}\n"), True),
    ("SK306", svc("    network_mode: host\n"), True),
    ("SK306", svc("    pid: host\n"), True),
    ("SK306", svc("    ipc: host\n"), True),
    ("SK306", svc("    userns_mode: host\n"), True),
    ("SK306", svc("    cgroupns_mode: host\n"), True),
    # A network called host that the stack creates is an overlay like any other.
    ("SK306", svc("    networks: [host]\n", "networks: {host: {}}\n"), False),
    ("SK306", svc("    networks: [edge]\n", "networks: {edge: {external: true}}\n"), False),
    ("SK306", svc("    ipc: shareable\n    cgroupns_mode: private\n"), False),
    # SK307 host paths, devices, shared propagation
    ("SK307", svc("    volumes: ['/etc:/host/etc:ro']\n"), True),
    ("SK307", svc("    volumes: ['/etc/ssl/private:/keys:ro']\n"), True),
    ("SK307", svc("    volumes: ['/proc:/host/proc:ro', '/sys:/host/sys:ro']\n"), True),
    ("SK307", svc("    volumes: ['/dev:/dev']\n"), True),
    ("SK307", svc("    volumes: ['/boot/../boot:/boot']\n"), True),
    ("SK307", svc("    volumes: ['/var/lib/docker:/docker']\n"), True),
    ("SK307", svc("    volumes: ['/usr:/host/usr:ro']\n"), True),
    ("SK307", svc("    volumes: ['/etc/localtime:/etc/localtime']\n"), True),
    ("SK307", svc("    volumes:\n      - {type: bind, source: /srv/data, target: /data,"
                  " bind: {propagation: rshared}}\n"), True),
    ("SK307", svc("    devices: ['/dev/fuse:/dev/fuse']\n"), True),
    ("SK307", svc("    volumes: ['/etc/localtime:/etc/localtime:ro', '/etc/timezone:/tz:ro']\n"),
     False),
    ("SK307", svc("    volumes: ['/srv/app/conf:/conf:ro', '/usr/src/app/static:/static',"
                  " '/home/deploy/media:/media', 'etc:/etc', '/etcetera:/x']\n",
                  "volumes: {etc: {}}\n"), False),
    ("SK307", svc("    volumes:\n      - {type: bind, source: /srv/data, target: /data,"
                  " bind: {propagation: rprivate}}\n"), False),
    # The Docker socket is SK302's.
    ("SK307", svc("    volumes: ['/var/run/docker.sock:/var/run/docker.sock', '/:/rootfs:ro']\n"),
     False),
    # SK308 hardening docker stack deploy drops
    ("SK308", svc("    security_opt: ['no-new-privileges:true']\n"), True),
    ("SK308", svc("    security_opt: ['seccomp=/etc/docker/strict.json', 'apparmor:strict']\n"),
     True),
    ("SK308", svc("    tmpfs: ['/tmp:noexec,nosuid,size=64m']\n"), True),
    ("SK308", svc("    tmpfs: [/tmp]\n"), False),
    ("SK308", svc("    volumes: [{type: tmpfs, target: /tmp}]\n    read_only: true\n"), False),
]  # fmt: skip


@pytest.mark.parametrize(("code", "text", "fires"), SECURITY_CASES)
def test_security_rule_fires_or_not(code: str, text: str, fires: bool) -> None:
    found = [f for f in lint(text) if f.code == code]
    assert bool(found) is fires, found
    for f in found:
        assert f.severity is RULES[code].severity
        assert f.message and f.fix and "\n" not in f.message + f.fix


def test_each_security_rule_has_a_case_both_ways() -> None:
    covered = {(code, fires) for code, _, fires in SECURITY_CASES}
    for code in ("SK305", "SK306", "SK307", "SK308"):
        assert (code, True) in covered and (code, False) in covered, code


def found(text: str, code: str) -> list[tuple[str, str, str]]:
    return [(f.key_path, f.message, f.fix) for f in lint(text) if f.code == code]


def test_dangerous_capabilities_are_named_once_each() -> None:
    hits = found(svc("    cap_add: [CHOWN, sys_admin, CAP_SYS_PTRACE, NET_RAW]\n"), "SK305")
    assert [(key, msg.split(" grants ")[0]) for key, msg, _ in hits] == [
        ("services.app.cap_add[1]", "cap_add SYS_ADMIN"),
        ("services.app.cap_add[2]", "cap_add SYS_PTRACE"),
    ]
    assert "remove SYS_ADMIN from cap_add" in hits[0][2]


def test_ignored_namespace_keys_say_so_and_leave_sk501_out() -> None:
    text = svc("    pid: host\n    ipc: shareable\n    privileged: true\n    devices: [/dev/kvm]\n"
               "    security_opt: [label=disable]\n    restart: always\n")  # fmt: skip
    (pid,) = found(text, "SK306")
    assert pid[0] == "services.app.pid" and "docker stack deploy ignores it" in pid[1]
    ignored = sorted(key for key, _, _ in found(text, "SK501"))
    # pid: host, privileged, devices and security_opt are reported by the
    # security rules; ipc: shareable and restart are not, so SK501 keeps them.
    assert ignored == ["services.app.ipc", "services.app.restart"]


def test_sk501_still_reports_plain_tmpfs_and_every_other_ignored_key() -> None:
    for key in IGNORED_KEYS:
        value = {"build": ".", "privileged": "true", "depends_on": "[db]", "links": "[db]",
                 "external_links": "[db]", "security_opt": "[label=disable]",
                 "devices": "[/dev/kvm]", "tmpfs": "[/tmp]", "expose": "['80']"}.get(key, "x")  # fmt: skip
        keys = [k for k, _, _ in found(svc(f"    {key}: {value}\n"), "SK501")]
        security = {"privileged", "security_opt", "devices"}
        assert keys == ([] if key in security else [f"services.app.{key}"]), key


def test_security_opt_values_are_not_echoed() -> None:
    hits = found(svc("    security_opt: ['seccomp=/srv/very/private/profile.json']\n"), "SK308")
    assert hits and all("private" not in msg + fix for _, msg, fix in hits)


def test_read_only_says_so() -> None:
    (ro,) = found(svc("    volumes: ['/proc:/host/proc:ro']\n"), "SK307")
    (rw,) = found(svc("    volumes: ['/proc:/host/proc']\n"), "SK307")
    assert "(read-only)" in ro[1] and "(writable)" in rw[1]


def test_a_relative_bind_made_absolute_under_usr_is_fine(tmp_path: Path) -> None:
    # The project checked out under /usr/src (as in many CI images): ./conf becomes /usr/src/...
    path = tmp_path / "stack.yml"
    path.write_text(svc("    volumes: ['./conf:/conf:ro']\n"))
    loaded = load_stack(path)
    assert loaded.services["app"].volumes[0].source.startswith("/")
    assert [f for f in lint_stack(loaded) if f.code == "SK307"] == []


SECURITY_STACK = svc(
    "    cap_add: [SYS_ADMIN]\n    networks: [outside]\n    pid: host\n"
    "    volumes: ['/etc:/host/etc:ro']\n    security_opt: ['no-new-privileges:true']\n",
    HOST_NET,
)


def test_docker_stack_config_accepts_the_firing_stack(tmp_path: Path) -> None:
    """The keys these rules read are valid stack keys: the CLI loads the stack."""
    path = tmp_path / "stack.yml"
    path.write_text(SECURITY_STACK)
    result = docker_stack_config([path], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    printed = yaml.safe_load(result.stdout)["services"]["app"]
    assert printed["cap_add"] == ["SYS_ADMIN"] and printed["pid"] == "host"
    codes = {f.code for f in lint_stack(load_stack(path))}
    assert {"SK305", "SK306", "SK307", "SK308"} <= codes
