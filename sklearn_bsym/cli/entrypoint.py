"""``python -m sklearn_bsym``: the study's parser, with one subparser per command below it.

Each command is a module of this package with a ``PARSER`` (its prog and description), an
``add_arguments(parser)``, a ``run(args)`` and an ``interrupted(args, stop)`` (the line a
Ctrl-C prints); :data:`COMMANDS` maps the names to them (the layout of skops' command line).
"""

from __future__ import annotations

import argparse
import sys

from . import _fit, _score, _study
from ._common import run_reported

#: The commands beside the study: name -> module.
COMMANDS = {"fit": _fit, "score": _score}


def build_parser() -> argparse.ArgumentParser:
    """The command line's parser: the study's options, and the commands as subparsers."""
    parser = _study.build_parser()
    parser.set_defaults(command_module=_study)
    # The study's epilog lists the commands: the subparsers stay out of --help.
    commands = parser.add_subparsers(dest="command", metavar="", help=argparse.SUPPRESS)
    for name, module in COMMANDS.items():
        module.add_arguments(commands.add_parser(name, **module.PARSER))
        commands.choices[name].set_defaults(command_module=module)
    return parser


def main(argv=None) -> int:
    """Run the study, or the command ``fit`` or ``score`` named first, from the command line;
    returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(sys.argv[1:] if argv is None else list(argv))
    if args.command is None:
        # A study config that the options cannot make is a usage error, like a bad option.
        try:
            args.config = _study.config_from_args(args)
        except (ValueError, FileNotFoundError) as exc:
            parser.error(str(exc))
    module = args.command_module
    return run_reported(module.run, args, module.interrupted)
