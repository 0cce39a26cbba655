"""``swarmkit lint``: every rule fires on its case and stays quiet on the near miss."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from swarmkit.cli import main
from swarmkit.exceptions import StackError
from swarmkit.stack import Service, Stack, load_stack
from swarmkit.stack.lint import (
    RULES,
    LintFinding,
    Rule,
    Severity,
    format_json,
    format_text,
    has_errors,
    lint_stack,
)
from swarmkit.stack.lint_registry import Hit, RuleSet, join_rules
from tests.stack.docker_cli import docker_stack_config
from tests.stack.test_lint_security import SECURITY_CASES

V = 'version: "3.8"\n'
ROOT = Path(__file__).resolve().parents[2]


def stack(text: str) -> Stack:
    return Stack.model_validate(yaml.safe_load(text))


def lint(text: str) -> list[LintFinding]:
    return lint_stack(stack(text))


def codes(text: str) -> list[str]:
    return [f.code for f in lint(text)]


def svc(body: str, top: str = "") -> str:
    """A stack with one service ``app`` whose keys are ``body`` (4-space indented)."""
    return V + "services:\n  app:\n" + body + top


# (rule, stack text, fires?). Each rule has cases that fire and near misses that
# must not; only the rule under test is asserted, other rules may fire too.
CASES: list[tuple[str, str, bool]] = [
    # SK101 image tag
    ("SK101", svc("    image: nginx\n"), True),
    ("SK101", svc("    image: nginx:latest\n"), True),
    ("SK101", svc("    image: registry.local:5000/team/app\n"), True),
    ("SK101", svc("    read_only: true\n"), True),
    ("SK101", svc("    image: ':3f2a9c1'\n"), True),
    ("SK105", svc("    image: nginx:1.27\n    healthcheck: {test: [CMD, a, CMD-SHELL, b]}\n"), True),
    ("SK105", svc("    image: nginx:1.27\n    healthcheck: {test: [CMD, curl, -f, CMD]}\n"), True),
    ("SK105", svc("    image: nginx:1.27\n    healthcheck: {test: curl -f x}\n"), False),
    ("SK101", svc("    image: registry.example.com/:3f2a9c1\n"), True),
    ("SK101", svc("    image: nginx:1.27\n"), False),
    ("SK101", svc("    image: registry.local:5000/team/app:3f2a9c1\n"), False),
    ("SK101", svc("    image: nginx@sha256:" + "a" * 64 + "\n"), False),
    ("SK101", svc("    image: nginx:latest@sha256:" + "b" * 64 + "\n"), False),
    # SK102 start-first without healthcheck
    ("SK102", svc("    image: a:1\n    deploy: {update_config: {order: start-first}}\n"), True),
    ("SK102", svc("    image: a:1\n    healthcheck: {disable: true}\n"
                  "    deploy: {update_config: {order: start-first}}\n"), True),
    ("SK102", svc("    image: a:1\n    healthcheck: {test: [NONE]}\n"
                  "    deploy: {update_config: {order: start-first}}\n"), True),
    ("SK102", svc("    image: a:1\n    deploy: {rollback_config: {order: start-first}}\n"), True),
    ("SK102", svc("    image: a:1\n    healthcheck: {test: [CMD, ok]}\n"
                  "    deploy: {update_config: {order: start-first}}\n"), False),
    ("SK102", svc("    image: a:1\n    healthcheck: {test: curl -f localhost}\n"
                  "    deploy: {rollback_config: {order: start-first}}\n"), False),
    ("SK102", svc("    image: a:1\n    deploy: {update_config: {order: stop-first}}\n"), False),
    # SK103 update_config without rollback
    ("SK103", svc("    image: a:1\n"), True),
    ("SK103", svc("    image: a:1\n    deploy: {update_config: {parallelism: 1}}\n"), True),
    ("SK103", svc("    image: a:1\n    deploy: {update_config: {failure_action: pause}}\n"), True),
    ("SK103", svc("    image: a:1\n    deploy: {update_config: {failure_action: rollback}}\n"),
     False),
    ("SK103", svc("    image: a:1\n    deploy: {mode: replicated-job}\n"), False),
    # SK104 one replica, stop-first
    ("SK104", svc("    image: a:1\n"), True),
    ("SK104", svc("    image: a:1\n"
                  "    deploy: {replicas: 1, update_config: {order: stop-first}}\n"), True),
    ("SK104", svc("    image: a:1\n    deploy: {replicas: 2}\n"), False),
    ("SK104", svc("    image: a:1\n    deploy: {replicas: 0}\n"), False),
    ("SK104", svc("    image: a:1\n    deploy: {mode: global}\n"), False),
    ("SK104", svc("    image: a:1\n    healthcheck: {test: [CMD, ok]}\n"
                  "    deploy: {update_config: {order: start-first}}\n"), False),
    ("SK104", svc("    image: postgres:16\n"), False),
    # SK201 undefined references
    ("SK201", svc("    image: a:1\n    secrets: [s]\n"), True),
    ("SK201", svc("    image: a:1\n    configs: [{source: c, target: /c}]\n"), True),
    ("SK201", svc("    image: a:1\n    networks: [back]\n"), True),
    ("SK201", svc("    image: a:1\n    volumes: ['data:/data']\n"), True),
    ("SK201", svc("    image: a:1\n    secrets: [s]\n    configs: [c]\n    networks: [back]\n"
                  "    volumes: ['data:/data']\n",
                  "secrets: {s: {external: true}}\nconfigs: {c: {file: ./c}}\n"
                  "networks: {back: {}}\nvolumes: {data: {}}\n"), False),
    ("SK201", svc("    image: a:1\n    volumes: ['./data:/data', '/srv:/srv', '/anon',"
                  " {type: tmpfs, target: /tmp}]\n"), False),
    ("SK201", svc("    image: a:1\n"), False),
    ("SK201", svc("    image: a:1\n    networks: [default]\n"), False),
    # SK202 non-overlay networks
    ("SK202", V + "services: {}\nnetworks: {n: {driver: bridge}}\n", True),
    ("SK202", V + "services: {}\nnetworks: {n: {driver: host}}\n", True),
    ("SK202", V + "services: {}\nnetworks: {n: {driver: overlay}}\n", False),
    ("SK202", V + "services: {}\nnetworks: {n: {}}\n", False),
    ("SK202", V + "services: {}\nnetworks: {n: {external: true, name: host}}\n", False),
    # SK301 capabilities
    ("SK301", svc("    image: a:1\n"), True),
    ("SK301", svc("    image: a:1\n    cap_drop: [NET_RAW]\n"), True),
    ("SK301", svc("    image: postgres:16\n"), True),
    ("SK301", svc("    image: a:1\n    cap_drop: [ALL]\n"), False),
    ("SK301", svc("    image: a:1\n    cap_drop: [all]\n    cap_add: [NET_BIND_SERVICE]\n"),
     False),
    # SK302 docker socket
    ("SK302", svc("    image: a:1\n"
                  "    volumes: ['/var/run/docker.sock:/var/run/docker.sock:ro']\n"), True),
    ("SK302", svc("    image: a:1\n    volumes:\n      - {type: bind, source: /run/docker.sock,"
                  " target: /d.sock}\n"), True),
    ("SK302", svc("    image: a:1\n    volumes: ['/var/run:/host/run']\n"), True),
    ("SK302", svc("    image: a:1\n    volumes: ['/var/lib/app:/data', './run:/run']\n"), False),
    ("SK302", svc("    image: a:1\n    volumes: ['/var/run/docker.sock.d:/d']\n"), False),
    # SK303 secret-looking environment
    ("SK303", svc("    image: a:1\n    environment: {DB_PASSWORD: hunter2}\n"), True),
    ("SK303", svc("    image: a:1\n    environment: [api_token=abc]\n"), True),
    ("SK303", svc("    image: a:1\n    environment: {SECRET_KEY: x, AWS_ACCESS_KEY_ID: y}\n"),
     True),
    ("SK303", svc("    image: a:1\n    environment: {DB_PASSWORD_FILE: /run/secrets/db}\n"), False),
    ("SK303", svc("    image: a:1\n    environment: [DB_PASSWORD, 'TOKEN=']\n"), False),
    ("SK303", svc("    image: a:1\n    environment: {DEBUG: '1', PORT: '8000'}\n"), False),
    # SK304 database port published
    ("SK304", svc("    image: a:1\n    ports: ['5432:5432']\n"), True),
    ("SK304", svc("    image: postgres:16\n    ports: ['15432:5432']\n"), True),
    ("SK304", svc("    image: bitnami/redis:7\n    ports: [{target: 6379, published: 6379,"
                  " mode: host}]\n"), True),
    ("SK304", svc("    image: elasticsearch:8.15.0\n    ports: ['9200:9200']\n"), True),
    ("SK304", svc("    image: nginx:1.27\n    ports: ['80:8080', '443:8443']\n"), False),
    ("SK304", svc("    image: postgres:16\n"), False),
    # SK401 database restart policy
    ("SK401", svc("    image: postgres:16\n"), True),
    ("SK401", svc("    image: mariadb:11\n    deploy: {restart_policy: {condition: any}}\n"), True),
    ("SK401", svc("    image: mongo:7\n    deploy: {restart_policy: {delay: 5s}}\n"), True),
    ("SK401", svc("    image: postgres:16\n"
                  "    deploy: {restart_policy: {condition: on-failure}}\n"), False),
    ("SK401", svc("    image: nginx:1.27\n"), False),
    # SK402 stateful service not pinned
    ("SK402", svc("    image: a:1\n    volumes: ['data:/data']\n", "volumes: {data: {}}\n"), True),
    ("SK402", svc("    image: a:1\n    volumes: ['data:/data']\n"
                  "    deploy: {placement: {constraints: [node.role == manager]}}\n",
                  "volumes: {data: {}}\n"), True),
    ("SK402", svc("    image: a:1\n    volumes: ['data:/data']\n"
                  "    deploy: {placement: {constraints: [node.hostname != n1]}}\n",
                  "volumes: {data: {external: true}}\n"), True),
    ("SK402", svc("    image: a:1\n    volumes: ['data:/data']\n"
                  "    deploy: {placement: {constraints: [node.labels.db == true]}}\n",
                  "volumes: {data: {}}\n"), False),
    ("SK402", svc("    image: a:1\n    volumes: ['data:/data']\n"
                  "    deploy: {placement: {constraints: ['node.hostname==n1']}}\n",
                  "volumes: {data: {}}\n"), False),
    ("SK402", svc("    image: a:1\n    volumes: ['data:/data']\n    deploy: {mode: global}\n",
                  "volumes: {data: {}}\n"), False),
    ("SK402", svc("    image: a:1\n    volumes: ['./data:/data', '/anon']\n"), False),
    ("SK402", svc("    image: a:1\n    volumes: ['data:/data']\n",
                  "volumes: {data: {driver: rexray/efs}}\n"), False),
    ("SK402", svc("    image: a:1\n    volumes: ['data:/data']\n",
                  "volumes: {data: {driver_opts: {type: nfs, o: addr=nas, device: ':/d'}}}\n"),
     False),
    # SK501 keys Swarm ignores
    ("SK501", svc("    image: a:1\n    build: .\n"), True),
    ("SK501", svc("    image: a:1\n    container_name: web\n"), True),
    ("SK501", svc("    image: a:1\n    depends_on: [db]\n"), True),
    ("SK501", svc("    image: a:1\n    restart: always\n"), True),
    ("SK501", svc("    image: a:1\n    ipc: shareable\n"), True),
    # privileged: true is SK305's, which says that stack deploy ignores it.
    ("SK501", svc("    image: a:1\n    privileged: true\n"), False),
    ("SK501", svc("    image: a:1\n    expose: ['8000']\n"), True),
    ("SK501", svc("    image: a:1\n    tmpfs: [/tmp]\n"), True),
    ("SK501", svc("    image: a:1\n    volumes: [{type: tmpfs, target: /tmp}]\n"), False),
    ("SK501", svc("    image: a:1\n    privileged: false\n    restart: ''\n    expose: []\n"),
     False),
]  # fmt: skip


@pytest.mark.parametrize(("code", "text", "fires"), CASES)
def test_rule_fires_or_not(code: str, text: str, fires: bool) -> None:
    found = [f for f in lint(text) if f.code == code]
    assert bool(found) is fires, found
    for f in found:
        assert f.severity is RULES[code].severity
        assert f.message and f.fix and "\n" not in f.message + f.fix


def test_every_rule_has_a_firing_case_and_a_near_miss() -> None:
    covered = {(code, fires) for code, _, fires in CASES + SECURITY_CASES}
    for code in set(RULES) - {"SK000"}:
        assert (code, True) in covered and (code, False) in covered, code


def test_rules_table() -> None:
    assert list(RULES) == sorted(RULES)
    for code, rule in RULES.items():
        assert re.fullmatch(r"SK\d{3}", code) and rule.code == code
        assert rule.title and rule.fix and "\n" not in rule.title + rule.fix
        assert isinstance(rule.severity, Severity)


def test_docs_table_is_the_registry() -> None:
    docs = (ROOT / "docs" / "lint.md").read_text()
    rows = [line for line in docs.splitlines() if re.match(r"\| SK\d{3} \|", line)]
    table = [tuple(cell.strip() for cell in row.strip("|").split(" | ")) for row in rows]
    registry = [(r.code, r.severity.value, r.title, r.fix) for r in RULES.values()]
    assert table == registry  # same rules, same order, same words, no row left over


def test_a_check_cannot_report_another_code() -> None:
    # A hit carries no code: the rule that ran the check stamps its own.
    assert "code" not in Hit._fields
    rules = RuleSet()

    @rules.service_rule("SK900", Severity.INFO, title="t", fix="f")
    def check(stack: Stack, name: str, service: Service) -> Iterator[Hit]:
        yield Hit(("services", name), "m")

    (rule,) = rules
    (hit,) = rule.hits(stack(svc("    image: a:1\n")))
    assert (rule.code, hit.service, hit.key_path) == ("SK900", "app", "services.app")
    for code, registered in RULES.items():
        assert registered.code == code and registered.check is not None, code
    assert {f.code for f in lint(MESSY)} <= set(RULES)


def test_registering_a_bad_or_second_code_fails() -> None:
    rules = RuleSet()

    def check(stack: Stack) -> Iterator[Hit]:
        yield from ()

    rules.stack_rule("SK900", Severity.INFO, title="t", fix="f")(check)
    with pytest.raises(ValueError, match="registered twice"):
        rules.stack_rule("SK900", Severity.ERROR, title="t", fix="f")(check)
    with pytest.raises(ValueError, match="three digits"):
        rules.stack_rule("X1", Severity.ERROR, title="t", fix="f")(check)
    with pytest.raises(ValueError, match="no check"):
        rules.add(Rule("SK901", Severity.ERROR, "t", "f"))
    again = RuleSet()
    again.stack_rule("SK900", Severity.INFO, title="t", fix="f")(check)
    with pytest.raises(ValueError, match="SK900 is registered twice"):
        join_rules(rules, again)


def test_a_check_that_yields_no_hit_is_refused() -> None:
    def check(stack: Stack) -> Iterator[Hit]:
        yield ("SK999", "services", "m")  # type: ignore[misc]

    rule = Rule("SK900", Severity.ERROR, "t", "f", check)
    with pytest.raises(TypeError, match="not a Hit"):
        list(rule.hits(stack(V)))


def test_findings_name_the_key() -> None:
    (finding,) = [
        f
        for f in lint(
            svc("    image: a:1\n    secrets: [ok, s]\n", "secrets: {ok: {external: true}}\n")
        )
        if f.code == "SK201"
    ]
    assert finding.service == "app"
    assert finding.key_path == "services.app.secrets[1]"
    assert "secret s " in finding.message
    (net,) = lint(V + "services: {}\nnetworks: {n: {driver: bridge}}\n")
    assert (net.service, net.key_path) == (None, "networks.n.driver")


def test_one_finding_per_ignored_key() -> None:
    text = svc("    image: a:1\n    build: {context: .}\n    links: [db]\n    shm_size: 1g\n")
    paths = [f.key_path for f in lint(text) if f.code == "SK501"]
    assert paths == ["services.app.build", "services.app.links", "services.app.shm_size"]
    assert all(f.severity is Severity.INFO for f in lint(text) if f.code == "SK501")


def test_database_variants_are_warnings_that_say_so() -> None:
    findings = lint(svc("    image: docker.io/library/postgres:16\n"))
    (caps,) = [f for f in findings if f.code == "SK301"]
    assert caps.severity is Severity.WARNING
    assert "database (postgres)" in caps.message and "warning" in caps.message
    assert "CHOWN" in caps.fix and "SETUID" in caps.fix
    assert "SK104" not in [f.code for f in findings]


def test_secret_values_never_reach_the_output() -> None:
    findings = lint(svc("    image: a:1\n    environment: {DB_PASSWORD: hunter2-s3cret}\n"))
    assert "hunter2" not in format_text(findings) + format_json(findings)


def test_start_first_message_says_why() -> None:
    (f,) = [
        f
        for f in lint(
            svc(
                "    image: a:1\n    healthcheck: {disable: true}\n"
                "    deploy: {update_config: {order: start-first}}\n"
            )
        )
        if f.code == "SK102"
    ]
    assert f.key_path == "services.app.deploy.update_config.order"
    assert "disabled" in f.message


# -- silencing ---------------------------------------------------------------

NOISY = (
    V + "services:\n"
    "  a:\n    image: nginx\n    x-swarmkit: {lint-ignore: [SK101, SK301]}\n"
    "  b:\n    image: nginx\n"
)


def test_service_lint_ignore_silences_that_service_only() -> None:
    found = {(f.service, f.code) for f in lint(NOISY)}
    assert ("a", "SK101") not in found and ("a", "SK301") not in found
    assert ("b", "SK101") in found and ("b", "SK301") in found
    assert ("a", "SK103") in found


def test_top_level_lint_ignore_silences_the_whole_stack() -> None:
    text = NOISY + "networks: {n: {driver: bridge}}\nx-swarmkit:\n  lint-ignore: [SK101, SK202]\n"
    found = [f.code for f in lint(text)]
    assert "SK101" not in found and "SK202" not in found
    assert "SK301" in found


def test_blank_lint_ignore_and_other_keys_are_fine() -> None:
    text = V + "x-swarmkit:\nservices:\n  a:\n    image: a:1\n"
    text += "    x-swarmkit: {lint-ignore: null, owner: team-a}\n"
    assert "SK000" not in codes(text)


@pytest.mark.parametrize(
    ("extension", "key_path", "words", "fix"),
    [
        ("x-swarmkit: {lint-ignore: SK101}", "services.a.x-swarmkit.lint-ignore",
         "not a string", "lint-ignore: [SK101]"),
        ("x-swarmkit: {lint-ignore: {SK101: true}}", "services.a.x-swarmkit.lint-ignore",
         "not a mapping", "docs/lint.md"),
        ("x-swarmkit: [SK101]", "services.a.x-swarmkit", "must be a mapping", "lint-ignore"),
        ("x-swarmkit: {lint-ignore: [SK101, SK999]}", "services.a.x-swarmkit.lint-ignore[1]",
         "unknown rule code 'SK999'", "docs/lint.md"),
        ("x-swarmkit: {lint-ignore: [sk101]}", "services.a.x-swarmkit.lint-ignore[0]",
         "unknown rule code 'sk101'", "did you mean SK101?"),
        ("x-swarmkit: {lint-ignore: [101]}", "services.a.x-swarmkit.lint-ignore[0]",
         "unknown rule code 101", "did you mean SK101?"),
        ("x-swarmkit: {lint-ignore: [SK000]}", "services.a.x-swarmkit.lint-ignore[0]",
         "cannot be silenced", "docs/lint.md"),
    ],
)  # fmt: skip
def test_bad_lint_ignore_is_a_finding(extension: str, key_path: str, words: str, fix: str) -> None:
    findings = lint(V + f"services:\n  a:\n    image: a:1\n    {extension}\n")
    (bad,) = [f for f in findings if f.code == "SK000"]
    assert bad.severity is Severity.ERROR and bad.service == "a"
    assert bad.key_path == key_path
    assert words in bad.message and fix in bad.fix


def test_bad_top_level_lint_ignore_and_valid_entries_still_apply() -> None:
    text = V + "x-swarmkit: {lint-ignore: [SK101, nope]}\nservices:\n  a: {image: nginx}\n"
    findings = lint(text)
    (bad,) = [f for f in findings if f.code == "SK000"]
    assert (bad.service, bad.key_path) == (None, "x-swarmkit.lint-ignore[1]")
    assert "SK101" not in [f.code for f in findings]
    assert findings[0] is bad  # stack-wide findings come first


# -- order and output --------------------------------------------------------

MESSY = (
    V + "services:\n"
    "  zeta:\n    image: nginx\n    environment: {B_TOKEN: x, A_TOKEN: y}\n"
    "  alpha:\n    image: postgres\n    ports: ['5432:5432']\n    container_name: db\n"
    "  mid:\n    image: a:1\n    networks: [nope]\n"
    "networks: {z: {driver: bridge}, a: {driver: macvlan}}\n"
)


def test_order_is_stack_then_service_then_code() -> None:
    findings = lint(MESSY)
    keys = [(f.service is not None, f.service or "", f.code) for f in findings]
    assert keys == sorted(keys)
    assert [f.key_path for f in findings[:2]] == ["networks.a.driver", "networks.z.driver"]
    assert findings[2].service == "alpha"
    tokens = [f.key_path for f in findings if f.code == "SK303"]
    assert tokens == ["services.zeta.environment.B_TOKEN", "services.zeta.environment.A_TOKEN"]


def test_order_does_not_depend_on_service_order_in_the_file() -> None:
    data = yaml.safe_load(MESSY)
    backwards = dict(data, services=dict(reversed(data["services"].items())))
    assert lint_stack(Stack.model_validate(backwards)) == lint(MESSY)
    assert lint(MESSY) == lint(MESSY)


def test_format_json_parses_with_fixed_keys() -> None:
    findings = lint(MESSY)
    data = json.loads(format_json(findings))
    assert isinstance(data, list) and len(data) == len(findings)
    for item, finding in zip(data, findings, strict=True):
        assert list(item) == [
            "code", "severity", "file", "line", "service", "key_path", "message", "fix"
        ]  # fmt: skip
        assert item == finding.to_dict()
    assert data[0]["service"] is None and data[0]["severity"] == "error"
    assert data[0]["file"] is None and data[0]["line"] is None  # built in Python
    assert json.loads(format_json([])) == []


def test_format_text_lines_and_summary() -> None:
    findings = lint(svc("    image: a:1\n    cap_drop: [ALL]\n    restart: always\n"
                        "    environment: {API_KEY: k}\n"))  # fmt: skip
    lines = format_text(findings).splitlines()
    assert [line.split(" ", 2)[:2] for line in lines[:-1]] == [
        ["SK103", "warning"],
        ["SK104", "warning"],
        ["SK303", "error"],
        ["SK501", "info"],
    ]
    assert lines[2] == (
        "SK303 error services.app.environment.API_KEY: API_KEY looks like a secret but holds "
        "a plain value, visible in docker service inspect (fix: move the value to a Swarm "
        "secret and read it from /run/secrets/NAME, e.g. via API_KEY_FILE)"
    )
    assert lines[-1] == "1 error, 2 warnings, 1 info"
    assert len(lines) == len(findings) + 1
    assert format_text([]) == "0 errors, 0 warnings, 0 info\n"


def test_has_errors() -> None:
    assert has_errors(lint(svc("    image: nginx\n")))
    assert not has_errors(lint(svc("    image: a:1\n")))
    assert not has_errors([])


def test_finding_is_frozen() -> None:
    (finding, *_) = lint(svc("    image: nginx\n"))
    with pytest.raises(ValueError, match="frozen"):
        finding.code = "SK999"  # type: ignore[misc]


# -- whole stacks ------------------------------------------------------------

PRODUCTION = """\
version: "3.8"
services:
  app:
    image: registry.example.com/team/app:3f2a9c1
    environment:
      DJANGO_SETTINGS_MODULE: mysite.settings
      SECRET_KEY_FILE: /run/secrets/secret_key
      DATABASE_PASSWORD_FILE: /run/secrets/db_password
    secrets: [secret_key, db_password]
    networks: [frontend, backend]
    read_only: true
    cap_drop: [ALL]
    healthcheck:
      test: [CMD, python, -m, swarmkit.healthcheck]
      interval: 10s
      start_period: 30s
    deploy:
      replicas: 2
      update_config: {order: start-first, failure_action: rollback, monitor: 30s}
      rollback_config: {order: start-first}
  db:
    image: postgres:16.4-bookworm
    environment:
      POSTGRES_PASSWORD_FILE: /run/secrets/db_password
    secrets: [db_password]
    networks: [backend]
    volumes: [db-data:/var/lib/postgresql/data]
    cap_drop: [ALL]
    cap_add: [CHOWN, DAC_OVERRIDE, FOWNER, SETGID, SETUID]
    deploy:
      placement: {constraints: [node.labels.db == true]}
      restart_policy: {condition: on-failure, delay: 5s}
      update_config: {failure_action: rollback}
  proxy:
    image: nginx:1.27-bookworm
    configs: [{source: nginx_conf, target: /etc/nginx/nginx.conf}]
    ports: [{target: 8443, published: 443, mode: host}]
    networks: [frontend]
    cap_drop: [ALL]
    healthcheck: {test: [CMD, nginx, -t, -q]}
    deploy:
      mode: global
      update_config: {order: stop-first, failure_action: rollback}
networks:
  frontend: {driver: overlay}
  backend: {driver: overlay, internal: true}
volumes:
  db-data: {}
configs:
  nginx_conf: {file: ./nginx.conf}
secrets:
  secret_key: {external: true}
  db_password: {external: true}
"""


def test_well_built_production_stack_is_clean() -> None:
    assert lint(PRODUCTION) == []


def test_shipped_example_is_clean() -> None:
    examples = ROOT / "examples"
    loaded = load_stack(
        examples / "stack.yml",
        examples / "stack.production.yml",
        env_file=examples / "production.env",
    )
    assert not has_errors(lint_stack(loaded))


SILENCED = """\
version: "3.8"
x-swarmkit:
  lint-ignore: [SK301]
services:
  app:
    image: nginx
    x-swarmkit:
      lint-ignore: [SK101, SK103, SK104]
"""


def test_docker_stack_config_accepts_lint_ignore(tmp_path: Path) -> None:
    path = tmp_path / "stack.yml"
    path.write_text(SILENCED)
    result = docker_stack_config([path], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    printed = yaml.safe_load(result.stdout)
    assert printed["x-swarmkit"] == {"lint-ignore": ["SK301"]}
    assert printed["services"]["app"]["x-swarmkit"] == {"lint-ignore": ["SK101", "SK103", "SK104"]}
    assert lint_stack(load_stack(path)) == []


def test_lint_ignore_lists_of_merged_files_add_up(tmp_path: Path) -> None:
    base = tmp_path / "stack.yml"
    base.write_text(svc("    image: nginx\n    x-swarmkit: {lint-ignore: [SK101]}\n"))
    overlay = tmp_path / "stack.prod.yml"
    overlay.write_text(V + "services:\n  app:\n    x-swarmkit: {lint-ignore: [SK301]}\n")
    found = [f.code for f in lint_stack(load_stack(base, overlay))]
    assert "SK101" not in found and "SK301" not in found
    assert "SK103" in found


def test_cli_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    clean = tmp_path / "clean.yml"
    clean.write_text(SILENCED)
    dirty = tmp_path / "dirty.yml"
    dirty.write_text(svc("    image: nginx\n"))
    broken = tmp_path / "broken.yml"
    broken.write_text(svc("    image: a:1\n    imagee: typo\n"))
    assert main(["lint", "-c", str(clean)]) == 0
    assert capsys.readouterr().out == "0 errors, 0 warnings, 0 info\n"
    assert main(["lint", "-c", str(dirty), "--format", "json"]) == 1
    assert "SK101" in [item["code"] for item in json.loads(capsys.readouterr().out)]
    assert main(["lint", "-c", str(broken)]) == 2


# -- file and line -----------------------------------------------------------

BASE = """\
version: "3.8"
services:
  app:
    image: nginx
    environment:
      - LOG_LEVEL=info
      - API_TOKEN=t0k3n
    volumes:
      - data:/srv/data
      - /var/run/docker.sock:/var/run/docker.sock
    ports: ["8000-8002:8000-8002", "5432:5432"]
    x-swarmkit: {lint-ignore: [SK104]}
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
    volumes:
      - /run:/a
    x-swarmkit:
      lint-ignore: [SK999]
networks:
  n:
    driver: macvlan
"""


def where(findings: list[LintFinding], code: str, key_path: str) -> tuple[str | None, int | None]:
    (found,) = [f for f in findings if f.code == code and f.key_path == key_path]
    return found.file, found.line


def test_findings_name_file_and_line_of_the_base_file(tmp_path: Path) -> None:
    base = tmp_path / "stack.yml"
    base.write_text(BASE)
    findings = lint_stack(load_stack(base))
    assert where(findings, "SK101", "services.app.image") == (str(base), 4)
    assert where(findings, "SK302", "services.app.volumes[1]") == (str(base), 10)
    assert where(findings, "SK202", "networks.n.driver") == (str(base), 14)
    # Only in normalised form: a list entry read as a mapping key.
    assert where(findings, "SK303", "services.app.environment.API_TOKEN") == (str(base), 7)
    # A key the file does not have points at its nearest parent.
    assert where(findings, "SK103", "services.app.deploy") == (str(base), 3)
    assert where(findings, "SK301", "services.app.cap_drop") == (str(base), 3)
    # The port range makes three ports of one entry: indexes differ, so the list itself.
    assert where(findings, "SK304", "services.app.ports[3]") == (str(base), 11)
    assert all(f.file == str(base) and f.line for f in findings)


def test_a_later_file_wins_for_the_keys_it_sets(tmp_path: Path) -> None:
    base = tmp_path / "stack.yml"
    base.write_text(BASE)
    overlay = tmp_path / "stack.prod.yml"
    overlay.write_text(OVERLAY)
    findings = lint_stack(load_stack(base, overlay))
    assert where(findings, "SK101", "services.app.image") == (str(overlay), 4)
    # Volumes merge sorted by target: /a (overlay), /srv/data, /var/run/docker.sock (base).
    assert where(findings, "SK302", "services.app.volumes[0]") == (str(overlay), 6)
    assert where(findings, "SK302", "services.app.volumes[2]") == (str(base), 10)
    assert where(findings, "SK303", "services.app.environment.API_TOKEN") == (str(base), 7)
    # lint-ignore lists are appended: the overlay's entry comes second.
    key = "services.app.x-swarmkit.lint-ignore[1]"
    assert where(findings, "SK000", key) == (str(overlay), 8)
    # A top-level network is replaced whole by the overlay's definition.
    assert where(findings, "SK202", "networks.n.driver") == (str(overlay), 11)


def test_a_stack_built_in_python_has_no_position(tmp_path: Path) -> None:
    findings = lint(svc("    image: nginx\n"))
    assert findings and all(f.file is None and f.line is None for f in findings)
    assert stack(V).sources is None
    assert format_text(findings).startswith("SK101 error services.app.image: ")
    path = tmp_path / "stack.yml"
    path.write_text(svc("    image: nginx\n"))
    loaded = load_stack(path)
    # Where a stack was written is not part of its value.
    assert loaded.sources is not None and loaded == stack(svc("    image: nginx\n"))
    assert format_text(lint_stack(loaded)).startswith(f"{path}:4: SK101 error services.app.image")


def test_positions_cannot_be_set_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "stack.yml"
    for key in ("sources", "_sources"):
        path.write_text(V + f"services: {{}}\n{key}: {{services.app.image: [x.yml, 1]}}\n")
        with pytest.raises(StackError, match="unknown key"):
            load_stack(path)
