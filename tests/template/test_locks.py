"""The template's shipped locks pin the wheel this checkout builds.

A lock is a promise that ``pip install --require-hashes`` works: each
variant pins swarm-django by the hash of the wheel built from this very
commit (the one that would be published), so a change to swarmkit/, the
README or the packaging without ``make template-lock`` fails here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.template.helpers import TEMPLATE, pins, sha256

VARIANTS = sorted((TEMPLATE / "requirements" / "_locks").iterdir())


def test_there_is_one_lock_set_per_django_and_redis_answer() -> None:
    names = {variant.name for variant in VARIANTS}
    assert names == {f"django{d}-{r}" for d in ("5.2", "6.1") for r in ("redis", "noredis")}


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: v.name)
def test_shipped_locks_pin_the_checkouts_wheel(variant: Path, wheel: Path) -> None:
    digest = sha256(wheel)
    for lock in ("production.txt", "test.txt", "local.txt"):
        entry = pins(variant / lock).get("swarm-django")
        assert entry is not None, f"{variant.name}/{lock} does not pin swarm-django"
        assert entry[1] == {digest}, (
            f"{variant.name}/{lock} pins swarm-django by {sorted(entry[1])}, the checkout's "
            f"wheel is {digest}: run `make template-lock`"
        )
