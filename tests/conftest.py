"""Shared fixtures: seeds, tiny generated samples, and the optional ../shared data folder."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

_SHARED = Path(
    os.environ.get("SKLEARN_BSYM_SHARED", Path(__file__).resolve().parents[1] / ".." / "shared")
)


@pytest.fixture(autouse=True)
def _seed_everything():
    """Tests must not depend on global RNG state: reset it before each one."""
    # The legacy global RNG on purpose: it is the state that code under test could leak into.
    np.random.seed(0)  # noqa: NPY002
    try:
        import torch
    except ImportError:  # pragma: no cover
        return
    torch.manual_seed(0)


@pytest.fixture(scope="session")
def lhe_dir() -> Path:
    """The real LHE test files in ../shared/data/lhe (skips when they are absent)."""
    path = _SHARED / "data" / "lhe"
    if not path.is_dir():
        pytest.skip(
            f"shared LHE test files not found at {path}: set SKLEARN_BSYM_SHARED to the shared "
            "folder, the one that holds data/lhe/ (e.g. SKLEARN_BSYM_SHARED=/path/to/shared)"
        )
    return path


@pytest.fixture(scope="module")
def one_torch_thread():
    """Tiny networks gain nothing from threads, and on a busy 2-core machine two threads contend
    so that every small op becomes many times slower (measured: 126 s instead of 5 s for three
    small fits). Use it per module: ``pytestmark = pytest.mark.usefixtures("one_torch_thread")``."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
