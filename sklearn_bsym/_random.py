"""The one way sklearn_bsym turns a ``random_state`` into seeds.

``random_state`` follows scikit-learn: None (fresh entropy), an int, or a
``numpy.random.RandomState``. Everything random in the library goes through these helpers, so the
same int gives the same numbers, serially or in parallel.
"""

from __future__ import annotations

import numpy as np
from sklearn.utils import check_random_state

__all__ = ["as_seed", "spawn_seeds", "derive_seed", "check_random_state"]


def as_seed(random_state) -> int:
    """A 32-bit int seed from a ``random_state``: an int is returned as is; a RandomState gives
    its next draw (so repeated calls differ, as scikit-learn estimators expect); None gives a
    fresh seed."""
    if isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool):
        if not 0 <= int(random_state) < 2**32:
            raise ValueError(f"random_state must be in [0, 2**32), got {random_state}.")
        return int(random_state)
    return int(check_random_state(random_state).randint(0, 2**31 - 1))


def spawn_seeds(random_state, n: int) -> list[int]:
    """``n`` independent int seeds derived from ``random_state`` (NumPy's SeedSequence)."""
    children = np.random.SeedSequence(as_seed(random_state)).spawn(n)
    return [int(c.generate_state(1)[0]) for c in children]


def derive_seed(seed: int, *keys: int) -> int:
    """A 32-bit seed that is a fixed function of ``seed`` and the integer ``keys`` (for example
    an epoch number), independent across keys."""
    return int(np.random.SeedSequence([int(seed), *map(int, keys)]).generate_state(1)[0])
