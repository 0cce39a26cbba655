"""The lint rules on isolation from the node (SK305 to SK308).

What a stack file can say that weakens the wall between a task and its node,
after the source's chapter on capabilities (3.2) and the service-level items
of the CIS Docker Benchmark (5.3 capabilities, 5.4 privileged, 5.5 and 5.17
host paths and devices, 5.9, 5.15, 5.16 and 5.30 host namespaces, 5.19 mount
propagation, 5.25 no-new-privileges):

- SK305: a capability that breaks isolation added with ``cap_add``, named,
  or ``privileged: true``;
- SK306: a namespace of the node shared (the ``host`` network; ``pid``,
  ``ipc``, ``userns_mode``, ``cgroupns_mode`` or ``network_mode: host``);
- SK307: a system path of the node bind-mounted, a device mapped, or a
  bind mount with shared propagation;
- SK308: hardening written in the file that ``docker stack deploy`` drops
  without applying it (``security_opt``, ``tmpfs`` mount options).

Several of these keys are ignored by ``docker stack deploy`` (and reported by
SK501 as such), but ``docker compose`` applies them to the same file; a rule
here says so in its message and SK501 leaves the key to it
(:func:`reported_keys`). The Docker socket is SK302's, not SK307's.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator

from swarmkit.stack.lint_registry import Hit, RuleSet, Severity
from swarmkit.stack.model import Stack
from swarmkit.stack.service import Service

__all__ = [
    "DANGEROUS_CAPABILITIES",
    "SENSITIVE_PATHS",
    "exposes_docker_socket",
    "reported_keys",
    "rules",
]

#: The rules of this module.
rules = RuleSet()

#: Capabilities that let a process reach past its container, with what they grant.
DANGEROUS_CAPABILITIES: dict[str, str] = {
    "ALL": "every capability, as much as privileged: true",
    "SYS_ADMIN": "mount, namespaces, BPF and more: close to root on the node",
    "SYS_MODULE": "loading kernel modules: its code in the node's kernel",
    "SYS_PTRACE": "tracing other processes and reading their memory",
    "SYS_RAWIO": "raw I/O on the node's devices and memory",
    "SYS_BOOT": "rebooting the node",
    "SYS_TIME": "setting the node's clock",
    "DAC_READ_SEARCH": "opening files by handle: read any file of the node (the Shocker escape)",
    "NET_ADMIN": "changing interfaces, routes and firewall rules",
    "MAC_ADMIN": "changing the AppArmor or SELinux policy",
    "MAC_OVERRIDE": "bypassing AppArmor or SELinux",
    "BPF": "loading BPF programs into the kernel",
    "PERFMON": "tracing the kernel with perf and BPF",
    "SYSLOG": "reading the kernel log and its kernel addresses",
    "LINUX_IMMUTABLE": "changing immutable and append-only files",
    "AUDIT_CONTROL": "changing the kernel's audit rules",
    "SYS_TTY_CONFIG": "configuring the node's terminals",
}

#: Directories of the node that no task should see, with what they hold; a
#: mount of the directory or of anything under it counts.
SENSITIVE_PATHS: dict[str, str] = {
    "/boot": "the node's kernel and boot loader",
    "/dev": "the node's devices",
    "/etc": "the node's configuration, password hashes and keys",
    "/proc": "the state of the node's kernel and of every process",
    "/sys": "the node's kernel settings and devices",
    "/lib/modules": "the node's kernel modules",
    "/usr/lib/modules": "the node's kernel modules",
    "/var/lib/docker": "every container's files and the engine's state",
    "/var/lib/containerd": "every container's files",
    "/run/containerd": "containerd's socket: root on the node",
    "/var/run/containerd": "containerd's socket: root on the node",
    "/root/.ssh": "root's SSH keys",
}

# System directories counted only as themselves: a project checked out under
# /usr/src or /home (a bind mount ./conf, made absolute) is fine.
_SYSTEM_DIRS = frozenset(
    {"/", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/usr", "/usr/bin", "/usr/sbin",
     "/usr/lib", "/usr/local/bin", "/var", "/var/lib", "/home", "/root"}
)  # fmt: skip
# Read-only mounts of these files are the usual way to share the node's time zone.
_HARMLESS_READ_ONLY = frozenset({"/etc/localtime", "/etc/timezone"})
_DOCKER_SOCKETS = frozenset({"/var/run/docker.sock", "/run/docker.sock"})

# Service keys that put a task in one of the node's namespaces when set to "host".
_HOST_NAMESPACE_KEYS = {
    "network_mode": "network",
    "pid": "process (PID)",
    "ipc": "IPC",
    "userns_mode": "user",
    "cgroupns_mode": "cgroup",
}
_IGNORED = "docker stack deploy ignores it, docker compose applies it"
# tmpfs options a reader takes for hardening.
_HARDENING_TMPFS_OPTIONS = frozenset({"noexec", "nosuid", "nodev", "ro"})
_SECURITY_OPT_FIX = {
    "no-new-privileges": 'set "no-new-privileges": true in /etc/docker/daemon.json on every node',
    "seccomp": "remove it: tasks run with Docker's default seccomp profile; a custom one is set"
    " per node (daemon.json seccomp-profile)",
    "apparmor": "remove it: tasks run with the docker-default AppArmor profile",
}


def _clean(path: str) -> str:
    return posixpath.normpath("/" + path.lstrip("/"))


def exposes_docker_socket(source: str) -> bool:
    """Whether a bind mount of ``source`` hands over the Docker socket (SK302's)."""
    # Mounting a parent directory (/var/run, /) hands over the socket just the same.
    if not source.startswith("/"):
        return False
    path = _clean(source)
    parent = path.rstrip("/") + "/"
    return any(sock == path or sock.startswith(parent) for sock in _DOCKER_SOCKETS)


def _capability(name: str) -> str:
    # As the docker CLI reads them: any case, with or without the CAP_ prefix.
    upper = name.strip().upper()
    return upper.removeprefix("CAP_")


def _sensitive(path: str) -> str | None:
    """What the node's ``path`` holds when a task must not see it, else ``None``."""
    for top, what in SENSITIVE_PATHS.items():
        if path == top or path.startswith(top + "/"):
            return what
    return "a system directory of the node" if path in _SYSTEM_DIRS else None


def _tmpfs_options(entry: str) -> set[str]:
    _, _, options = entry.partition(":")
    return {option.strip() for option in options.split(",")} & _HARDENING_TMPFS_OPTIONS


def reported_keys(service: Service) -> frozenset[str]:
    """The keys ``docker stack deploy`` ignores that SK305 to SK308 report for ``service``.

    SK501 leaves them out: the security finding already says the key is ignored.
    """
    keys = {key for key in _HOST_NAMESPACE_KEYS if getattr(service, key) == "host"}
    if service.privileged:
        keys.add("privileged")
    if service.devices:
        keys.add("devices")
    if service.security_opt:
        keys.add("security_opt")
    if service.tmpfs and all(_tmpfs_options(entry) for entry in service.tmpfs):
        keys.add("tmpfs")
    return frozenset(keys)


@rules.service_rule(
    "SK305",
    Severity.ERROR,
    title="capability that breaks isolation added (SYS_ADMIN, NET_ADMIN, ALL, ...) or privileged",
    fix="remove it; add back only what the process needs, after cap_drop: [ALL]",
)
def no_dangerous_capabilities(stack: Stack, name: str, service: Service) -> Iterator[Hit]:
    """``cap_add`` grants no capability of :data:`DANGEROUS_CAPABILITIES`; not privileged."""
    for i, cap in enumerate(service.cap_add):
        capability = _capability(cap)
        grants = DANGEROUS_CAPABILITIES.get(capability)
        if grants is not None:
            yield Hit(
                ("services", name, "cap_add", i),
                f"cap_add {capability} grants {grants}",
                f"remove {capability} from cap_add; if the process cannot do without it,"
                " silence SK305 on this service and say why",
            )
    if service.privileged:
        yield Hit(
            ("services", name, "privileged"),
            f"privileged: true grants every capability and device of the node ({_IGNORED})",
            "remove privileged; add only the capabilities needed with cap_add",
        )


@rules.service_rule(
    "SK306",
    Severity.ERROR,
    title="namespace of the node shared (host network; pid, ipc, userns_mode: host ...)",
    fix="remove it; attach overlay networks and publish ports instead of using the host's",
)
def no_host_namespaces(stack: Stack, name: str, service: Service) -> Iterator[Hit]:
    """The task runs in its own namespaces, not the node's."""
    for network in service.networks:
        declared = stack.networks.get(network)
        if declared is not None and declared.external and (declared.name or network) == "host":
            yield Hit(
                ("services", name, "networks", network),
                f"network {network} is the node's host network: the task shares the node's"
                " network namespace, binds its ports and reaches what listens on its localhost",
                f"remove {network}; publish the ports the service serves on (mode: host) instead",
            )
    for key, namespace in _HOST_NAMESPACE_KEYS.items():
        if getattr(service, key) == "host":
            yield Hit(
                ("services", name, key),
                f"{key}: host shares the node's {namespace} namespace ({_IGNORED})",
                f"remove {key}; the task keeps a {namespace} namespace of its own",
            )


@rules.service_rule(
    "SK307",
    Severity.ERROR,
    title="system path of the node bind-mounted (/, /etc, /proc, /sys, /dev ...) or device mapped",
    fix="remove the mount; mount a config, a secret or a volume with what the task needs",
)
def no_sensitive_host_paths(stack: Stack, name: str, service: Service) -> Iterator[Hit]:
    """No bind mount of a path of :data:`SENSITIVE_PATHS` (or of a system directory
    itself), no shared propagation, no ``devices``."""
    for i, volume in enumerate(service.volumes):
        if volume.type != "bind" or not volume.source.startswith("/"):
            continue
        loc = ("services", name, "volumes", i)
        path = _clean(volume.source)
        what = _sensitive(path)
        harmless = volume.read_only and path in _HARMLESS_READ_ONLY
        if what is not None and not harmless and not exposes_docker_socket(volume.source):
            how = "read-only" if volume.read_only else "writable"
            yield Hit(loc, f"bind-mounts the node's {path} ({how}): {what}")
        propagation = volume.bind.propagation if volume.bind else ""
        if propagation in ("shared", "rshared"):
            yield Hit(
                loc,
                f"bind mount of {path} with propagation {propagation}: mounts made in the"
                " task appear on the node",
                "remove the propagation option (rprivate is the default)",
            )
    for i, device in enumerate(service.devices):
        host = device.split(":", 1)[0]
        yield Hit(
            ("services", name, "devices", i),
            f"maps the node's device {host} into the task ({_IGNORED})",
            "remove the devices entry",
        )


@rules.service_rule(
    "SK308",
    Severity.WARNING,
    title="hardening that docker stack deploy drops (security_opt, tmpfs noexec ...)",
    fix="remove it; harden where Swarm applies it: each engine's daemon.json, or the stack's keys",
)
def no_ignored_hardening(stack: Stack, name: str, service: Service) -> Iterator[Hit]:
    """No ``security_opt`` and no ``tmpfs`` options that the task would run without."""
    for i, option in enumerate(service.security_opt):
        # seccomp=/path, apparmor:profile, label=...: the name only, never the rest.
        kind = option.replace(":", "=", 1).split("=", 1)[0].strip()
        yield Hit(
            ("services", name, "security_opt", i),
            f"security_opt {kind} is not applied: docker stack deploy drops security_opt,"
            " so the task runs without it",
            _SECURITY_OPT_FIX.get(kind),
        )
    for i, entry in enumerate(service.tmpfs):
        options = _tmpfs_options(entry)
        if options:
            target = entry.split(":", 1)[0]
            yield Hit(
                ("services", name, "tmpfs", i),
                f"tmpfs {target} ({', '.join(sorted(options))}) is not mounted: docker stack"
                f" deploy drops the tmpfs key, so {target} is the image's, without those options",
                f"use a volumes entry {{type: tmpfs, target: {target}}}: Swarm mounts it"
                " (with size and mode as its only options)",
            )
