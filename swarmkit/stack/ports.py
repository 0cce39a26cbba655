"""The network short syntaxes of a stack file, ``ports:`` and ``extra_hosts:``.

The CLI (v28.2.2) hands each string or number in ``ports:`` to
go-connections' ``nat.ParsePortSpecs`` and turns each resulting port into swarm
port configs with ``swarmopts.ConvertPortToPortConfig``. :func:`parse_port_spec`
does the same, including the parts that surprise people:

* a host IP (``127.0.0.1:8080:80``, ``[::1]:53:53/udp``) is checked and then
  dropped: swarm has nowhere to put it, the CLI only logs a warning;
* a container range expands to one config per port, and a host range with a
  single container port expands to one config per *published* port;
* the configs come out sorted by the text ``"<port>/<proto>"``, so ``9-10``
  yields 10 before 9.

``extra_hosts`` goes through the loader's ``transformHostsList``; see
:func:`normalize_extra_hosts`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from typing import Any

from swarmkit.exceptions import StackValidationError
from swarmkit.stack.golang import GoNumError, format_float, parse_uint

__all__ = ["normalize_extra_hosts", "parse_extra_host", "parse_port_spec"]

_PROTOCOLS = ("tcp", "udp", "sctp")
_INT64 = 1 << 63
_HINT = "use [HOST_IP:][PUBLISHED:]TARGET[/PROTOCOL], e.g. 8080:80 or 53:53/udp"


def parse_port_spec(text: str) -> list[dict[str, Any]]:
    """Expand one short port entry into long-form port configs.

    Each config is ``{"mode": "ingress", "target": int, "published": int,
    "protocol": str}``; ``published`` is 0 when no host port was given (the
    CLI then leaves it out of its YAML). Raises :class:`StackValidationError`
    for anything ``nat.ParsePortSpec`` refuses.
    """
    ip, host_port, container_port = _split_parts(text)
    proto, container_port = _split_proto(container_port)

    if ip.startswith("["):
        ip = _unbracket(ip, text)
    if ip and not _is_go_ip(ip):
        raise _error(f"invalid IP address {ip!r} in port {text!r}")
    if not container_port:
        raise _error(f"no container port in {text!r}")

    start, end = _port_range(container_port, "container port", text)
    host_start = host_end = 0
    if host_port:
        host_start, host_end = _port_range(host_port, "published port", text)
        # A host range is allowed against a single container port (swarm
        # then publishes every port of it); two ranges must be the same size.
        if end - start != host_end - host_start and end != start:
            raise _error(
                f"port {text!r} maps the range {container_port} onto {host_port}, "
                "which has a different size",
                hint="give the published and target ranges the same length",
            )
    proto = proto.lower()
    if proto not in _PROTOCOLS:
        raise _error(
            f"invalid protocol {proto!r} in port {text!r}",
            hint="the protocol must be tcp, udp or sctp",
        )

    bindings: dict[str, tuple[int, int, int]] = {}
    for offset in range(end - start + 1):
        target = start + offset
        if not host_port:
            published = (0, 0)
        elif start == end:
            published = (host_start, host_end)
        else:
            published = (host_start + offset, host_start + offset)
        bindings[f"{target}/{proto}"] = (target, *published)

    configs: list[dict[str, Any]] = []
    # The CLI sorts nat's port keys as strings, not as numbers.
    for key in sorted(bindings):
        target, first, last = bindings[key]
        configs.extend(
            {"mode": "ingress", "target": target, "published": port, "protocol": proto}
            for port in range(first, last + 1)
        )
    return configs


def _error(message: str, hint: str = _HINT) -> StackValidationError:
    return StackValidationError(message, hint=hint)


def _split_parts(text: str) -> tuple[str, str, str]:
    # Everything before the last two colons is the IP, which lets an
    # unbracketed IPv6 address such as ::1:8080:80 through.
    parts = text.split(":")
    if len(parts) == 1:
        return "", "", parts[0]
    if len(parts) == 2:
        return "", parts[0], parts[1]
    return ":".join(parts[:-2]), parts[-2], parts[-1]


def _split_proto(text: str) -> tuple[str, str]:
    # Only the first two slash-separated fields count: "80/tcp/x" is 80/tcp.
    parts = text.split("/")
    if not parts[0]:
        return "", ""
    if len(parts) == 1 or not parts[1]:
        return "tcp", parts[0]
    return parts[1], parts[0]


def _unbracket(ip: str, text: str) -> str:
    # nat uses net.SplitHostPort(ip + ":"), which wants exactly "[host]" with
    # no other bracket; the host inside is not checked when it is empty.
    inner = ip[1:-1]
    if not ip.endswith("]") or "[" in inner or "]" in inner:
        raise _error(f"invalid IP address {ip!r} in port {text!r}")
    return inner


def _is_go_ip(text: str) -> bool:
    # net.ParseIP: dotted IPv4 without leading zeros, or IPv6 without a zone.
    if "%" in text:
        return False
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _uint16(text: str, what: str, spec: str) -> int:
    # nat.ParsePortRange's strconv.ParseUint(text, 10, 16).
    try:
        return parse_uint(text, 16)
    except GoNumError:
        raise _error(f"invalid {what} {text!r} in port {spec!r}") from None


def _port_range(text: str, what: str, spec: str) -> tuple[int, int]:
    if "-" not in text:
        port = _uint16(text, what, spec)
        return port, port
    # Like nat.ParsePortRange, fields after the second dash are ignored.
    fields = text.split("-")
    start = _uint16(fields[0], what, spec)
    end = _uint16(fields[1], what, spec)
    if end < start:
        raise _error(f"invalid {what} range {text!r} in port {spec!r}: the end is before the start")
    return start, end


def parse_extra_host(entry: str) -> str | None:
    """One ``extra_hosts`` list entry -> ``"host:ip"``, or None when the CLI drops it.

    ``host=ip`` is tried before ``host:ip``; entries with neither are dropped.
    Brackets around the IP are removed (``"h=[::1]"`` -> ``"h:::1"``).
    """
    for sep in ("=", ":"):
        host, found, ip = entry.partition(sep)
        if found:
            return _host_ip(f"{host}:{ip}")
    return None


def _host_ip(pair: str) -> str:
    # The CLI rejoins with ':' and splits again at the first ':', so a host
    # holding a ':' ("a:b=c") moves its tail into the IP part.
    host, _, ip = pair.partition(":")
    if len(ip) > 2 and ip[0] == "[" and ip[-1] == "]":
        ip = ip[1:-1]
    return f"{host}:{ip}"


def normalize_extra_hosts(value: Mapping[str, Any] | Sequence[Any]) -> list[str]:
    """``transformHostsList``: a list or mapping of hosts -> ``["host:ip", ...]``.

    A list keeps its order (entries without ``=`` or ``:`` are dropped); a
    mapping is sorted, skips null values and, like the CLI's ``%s``
    formatting, renders a number ``n`` as ``%!s(int=n)``.
    """
    if isinstance(value, Mapping):
        pairs = sorted(
            f"{key}:{_go_percent_s(item)}" for key, item in value.items() if item is not None
        )
        return [_host_ip(pair) for pair in pairs]
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise StackValidationError(
            "extra_hosts must be a list or a mapping", hint='e.g. ["db=10.0.0.5"]'
        )
    hosts = []
    for entry in value:
        if not isinstance(entry, str):
            raise StackValidationError(
                f"extra_hosts entries must be strings, got {entry!r}", hint='e.g. "db=10.0.0.5"'
            )
        host = parse_extra_host(entry)
        if host is not None:
            hosts.append(host)
    return hosts


def _go_percent_s(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        kind = "int" if -_INT64 <= value < _INT64 else "uint64" if 0 <= value < 2 * _INT64 else ""
        if kind:
            return f"%!s({kind}={value})"
        value = float(value)
    if isinstance(value, float):
        return f"%!s(float64={format_float(value)})"
    raise StackValidationError(
        f"extra_hosts values must be strings, numbers or null, got {value!r}",
        hint='e.g. {db: "10.0.0.5"}',
    )
