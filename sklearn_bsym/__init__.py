"""sklearn_bsym: learning broken symmetries with approximate invariance, in scikit-learn.

The event layout used throughout is documented once, in :mod:`sklearn_bsym.events`.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("sklearn-bsym")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"

__all__ = ["__version__"]
