"""Every error a user of swarmkit can cause, in one tree.

::

    SwarmkitError                  base of everything below; ``.hint`` says what to do
    ├── StackError                 a stack file or its inputs are wrong
    │   │                          (``.file``, ``.line``, ``.key_path``)
    │   ├── StackFileError         a file is missing or unreadable
    │   ├── StackSyntaxError       malformed YAML
    │   ├── StackValidationError   unknown key, wrong type or value, or a file the
    │   │                          docker CLI would refuse
    │   ├── InterpolationError     ``${VAR:?msg}`` unset, or an invalid ``$`` template
    │   └── EnvFileError           an ``env_file`` or ``--env-file`` is malformed
    ├── SecretError                a Django setting's secret is missing or wrong
    │   │                          (also ``ImproperlyConfigured``; in
    │   │                          ``swarmkit.django.secrets``; ``.name``)
    │   ├── MissingSecretError     no place has it and there is no default (``.looked_at``)
    │   ├── SecretFileError        a secret file is missing (``$<NAME>_FILE``), unreadable
    │   │                          or not UTF-8 (``.path``)
    │   └── SecretValueError       its cast refused it (``.source``)
    ├── CronError                  cron is misdefined: a job (``.job``) or its settings
    │   ├── CronScheduleError      not a cron expression of five or six fields
    │   ├── CronSettingsError      the scheduler's cron URL or API key is unusable
    │   └── SlotError              a slot the endpoint refuses with a 400 (also
    │                              ``ValueError``)
    ├── MissingExtraError          an extra is not installed (also ``ImportError``;
    │                              ``.extra``): ``pip install 'swarm-django[<extra>]'``
    ├── DatabaseRoleError          a database URI secret cannot be a login role of
    │                              ``swarmkit.database_roles`` (``.file``)
    └── DeployError                talking to a swarm went wrong (``swarmkit.deploy``)
        ├── EngineError            no engine answers, or it is not a swarm manager
        ├── StackNotFoundError     no service carries the stack's label (``.stack``)
        ├── DockerCLIError         the docker CLI refused (``.command``,
        │                          ``.exit_code``, ``.stderr``)
        └── DeployFailedError      the stack did not converge: rolled back, paused,
            │                      an image the nodes cannot pull, or timed out
            │                      (``.failures``); the CLI exits 1
            └── RollbackFailedError  a rollback did not bring the previous release
                                   back (paused, an image it cannot pull, timed
                                   out): the stack runs a mix; the CLI exits 3

Each error's ``str()`` is one line: ``file:line: key.path: message (hint)``,
with the parts it knows. The CLI prints exactly that and exits 2
(1 for :class:`DeployFailedError`, 3 for :class:`RollbackFailedError`).
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "CronError",
    "CronScheduleError",
    "CronSettingsError",
    "DatabaseRoleError",
    "DeployError",
    "DeployFailedError",
    "DockerCLIError",
    "EngineError",
    "EnvFileError",
    "InterpolationError",
    "MissingExtraError",
    "RollbackFailedError",
    "SlotError",
    "StackError",
    "StackFileError",
    "StackNotFoundError",
    "StackSyntaxError",
    "StackValidationError",
    "SwarmkitError",
    "format_loc",
]


class SwarmkitError(Exception):
    """Base of every error swarmkit raises on purpose.

    ``message`` says what is wrong, ``hint`` (optional) what to do about it.
    """

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        text = self.message
        if self.hint:
            text = f"{text} ({self.hint})"
        return " ".join(text.split("\n"))


class StackError(SwarmkitError):
    """A stack file, or a file or variable it uses, is wrong.

    ``file`` is the path as given, ``line`` is 1-based, and ``key_path`` is the
    dotted path of the offending key (``services.app.ports[0]``); any of them
    may be ``None`` when unknown. ``loc`` is the same path as a tuple of keys
    and list indices, which the loader uses to find the line.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        key_path: str | None = None,
        loc: tuple[str | int, ...] = (),
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.file = file
        self.line = line
        self.loc = loc
        self.key_path = key_path if key_path is not None else format_loc(loc)

    def __str__(self) -> str:
        where = ""
        if self.file is not None:
            where = self.file if self.line is None else f"{self.file}:{self.line}"
            where += ": "
        key = f"{self.key_path}: " if self.key_path else ""
        return where + key + super().__str__()


def format_loc(loc: tuple[str | int, ...]) -> str | None:
    """``("services", "app", "ports", 0)`` -> ``"services.app.ports[0]"``."""
    if not loc:
        return None
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


class StackFileError(StackError):
    """A stack file (or a file it names) is missing or cannot be read."""


class StackSyntaxError(StackError):
    """A stack file is not valid YAML, or its top level is not a mapping."""


class StackValidationError(StackError):
    """A stack file has an unknown key, a wrong type or a value the CLI refuses."""


class InterpolationError(StackError):
    """A required variable is unset (``${VAR:?msg}``) or a ``$`` template is invalid.

    ``variable`` names the variable when there is one.
    """

    def __init__(
        self,
        message: str,
        *,
        variable: str | None = None,
        file: str | None = None,
        line: int | None = None,
        key_path: str | None = None,
        loc: tuple[str | int, ...] = (),
        hint: str | None = None,
    ) -> None:
        super().__init__(message, file=file, line=line, key_path=key_path, loc=loc, hint=hint)
        self.variable = variable


class EnvFileError(StackError):
    """An env file is unreadable or has a line the docker CLI would refuse."""


class CronError(SwarmkitError):
    """A cron job, or the cron settings, are wrong; ``job`` names the job when known."""

    def __init__(self, message: str, *, job: str | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.job = job


class CronScheduleError(CronError):
    """A schedule is not a cron expression of five fields (or six, seconds last)."""


class CronSettingsError(CronError):
    """The scheduler's settings are unusable: the cron URL or the API key (never quoted)."""


class SlotError(CronError, ValueError):
    """A slot that is malformed, not UTC, too far ahead or behind, or not on the job's schedule.

    The cron endpoint answers it with a 400; ``str()`` is the message it shows.
    Also a ``ValueError``, as a malformed value is.
    """


class DatabaseRoleError(SwarmkitError):
    """A database URI secret that cannot be a login role: not ``<owner>_v<N>``, or malformed.

    ``file`` names the secret file; the message never holds the URI (it has
    the password in it).
    """

    def __init__(self, message: str, *, file: str, hint: str | None = None) -> None:
        super().__init__(f"{file}: {message}", hint=hint)
        self.file = file


class MissingExtraError(SwarmkitError, ImportError):
    """A part of swarmkit needs an extra that is not installed (``extra`` names it).

    Also an ``ImportError``, so that ``import swarmkit.deploy`` fails as an
    import does; the CLI catches it by type and exits 2.
    """

    def __init__(self, module: str, extra: str, needs: str) -> None:
        super().__init__(
            f"{module} needs {needs}",
            hint=f"install it with pip install 'swarm-django[{extra}]'",
        )
        self.module = module
        self.extra = extra


class DeployError(SwarmkitError):
    """Deploying to, or reading from, a swarm went wrong."""


class EngineError(DeployError):
    """No Docker Engine answers, or the one that does is not a swarm manager."""


class StackNotFoundError(DeployError):
    """No service of the swarm belongs to the stack ``stack``."""

    def __init__(self, stack: str, *, hint: str | None = None) -> None:
        super().__init__(f"no stack named {stack!r} on this swarm", hint=hint)
        self.stack = stack


class DockerCLIError(DeployError):
    """The docker CLI exited non-zero (or could not start).

    ``command`` is the argument list, ``exit_code`` its exit code (``None``
    when it did not start) and ``stderr`` what it printed; ``str()`` is one
    line with the subcommand and the CLI's own words.
    """

    def __init__(self, command: Sequence[str], exit_code: int | None, stderr: str) -> None:
        words = " ".join(stderr.split())
        # "docker stack deploy mystack", "docker service rollback mystack_app"
        what = " ".join(["docker", *command[1:3], *command[-1:]])
        detail = words or (f"exit code {exit_code}" if exit_code is not None else "did not start")
        super().__init__(f"{what} failed: {detail}")
        self.command = tuple(command)
        self.exit_code = exit_code
        self.stderr = stderr


class DeployFailedError(DeployError):
    """The stack did not converge: rolled back, paused, an image its nodes cannot pull, or timeout.

    ``failures`` holds one multi-line report per failing service (task errors,
    exit codes, last log lines); ``str()`` stays one line.
    """

    def __init__(
        self, message: str, *, failures: tuple[str, ...] = (), hint: str | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        self.failures = failures


class RollbackFailedError(DeployFailedError):
    """A rollback did not bring the previous release back: the stack runs a mix.

    Swarm's rollback after a failed update (or one ``swarmkit rollback``
    asked for) paused, its tasks cannot pull the previous image, or it did
    not finish in time. ``failures`` holds the failing services' reports;
    the CLI exits 3, not 1, since the previous release is not serving either.
    """
