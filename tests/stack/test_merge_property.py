"""Property test: random base/overlay pairs merge exactly as ``docker stack config`` merges.

Hypothesis writes two stack files from a wide grammar of service keys, in
short and long syntax; the real CLI and swarmkit load and merge them; both
must refuse the pair, or both must give the same data.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.stack.docker_cli import require_docker
from tests.stack.oracle import run_both, write_files

names = st.sampled_from(["a", "b", "c"])
words = st.text(alphabet="abcxyz-_.", min_size=1, max_size=6)
values = st.one_of(words, st.integers(-5, 2000), st.sampled_from(["", "0", "yes", "1.5", "$$x"]))
maybe_values = st.one_of(values, st.none())
durations = st.sampled_from(["0s", "1s", "10s", "90s", "1m30s", "500ms", "2h", "1.5s"])
small = st.integers(0, 3)


def mapping(keys: st.SearchStrategy[str], vals: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    as_dict = st.dictionaries(keys, vals, max_size=3)
    as_list = st.lists(
        st.tuples(keys, st.one_of(st.none(), words, st.just(""))),
        max_size=3,
        unique_by=lambda t: t[0],
    ).map(lambda items: [k if v is None else f"{k}={v}" for k, v in items])
    return st.one_of(as_dict, as_list)


env_keys = st.sampled_from(["A", "B", "C", "HOME_SET"])
ports = st.lists(
    st.one_of(
        st.sampled_from([80, 81]),
        st.sampled_from(["8080:80", "9090:90/udp", "8080:81", "7000-7001:7000-7001", "82"]),
        st.fixed_dictionaries(
            {"target": st.sampled_from([80, 81, 90])},
            optional={
                "published": st.sampled_from([8080, 9090, 7000]),
                "mode": st.sampled_from(["host", "ingress"]),
                "protocol": st.sampled_from(["tcp", "udp"]),
            },
        ),
    ),
    max_size=3,
)
mounts = st.lists(
    st.one_of(
        st.sampled_from(
            ["data:/data", "data:/data:ro", "/srv:/srv", "./rel:/rel:rw", "other:/x", "/y"]
        ),
        st.fixed_dictionaries(
            {
                "type": st.sampled_from(["volume", "bind", "tmpfs"]),
                "target": st.sampled_from(["/data", "/x", "/t"]),
            },
            optional={"read_only": st.booleans()},
        ).map(
            lambda m: (
                {**m, "source": "data" if m["type"] == "volume" else "/src"}
                if m["type"] != "tmpfs"
                else m
            )
        ),
    ),
    max_size=3,
)
file_refs = st.lists(
    st.one_of(
        st.sampled_from(["s1", "s2"]),
        st.fixed_dictionaries(
            {"source": st.sampled_from(["s1", "s2"])},
            optional={"target": words, "mode": st.sampled_from([0, 0o400, 0o644])},
        ),
    ),
    max_size=2,
)
update = st.fixed_dictionaries(
    {},
    optional={
        "parallelism": small,
        "delay": durations,
        "order": st.sampled_from(["start-first", "stop-first"]),
        "failure_action": st.sampled_from(["rollback", "pause", ""]),
        "max_failure_ratio": st.sampled_from([0, 0.5, 1]),
        "monitor": durations,
    },
)
deploy = st.fixed_dictionaries(
    {},
    optional={
        "replicas": small,
        "mode": st.sampled_from(["replicated", "global"]),
        "labels": mapping(st.sampled_from(["l1", "l2"]), values),
        "update_config": update,
        "rollback_config": update,
        "restart_policy": st.fixed_dictionaries(
            {},
            optional={
                "condition": st.sampled_from(["any", "on-failure", "none"]),
                "max_attempts": small,
                "delay": durations,
                "window": durations,
            },
        ),
        "resources": st.fixed_dictionaries(
            {},
            optional={
                "limits": st.fixed_dictionaries(
                    {},
                    optional={
                        "cpus": st.sampled_from(["0.5", "1"]),
                        "memory": st.sampled_from(["512M", "1g", "0"]),
                    },
                )
            },
        ),
        "placement": st.fixed_dictionaries(
            {},
            optional={
                "constraints": st.lists(
                    st.sampled_from(["node.role==manager", "node.labels.db==true"]),
                    max_size=2,
                    unique=True,
                ),
                "max_replicas_per_node": small,
            },
        ),
        "endpoint_mode": st.sampled_from(["vip", "dnsrr"]),
    },
)
extension = st.recursive(
    st.one_of(words, st.integers(0, 9), st.booleans(), st.none()),
    lambda inner: st.one_of(
        st.lists(inner, max_size=2),
        st.dictionaries(st.sampled_from(["k", "l", "m"]), inner, max_size=2),
    ),
    max_leaves=4,
)
service = st.fixed_dictionaries(
    {},
    optional={
        "image": st.sampled_from(["nginx:1.22", "app:${TAG:-1}", "x"]),
        "command": st.one_of(
            st.sampled_from(["run", "run --fast 'a b'", ""]), st.lists(words, max_size=2)
        ),
        "entrypoint": st.lists(words, max_size=2),
        "environment": mapping(env_keys, maybe_values),
        "labels": mapping(st.sampled_from(["l1", "l2"]), values),
        "ports": ports,
        "volumes": mounts,
        "secrets": file_refs,
        "configs": file_refs,
        "networks": st.one_of(
            st.lists(st.sampled_from(["n1", "n2"]), unique=True, max_size=2),
            st.dictionaries(
                st.sampled_from(["n1", "n2"]),
                st.one_of(
                    st.none(),
                    st.fixed_dictionaries(
                        {},
                        optional={
                            "aliases": st.lists(words, max_size=2, unique=True),
                            "ipv4_address": st.sampled_from(["10.0.0.2", ""]),
                        },
                    ),
                ),
                max_size=2,
            ),
        ),
        "deploy": deploy,
        "healthcheck": st.fixed_dictionaries(
            {},
            optional={
                "test": st.one_of(st.just("curl -f x"), st.lists(words, max_size=2)),
                "interval": durations,
                "retries": small,
                "disable": st.booleans(),
                "start_period": durations,
            },
        ),
        "cap_add": st.lists(st.sampled_from(["NET_ADMIN", "CHOWN"]), unique=True, max_size=2),
        "cap_drop": st.just(["ALL"]),
        "dns": st.one_of(
            st.just("1.1.1.1"),
            st.lists(st.sampled_from(["8.8.8.8", "9.9.9.9"]), unique=True, max_size=2),
        ),
        "init": st.booleans(),
        "read_only": st.booleans(),
        "tty": st.booleans(),
        "user": st.sampled_from(["", "app", "1000:1000"]),
        "stop_grace_period": durations,
        "ulimits": st.dictionaries(
            st.sampled_from(["nofile", "nproc"]),
            st.one_of(
                st.integers(1, 9),
                st.fixed_dictionaries({"soft": st.integers(1, 9), "hard": st.integers(1, 9)}),
            ),
            max_size=2,
        ),
        "logging": st.fixed_dictionaries(
            {},
            optional={
                "driver": st.sampled_from(["json-file", "syslog"]),
                "options": st.dictionaries(st.sampled_from(["max-size", "tag"]), words, max_size=2),
            },
        ),
        "extra_hosts": st.lists(
            st.sampled_from(["h1:1.2.3.4", "h2=5.6.7.8"]), unique=True, max_size=2
        ),
        "x-ext": extension,
        "build": st.one_of(
            st.just("./app"),
            st.fixed_dictionaries(
                {},
                optional={
                    "context": st.sampled_from([".", "./app"]),
                    "args": mapping(env_keys, maybe_values),
                    "cache_from": st.lists(
                        st.sampled_from(["a:1", "b:2"]), unique=True, max_size=2
                    ),
                    "target": words,
                },
            ),
        ),
        "sysctls": mapping(
            st.sampled_from(["net.core.somaxconn", "kernel.msgmax"]), st.integers(0, 99)
        ),
        "tmpfs": st.one_of(
            st.just("/run"), st.lists(st.sampled_from(["/tmp", "/run"]), unique=True, max_size=2)
        ),
        "expose": st.lists(st.sampled_from([80, "81", "82/udp"]), unique=True, max_size=2),
        "stop_signal": st.sampled_from(["SIGTERM", "SIGINT", ""]),
        "working_dir": st.sampled_from(["/app", ""]),
        "hostname": words,
        "oom_score_adj": st.integers(-5, 5),
        "security_opt": st.lists(
            st.sampled_from(["no-new-privileges", "label:disable"]), unique=True, max_size=2
        ),
        "credential_spec": st.fixed_dictionaries({}, optional={"file": words, "registry": words}),
        "isolation": st.sampled_from(["default", ""]),
        "depends_on": st.lists(st.sampled_from(["a", "b"]), unique=True, max_size=2),
        "restart": st.sampled_from(["always", "no"]),
    },
)
top_objects = st.fixed_dictionaries(
    {},
    optional={
        "networks": st.dictionaries(
            st.sampled_from(["n1", "n2"]),
            st.one_of(
                st.none(),
                st.just({"driver": "overlay"}),
                st.just({"external": True}),
                st.just({"driver": "overlay", "attachable": True, "x-n": 1}),
                st.just({"external": True, "x-n": [1]}),
                st.just({"external": {"name": "real"}}),
                st.just(
                    {
                        "driver": "overlay",
                        "internal": True,
                        "labels": ["a=b"],
                        "ipam": {"config": [{"subnet": "10.9.0.0/24"}]},
                        "driver_opts": {"o": 1},
                    }
                ),
            ),
            max_size=2,
        ),
        "volumes": st.dictionaries(
            st.sampled_from(["data", "other"]),
            st.one_of(
                st.none(),
                st.just({"driver": "local"}),
                st.just({"external": True}),
                st.just({"name": "shared", "labels": {"k": "v"}, "driver_opts": {"type": "nfs"}}),
            ),
            max_size=2,
        ),
        "secrets": st.dictionaries(
            st.sampled_from(["s1", "s2"]),
            st.one_of(
                st.just({"external": True}),
                st.just({"file": "./s.txt"}),
                st.just({"file": "s.txt", "x-s": [1]}),
                st.just({"external": {"name": "real_s"}}),
                st.just(
                    {"file": "s.txt", "labels": ["a=1"], "name": "n", "template_driver": "golang"}
                ),
                st.just({"driver": "vault", "driver_opts": {"path": "p"}}),
            ),
            max_size=2,
        ),
        "configs": st.dictionaries(
            st.sampled_from(["s1", "s2"]),
            st.one_of(st.just({"external": True}), st.just({"file": "./c.conf", "name": "cfg"})),
            max_size=2,
        ),
        "x-top": extension,
    },
)
stack = st.tuples(st.dictionaries(names, service, max_size=2), top_objects).map(
    lambda parts: {"version": "3.13", "services": parts[0], **parts[1]}
)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(base=stack, overlay=stack, second=st.one_of(st.none(), stack))
def test_random_pairs_merge_like_the_cli(
    base: dict[str, Any], overlay: dict[str, Any], second: dict[str, Any] | None
) -> None:
    require_docker()
    files = {"base.yml": base, "overlay.yml": overlay}
    if second is not None:
        files["second.yml"] = second
    with tempfile.TemporaryDirectory() as tmp:
        paths = write_files(Path(tmp), {name: yaml.safe_dump(data) for name, data in files.items()})
        outcome = run_both(paths, {"HOME_SET": "from-env", "TAG": "2"})
        event("both refused" if outcome.cli_error else "both merged")
        outcome.assert_same()
        if outcome.our_error is None:
            # The rendered file is a stack file in its own right: the CLI reads
            # it to the same data, and so do we, whatever the environment.
            rendered = write_files(Path(tmp) / "out", {"stack.yml": outcome.rendered})
            again = run_both(rendered, {})
            assert not again.cli_error, again.cli_error
            assert again.cli == outcome.cli
            assert again.ours == outcome.ours
