"""``python -m sklearn_bsym fit``: train a model of the study's table on event files and save
it (its Python API: :func:`sklearn_bsym.deploy.fit_model` and
:func:`~sklearn_bsym.deploy.save_model`)."""

from __future__ import annotations

import argparse
import time
import warnings

from ._common import (
    add_reader_options,
    check_lepton,
    columns_of,
    cutflow,
    json_counts,
    number,
    ranges,
    reading,
    say,
    say_masses,
)

DESCRIPTION = """\
Train one model of the study's table on your signal and background event files and save it to a
model file (loading it runs no code from the file; see sklearn_bsym.deploy). The events are
taken as measured (a detector's output) unless --resolution smears them first, as the study
smears its truth-level events; the background is pT-reweighted to the signal's spectrum on the
training events, as the study does. The counts of each file's events per reason of the
selection are printed; the training sample's support (dilepton mass, lepton pT and eta ranges)
is saved with the model, so that 'score' counts the events outside it. Any sample with both
classes fits, down to a few dozen events (the networks' batch follows the sample). Score files
with the saved model with 'python -m sklearn_bsym score MODEL_FILE INPUT... --output OUT'.
"""

PARSER = {"prog": "python -m sklearn_bsym fit", "description": DESCRIPTION,
          "formatter_class": argparse.RawDescriptionHelpFormatter}


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The options of ``python -m sklearn_bsym fit``, added to ``parser``."""
    from ..studies import MODEL_TABLE, NETWORK_PRESETS, RULES, Range

    parser.add_argument("--signal", nargs="+", required=True, metavar="PATH",
                        help="signal event files (.root, .lhe, .lhe.gz, .parquet, .csv)")
    parser.add_argument("--background", nargs="+", required=True, metavar="PATH",
                        help="background event files (.root, .lhe, .lhe.gz, .parquet, .csv)")
    add_reader_options(parser, per_class=True)
    models = [name for name, spec in MODEL_TABLE.items() if spec.estimator is not None]
    parser.add_argument("--model", choices=models, default="hybrid", metavar="MODEL",
                        help=f"the model, one of {', '.join(models)} (default: %(default)s)")
    parser.add_argument("--preset", choices=NETWORK_PRESETS, default="fast",
                        help="network preset (default: %(default)s)")
    parser.add_argument("--epochs", type=number(RULES["max_epochs"]), metavar="N",
                        help="maximum epochs of a network (default: the preset's)")
    parser.add_argument("--batch-size", type=number(Range(int, 2)), metavar="N",
                        help="training batch of a network (default: the preset's, which "
                        "follows the sample: half the training events where they are fewer)")
    parser.add_argument(
        "--resolution", type=number(RULES["resolution"], fraction=True), default=0.0,
        metavar="R",
        help="relative muon pT resolution to smear the events with before training, in [0, 1] "
        "(default: 0, the files are taken as measured; e.g. 0.1 for truth-level files such as "
        "LHE); the model keeps the smearer, and 'score' leaves it out",
    )
    parser.add_argument(
        "--reweight", action=argparse.BooleanOptionalAction, default=True,
        help="weight the background so that its pT spectrum is the signal's, fitted on the "
        "training events as the study does (default: on)",
    )
    parser.add_argument(
        "--test-fraction", type=number(RULES["test_fraction"], fraction=True), metavar="F",
        help="hold out this stratified share of the events and print the model's AUC on it "
        "(pT-weighted, as the study scores; default: train on every event)",
    )
    parser.add_argument("--random-state", type=number(RULES["random_state"]), default=0,
                        metavar="N", help="seed of the model, smearing and split (default: 0)")
    parser.add_argument("--output", required=True, metavar="MODEL_FILE",
                        help="the model file to write (e.g. model.skops)")
    parser.add_argument("--debug", action="store_true", help="show the full traceback of an error")
    return parser


def check_files(args) -> None:
    """What fit refuses before any work: an output it cannot write or that is one of the
    inputs, the same file as signal and background, a --lepton no input reads."""
    from .._files import check_output, same_file

    inputs = [*args.signal, *args.background]
    check_output(args.output, inputs=inputs, what="model file")
    for signal in args.signal:
        for background in args.background:
            if same_file(signal, background):
                raise ValueError(
                    f"--signal and --background are the same file ({signal}, {background}): "
                    "a model cannot tell the classes apart (its AUC would be noise around "
                    "0.5); pass the background sample as --background."
                )
    check_lepton(args, inputs)


def run(args) -> int:
    """Read the event files, fit the model, save it; the exit status."""
    from ..datasets import SkippedEventsWarning, make_labelled_dataset
    from ..deploy import fit_model, save_model
    from ..studies import MODEL_TABLE

    start = time.perf_counter()
    check_files(args)
    if args.batch_size is not None and not MODEL_TABLE[args.model].tags.torch:
        raise ValueError(f"--batch-size applies to the networks; {args.model} is not one.")
    options = reading(args)
    mappings = {role: columns_of(args, role) for role in ("signal", "background")}
    say_masses(options["lepton"], *mappings.values())
    with warnings.catch_warnings():
        # The counts of every file are printed below, with the same reasons.
        warnings.simplefilter("ignore", SkippedEventsWarning)
        X, y, read = make_labelled_dataset(
            args.signal, args.background, random_state=args.random_state,
            signal_columns=mappings["signal"], background_columns=mappings["background"],
            return_info=True, **options)
    for role in ("signal", "background"):
        for info in read[role]:
            say(cutflow(f"{role} {info['path']}", info))
    n_signal = int(y.sum())
    say(f"Read {n_signal:,} signal and {len(y) - n_signal:,} background events "
        f"({read['signal'][0]['selection']}; {X.shape[1] // 4} leptons per event).")
    model, report = fit_model(
        X, y, model=args.model, preset=args.preset, max_epochs=args.epochs,
        batch_size=args.batch_size, resolution=args.resolution, reweight=args.reweight,
        test_fraction=args.test_fraction, random_state=args.random_state, log=say)
    metadata = {
        "command": "fit", "model": args.model, "signal": list(args.signal),
        "background": list(args.background), **options,
        **{f"{role}_columns": mappings[role] for role in mappings
           if mappings[role] != options["columns"]},
        "n_leptons": report["n_leptons"], "read": json_counts(read),
        **{key: report[key] for key in ("resolution", "reweight", "batch_size", "random_state",
                                        "n_signal", "n_background", "recipe", "support")},
    }
    if "test_auc" in report:
        auc = metadata["test_auc"] = report["test_auc"]
        print(f"AUC on the {auc['n_events']:,} held-out events ({args.test_fraction:g} share): "
              f"{auc['pt_weighted']:.4f} pT-weighted, {auc['unweighted']:.4f} unweighted.")
    path = save_model(model, args.output, metadata=metadata)
    print(f"Support of the training events (kept in the model file): "
          f"{ranges(report['support'])}.")
    print(f"Saved the model to {path} ({path.stat().st_size / 1e3:,.0f} kB) in "
          f"{time.perf_counter() - start:.0f} s. Score event files with it: python -m "
          f"sklearn_bsym score {path} INPUT... --output scores.root")
    return 0


def interrupted(args, stop) -> str:
    # The model file is written whole through a temporary file or not at all.
    return f"Interrupted: nothing was written ({args.output} is as it was)."
