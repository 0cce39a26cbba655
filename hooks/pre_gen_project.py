"""Refuse answers that would generate a broken project, once more before writing.

The answers are checked as they are given by local_extensions.py (the
template's cookiecutter extension), which stops a bad run before this hook.
Replayed answers (``cookiecutter --replay``) skip the prompts and those checks:
this hook runs the same checks on them. Cookiecutter renders this file with the
answers and runs it before writing anything; a non-zero exit stops generation
with nothing half-written.
"""

import json
import sys

# The checks live beside cookiecutter.json; this script runs from a temporary copy.
sys.path.insert(0, {{ cookiecutter._repo_dir | tojson }})

from local_extensions import problems  # noqa: E402

ANSWERS = json.loads({{ cookiecutter | jsonify | tojson }})


def main():
    found = problems(ANSWERS)
    for message in found:
        print(f"ERROR: {message}", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
