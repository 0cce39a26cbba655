"""Hostile input against the stack models: internal field names, big port ranges,
and keys the docker CLI keeps that the models must not drop.

Each case runs the real ``docker stack config`` too (tests/stack/oracle.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from swarmkit.exceptions import StackValidationError
from swarmkit.stack import Service, load_stack
from swarmkit.stack.model import ClusterVolumeSpec, Volume
from tests.stack.docker_cli import docker_stack_config
from tests.stack.oracle import run_both, write_files

# Where a file could try to set the models' internal ``extensions`` field; the
# line the key stands on is the 1-based line number in each text.
_SOCKET = '["/var/run/docker.sock:/var/run/docker.sock"]'
EXTENSIONS_HOLES = {
    "service": (
        "services:\n  app:\n    image: nginx:1.27\n"
        f"    extensions: {{cap_add: [SYS_ADMIN], volumes: {_SOCKET}}}\n",
        4,
        "services.app.extensions",
    ),
    "service with an x- key too": (
        "services:\n  app:\n    image: nginx:1.27\n    x-a: 1\n    extensions: [1]\n",
        5,
        "services.app.extensions",
    ),
    "top level": (
        "services:\n  app:\n    image: nginx:1.27\n"
        "extensions: {services: {app: {image: evil:1, privileged: true}}}\n",
        4,
        "extensions",
    ),
    "network": (
        "services:\n  app: {image: 'nginx:1.27'}\n"
        "networks:\n  n:\n    external: true\n    extensions: {driver: host}\n",
        6,
        "networks.n.extensions",
    ),
    "volume": (
        "services:\n  app: {image: 'nginx:1.27'}\n"
        "volumes:\n  v:\n    external: true\n    extensions: {driver: local}\n",
        6,
        "volumes.v.extensions",
    ),
    "secret": (
        "services:\n  app: {image: 'nginx:1.27'}\n"
        "secrets:\n  s:\n    external: true\n    extensions: {file: /etc/shadow}\n",
        6,
        "secrets.s.extensions",
    ),
    "config": (
        "services:\n  app: {image: 'nginx:1.27'}\n"
        "configs:\n  c:\n    external: true\n    extensions: {file: /etc/shadow}\n",
        6,
        "configs.c.extensions",
    ),
    # Volume.cluster_spec is the model's name for x-cluster-spec.
    "volume cluster_spec": (
        "services:\n  app: {image: 'nginx:1.27'}\nvolumes:\n  v:\n    cluster_spec: {group: g}\n",
        5,
        "volumes.v.cluster_spec",
    ),
    # Ulimit.single is the model's name for the short form (`nofile: 10`).
    "ulimit single": (
        "services:\n  app:\n    image: nginx:1.27\n"
        "    ulimits:\n      nofile: {single: 10, soft: 1, hard: 2}\n",
        5,
        "services.app.ulimits.nofile",
    ),
}


@pytest.mark.parametrize("case", sorted(EXTENSIONS_HOLES))
def test_internal_field_names_are_refused_like_the_cli(tmp_path: Path, case: str) -> None:
    text, line, key = EXTENSIONS_HOLES[case]
    path = tmp_path / "stack.yml"
    path.write_text('version: "3.8"\n' + text)
    line += 1  # the version line

    result = docker_stack_config([path])
    assert result.returncode != 0, f"the docker CLI accepted it: {result.stdout}"

    with pytest.raises(StackValidationError) as caught:
        load_stack(path, environ={})
    message = str(caught.value)
    assert message.startswith(f"{path}:{line}: {key}"), message
    assert "\n" not in message


def test_extensions_from_python_take_only_x_keys() -> None:
    service = Service(image="nginx:1.27", extensions={"x-swarmkit": {"lint-ignore": ["SK104"]}})
    assert service.to_data() == {
        "image": "nginx:1.27",
        "x-swarmkit": {"lint-ignore": ["SK104"]},
    }
    with pytest.raises(StackValidationError, match="'cap_add' does not start with 'x-'"):
        Service(image="nginx:1.27", extensions={"cap_add": ["SYS_ADMIN"]})
    with pytest.raises(StackValidationError, match="does not start with 'x-'"):
        service.extensions = {"privileged": True}
    assert service.extensions == {"x-swarmkit": {"lint-ignore": ["SK104"]}}


def test_x_keys_still_reach_the_rendered_stack(tmp_path: Path) -> None:
    paths = write_files(
        tmp_path,
        {
            "stack.yml": 'version: "3.8"\nx-top: {a: 1}\n'
            "services:\n  app:\n    image: nginx:1.27\n    x-svc: [1, 2]\n"
            "networks:\n  n: {external: true, x-net: n}\n"
        },
    )
    outcome = run_both(paths)
    outcome.assert_same()
    assert outcome.ours["x-top"] == {"a": 1}
    assert outcome.ours["services"]["app"]["x-svc"] == [1, 2]


def test_port_ranges_deduplicate_in_the_clis_order(tmp_path: Path) -> None:
    # A range, a repeat of part of it in short and long form, a UDP twin, a
    # host range onto one port: the order and the survivors are the CLI's.
    paths = write_files(
        tmp_path,
        {
            "stack.yml": 'version: "3.8"\nservices:\n  app:\n    image: nginx:1.27\n'
            "    ports:\n"
            '      - "1-1500:1-1500"\n'
            '      - "80:80"\n'
            "      - {target: 80, published: 80, protocol: tcp, mode: ingress}\n"
            '      - "80:80/udp"\n'
            '      - "9000-9003:7000"\n'
            '      - "1400-1600:1400-1600"\n'
        },
    )
    outcome = run_both(paths)
    outcome.assert_same()
    ports = outcome.ours["services"]["app"]["ports"]
    assert len(ports) == 1600 + 1 + 4
    keys = [(p["target"], p.get("published", 0), p["protocol"]) for p in ports]
    assert len(set(keys)) == len(keys)


CLUSTER_STACK = """\
version: "3.13"
services:
  db:
    image: postgres:16
    volumes:
      - type: cluster
        source: group:pg
        target: /var/lib/postgresql/data
      - type: volume
        source: cache
        target: /cache
        volume: {nocopy: true, subpath: db/cache}
volumes:
  cache: {}
  pgdata:
    driver: csi-local
    x-cluster-spec:
      group: pg
      access_mode:
        scope: multi
        sharing: readonly
        mount_volume: {fs_type: xfs, mount_flags: [noatime]}
      accessibility_requirements:
        requisite: [{segments: {zone: a}}, {segments: [rack=r1]}]
        preferred: [{segments: {zone: b}}]
      capacity_range: {required_bytes: 512M, limit_bytes: "2147483648"}
      secrets: [{key: token, secret: csi}]
      availability: drain
      unread: dropped by the CLI too
    x-other: dropped for a volume that is not external, as by the CLI
  blocky:
    x-cluster-spec: {access_mode: {block_volume: {}}}
"""


def test_cluster_volumes_and_subpath_are_kept_like_the_cli(tmp_path: Path) -> None:
    outcome = run_both(write_files(tmp_path, {"stack.yml": CLUSTER_STACK}))
    outcome.assert_same()
    spec = outcome.ours["volumes"]["pgdata"]["x-cluster-spec"]
    assert spec["capacity_range"] == {"required_bytes": "536870912", "limit_bytes": "2147483648"}
    assert spec["accessibility_requirements"]["requisite"][1] == {"segments": {"rack": "r1"}}
    assert outcome.ours["volumes"]["blocky"] == {
        "x-cluster-spec": {"access_mode": {"block_volume": {}}}
    }
    assert outcome.ours["services"]["db"]["volumes"][1]["volume"]["subpath"] == "db/cache"
    # and the rendered file loads back to the same data
    again = tmp_path / "again.yml"
    again.write_text(outcome.rendered)
    assert load_stack(again, environ={}).to_data() == outcome.ours


@pytest.mark.parametrize(
    ("text", "wanted"),
    [
        ("external: true\n    x-cluster-spec: {group: g}", '"external" and "x-cluster-spec"'),
        ("x-cluster-spec: {capacity_range: {limit_bytes: 2048}}", "must be a string"),
        ("x-cluster-spec: {group: 5}", "string"),
    ],
)
def test_bad_cluster_volumes_are_refused_like_the_cli(
    tmp_path: Path, text: str, wanted: str
) -> None:
    path = tmp_path / "stack.yml"
    path.write_text(
        f'version: "3.13"\nservices:\n  app: {{image: "nginx:1.27"}}\nvolumes:\n  v:\n    {text}\n'
    )
    assert docker_stack_config([path]).returncode != 0
    with pytest.raises(StackValidationError, match=wanted) as caught:
        load_stack(path, environ={})
    # The volume's line (5) or the key's inside it (6), and its key path.
    message = str(caught.value)
    assert message.startswith((f"{path}:5: volumes.v", f"{path}:6: volumes.v")), message


def test_cluster_spec_from_python_by_its_python_name() -> None:
    volume = Volume(cluster_spec=ClusterVolumeSpec(group="pg"))
    assert volume.to_data() == {"x-cluster-spec": {"group": "pg"}}
    assert Volume.model_validate({"x-cluster-spec": {"group": "pg"}}) == volume


OPEN_OBJECTS_STACK = """\
version: "3.13"
services:
  app:
    image: nginx:1.27
    build: {Context: ./ctx, DOCKERFILE: Dockerfile.prod, shm_size: 2g}
    secrets:
      - {source: s1, Target: /run/t, UID: "5", Mode: 0400, unread: 1}
      - {source: ignored, Source: s2}
    configs:
      - {\u017fource: c1}
    volumes:
      - {type: tmpfs, target: /t, tmpfs: {Size: 10, mode: 0777}}
      - {type: bind, source: /x, target: /b, bind: {Propagation: rshared}}
volumes:
  v:
    x-cluster-spec: {Group: g, access_mode: {SCOPE: multi}}
secrets:
  s1: {file: ./s1}
  s2: {file: ./s2}
configs:
  c1: {file: ./c1}
"""


def test_keys_of_open_objects_match_like_the_cli(tmp_path: Path) -> None:
    # Where the schema leaves an object open, the CLI finds a field by its Go
    # name ignoring case (and the exact Go name first): nothing is dropped.
    outcome = run_both(write_files(tmp_path, {"stack.yml": OPEN_OBJECTS_STACK}))
    outcome.assert_same()
    app = outcome.ours["services"]["app"]
    assert app["build"] == {"context": "./ctx", "dockerfile": "Dockerfile.prod"}
    assert app["secrets"] == [
        {"source": "s1", "target": "/run/t", "uid": "5", "mode": 0o400},
        {"source": "s2"},
    ]
    assert app["configs"] == [{"source": "c1"}]
    assert outcome.ours["volumes"]["v"]["x-cluster-spec"] == {
        "group": "g",
        "access_mode": {"scope": "multi"},
    }


def test_keys_that_differ_only_in_case_are_refused(tmp_path: Path) -> None:
    # The CLI would take either one (Go's map order is random): refuse.
    path = tmp_path / "stack.yml"
    path.write_text(
        'version: "3.8"\nservices:\n  app:\n    image: nginx:1.27\n'
        "    secrets:\n      - {source: s, SOURCE: t}\nsecrets:\n  s: {external: true}\n"
    )
    with pytest.raises(StackValidationError, match="'source', 'SOURCE' all set 'source'") as caught:
        load_stack(path, environ={})
    assert str(caught.value).startswith(f"{path}:6: services.app.secrets[0]: ")
