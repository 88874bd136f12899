"""``python -m sklearn_bsym``: the command line of :mod:`sklearn_bsym.cli`."""

from __future__ import annotations

import sys

from .cli import EXIT_INTERRUPTED, build_parser, config_from_args, main

__all__ = ["main", "build_parser", "config_from_args", "EXIT_INTERRUPTED"]

if __name__ == "__main__":
    sys.exit(main())
