"""Merge and load, compared case by case with the real ``docker stack config``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.stack.oracle import Outcome, run_both, write_files

V = 'version: "3.13"\n'

CASES: dict[str, tuple[str, str]] = {
    "replicas-override-and-zero": (
        "services:\n  a: {image: x, deploy: {replicas: 3}}\n  b: {image: x, deploy: {replicas: 2}}\n",
        "services:\n  a: {deploy: {replicas: 5}}\n  b: {deploy: {replicas: 0}}\n",
    ),
    "environment-empty-values-do-not-override": (
        "services:\n  a:\n    image: x\n    environment: {A: '1', B: '2', C: '', D: '4'}\n",
        "services:\n  a:\n    environment: {A: '9', B: '', C: '3', E: '5'}\n",
    ),
    "environment-list-form-with-bare-names": (
        "services:\n  a:\n    image: x\n    environment: [A=1, B=2, SET_IN_ENV]\n",
        "services:\n  a:\n    environment: [B, A=, C=3, UNSET]\n",
    ),
    "ports-keyed-by-published-and-sorted": (
        "services:\n  a:\n    image: x\n    ports: ['9000:90', '8000:80', {target: 81, published: 8000, mode: host}]\n",
        "services:\n  a:\n    ports: ['8000:8080/udp', '7000:70']\n",
    ),
    "ports-of-base-sorted-even-without-overlay-ports": (
        "services:\n  a:\n    image: x\n    ports: ['9000:90', '80', '81']\n",
        "services:\n  a:\n    image: y\n",
    ),
    "ports-base-absent-keeps-overlay-order": (
        "services:\n  a: {image: x}\n",
        "services:\n  a:\n    ports: ['9000:90', '8000:80', '80', '81']\n",
    ),
    "volumes-keyed-by-target": (
        "services:\n  a:\n    image: x\n    volumes: ['data:/data', '/host:/b:ro', {type: tmpfs, target: /tmp}]\n"
        "volumes: {data: {}, other: {}}\n",
        "services:\n  a:\n    volumes: ['other:/data:ro', {type: volume, source: other, target: /c}]\n",
    ),
    "secrets-and-configs-keyed-by-source": (
        "services:\n  a:\n    image: x\n    secrets: [s2, {source: s1, target: one, mode: 0400}]\n"
        "    configs: [c1]\nsecrets: {s1: {external: true}, s2: {external: true}}\n"
        "configs: {c1: {external: true}, c2: {external: true}}\n",
        "services:\n  a:\n    secrets: [{source: s1, target: uno}]\n    configs: [c2, {source: c1, mode: 0}]\n",
    ),
    "command-replaced-lists-appended": (
        "services:\n  a:\n    image: x\n    command: run --fast\n    entrypoint: [/bin/sh, -c]\n"
        "    cap_add: [NET_ADMIN]\n    cap_drop: [ALL]\n    dns: 1.1.1.1\n"
        "    deploy: {placement: {constraints: [node.role==worker], preferences: [{spread: node.id}]}}\n",
        "services:\n  a:\n    command: ['serve', 'now']\n    cap_add: [SYS_TIME]\n    dns: [8.8.8.8]\n"
        "    deploy: {placement: {constraints: [node.labels.db==true]}}\n",
    ),
    "empty-command-does-not-replace": (
        "services:\n  a: {image: x, command: run}\n",
        "services:\n  a: {command: []}\n",
    ),
    "healthcheck-fields-merge-and-test-appends": (
        "services:\n  a:\n    image: x\n    healthcheck: {test: [CMD, a], interval: 10s, retries: 3, timeout: 5s}\n",
        "services:\n  a:\n    healthcheck: {test: curl -f x, interval: 0s, retries: 0, start_period: 1m}\n",
    ),
    "labels-per-key-even-empty": (
        "services:\n  a:\n    image: x\n    labels: {a: '1', b: '2'}\n    deploy: {labels: [x=1, y=2]}\n",
        "services:\n  a:\n    labels: {b: '', c: '3'}\n    deploy: {labels: [y=, z=3]}\n",
    ),
    "top-level-objects-replaced-per-key": (
        "services:\n  a: {image: x}\nnetworks:\n  n1: {driver: overlay, attachable: true, labels: {a: b}}\n"
        "  n2: {driver: overlay}\nvolumes:\n  v1: {driver: local, driver_opts: {o: bind}}\n"
        "secrets:\n  s1: {file: ./one.txt}\nconfigs:\n  c1: {file: ./c1.conf, labels: [k=v]}\n",
        "services: {}\nnetworks:\n  n1: {driver: overlay}\n  n3: {external: true}\n"
        "volumes:\n  v1: {external: true}\nsecrets:\n  s1: {external: true, name: prod_s1}\n"
        "configs:\n  c1: {file: ./c1.prod.conf}\n",
    ),
    "logging-same-driver-merges-options": (
        "services:\n  a:\n    image: x\n    logging: {driver: json-file, options: {max-size: 10m, max-file: '3'}}\n"
        "  b:\n    image: x\n    logging: {driver: json-file, options: {max-size: 10m}}\n"
        "  c:\n    image: x\n    logging: {driver: json-file}\n"
        "  d:\n    image: x\n    logging: {driver: json-file, options: {}}\n",
        "services:\n  a:\n    logging: {options: {max-size: 20m}}\n"
        "  b:\n    logging: {driver: syslog, options: {tag: app}}\n"
        "  c:\n    logging: {options: {max-size: 1m}}\n"
        "  d:\n    logging: {options: {max-size: 1m}}\n",
    ),
    "networks-aliases-and-forms": (
        "services:\n  a:\n    image: x\n    networks:\n      front: {aliases: [web], ipv4_address: 10.0.0.2}\n"
        "      back:\n      mid: {aliases: [m]}\nnetworks: {front: {}, back: {}, mid: {}}\n",
        "services:\n  a:\n    networks:\n      front: {aliases: [www]}\n      back: {aliases: [db]}\n      mid:\n",
    ),
    "ulimits-replace-per-key": (
        "services:\n  a:\n    image: x\n    ulimits: {nofile: {soft: 1024, hard: 2048}, nproc: 100}\n",
        "services:\n  a:\n    ulimits: {nofile: 4096, core: {soft: 0, hard: 1}}\n",
    ),
    "extensions-merge-deeply": (
        "x-top: {a: 1}\nservices:\n  a:\n    image: x\n"
        "    x-swarmkit: {lint-ignore: [SK101], nested: {k: 1, l: [1]}, s: a}\n",
        "x-top: {b: 2}\nx-other: 3\nservices:\n  a:\n"
        "    x-swarmkit: {lint-ignore: [SK102], nested: {m: 2, l: [2]}, s: ''}\n    x-new: 1\n",
    ),
    "zero-values-never-override": (
        "services:\n  a:\n    image: x\n    init: true\n    read_only: true\n    user: app\n"
        "    stop_grace_period: 30s\n    tty: true\n"
        "    deploy:\n      update_config: {parallelism: 2, delay: 10s, order: start-first, max_failure_ratio: 0.5}\n"
        "      restart_policy: {condition: on-failure, max_attempts: 3, delay: 5s}\n",
        "services:\n  a:\n    init: false\n    read_only: false\n    user: ''\n    stop_grace_period: 0s\n"
        "    deploy:\n      update_config: {parallelism: 0, delay: 0s, max_failure_ratio: 0}\n"
        "      restart_policy: {max_attempts: 0, delay: 0s, window: 0s}\n",
    ),
    "pointer-structs-filled-from-overlay": (
        "services:\n  a: {image: x}\n",
        "services:\n  a:\n    init: false\n    stop_grace_period: 0s\n    healthcheck: {disable: true}\n"
        "    deploy: {update_config: {}, rollback_config: {parallelism: 0}, resources: {limits: {memory: 1g}}}\n",
    ),
    "resources-merge": (
        "services:\n  a:\n    image: x\n    deploy:\n      resources:\n"
        "        limits: {cpus: '0.5', memory: 512M}\n        reservations: {memory: 128M}\n",
        "services:\n  a:\n    deploy:\n      resources:\n        limits: {memory: 1G}\n"
        "        reservations: {cpus: '0.25', generic_resources: [{discrete_resource_spec: {kind: gpu, value: 1}}]}\n",
    ),
    "new-service-from-overlay": (
        "services:\n  a: {image: x}\n",
        "services:\n  b: {image: y, ports: ['80', '80:80']}\n",
    ),
    "build-and-ignored-keys-load": (
        "services:\n  a:\n    image: x\n    build: ./app\n    container_name: c\n    depends_on: [b]\n"
        "    restart: always\n    links: [b]\n  b: {image: y, build: {context: ., args: [A=1, B]}}\n",
        "services:\n  a:\n    build: {dockerfile: Dockerfile.prod, args: {X: '1'}}\n  b:\n    build: {args: {A: '', B: '2'}}\n",
    ),
    "external-object-names": (
        "services:\n  a: {image: x}\nnetworks:\n  n1: {external: true}\n  n2: {external: {name: real}}\n"
        "secrets:\n  s1: {external: true}\n  s2: {external: {name: real_s2}}\n"
        "configs:\n  c1: {external: true, name: named}\nvolumes:\n  v1: {external: true, x-keep: 1}\n  v2: {x-drop: 1}\n",
        "services: {}\n",
    ),
    "extra-hosts-forms": (
        "services:\n  a:\n    image: x\n    extra_hosts: ['h1:1.2.3.4', 'h2=5.6.7.8']\n",
        "services:\n  a:\n    extra_hosts: {h3: '::1', h4: '[::2]'}\n",
    ),
    "sysctls-and-expose": (
        "services:\n  a:\n    image: x\n    sysctls: [net.core.somaxconn=1024]\n    expose: [80, '81']\n",
        "services:\n  a:\n    sysctls: {net.ipv4.tcp_syncookies: 0}\n    expose: [82]\n",
    ),
    "open-objects-ignore-unknown-keys": (
        "services:\n  a:\n    image: x\n    pid: null\n    build: {context: ., shm_size: 1g, foo: 1}\n"
        "    secrets: [{source: s, whatever: 1}]\n"
        "    volumes: [{type: bind, source: /a, target: /b, bind: {create_host_path: true}}]\n"
        "    deploy: {replicas: 2.0}\n    healthcheck: {retries: 2.5}\n"
        "secrets: {s: {external: {name: q, other: 1}}}\n",
        "services:\n  a:\n    configs: [{source: c, mode: 292.9}]\nconfigs: {c: {external: true}}\n",
    ),
    "anchors-merge-keys-and-binary": (
        "x-defaults: &defaults {image: 'nginx:1.22', deploy: {replicas: 2}}\n"
        "services:\n  a: {<<: *defaults, command: run}\n  b: {<<: *defaults, image: !!binary bmdpbng6MS4yMw==}\n",
        "services:\n  a: {deploy: {replicas: 3}}\n",
    ),
    "go-yaml-scalars": (
        "services:\n  a:\n    image: x\n    environment: {A: yes, B: 0644, C: 08, D: 1.0, E: 1e8, F: 1_000, G: 0x1F,"
        " H: on, I: 2001-12-14, J: 12.50, K: -0.0001, L: 1234567.0}\n    labels: {n: null}\n"
        "  b:\n    image: x\n    environment: {A: 1e21, B: 0.000012, C: -0, D: +5, E: .5, F: 0o17,"
        " G: 0b101, H: 1.5e-7, I: 12e3, J: 123456.7, K: 1234567.8, M: 9223372036854775807,"
        " N: 18446744073709551615, O: 18446744073709551616, P: 2001-12-14t21:59:43.10-05:00,"
        " Q: 2001-12-14 21:59:43.10 -5, Y: 2001-12-14 21:59:43.10, Z: 2001-1-2t1:2:3Z, R: 0x_1F, S: 1__0, U: 100.0, V: 1.0e+2, X: 0.}\n",
        "services: {}\n",
    ),
}

ERROR_CASES: dict[str, tuple[str, str]] = {
    "unknown-service-key": ("services:\n  a: {image: x, imagee: y}\n", "services: {}\n"),
    "unknown-deploy-key": ("services:\n  a: {image: x, deploy: {replica: 2}}\n", "services: {}\n"),
    "forbidden-key": ("services:\n  a: {image: x, cpu_shares: 2}\n", "services: {}\n"),
    "version-mismatch": ("services:\n  a: {image: x}\n", 'version: "3.8"\nservices: {}\n'),
    "bad-duration": ("services:\n  a: {image: x, stop_grace_period: 10}\n", "services: {}\n"),
    "string-replicas": ("services:\n  a: {image: x, deploy: {replicas: two}}\n", "services: {}\n"),
    "memory-as-number": (
        "services:\n  a: {image: x, deploy: {resources: {limits: {memory: 1000}}}}\n",
        "services: {}\n",
    ),
    "config-with-driver": (
        "services:\n  a: {image: x}\nconfigs: {c: {driver: foo}}\n",
        "services: {}\n",
    ),
    "cluster-mount": (
        "services:\n  a: {image: x, volumes: [{type: cluster, source: c, target: /c, cluster: {}}]}\n",
        "services: {}\n",
    ),
    "mount-without-type": (
        "services:\n  a: {image: x, volumes: [{source: a, target: /b}]}\n",
        "services: {}\n",
    ),
    "ulimit-without-hard": (
        "services:\n  a: {image: x, ulimits: {nofile: {soft: 10}}}\n",
        "services: {}\n",
    ),
    "fractional-replicas": (
        "services:\n  a: {image: x, deploy: {replicas: 2.5}}\n",
        "services: {}\n",
    ),
    "negative-tmpfs-size": (
        "services:\n  a: {image: x, volumes: [{type: tmpfs, target: /t, tmpfs: {size: -1}}]}\n",
        "services: {}\n",
    ),
    "non-string-key": ("services:\n  a: {image: x, environment: {1: a}}\n", "services: {}\n"),
    "external-name-not-a-string": (
        "services: {}\nsecrets: {s: {external: {name: [1]}}}\n",
        "services: {}\n",
    ),
    "recursive-alias": ("services:\n  a: {image: x, x-a: &a [*a]}\n", "services: {}\n"),
    "bad-service-name": ("services:\n  'a b': {image: x}\n", "services: {}\n"),
    "excessive-aliasing": (
        "x-a: &a [1,1,1,1,1,1,1,1,1,1]\nx-b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
        "x-c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nx-d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
        "x-e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\nx-f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
        "x-g: [*f,*f,*f,*f,*f,*f,*f,*f,*f,*f]\nservices: {}\n",
        "services: {}\n",
    ),
    "infinity-anywhere": ("services:\n  a: {image: x, x-k: [-.inf]}\n", "services: {}\n"),
    "bool-in-environment": (
        "services:\n  a: {image: x, environment: {A: true}}\n",
        "services: {}\n",
    ),
    "duplicate-port": ("services:\n  a: {image: x, ports: ['80', '80']}\n", "services: {}\n"),
    "bad-order": (
        "services:\n  a: {image: x, deploy: {update_config: {order: first}}}\n",
        "services: {}\n",
    ),
    "required-variable": ("services:\n  a: {image: 'x:${TAG:?set TAG}'}\n", "services: {}\n"),
    "extension-type-clash": (
        "services:\n  a: {image: x, x-k: {l: a}}\n",
        "services:\n  a: {x-k: {l: [1]}}\n",
    ),
}


def _env() -> dict[str, str]:
    return {"SET_IN_ENV": "from-env", "A": "env-a", "UNSET_LATER": ""}


@pytest.fixture(scope="module")
def merged(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Outcome]:
    """Each case's files run through both once, for the two tests that read the outcome."""
    outcomes: dict[str, Outcome] = {}

    def outcome_of(case: str) -> Outcome:
        if case not in outcomes:
            base, overlay = CASES[case]
            root = tmp_path_factory.mktemp(case)
            (root / "one.txt").write_text("one")
            paths = write_files(root, {"base.yml": V + base, "overlay.yml": V + overlay})
            outcomes[case] = run_both(paths, _env())
        return outcomes[case]

    return outcome_of


@pytest.mark.parametrize("case", sorted(CASES))
def test_merge_matches_docker_stack_config(merged: Callable[[str], Outcome], case: str) -> None:
    outcome = merged(case)
    assert not outcome.cli_error, outcome.cli_error
    assert outcome.our_error is None, str(outcome.our_error)
    assert outcome.ours == outcome.cli


@pytest.mark.parametrize("case", sorted(ERROR_CASES))
def test_refused_by_both(tmp_path: Path, case: str) -> None:
    base, overlay = ERROR_CASES[case]
    paths = write_files(tmp_path, {"base.yml": V + base, "overlay.yml": overlay})
    if case != "version-mismatch":
        paths[1].write_text(V + overlay)
    message = str(run_both(paths, {}).assert_refused_by_both())
    assert "base.yml" in message or "overlay.yml" in message
    assert "\n" not in message


@pytest.mark.parametrize("case", sorted(CASES))
def test_rendered_output_is_accepted_and_stable(
    tmp_path: Path, merged: Callable[[str], Outcome], case: str
) -> None:
    first = merged(case)
    assert first.rendered, "swarmkit rendered nothing"
    rendered = write_files(tmp_path / "out", {"rendered.yml": first.rendered})
    again = run_both(rendered, {})
    assert not again.cli_error, again.cli_error
    assert again.cli == first.cli
    assert again.rendered == first.rendered


VERSION_GATED: dict[str, tuple[str, str]] = {
    "configs-in-3.0": (
        "3.0",
        "services:\n  a: {image: x, configs: [c]}\nconfigs: {c: {file: ./c}}\n",
    ),
    "secrets-in-3.0": ("3.0", "services:\n  a: {image: x}\nsecrets: {s: {file: ./s}}\n"),
    "top-extension-in-3.3": ("3.3", "x-top: 1\nservices:\n  a: {image: x}\n"),
    "service-extension-in-3.6": ("3.6", "services:\n  a: {image: x, x-s: 1}\n"),
    "extension-in-deploy": ("3.13", "services:\n  a: {image: x, deploy: {x-d: 1}}\n"),
    "pids-in-3.8": (
        "3.8",
        "services:\n  a: {image: x, deploy: {resources: {limits: {pids: 2}}}}\n",
    ),
    "name-on-volume-in-3.3": ("3.3", "services:\n  a: {image: x}\nvolumes: {v: {name: real}}\n"),
    "rollback-config-in-3.6": (
        "3.6",
        "services:\n  a: {image: x, deploy: {rollback_config: {}}}\n",
    ),
    "start-interval-in-3.11": (
        "3.11",
        "services:\n  a: {image: x, healthcheck: {start_interval: 1s}}\n",
    ),
}


@pytest.mark.parametrize("case", sorted(VERSION_GATED))
def test_keys_newer_than_the_file_version_are_refused_by_both(tmp_path: Path, case: str) -> None:
    version, body = VERSION_GATED[case]
    paths = write_files(tmp_path, {"stack.yml": f'version: "{version}"\n{body}'})
    assert run_both(paths, {}).assert_refused_by_both().line is not None


@pytest.mark.parametrize("version", ["3.4", "3.7", "3.9", "3.13"])
def test_extensions_where_the_version_allows_them(tmp_path: Path, version: str) -> None:
    service_ext = "    x-s: 1\n" if int(version.split(".")[1]) >= 7 else ""
    text = f'version: "{version}"\nx-top: {{a: 1}}\nservices:\n  a:\n    image: x\n{service_ext}'
    outcome = run_both(write_files(tmp_path, {"stack.yml": text}), {})
    assert not outcome.cli_error, outcome.cli_error
    outcome.assert_same()
