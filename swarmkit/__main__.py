"""``python -m swarmkit``: the same as the ``swarmkit`` command."""

import sys

from swarmkit.cli import main

sys.exit(main())
