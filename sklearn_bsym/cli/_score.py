"""``python -m sklearn_bsym score``: score every entry of event files with a saved model (its
Python API: :func:`sklearn_bsym.deploy.load_model` and :func:`~sklearn_bsym.deploy.score_files`)."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from ._common import (
    add_reader_options,
    check_lepton,
    cutflow,
    n_jobs,
    number,
    ranges,
    reading,
    say,
    say_masses,
)

DESCRIPTION = """\
Score every entry of event files with a model saved by 'fit' (or sklearn_bsym.deploy.save_model):
one score (the signal probability) per input entry, in the inputs' order, NaN where the reader's
selection drops the event: it does not have the leptons asked for (--pair, --n-leptons; by
default those the model was fitted with). The counts per reason of each file are printed. The
inputs are read in chunks, so they may be larger than memory; --n-jobs or --dask score several
files at once (the same scores). They are taken as measured: a model that smears (fitted with
--resolution) is scored by its steps after the smearing, never smearing the inputs a second
time. The scored events outside the training sample's support (saved by 'fit') are counted,
and --support-column flags each. A .root output holds a tree 'scores' with as many entries as
the input tree, to attach as its friend: tree.AddFriend("scores", "OUT.root").
"""

PARSER = {"prog": "python -m sklearn_bsym score", "description": DESCRIPTION,
          "formatter_class": argparse.RawDescriptionHelpFormatter}


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The options of ``python -m sklearn_bsym score``, added to ``parser``."""
    from ..studies import Range

    parser.add_argument("model", metavar="MODEL_FILE", help="a model saved by 'fit'")
    parser.add_argument("inputs", nargs="+", metavar="INPUT",
                        help="event files (.root, .lhe, .lhe.gz, .parquet, .csv); several are "
                        "scored one after the other into one output, or each into its own")
    parser.add_argument("--output", required=True, metavar="OUT",
                        help="the scores: .root (tree 'scores'), .parquet or .csv; one file for "
                        "all inputs, or a pattern with {stem} (the input's name without its "
                        "extension) or {index} for one per input, e.g. 'scores/{stem}.root'")
    add_reader_options(parser)
    parser.add_argument("--name", default="score",
                        help="branch or column of the scores (default: %(default)s)")
    parser.add_argument("--support-column", metavar="NAME",
                        help="also write a branch or column NAME beside the scores: true where "
                        "the event was scored outside the training sample's support (the ranges "
                        "'fit' saved)")
    parser.add_argument("--counts", metavar="JSON_FILE",
                        help="write each input's counts (entries, scored, dropped per reason, "
                        "outside the support) to this JSON file")
    parser.add_argument("--chunk-size", type=number(Range(int, 1)), default=100_000,
                        metavar="N", help="entries read and scored at once (default: %(default)s)")
    parser.add_argument("--n-jobs", type=n_jobs, default=None, metavar="N",
                        help="input files scored at once by N worker processes (-1: all cores; "
                        "default: one after the other); with --dask local, the number of "
                        "Dask workers")
    parser.add_argument("--dask", default=None, metavar="ADDRESS",
                        help="score the files on Dask: 'local' starts a LocalCluster on this "
                        "machine, anything else is the address of a running scheduler (e.g. "
                        "tcp://10.0.0.5:8786), whose workers read the inputs at the same paths")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--debug", action="store_true", help="show the full traceback of an error")
    return parser


def check_outputs(args) -> None:
    """The outputs of ``score`` (one, or one per input of a pattern), checked before any work:
    not the model file, writable, none of the inputs."""
    from .._files import same_file
    from ..deploy import score_outputs

    def not_the_model(output):
        if same_file(output, args.model):
            raise ValueError(f"The output {output} is the model file {args.model}; writing the "
                             "scores there would destroy the model: choose another path.")

    not_the_model(args.output)
    for output in dict.fromkeys(score_outputs(args.output, args.inputs)):
        not_the_model(output)


def run(args) -> int:
    """Score the input files with the model file; the exit status."""
    from ..deploy import SCORE_TREE, load_model, score_files

    start = time.perf_counter()
    check_outputs(args)
    check_lepton(args, args.inputs)
    # One read of the file: the manifest shown is the one checked against the model loaded.
    model, info = load_model(args.model, return_info=True)
    meta = info.get("metadata", {})
    trained = (f"; trained on {meta['n_signal']:,} signal and {meta['n_background']:,} "
               "background events" if isinstance(meta.get("n_signal"), int)
               and isinstance(meta.get("n_background"), int) else "")
    say(f"Model: {info['measured']['estimator']} (sklearn_bsym "
         f"{info['versions']['sklearn_bsym']}{trained}).")
    support = meta.get("support")
    if args.support_column is not None and support is None:
        raise ValueError(f"--support-column: the model file {args.model} records no training "
                         "support (it was not written by this version's 'fit'); nothing to "
                         "flag the events against.")
    options = reading(args, model_meta=meta)
    say_masses(options["lepton"], options["columns"])
    summary = score_files(model, args.inputs, args.output, name=args.name, support=support,
                          support_column=args.support_column, chunk_size=args.chunk_size,
                          n_jobs=args.n_jobs, dask=args.dask, progress=not args.no_progress,
                          **options)
    skipped = [*info["measured"]["skipped"], *summary.skipped_steps]
    if skipped:
        steps = ", ".join(repr(s) for s in skipped)
        print(f"No smearing: the inputs are taken as measured, so the model's measuring "
              f"step(s) {steps} are left out (sklearn_bsym.deploy.measured_model).")
    print(f"Selection: {summary.selection}.")
    shown = summary.files if len(summary.files) <= 10 else []
    for file in shown:
        print(cutflow(file["input"], {"n_events_read": file["n_entries"],
                                       "n_selected": file["n_scored"],
                                       "skipped": file["dropped"]}, "scored"))
    dropped = ", ".join(f"{n:,} {reason}" for reason, n in summary.dropped.items() if n)
    print(f"Scored {summary.n_scored:,} of {summary.n_entries:,} entries; "
          f"{summary.n_dropped:,} dropped by the selection are NaN"
          + (f" ({dropped})." if dropped else "."))
    if summary.outside is not None:
        parts = ", ".join(f"{summary.outside[k]:,} in {k}" for k in ("mass", "pt", "eta"))
        flag = (f"flagged in '{args.support_column}'" if args.support_column
                else "--support-column NAME flags each")
        print(f"Outside the training support: {summary.outside['any']:,} of "
              f"{summary.n_scored:,} scored entries ({parts}; {flag}). The support: "
              f"{ranges(support)}.")
    else:
        print("The model file records no training support, so the events outside it are not "
              "counted (refit the model with this version's 'fit').")
    if args.counts is not None:
        counts = {"selection": summary.selection, "n_entries": summary.n_entries,
                  "n_scored": summary.n_scored, "dropped": summary.dropped,
                  "outside": summary.outside, "support": support, "files": summary.files}
        Path(args.counts).write_text(json.dumps(counts, indent=1), encoding="utf-8")
    outputs = summary.outputs
    if len(outputs) == 1 and outputs[0].suffix == ".root":
        where = (f"tree '{SCORE_TREE}', branch '{args.name}'; attach it with tree.AddFriend("
                 f"\"{SCORE_TREE}\", \"{outputs[0]}\")")
    elif outputs[0].suffix == ".root":
        where = f"tree '{SCORE_TREE}', branch '{args.name}', one file per input, its friend"
    else:
        where = f"column '{args.name}'"
    target = outputs[0] if len(outputs) == 1 else f"{len(outputs)} files ({args.output})"
    print(f"Wrote {summary.n_entries:,} scores to {target} ({where}) in "
          f"{time.perf_counter() - start:.0f} s.")
    return 0



def interrupted(args, stop) -> str:
    # The outputs are written whole through a temporary file or not at all.
    return f"Interrupted: nothing was written ({args.output} is as it was)."
