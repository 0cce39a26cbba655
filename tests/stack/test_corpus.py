"""Stack files written like the public ones (tests/stack/corpus/): as the docker CLI does.

Each file is ours, written to use the constructs found in public Swarm stack
files (docs/stack.md, "Files we did not write"). For each one ``swarmkit
config`` (load, then render) prints what ``docker stack config`` prints, read
back as data; a file named ``refuse-*`` is one the CLI refuses,
and swarmkit must refuse it too. ``swarmkit lint`` never crashes on any of
them: it gives findings or a ``SwarmkitError``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from swarmkit.exceptions import SwarmkitError
from swarmkit.stack import lint_stack, load_stack
from tests.stack.oracle import run_both

CORPUS = Path(__file__).resolve().parent / "corpus"
ENVIRON: dict[str, str] = json.loads((CORPUS / "environ.json").read_text())
FILES = sorted(CORPUS.glob("*.yml"))


def _cases() -> list[object]:
    return [pytest.param(path, id=path.stem) for path in FILES]


def test_the_corpus_has_both_kinds() -> None:
    refused = [path for path in FILES if path.name.startswith("refuse-")]
    assert len(FILES) >= 20
    assert 8 <= len(refused) < len(FILES) - 10


def test_the_crlf_file_keeps_its_line_endings() -> None:
    # .gitattributes keeps git from normalising it; without CRLF it tests nothing.
    data = (CORPUS / "crlf-windows.yml").read_bytes()
    assert data.count(b"\r\n") == data.count(b"\n") > 10


@pytest.mark.parametrize("path", _cases())
def test_config_agrees_with_the_cli(tmp_path: Path, path: Path) -> None:
    outcome = run_both([path], ENVIRON)
    if path.name.startswith("refuse-"):
        error = outcome.assert_refused_by_both()
        assert str(error).count("\n") == 0
        assert path.name in str(error), "the message names the file"
        return
    assert not outcome.cli_error, outcome.cli_error
    assert outcome.our_error is None, outcome.our_error
    assert outcome.ours == outcome.cli
    # The rendered file keeps the file's own version's forms (``external: {name}``
    # in 3.1), so it is compared after loading it again, not as text.
    rendered = tmp_path / path.name
    rendered.write_text(outcome.rendered)
    assert load_stack(rendered, environ={}).to_data() == outcome.cli


@pytest.mark.parametrize("path", [pytest.param(p, id=p.stem) for p in FILES])
def test_lint_never_crashes(path: Path) -> None:
    try:
        findings = lint_stack(load_stack(path, environ=ENVIRON))
    except SwarmkitError as exc:
        assert path.name.startswith("refuse-"), exc
        return
    assert all(finding.code and finding.message for finding in findings)
