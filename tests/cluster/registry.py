"""A private registry beside the cluster: Debian's ``docker-registry``, TLS and htpasswd.

The suite makes its own CA and a server certificate for the bridge address
(``10.213.7.1:5443``), trusts the CA for that registry only (the engine
reads ``/etc/docker/certs.d/<host:port>/ca.crt``, shared by every engine of
this machine), and writes an htpasswd file with one bcrypt user. Logins go
to a private ``DOCKER_CONFIG`` directory, never to root's own.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.cluster.nodes import DATA, HOST_IP, run, wait_until

PORT = 5443
ADDRESS = f"{HOST_IP}:{PORT}"
CERTS_D = Path("/etc/docker/certs.d") / ADDRESS
ROOT = DATA / "registry"
REGISTRY = "/usr/bin/docker-registry"
USER = "deployer"

CONFIG = """\
version: 0.1
log: {{level: warn}}
storage:
  filesystem: {{rootdirectory: {root}/storage}}
  delete: {{enabled: true}}
http:
  addr: {address}
  tls: {{certificate: {root}/server.crt, key: {root}/server.key}}
auth:
  htpasswd: {{realm: swarmkit-cluster, path: {root}/htpasswd}}
"""


@dataclass(frozen=True)
class Registry:
    address: str
    user: str
    password: str
    ca: Path

    def login(self, docker_config: Path) -> None:
        """``docker login`` into ``docker_config`` (a ``DOCKER_CONFIG`` directory)."""
        docker_config.mkdir(parents=True, exist_ok=True)
        run("docker", "--config", str(docker_config), "login", "-u", self.user,
            "--password-stdin", self.address, stdin=self.password)  # fmt: skip


def missing() -> str:
    for tool in (REGISTRY, "/usr/bin/htpasswd", "/usr/bin/openssl"):
        if not os.access(tool, os.X_OK):
            return f"{tool} is missing (Debian: docker-registry, apache2-utils, openssl)"
    return ""


def start() -> Registry:
    """Make the CA, certificate and htpasswd, trust the CA, start the registry."""
    ROOT.mkdir(parents=True, exist_ok=True)
    ca_key, ca = ROOT / "ca.key", ROOT / "ca.crt"
    run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        "-subj", "/CN=swarmkit cluster suite CA", "-keyout", str(ca_key), "-out", str(ca))  # fmt: skip
    extensions = ROOT / "server.ext"
    extensions.write_text(f"subjectAltName=IP:{HOST_IP}\nextendedKeyUsage=serverAuth\n")
    run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={HOST_IP}",
        "-keyout", str(ROOT / "server.key"), "-out", str(ROOT / "server.csr"))  # fmt: skip
    run("openssl", "x509", "-req", "-in", str(ROOT / "server.csr"), "-CA", str(ca),
        "-CAkey", str(ca_key), "-CAcreateserial", "-days", "2", "-extfile", str(extensions),
        "-out", str(ROOT / "server.crt"))  # fmt: skip
    password = secrets.token_hex(12)
    run("htpasswd", "-Bbc", str(ROOT / "htpasswd"), USER, password)
    (ROOT / "config.yml").write_text(CONFIG.format(root=ROOT, address=ADDRESS))
    CERTS_D.mkdir(parents=True, exist_ok=True)
    shutil.copy(ca, CERTS_D / "ca.crt")
    with open(ROOT / "registry.log", "ab") as log:
        process = subprocess.Popen(
            [REGISTRY, "serve", str(ROOT / "config.yml")],
            stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
    (ROOT / "registry.pid").write_text(str(process.pid))

    def answers() -> bool:
        done = run("curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", str(ca),
                   f"https://{ADDRESS}/v2/", check=False, timeout=5)  # fmt: skip
        return done.stdout == "401"  # up, and asking for a login

    wait_until(answers, 30, "the registry to answer")
    return Registry(ADDRESS, USER, password, ca)


def stop() -> None:
    """Stop the registry and remove its files and the CA trust (also an earlier run's)."""
    with contextlib.suppress(OSError, ValueError):
        os.kill(int((ROOT / "registry.pid").read_text()), signal.SIGKILL)
    for pid in subprocess.run(["pgrep", "-f", f"{REGISTRY} serve {ROOT}"], capture_output=True,
                              text=True, check=False).stdout.split():  # fmt: skip
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(pid), signal.SIGKILL)
    shutil.rmtree(CERTS_D, ignore_errors=True)
    shutil.rmtree(ROOT, ignore_errors=True)
