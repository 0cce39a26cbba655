"""Prune what the unselected options do not need (standard library only).

Runs inside the generated project. The template ships one set of locked
requirements per (Django version, Redis) pair, compiled by pip-compile; the
matching set (the .txt files and the recorded hashes of the .in files they
were compiled from) moves into requirements/ and the others go.
"""

import shutil
import sys
from pathlib import Path

SLUG = "{{ cookiecutter.project_slug }}"
USE_CRON = "{{ cookiecutter.use_cron }}" == "y"
LOCK_VARIANT = "django{{ cookiecutter.django_version }}-{{ 'redis' if cookiecutter.use_redis == 'y' else 'noredis' }}"

FIRST_COMMAND = "docker compose up -d --build"

CRON_ONLY = [
    Path(SLUG) / "cron.py",
    Path("tests") / "test_cron.py",
    Path("deploy") / "stack.cron-key-fallbacks.yml",
]


def use_lock_variant(root):
    """Move the lock files of the chosen variant into requirements/."""
    locks = root / "requirements" / "_locks"
    chosen = locks / LOCK_VARIANT
    if not chosen.is_dir():
        print(f"ERROR: the template has no locked requirements for {LOCK_VARIANT}", file=sys.stderr)
        return False
    for lock in sorted(chosen.iterdir()):
        lock.replace(root / "requirements" / lock.name)
    shutil.rmtree(locks)
    return True


def main():
    root = Path.cwd()
    if not USE_CRON:
        for path in CRON_ONLY:
            (root / path).unlink(missing_ok=True)
    if not use_lock_variant(root):
        return 1
    # The README's first command ("Run it locally"); a test holds the two together.
    print(f"Created {root.name}. Next: cd {root.name} && {FIRST_COMMAND} (see README.md).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
