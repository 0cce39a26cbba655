"""The nodes' DNS server: answers every question with NXDOMAIN, at once.

Docker's embedded DNS forwards a name it does not know (``db`` while the
database has no task, say) to the node's own resolvers. A real node's
resolver says "no such name" in milliseconds; the namespaces here reach no
resolver, and every such lookup waited 20 s, which is no failure mode of a
real swarm. The engines are started with ``--dns 10.213.7.1``, where this
answers.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading

from tests.cluster.nodes import HOST_IP

NXDOMAIN = 3


class NoSuchName:
    """A UDP DNS responder on ``HOST_IP:53`` in a daemon thread, until :meth:`stop`."""

    def __init__(self, address: str = HOST_IP, port: int = 53) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((address, port))
        self.sock.settimeout(0.5)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                query, client = self.sock.recvfrom(512)
            except (TimeoutError, OSError):
                continue
            with contextlib.suppress(OSError, struct.error):
                self.sock.sendto(answer(query), client)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sock.close()


def answer(query: bytes) -> bytes:
    """The query's header and question back, as a response with NXDOMAIN and no records."""
    if len(query) < 12:
        raise struct.error("too short for a DNS header")
    ident, flags, questions = struct.unpack("!HHH", query[:6])
    # QR=1, the query's opcode and RD, RA=1, RCODE=NXDOMAIN.
    response_flags = 0x8000 | (flags & 0x7900) | 0x0080 | NXDOMAIN
    return struct.pack("!HHHHHH", ident, response_flags, questions, 0, 0, 0) + query[12:]
