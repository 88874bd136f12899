"""The command line, ``python -m sklearn_bsym`` (or ``sklearn-bsym``): the study by default,
the commands ``fit`` and ``score`` beside it, one module each.

See ``python -m sklearn_bsym --help`` (the study; its Python API is :mod:`sklearn_bsym.studies`),
``python -m sklearn_bsym fit --help`` and ``score --help`` (their Python API is
:func:`sklearn_bsym.deploy.fit_model`, :func:`~sklearn_bsym.deploy.save_model`,
:func:`~sklearn_bsym.deploy.load_model` and :func:`~sklearn_bsym.deploy.score_files`). The
parsers and ``--help`` import only the study's config and model table (no torch, no pandas),
so they answer at once.
"""

from __future__ import annotations

from ._common import EXIT_INTERRUPTED
from ._study import config_from_args
from .entrypoint import COMMANDS, build_parser, main

__all__ = ["main", "build_parser", "config_from_args", "COMMANDS", "EXIT_INTERRUPTED"]
