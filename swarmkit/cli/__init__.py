"""The ``swarmkit`` command: thin wrappers over library functions.

Each command parses its arguments, calls one library function and maps the
result to an exit code: 0 ok, 1 failed (lint errors, a deploy that did not
converge), 2 bad input or environment, 3 a rollback that did not bring the
previous release back (the stack runs a mix). Errors are one line on stderr. The
deploy commands run in a :func:`~swarmkit.session.engine_session`, which
owns the engine connection; they load the docker SDK inside it, while ssh
logs in.
"""

from swarmkit.cli.command import build_parser, main

__all__ = ["build_parser", "main"]
