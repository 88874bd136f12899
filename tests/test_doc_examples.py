"""The Python examples of the README and of the user guide run as written, each on its own (a
reader copies one block). The gallery's scripts run when the documentation is built."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCUMENTS = [README, *sorted((ROOT / "docs" / "user_guide").glob("*.md"))]

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _python_blocks(path: Path) -> list[tuple[int, str]]:
    """(line number, code) of every ```python block of a Markdown file."""
    text = path.read_text(encoding="utf-8")
    return [
        (text.count("\n", 0, m.start()) + 1, m.group(1))
        for m in re.finditer(r"^```python\n(.*?)^```", text, flags=re.S | re.M)
    ]


BLOCKS = [(path, line, code) for path in DOCUMENTS for line, code in _python_blocks(path)]


def test_the_readme_and_the_guide_have_python_examples():
    assert _python_blocks(README)
    assert len(BLOCKS) >= 5


@pytest.mark.parametrize(
    ("path", "line", "code"), BLOCKS, ids=[f"{p.name}:{line}" for p, line, _ in BLOCKS]
)
def test_example_runs(path, line, code, tmp_path, monkeypatch):
    # A fresh namespace per block: an example that needs names from another fails here, as it
    # would for a reader who runs it alone. Files it writes go to a temporary folder.
    assert ">>>" not in code, f"{path.name}:{line}: a prompt does not paste into Python"
    monkeypatch.chdir(tmp_path)
    exec(compile(code, f"{path.name}:{line}", "exec"), {"__name__": "__doc_example__"})


def test_the_readme_cites_no_document_the_reader_lacks():
    text = README.read_text(encoding="utf-8")
    assert "physics.md" not in text
    for target in re.findall(r"\]\(([^)#]+)\)", text):  # relative links point into the clone
        if "://" not in target:
            assert (ROOT / target).exists(), target
