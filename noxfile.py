"""Sessions beside the plain test command: ``nox -s minimums`` (the declared floors) and ``docs``.

``minimums`` installs the lowest version each floor in ``pyproject.toml`` allows (``>=X`` read as
``==X``) for the dependencies and the ``test`` extra, keeps the CPU build of torch that CI
installs (torch is the one dependency it does not pin down: its floor's wheels are CUDA builds of
several GB), and runs the test suite.
"""

from __future__ import annotations

import re
from pathlib import Path

import nox
import tomllib

nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = False

ROOT = Path(__file__).parent
TORCH = "torch==2.13.0"  # the CPU build CI installs first (.ci/run)


def floors() -> list[str]:
    """``name==floor`` for every ``name>=floor`` (or ``name>=floor,<bound``) of the dependencies
    and the test extra."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    pins = []
    for requirement in project["dependencies"] + project["optional-dependencies"]["test"]:
        match = re.fullmatch(r"([A-Za-z0-9_.\-]+)(\[[^\]]*\])?>=([^,;\s]+)(?:,<[^,;\s]+)?",
                             requirement.strip())
        if match and match.group(1) != "torch":
            name, extra, floor = match.groups()
            pins.append(f"{name}{extra or ''}=={floor}")
    return pins


@nox.session
def minimums(session: nox.Session) -> None:
    """The test suite on the declared minimum versions (and torch 2.13.0, CPU)."""
    session.install(TORCH)
    session.install("-e", ".[test]", *floors())
    session.run("python", "-m", "pip", "list", "--format=freeze", silent=False)
    # The tests skip what does not import; at the floors, everything must.
    optional = ("import dask.distributed, imblearn.pipeline, matplotlib.pyplot, vector, onnx, "
                "onnxruntime, onnxscript")
    session.run("python", "-c", optional)
    session.run("python", "-m", "pytest", *session.posargs)


@nox.session
def docs(session: nox.Session) -> None:
    """The documentation site, warnings as errors, gallery executed (``docs/_build/html``)."""
    session.install(TORCH)
    session.install("-e", ".[docs]")
    session.run("sphinx-build", "-W", "--keep-going", "-b", "html", "docs", "docs/_build/html")
