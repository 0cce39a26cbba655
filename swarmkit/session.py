"""``engine_session``: a swarm manager's docker SDK client for a ``with`` block.

This module is light (standard library and :mod:`swarmkit.tunnel`): over
``ssh://`` it starts ssh first and only then loads the docker SDK, so the
login and the import overlap. It is re-exported as
:func:`swarmkit.deploy.engine_session`.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

from swarmkit.tunnel import ssh_tunnel

if TYPE_CHECKING:
    import docker

__all__ = ["engine_session"]


@contextlib.contextmanager
def engine_session(*, timeout: int = 60) -> Iterator[docker.DockerClient]:
    """A manager's client for the ``with`` block, over one SSH login for ``ssh://``.

    ``with engine_session() as client:`` reads ``DOCKER_HOST`` and checks
    the engine as :func:`swarmkit.deploy.connect` does (:class:`EngineError`
    if none answers or it is not a manager). Over ``ssh://`` every API
    request of the block, and the docker CLI that ``deploy_stack`` and
    ``rollback_stack`` run with this client, go through one ssh forward (see
    :mod:`swarmkit.tunnel`). The client is closed, and ssh ended, when the
    block ends, also on an exception or Ctrl-C.
    """
    host = os.environ.get("DOCKER_HOST", "")
    if not host.startswith("ssh://"):
        from swarmkit.deploy.engine import connect

        client = connect(timeout=timeout)
        try:
            yield client
        finally:
            client.close()
        return
    with ssh_tunnel(host, wait=False) as tunnel:
        # Loading the SDK takes about as long as the login it overlaps.
        from swarmkit.deploy.engine import tunnel_client

        with tunnel_client(tunnel, host, timeout=timeout) as client:
            yield client
