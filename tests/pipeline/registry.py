"""The pipeline's container registry: Debian's ``docker-registry`` on 127.0.0.1, TLS and htpasswd.

As the cluster suite's (:mod:`tests.cluster.registry`, whose config it
shares), on a free loopback port: the suite makes its own CA and server
certificate, the engine trusts that CA for this registry only
(``/etc/docker/certs.d/127.0.0.1:<port>/ca.crt``), and one bcrypt user may
push and pull. The pipeline's jobs log in with it (``CI_REGISTRY_USER`` /
``CI_REGISTRY_PASSWORD``); the engine pushes, and the swarm pulls, from
127.0.0.1.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
from base64 import b64encode
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.cluster.registry import CONFIG, REGISTRY
from tests.django.servers import free_port

__all__ = ["Registry", "missing", "running_registry"]

USER = "gitlab-ci-token"
CERTS_D = Path("/etc/docker/certs.d")


@dataclass(frozen=True)
class Registry:
    address: str  # 127.0.0.1:<port>
    user: str
    password: str
    ca: Path

    def tags(self, repository: str) -> list[str]:
        """The tags of ``repository`` the registry holds (empty if none)."""
        request = urllib.request.Request(f"https://{self.address}/v2/{repository}/tags/list")
        token = b64encode(f"{self.user}:{self.password}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
        import json
        import ssl

        context = ssl.create_default_context(cafile=str(self.ca))
        try:
            with urllib.request.urlopen(request, context=context, timeout=10) as response:
                return sorted(json.load(response).get("tags") or [])
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return []
            raise


def missing() -> str:
    for tool in (REGISTRY, "/usr/bin/htpasswd", "/usr/bin/openssl"):
        if not os.access(tool, os.X_OK):
            return f"{tool} is missing (Debian: docker-registry, apache2-utils, openssl)"
    return ""


def _run(*args: str) -> None:
    subprocess.run(args, check=True, capture_output=True, timeout=60)


@contextlib.contextmanager
def running_registry(root: Path) -> Iterator[Registry]:
    """A registry in ``root`` on a free port until the block ends; the CA trust goes too."""
    root.mkdir(parents=True, exist_ok=True)
    port = free_port()
    address = f"127.0.0.1:{port}"
    ca_key, ca = root / "ca.key", root / "ca.crt"
    _run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=swarmkit pipeline suite CA", "-keyout", str(ca_key), "-out", str(ca))  # fmt: skip
    (root / "server.ext").write_text("subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    _run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
         "-keyout", str(root / "server.key"), "-out", str(root / "server.csr"))  # fmt: skip
    _run("openssl", "x509", "-req", "-in", str(root / "server.csr"), "-CA", str(ca),
         "-CAkey", str(ca_key), "-CAcreateserial", "-days", "2",
         "-extfile", str(root / "server.ext"), "-out", str(root / "server.crt"))  # fmt: skip
    password = secrets.token_hex(12)
    _run("htpasswd", "-Bbc", str(root / "htpasswd"), USER, password)
    (root / "config.yml").write_text(CONFIG.format(root=root, address=address))
    trust = CERTS_D / address
    trust.mkdir(parents=True, exist_ok=True)
    shutil.copy(ca, trust / "ca.crt")
    log = open(root / "registry.log", "ab")  # noqa: SIM115 - the registry writes to it until stopped
    process = subprocess.Popen([REGISTRY, "serve", str(root / "config.yml")], stdout=log,
                               stderr=log, stdin=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
    registry = Registry(address, USER, password, ca)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                registry.tags("probe")
                break
            except urllib.error.URLError as exc:
                if time.monotonic() > deadline:
                    raise AssertionError(
                        f"the registry does not answer on {address}: {exc}"
                    ) from exc
                time.sleep(0.3)
        yield registry
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)
        log.close()
        shutil.rmtree(trust, ignore_errors=True)
