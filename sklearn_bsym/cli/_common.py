"""What the commands share: the argparse types and reader options, the one-line messages and
the one handling of errors, warnings and Ctrl-C (:func:`run_reported`)."""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

#: Exit status after Ctrl-C (128 + SIGINT), as shells report it.
EXIT_INTERRUPTED = 130


def column_mapping(text: str) -> str:
    """An argparse type: a column mapping from JSON text or a JSON file, returned as canonical
    JSON text (it enters the result-set id). Text that starts with '[' or '{' is JSON text,
    whatever its length; anything else names a file, read whole only when it is a small
    regular file."""
    from .._files import read_bounded

    if text.lstrip().startswith(("[", "{")):
        source = text
    else:
        try:
            source = read_bounded(Path(text), 2**20, follow_links=True).decode("utf-8")
        except (ValueError, OSError) as exc:  # UnicodeDecodeError is a ValueError
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise argparse.ArgumentTypeError(
                f"cannot read the mapping file {text[:80]!r} ({why}); give the mapping as JSON "
                "text (a list, starting with '['), e.g. "
                '[{"px": "px_0", ...}, {"px": "px_1", ...}], or the path of a JSON file'
            ) from None
    try:
        mapping = json.loads(source)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(
            f"not a JSON file or JSON text ({exc.msg} at character {exc.pos}); give a list "
            'with one object per particle, e.g. [{"px": "px_0", ...}, {"px": "px_1", ...}]'
        ) from None
    if not isinstance(mapping, list) or not all(isinstance(m, dict) for m in mapping):
        raise argparse.ArgumentTypeError(
            "the mapping must be a JSON list with one object per particle, e.g. "
            '[{"px": "px_0", "py": "py_0", "pz": "pz_0", "E": "energy_0"}, {...}]'
        )
    return json.dumps(mapping, sort_keys=True)


def number(rule, *, fraction=False):
    """An argparse type for a number option with ``rule`` (a ``studies.Range``, the one that
    ``StudyConfig`` checks the field with): a finite number of the rule's kind in its interval,
    else a message with the allowed range (for a ``fraction`` given as a percentage, the
    fraction it means)."""

    def parse(text: str):
        try:
            value = rule.kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not {'an integer' if rule.kind is int else 'a number'}; "
                f"allowed: {rule}"
            ) from None
        if not rule.holds(value):
            percent = f" ({text} % is {value / 100:g})" if fraction and 1 < value <= 100 else ""
            raise argparse.ArgumentTypeError(
                f"{text} is out of range; allowed: {rule}{percent}"
            )
        return value

    parse.__name__ = rule.kind.__name__  # argparse names the type in its messages
    return parse


def n_jobs(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value == 0:
        raise argparse.ArgumentTypeError("0 runs nothing; use N >= 1 or -1 (all cores)")
    return value


#: Which events the reader drops (NaN in score's output) in each pair mode.
NAN_MEANS = (
    "in exclusive mode one with no lepton, one lepton, leptons of one charge only, or more "
    "than one lepton of a charge (N/2 with --n-leptons N); in leading and closest mode one "
    "with no lepton of a charge (fewer than N/2)"
)


def add_reader_options(parser: argparse.ArgumentParser, *, per_class: bool = False) -> None:
    """How event files are read, alike in the study, fit and score: --lepton, --tree,
    --columns (and, for signal and background files, --signal-columns and
    --background-columns), --pair, --pair-mass and --n-leptons."""
    from ..studies import LEPTONS, PAIR_MODES, RULES

    parser.add_argument(
        "--lepton",
        choices=LEPTONS,
        default=None,
        help="lepton pair to read from the event files: mu (default) or e",
    )
    parser.add_argument(
        "--tree", metavar="NAME",
        help="tree inside ROOT event files (default: the reader's; with files of several "
        "formats, the ROOT files')",
    )
    parser.add_argument(
        "--columns",
        type=column_mapping,
        metavar="JSON",
        help="column mapping of event files with their own column names: JSON text (any "
        "length) or a JSON file, one object per particle, e.g. '[{\"px\": \"px_0\", "
        '\"py\": \"py_0\", \"pz\": \"pz_0\", \"E\": \"energy_0\", \"pdg_id\": '
        "\"id_0\"}, {...}]' (keys px/py/pz/E, or pt/eta/phi and mass: a column, a number in "
        "GeV, or none for the lepton's mass; optional charge or pdg_id, to choose the leptons "
        "by --pair)",
    )
    if per_class:
        for role in ("signal", "background"):
            parser.add_argument(
                f"--{role}-columns", type=column_mapping, metavar="JSON",
                help=f"the column mapping of the {role} files only (instead of --columns), "
                "e.g. when signal and background come in different formats",
            )
    parser.add_argument(
        "--pair",
        choices=PAIR_MODES,
        default=None,
        help="which leptons of an event are read: 'exclusive' (default) events with exactly "
        "one of each charge, 'leading' the highest-pT lepton of each charge, 'closest' the "
        "opposite-charge pair whose mass is closest to --pair-mass (the Z candidate; with "
        "--n-leptons 4 the two closest pairs). An event without them is dropped (NaN in "
        f"score's output): {NAN_MEANS}",
    )
    parser.add_argument(
        "--pair-mass", type=number(RULES["pair_mass"]), metavar="GEV",
        help="the mass of --pair closest, in GeV (default: the Z mass, 91.1876)",
    )
    parser.add_argument(
        "--n-leptons", type=n_leptons, metavar="N",
        help="leptons per event, half of each charge, e.g. 4 for H -> ZZ -> 4 leptons "
        "(default: 2; with a column mapping that has charges, every mapped particle); "
        "positive leptons first, each charge by decreasing pT",
    )


def n_leptons(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 2 or value % 2:
        raise argparse.ArgumentTypeError(
            f"{value} is not an even number >= 2 (half of the leptons of each charge)")
    return value


def reading(args, *, model_meta=None) -> dict:
    """The readers' options of parsed arguments; for ``score``, the lepton, pair mode and
    number of leptons not given are the fit's, as the model file records them."""
    meta = model_meta or {}
    pair = args.pair or meta.get("pair") or "exclusive"
    pair_mass = args.pair_mass
    if pair_mass is None and pair == meta.get("pair"):
        pair_mass = meta.get("pair_mass")
    return {
        "lepton": args.lepton or meta.get("lepton") or "mu",
        "tree": args.tree,
        "columns": columns_of(args),
        "pair": pair,
        "pair_mass": pair_mass,
        "n_leptons": args.n_leptons if args.n_leptons is not None else meta.get("n_leptons"),
    }


def columns_of(args, role=None):
    """The column mapping of parsed arguments (of ``role``'s files: its own if given)."""
    text = getattr(args, f"{role}_columns", None) if role else None
    text = args.columns if text is None else text
    return None if text is None else json.loads(text)


def check_lepton(args, paths) -> None:
    """--lepton chooses the pair in LHE and ROOT files and in tables mapped with pdg_id; a table
    of canonical events (or mapped without pdg_id) has no flavours to choose from. Refused when
    no input reads it, a one-line warning naming the inputs that ignore it otherwise."""
    from ..datasets import EVENT_SUFFIXES, event_file_suffix

    if args.lepton is None:
        return
    mapping = columns_of(args)
    flavoured = mapping is not None and any("pdg_id" in particle for particle in mapping)
    flavours = (*EVENT_SUFFIXES["lhe"], *EVENT_SUFFIXES["root"])
    ignored = [str(p) for p in paths
               if not flavoured and event_file_suffix(p) not in flavours]
    if not ignored:
        return
    why = (f"--lepton {args.lepton} does not apply to {', '.join(ignored)}: a table's "
           "particles carry no flavour unless --columns maps a pdg_id (--lepton chooses the "
           "pair in LHE and ROOT files)")
    if len(ignored) == len(paths):
        raise ValueError(f"{why}; remove --lepton.")
    warnings.warn(f"{why}; those files are read as they are.", UserWarning, stacklevel=2)


def json_counts(read: dict) -> dict:
    """The readers' counts of each file, without the per-event arrays (LHE weights)."""
    return {role: [{k: v for k, v in info.items() if k != "weights"} for info in infos]
            for role, infos in read.items()}


def cutflow(label: str, info: dict, kept: str = "selected") -> str:
    """One line of a reader's counts, coffea-cutflow style: entries, kept, dropped per
    reason."""
    dropped = ", ".join(f"{n:,} {reason}" for reason, n in info["skipped"].items() if n)
    return (f"{label}: {info['n_events_read']:,} entries, {info['n_selected']:,} {kept}"
            + (f"; dropped: {dropped}" if dropped else ""))


def ranges(support: dict) -> str:
    low, high = (f"{100 * q:g} %" for q in support["quantiles"])
    return (f"{low} to {high} of {support['n_events']:,} events: mass "
            f"[{support['mass'][0]:.4g}, {support['mass'][1]:.4g}] GeV, lepton pT "
            f"[{support['pt'][0]:.4g}, {support['pt'][1]:.4g}] GeV, eta "
            f"[{support['eta'][0]:.3g}, {support['eta'][1]:.3g}]")


def say_masses(lepton, *mappings) -> None:
    """One line per mapping that takes constant masses (the lepton's, or numbers)."""
    from ..datasets import mass_note

    for note in dict.fromkeys(mass_note(m, lepton) for m in mappings if m is not None):
        if note:
            say(f"Masses: {note}")


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    # One line per warning, as for errors: the user acts on the text, not on our source line.
    say(f"warning: {message}")


def run_reported(run, args, interrupted) -> int:
    """``run(args)``'s exit status, with the one handling of the command line: each warning is
    one line ``warning: ...`` on stderr; an error is one line ``error: ...`` (exit status 2 for
    bad input, a ValueError or OSError, else 1; ``--debug`` shows the traceback instead); Ctrl-C
    prints ``interrupted(args, stop)`` and exits with :data:`EXIT_INTERRUPTED`."""
    with warnings.catch_warnings():
        warnings.showwarning = show_warning
        try:
            return run(args)
        except KeyboardInterrupt as stop:
            say(interrupted(args, stop))
            return EXIT_INTERRUPTED
        except Exception as exc:
            if args.debug:
                raise
            say(f"error: {exc}")
            return 2 if isinstance(exc, ValueError | OSError) else 1
