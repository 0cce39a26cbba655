"""swarmkit: Docker Swarm stack files as Pydantic models, and the tools around them.

The public names load lazily (PEP 562), so ``import swarmkit`` costs almost
nothing and ``python -m swarmkit.<stdlib-only module>`` never imports pydantic,
PyYAML, Django or the docker SDK.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from swarmkit._version import __version__

if TYPE_CHECKING:
    from swarmkit.django.secrets import MissingSecretError as MissingSecretError
    from swarmkit.django.secrets import SecretError as SecretError
    from swarmkit.django.secrets import SecretFileError as SecretFileError
    from swarmkit.django.secrets import SecretValueError as SecretValueError
    from swarmkit.exceptions import CronError as CronError
    from swarmkit.exceptions import CronScheduleError as CronScheduleError
    from swarmkit.exceptions import CronSettingsError as CronSettingsError
    from swarmkit.exceptions import DatabaseRoleError as DatabaseRoleError
    from swarmkit.exceptions import (
        DeployError,
        DeployFailedError,
        DockerCLIError,
        EngineError,
        EnvFileError,
        InterpolationError,
        MissingExtraError,
        RollbackFailedError,
        StackError,
        StackFileError,
        StackNotFoundError,
        StackSyntaxError,
        StackValidationError,
        SwarmkitError,
    )
    from swarmkit.exceptions import SlotError as SlotError
    from swarmkit.stack import (
        LintFinding,
        Service,
        Stack,
        hash_names,
        lint_stack,
        load_stack,
        merge_stacks,
    )

__all__ = [
    "DeployError",
    "DeployFailedError",
    "DockerCLIError",
    "EngineError",
    "EnvFileError",
    "InterpolationError",
    "LintFinding",
    "MissingExtraError",
    "RollbackFailedError",
    "Service",
    "Stack",
    "StackError",
    "StackFileError",
    "StackNotFoundError",
    "StackSyntaxError",
    "StackValidationError",
    "SwarmkitError",
    "__version__",
    "hash_names",
    "lint_stack",
    "load_stack",
    "merge_stacks",
]

_LAZY = {
    "DeployError": "swarmkit.exceptions",
    "DeployFailedError": "swarmkit.exceptions",
    "DockerCLIError": "swarmkit.exceptions",
    "EngineError": "swarmkit.exceptions",
    "EnvFileError": "swarmkit.exceptions",
    "InterpolationError": "swarmkit.exceptions",
    "MissingExtraError": "swarmkit.exceptions",
    "RollbackFailedError": "swarmkit.exceptions",
    "StackError": "swarmkit.exceptions",
    "StackFileError": "swarmkit.exceptions",
    "StackNotFoundError": "swarmkit.exceptions",
    "StackSyntaxError": "swarmkit.exceptions",
    "StackValidationError": "swarmkit.exceptions",
    "SwarmkitError": "swarmkit.exceptions",
    "LintFinding": "swarmkit.stack",
    "Service": "swarmkit.stack",
    "Stack": "swarmkit.stack",
    "hash_names": "swarmkit.stack",
    "lint_stack": "swarmkit.stack",
    "load_stack": "swarmkit.stack",
    "merge_stacks": "swarmkit.stack",
}

# The cron and database role errors, from swarmkit.exceptions like the others.
__all__ += ["CronError", "CronScheduleError", "CronSettingsError", "DatabaseRoleError", "SlotError"]
_LAZY.update(
    dict.fromkeys(
        ("CronError", "CronScheduleError", "CronSettingsError", "DatabaseRoleError", "SlotError"),
        "swarmkit.exceptions",
    )
)

# The secret errors live in swarmkit.django.secrets: they are also Django's
# ImproperlyConfigured, so using one imports Django (never `import swarmkit`
# itself). They are left out of __all__ so that `from swarmkit import *`
# still works without the django extra.
_SECRET_ERRORS = ("MissingSecretError", "SecretError", "SecretFileError", "SecretValueError")
_LAZY.update(dict.fromkeys(_SECRET_ERRORS, "swarmkit.django.secrets"))


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'swarmkit' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*__all__, *_SECRET_ERRORS})
