"""Test-wide settings: hypothesis runs a fixed set of examples under CI=true.

``HYPOTHESIS_PROFILE=explore`` runs many more random examples, to hunt for
differences from the docker CLI before a release.
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("default", max_examples=150)
settings.register_profile("ci", max_examples=150, derandomize=True, print_blob=True)
settings.register_profile("explore", max_examples=3000)
settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "default")
)
