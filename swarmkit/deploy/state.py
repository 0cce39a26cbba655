"""What the engine's state means for a deploy: pure rules over the typed view.

No engine call here: each rule takes :class:`~swarmkit.deploy.models.EngineService`
and :class:`~swarmkit.deploy.models.EngineTask` values, so the tests run them on
JSON recorded from a real engine (``tests/deploy/recorded/``).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from swarmkit.deploy.models import Before, EngineService, EngineTask

__all__ = [
    "FAILED_STATES",
    "PULL_ERRORS",
    "ROLLBACK_FAILED_STATES",
    "STEADY_STATES",
    "companions_to_roll_back",
    "extra_tasks",
    "is_pull_error",
    "on_live_nodes",
    "outcome",
    "pull_failures",
    "rollback_targets",
    "rolled_back_since",
    "settled",
    "task_is_healthy",
]

#: Update states after which a service runs its spec in full.
STEADY_STATES = frozenset({"", "completed", "rollback_completed"})
#: After a deploy: Swarm rolled the update back, or paused it.
FAILED_STATES = frozenset({"rollback_started", "rollback_paused", "rollback_completed", "paused"})
#: After a requested rollback: only a paused one failed.
ROLLBACK_FAILED_STATES = frozenset({"rollback_paused", "paused"})


def outcome(service: EngineService, before: Before | None, *, rolling_back: bool) -> str:
    """``"failed"``, ``"busy"`` or ``""`` (Swarm is done, or did nothing new).

    Only an update state new since ``before`` counts: one an earlier deploy
    left is not this one's.
    """
    state = service.update_since(before)
    if state in (ROLLBACK_FAILED_STATES if rolling_back else FAILED_STATES):
        return "failed"
    if state == ("rollback_started" if rolling_back else "updating"):
        return "busy"
    return ""


def settled(
    service: EngineService, tasks: Sequence[EngineTask], *, desired: int | None, healthy: int
) -> bool:
    """Every desired task runs, is healthy and was made from the current spec.

    ``tasks`` are the tasks whose desired state is running. Right after an
    update the old tasks still run, healthy, in full number: only tasks made
    from the current spec count, in as many slots (nodes, for a global
    service) as desired, and no task of an earlier spec may still be meant
    to run.

    A slot may hold two running tasks of the current spec once Swarm is
    done: when an old task dies while its start-first replacement starts,
    the restart policy replaces it with a second current one, and the
    updater (which stops only the tasks the slot had when it began) leaves
    both until the service's next update. That surplus does not hold the
    wait; it would never go.
    """
    if desired is None or healthy < desired:
        return False
    if any(not t.built_from(service) for t in tasks):
        return False
    slots = {t.label for t in tasks if t.is_running}
    return len(slots) >= desired


def on_live_nodes(tasks: Sequence[EngineTask], lost: Collection[str]) -> list[EngineTask]:
    """The tasks not on a ``lost`` node (one the managers cannot reach).

    A manager goes on listing a dead node's tasks as running, with the
    state they had when it last heard from the node, and a global service
    keeps its task there (meant to run, in no state it can change) until
    the node returns. Counted, they would make a stack with a dead node look
    converged, or a global service never converge again. The replicated
    ones are rescheduled once the node is marked down.
    """
    if not lost:
        return list(tasks)
    return [t for t in tasks if t.node_id not in lost]


def extra_tasks(service: EngineService, tasks: Sequence[EngineTask]) -> list[EngineTask]:
    """Tasks of an earlier spec still meant to run in a slot that has a current one.

    During a start-first update a slot has both for a moment; the timeout
    message names them, since a slot that keeps both never settles.
    """
    current_slots = {t.slot for t in tasks if t.built_from(service) and t.slot is not None}
    return [t for t in tasks if not t.built_from(service) and t.slot in current_slots]


def rollback_targets(services: Sequence[EngineService]) -> list[EngineService]:
    """The services ``swarmkit rollback`` rolls back.

    One whose last change was itself a rollback stays: its previous spec is
    the release that was rolled back, and a second rollback would bring it back.
    """
    return [s for s in services if s.rollback_changes_tasks and not s.update.is_rollback]


def rolled_back_since(
    services: Sequence[EngineService], before: Mapping[str, Before]
) -> list[EngineService]:
    """The services whose rollback (started, paused or completed) is new since ``before``.

    After a deploy, those are the ones Swarm rolled back for its failure
    action (a service the deploy created has no previous spec to go to).
    """
    return [
        s
        for s in services
        if s.name in before and s.update.is_rollback and s.update_since(before[s.name])
    ]


def companions_to_roll_back(
    services: Sequence[EngineService], before: Mapping[str, Before]
) -> list[EngineService]:
    """After Swarm rolled back part of a deploy, the rest of that deploy.

    Empty unless a service's rollback is new since ``before``; then every
    other service the deploy changed (new version, and a previous spec whose
    tasks differ) that Swarm did not roll back itself.
    """
    rolled_back = {s.name for s in rolled_back_since(services, before)}
    if not rolled_back:
        return []
    return [
        s
        for s in services
        if s.name in before
        and s.name not in rolled_back
        and s.version != before[s.name].version
        and s.rollback_changes_tasks
    ]


#: What a task's error says when its node could not pull or find the image
#: (lower case). Docker's executor logs the pull's own error on the node and
#: then fails to create the container: the task says ``No such image: <ref>``.
#: The rest are the registry's words, as other engines pass them on.
PULL_ERRORS = (
    "no such image",
    "pull access denied",
    "no basic auth credentials",
    "unauthorized",
    "authentication required",
    "manifest unknown",
    "requested access to the resource is denied",
    "repository does not exist",
)


def is_pull_error(error: str) -> bool:
    """``error`` (a task's ``Err``) says the image could not be pulled or found."""
    text = error.lower()
    return any(words in text for words in PULL_ERRORS)


def pull_failures(service: EngineService, tasks: Sequence[EngineTask]) -> list[EngineTask]:
    """The newest task per slot that Swarm rejected for an image its node cannot pull.

    ``tasks`` are all the service's tasks, its history included (Swarm
    gives a rejected task's replacement a new id, and the rejected one's
    desired state becomes ``shutdown``). Only tasks made from the current
    spec since its update started (all of them for a service never updated)
    count, in state ``rejected`` or ``failed`` with an error of
    :data:`PULL_ERRORS`, and only in a slot (a node, for a global service)
    where no task of the current spec runs: a slot that got its image on a
    second try, or whose task Swarm moved to a node that has it, is fine.

    Swarm rejects such a task and makes a new one, forever: a new service
    never converges, and nothing but a rolling update's failure action ends
    it, so :func:`~swarmkit.deploy.wait.wait_for_stack` fails on these at once.
    """
    since = service.update.started_at
    current = [t for t in tasks if t.built_from(service) and t.created_at >= since]
    running = {t.label for t in current if t.is_running}
    newest: dict[str, EngineTask] = {}
    for task in sorted(current, key=lambda t: t.created_at):
        if task.label in running or task.state not in ("rejected", "failed"):
            continue
        if is_pull_error(task.error):
            newest[task.label] = task
    return sorted(newest.values(), key=lambda t: (t.slot or 0, t.node_id))


def task_is_healthy(task: EngineTask, container: Mapping[str, Any] | None) -> bool:
    """Whether a task counts as healthy, on whichever node it runs.

    Swarm's own task state is the judge: its executor keeps a task whose
    image or service has a healthcheck in ``starting`` until a probe passed,
    reports ``running`` only then, and fails the task once its container
    turns unhealthy. So a running task is healthy, and so is one without a
    healthcheck. ``container`` is the task's container's inspect JSON when
    the client can read it (the container runs on the node the client talks
    to), else ``None``: the one exception is a container that reports
    ``unhealthy`` right now, whose task Swarm is about to fail.
    """
    if not task.is_running:
        return False
    health = ((container or {}).get("State") or {}).get("Health") or {}
    return health.get("Status") != "unhealthy"
