"""``python -m swarmkit.healthcheck [URL] [--timeout S]``: a Docker HEALTHCHECK without curl.

Standard library only: it imports neither pydantic, PyYAML nor Django, so it
starts in a few tens of milliseconds and slim images need no curl or wget::

    healthcheck:
      test: ["CMD", "python", "-m", "swarmkit.healthcheck"]

``URL`` defaults to ``$SWARMKIT_HEALTHCHECK_URL``, else
``http://127.0.0.1:8000/api/alive/``. Exit status 0 when the URL answers
2xx, 1 otherwise (refused, timed out, any other status, redirects included:
they are not followed), with one line on stderr saying why. Docker keeps that
line in ``docker inspect``'s health log.
"""

from __future__ import annotations

import argparse
import http.client
import os
import sys
import urllib.parse
from typing import Final, NoReturn

__all__ = ["DEFAULT_TIMEOUT", "DEFAULT_URL", "URL_VARIABLE", "check", "main"]

DEFAULT_URL: Final = "http://127.0.0.1:8000/api/alive/"
#: Seconds per socket operation; keep it below the stack's healthcheck timeout.
DEFAULT_TIMEOUT: Final = 3.0
#: Environment variable that replaces :data:`DEFAULT_URL`.
URL_VARIABLE: Final = "SWARMKIT_HEALTHCHECK_URL"

_PROG: Final = "swarmkit.healthcheck"


def check(url: str, timeout: float = DEFAULT_TIMEOUT) -> str | None:
    """``None`` when a GET of ``url`` answers 2xx, else why not in a few words."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "not an http(s) URL"
    try:
        port = parts.port
    except ValueError:
        return "not an http(s) URL (bad port)"
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    connection_class = (
        http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    )
    connection = connection_class(parts.hostname, port, timeout=timeout)
    try:
        connection.request(
            "GET", target, headers={"User-Agent": _PROG, "Accept": "application/json"}
        )
        response = connection.getresponse()
        status, reason = response.status, response.reason
    except TimeoutError:
        return f"no answer within {timeout:g}s"
    except ConnectionRefusedError:
        return "connection refused"
    except http.client.HTTPException as exc:
        return f"not an HTTP answer ({type(exc).__name__})"
    except OSError as exc:
        return exc.strerror or type(exc).__name__
    finally:
        connection.close()
    if 200 <= status < 300:
        return None
    return f"answered {status} {reason}".rstrip()


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # Docker reserves exit status 2; a usage error is simply unhealthy.
        self.exit(1, f"{_PROG}: {message}\n")


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number of seconds")
    return value


def main(argv: list[str] | None = None) -> int:
    """Check once; return the exit status (0 healthy, 1 not)."""
    parser = _Parser(prog=f"python -m {_PROG}", description="Exit 0 if URL answers 2xx.")
    parser.add_argument(
        "url",
        nargs="?",
        help=f"what to GET (default: ${URL_VARIABLE}, else {DEFAULT_URL})",
    )
    parser.add_argument(
        "--timeout",
        type=_positive,
        default=DEFAULT_TIMEOUT,
        metavar="S",
        help=f"seconds to wait for the connection and for the answer (default {DEFAULT_TIMEOUT:g})",
    )
    args = parser.parse_args(argv)
    url = args.url or os.environ.get(URL_VARIABLE) or DEFAULT_URL
    problem = check(url, args.timeout)
    if problem is None:
        return 0
    print(f"{_PROG}: {url}: {problem}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
