"""The README's Python examples run as written, each on its own (a reader copies one block)."""

from __future__ import annotations

import doctest
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _python_blocks() -> list[tuple[int, str]]:
    """(line number, code) of every ```python block of the README."""
    text = README.read_text(encoding="utf-8")
    return [
        (text.count("\n", 0, m.start()) + 1, m.group(1))
        for m in re.finditer(r"^```python\n(.*?)^```", text, flags=re.S | re.M)
    ]


BLOCKS = _python_blocks()


def test_the_readme_has_python_examples():
    assert len(BLOCKS) >= 4


@pytest.mark.parametrize(("line", "code"), BLOCKS, ids=[f"line{line}" for line, _ in BLOCKS])
def test_readme_example_runs(line, code, tmp_path, monkeypatch):
    # A fresh namespace per block: an example that needs names from another fails here, as it
    # would for a reader who runs it alone. Files it writes go to a temporary folder.
    monkeypatch.chdir(tmp_path)
    if code.lstrip().startswith(">>>"):
        test = doctest.DocTestParser().get_doctest(code, {}, f"README.md:{line}", str(README), line)
        runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
        runner.run(test)
        assert runner.summarize(verbose=False).failed == 0, f"README.md line {line}"
    else:
        exec(compile(code, f"README.md:{line}", "exec"), {"__name__": "__readme__"})


def test_readme_cites_no_document_the_reader_lacks():
    assert "physics.md" not in README.read_text(encoding="utf-8")
