"""Deploy a stack to Docker Swarm, wait for it, and look after it afterwards.

Needs the ``deploy`` extra (the docker SDK): ``pip install 'swarm-django[deploy]'``.
Every function takes a client from :func:`engine_session`, which reads
``DOCKER_HOST`` as the docker CLI does (``ssh://user@manager`` included, over
one SSH login for the whole block)::

    with engine_session() as client:
        for row in stack_status(client, "mysite_production"):
            print(row.name, row.running, row.desired, row.update_state)
"""

from __future__ import annotations

from swarmkit.exceptions import MissingExtraError

try:
    import docker  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise MissingExtraError("swarmkit.deploy", "deploy", "the docker SDK") from exc

from swarmkit.deploy.deploy import deploy_stack, render_for_deploy
from swarmkit.deploy.docker_cli import run_docker
from swarmkit.deploy.engine import cli_docker_host, connect, stack_services
from swarmkit.deploy.gc import Removed, gc_stack
from swarmkit.deploy.logs import LogLine, follow_logs, format_line, service_lines, stack_logs
from swarmkit.deploy.models import (
    STACK_LABEL,
    Before,
    EngineNode,
    EngineService,
    EngineTask,
    UpdateStatus,
)
from swarmkit.deploy.rollback import (
    RolledBack,
    finish_rollback,
    rollback_companions,
    rollback_stack,
)
from swarmkit.deploy.status import ServiceStatus, format_status, service_status, stack_status
from swarmkit.deploy.top import NodeEngines, node_engines, stack_top, watch_top
from swarmkit.deploy.usage import (
    Resources,
    ServiceUsage,
    TaskUsage,
    cpu_percent,
    format_top,
    memory_bytes,
    top_json,
)
from swarmkit.deploy.wait import failure_report, snapshot, wait_for_stack
from swarmkit.session import engine_session

__all__ = [
    "STACK_LABEL",
    "Before",
    "EngineNode",
    "EngineService",
    "EngineTask",
    "LogLine",
    "NodeEngines",
    "Removed",
    "Resources",
    "RolledBack",
    "ServiceStatus",
    "ServiceUsage",
    "TaskUsage",
    "UpdateStatus",
    "cli_docker_host",
    "connect",
    "cpu_percent",
    "deploy_stack",
    "engine_session",
    "failure_report",
    "finish_rollback",
    "follow_logs",
    "format_line",
    "format_status",
    "format_top",
    "gc_stack",
    "memory_bytes",
    "node_engines",
    "render_for_deploy",
    "rollback_companions",
    "rollback_stack",
    "run_docker",
    "service_lines",
    "service_status",
    "snapshot",
    "stack_logs",
    "stack_services",
    "stack_status",
    "stack_top",
    "top_json",
    "wait_for_stack",
    "watch_top",
]
