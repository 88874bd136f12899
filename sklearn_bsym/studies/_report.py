"""Tables, claims, figures and the markdown summary of a finished study."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._claims import _auc_standard_error, check_claims, check_symmetry_claims, describe_rules
from ._models import AZIMUTHAL_CEILING, CEILING, CEILINGS, MODEL_TABLE, with_role
from ._record import COLUMNS, INTEGER_COLUMNS, FitRecord
from ._store import StoreWriteError

__all__ = [
    "StudyResult",
    "ReportNotSavedWarning",
    "summarize",
    "write_report",
    "physical_flags",
]


class ReportNotSavedWarning(UserWarning):
    """The report's files (``results.csv``, the summaries, the figures) were not all written;
    the result still holds the tables, and its ``write_error`` says why."""


@dataclass
class StudyResult:
    """What a study produced.

    Attributes
    ----------
    folder : Path
        The result-set folder.
    fits : DataFrame
        One row per fit (``results.csv``).
    curve : DataFrame
        Test AUC per (model, fraction): ``mean``, ``std`` over seeds, ``n`` seeds, and ``gap``
        to the Bayes-optimal AUC when known.
    scan : DataFrame
        Test AUC per (model, resolution) on the full training pool.
    optimal : dict
        Resolution -> Bayes-optimal test AUC (empty for user files), with the study's
        detector strength.
    claims : list of dict
        See :func:`sklearn_bsym.studies.check_claims`.
    summary : dict
        Everything above as written to ``summary.json``.
    markdown : str
        The text of ``summary.md``.
    files : list of Path
        Every file written (or, for a read-only result set, the files already there).
    flags : list of str
        Results outside physical bounds (see :func:`physical_flags`); empty when all are sound.
    write_error : str or None
        Why the report's files were not all written (the one line of the failed write, with
        its fix); None when they were (or, for a read-only set, need not be).
    strength_scan : DataFrame
        Test AUC per (model, strength) of the detector's azimuthal dependence, on the full
        training pool (empty without a strength scan).
    """

    folder: Path
    fits: pd.DataFrame
    curve: pd.DataFrame
    scan: pd.DataFrame
    optimal: dict[float, float]
    claims: list[dict[str, Any]]
    summary: dict[str, Any]
    markdown: str
    files: list[Path] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    write_error: str | None = None
    strength_scan: pd.DataFrame = field(default_factory=pd.DataFrame)

    def copy_to(self, folder) -> list[Path]:
        """Copy the written files (not the per-fit JSON) to ``folder`` under the same names,
        for a stable place to link to (the result-set folder name changes with the options)."""
        import shutil

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        return [Path(shutil.copy2(path, folder / path.name)) for path in self.files]


def _mean_std(values) -> tuple[float, float, int]:
    """Mean, sample std (0 for a single value) and count of the finite values."""
    arr = np.asarray([np.nan if v is None else v for v in values], dtype=float)
    arr = arr[np.isfinite(arr)]
    if not arr.size:
        return np.nan, np.nan, 0
    return float(arr.mean()), float(arr.std(ddof=1)) if arr.size > 1 else 0.0, int(arr.size)


def _aggregate(fits: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    rows = []
    for key, group in fits.groupby(by, sort=False):
        mean, std, n = _mean_std(group["test_auc"])
        rows.append({**dict(zip(by, key, strict=True)), "mean": mean, "std": std, "n": n})
    return pd.DataFrame(rows, columns=[*by, "mean", "std", "n"])


def _epoch_curves(payloads) -> dict[str, list]:
    """Validation AUC per epoch, mean and std over the runs (runs may stop at different epochs)."""
    histories = [p["valid_auc"] for p in payloads if p["valid_auc"]]
    if not histories:
        return {"mean": [], "std": []}
    longest = max(len(h) for h in histories)
    means, stds = [], []
    for epoch in range(longest):
        mean, std, n = _mean_std([h[epoch] for h in histories if len(h) > epoch])
        means.append(mean if n else None)
        stds.append(std if n else None)
    return {"mean": means, "std": stds}


def summarize(config, payloads: dict[str, Any]) -> dict[str, Any]:
    """Tables and claims of a study from its fit records or their stored payloads (no files
    written).

    Returns a dict with the DataFrames ``fits``, ``curve``, ``scan``, ``strength_scan`` and the
    entries ``optimal``, ``azimuthal``, ``strength_optimal``, ``strength_azimuthal``,
    ``limits``, ``epochs``, ``symmetry``, ``hgb_at_largest`` and ``claims``.
    """
    checked = [
        p if isinstance(p, FitRecord) else FitRecord.from_payload(p) for p in payloads.values()
    ]
    records = [record.to_payload() for record in checked]
    fits = pd.DataFrame([record.row() for record in checked], columns=COLUMNS)
    trained = fits[~fits["model"].isin(CEILINGS)]
    strength = float(config.detector_strength)
    # Every limit by (resolution, strength); that of classifiers invariant under rotations
    # about the beam is the Bayes-optimal one where the detector does not depend on phi.
    limits = {model: {(float(p["resolution"]), float(p["strength"])): float(p["test_auc"])
                      for p in records if p["model"] == model} for model in CEILINGS}
    for key, value in limits[CEILING].items():
        if not (key[0] and key[1]):
            limits[AZIMUTHAL_CEILING].setdefault(key, value)
    optimal = {r: v for (r, s), v in limits[CEILING].items() if s == strength}
    azimuthal = {r: v for (r, s), v in limits[AZIMUTHAL_CEILING].items() if s == strength}
    # The tables average this run's own seeds only: a stored fit of another seed (from a run
    # with more --seeds, or put there by hand) is listed in results.csv but not averaged.
    trained = trained[trained["seed"].astype(float) < config.n_seeds]
    at_resolution = np.isclose(trained["resolution"].astype(float), config.resolution)
    at_strength = np.isclose(trained["strength"].astype(float), strength)
    in_curve = trained[at_resolution & at_strength & trained["fraction"].isin(config.fractions)]
    curve = _aggregate(in_curve, ["model", "fraction"])
    curve["gap"] = optimal.get(float(config.resolution), np.nan) - curve["mean"]
    curve = curve.sort_values(["model", "fraction"], key=_model_order).reset_index(drop=True)
    in_scan = trained[
        (trained["fraction"] == 1.0) & trained["resolution"].isin(config.scan_resolutions)
        & at_strength
    ]
    scan = _aggregate(in_scan, ["model", "resolution"])
    if len(scan):
        scan = scan.sort_values(["model", "resolution"], key=_model_order).reset_index(drop=True)
    in_strength_scan = trained[
        (trained["fraction"] == 1.0) & at_resolution
        & trained["strength"].isin(config.scan_strengths)
    ]
    strength_scan = _aggregate(in_strength_scan, ["model", "strength"])
    if len(strength_scan):
        strength_scan = strength_scan.sort_values(["model", "strength"], key=_model_order
                                                  ).reset_index(drop=True)
    resolution = float(config.resolution)
    strength_optimal = {s: v for (r, s), v in limits[CEILING].items() if r == resolution}
    strength_azimuthal = {s: v for (r, s), v in limits[AZIMUTHAL_CEILING].items()
                          if r == resolution}

    largest = max(config.fractions)

    def at_largest(model):
        return [
            p
            for p in records
            if p["model"] == model
            and p["seed"] is not None and p["seed"] < config.n_seeds
            and p["fraction"] == largest
            and np.isclose(p["resolution"], config.resolution)
            and np.isclose(p["strength"], strength)
        ]

    epochs = {m: _epoch_curves(at_largest(m)) for m, s in MODEL_TABLE.items() if s.tags.epochs}
    epochs = {m: c for m, c in epochs.items() if c["mean"]}
    # The paper's Fig. 5 and claim 4: the two-branch hybrid's factor (a chain's has more).
    symmetry = [p["symmetry"] for p in at_largest(with_role("hybrid")) if p["symmetry"]]
    hgb = _mean_std([p["test_auc"] for p in at_largest(with_role("reference"))])[0]
    claims = check_claims(curve, epochs, symmetry)
    if config.symmetry != "lorentz" or strength or config.scan_strengths or \
            with_role("chain") in config.models:
        claims += check_symmetry_claims(
            curve, optimal=optimal.get(resolution), azimuthal=azimuthal.get(resolution),
            symmetry=config.symmetry, strength=strength, n_test=_n_test(fits))
    return {
        "fits": fits,
        "curve": curve,
        "scan": scan,
        "strength_scan": strength_scan,
        "optimal": optimal,
        "azimuthal": azimuthal,
        "strength_optimal": strength_optimal,
        "strength_azimuthal": strength_azimuthal,
        "limits": limits,
        "epochs": epochs,
        "symmetry": symmetry,
        "hgb_at_largest": None if np.isnan(hgb) else hgb,
        "claims": claims,
    }


def _n_test(fits: pd.DataFrame) -> tuple[int, int]:
    """(signal, background) events of the test split (0, 0 without fits)."""
    if not len(fits):
        return 0, 0
    n_test, n_signal = int(fits["n_test"].iloc[0]), int(fits["n_test_signal"].iloc[0])
    return n_signal, n_test - n_signal


_ORDER = {name: i for i, name in enumerate(MODEL_TABLE)}


def _model_order(column: pd.Series) -> pd.Series:
    if column.name == "model":
        return column.map(lambda m: _ORDER.get(m, 99))
    return column


def _fmt(mean: float, std: float) -> str:
    if not np.isfinite(mean):
        return "-"
    return f"{mean:.4f} ± {std:.4f}"


def _auc_cell(row) -> str:
    """A table cell: a trained model's mean ± std over seeds, a ceiling's value alone."""
    if row["model"] in CEILINGS:
        return f"{row['mean']:.4f}"
    return _fmt(row["mean"], row["std"])


def _pivot_markdown(table: pd.DataFrame, column: str, header: str, value) -> str:
    keys = sorted(table[column].unique())
    lines = [
        f"| model | {' | '.join(header.format(k) for k in keys)} |",
        "| --- |" + " --- |" * len(keys),
    ]
    for model, rows in table.groupby("model", sort=False):
        cells = []
        for k in keys:
            row = rows[rows[column] == k]
            cells.append(value(row.iloc[0]) if len(row) else "-")
        lines.append(f"| {model} | {' | '.join(cells)} |")
    return "\n".join(lines)


def _claims_markdown(claims) -> str:
    lines = []
    for claim in claims:
        lines.append(
            f"{claim['claim']}. **{claim['verdict']}**: {claim['statement']} "
            f"(paper: {claim['source']}; the paper shows {claim['paper']}.)"
        )
        if "reason" in claim:
            lines.append(f"   - not checked: {claim['reason']}")
        for check in claim["checks"]:
            lines.append(f"   - {check['verdict']}: {check['check']} ({_check_numbers(check)})")
    return "\n".join(lines)


def _check_numbers(check) -> str:
    """A check's numbers with readable names: the means compared (by model name), the
    difference or gain with its standard error and spread, or the Spearman statistics."""
    names = {
        "difference": "difference",
        "standard_error": "standard error",
        "spread": "spread over seeds",
        "gain": "gain",
        "pfn_gain": "PFN gain",
        "invariant_gain": "invariant gain",
        "high_pt_weight": "weight in the highest pT bin",
        "low_pt_weight": "in the lowest",
        "spearman": "Spearman correlation over all bins (not deciding)",
    }
    parts = []
    for key, value in check.items():
        if key in ("check", "verdict", "best_other_model", "n_seeds"):
            continue
        if key == "best_other":
            key = check.get("best_other_model", "best other")
        if key in ("difference", "gain", "pfn_gain", "invariant_gain", "gap"):
            number = f"{value:+.4f}"
        elif key == "spearman":
            number = f"{value:+.2f}"
        else:
            number = f"{value:.4f}"
        parts.append(f"{names.get(key, key)} {number}")
    return ", ".join(parts)


def _markdown(config, set_id, tables, n_pool, n_test) -> str:
    curve, scan, optimal = tables["curve"], tables["scan"], tables["optimal"]
    source = (
        "built-in generator"
        if config.uses_generator
        else f"signal `{config.signal}`, background `{config.background}`"
    )
    epochs = "preset default" if config.max_epochs is None else str(config.max_epochs)
    parts = [
        f"## sklearn_bsym study `{set_id}`",
        "",
        f"Data: {source}; {n_pool + n_test:,} events, {n_test:,} in the fixed test split, "
        f"{n_pool:,} in the training pool (validation share {config.validation_fraction:g} of "
        "each training subset). Every model has its estimator's defaults but for that share: the "
        "study holds it out for its AUC-per-epoch curve, restores each network's best epoch on it "
        "and stops the tree early on it, where the estimators by default train on every event "
        f"(no early stopping). {_detector_text(config)} Preset "
        f"`{config.preset}`, max epochs {epochs}, {config.n_seeds} seed(s), random_state "
        f"{config.random_state}. AUCs are on the test split, mean ± std (standard deviation) over "
        "seeds, weighted so that the background's dimuon pT spectrum matches the signal's (the "
        "paper's reweighting; no classifier can then win by the pT spectrum alone).",
        "",
        "### Test AUC against training fraction",
        "",
    ]
    table = curve.copy()
    opt = optimal.get(float(config.resolution))
    limits = {CEILING: opt}
    if config.detector_strength:
        limits[AZIMUTHAL_CEILING] = tables["azimuthal"].get(float(config.resolution))
    for model, value in limits.items():
        if value is not None:
            extra = pd.DataFrame({"model": model, "fraction": sorted(config.fractions),
                                  "mean": value, "std": 0.0})
            table = pd.concat([table, extra], ignore_index=True)
    parts.append(
        _pivot_markdown(
            table,
            "fraction",
            "{:g}",
            _auc_cell,
        )
    )
    if opt is not None:
        parts += [
            "",
            f"### Gap to the Bayes-optimal AUC ({opt:.4f})",
            "",
            "Gap = Bayes-optimal AUC minus the model's mean test AUC: positive means below the "
            "limit, and smaller is better. The Bayes-optimal AUC is that of the exact likelihood "
            "ratio of the generator after smearing, the best any classifier can do in "
            "expectation; a small negative gap can only be noise of the finite test split.",
            "",
            _pivot_markdown(curve, "fraction", "{:g}", lambda r: f"{r['gap']:+.4f}"),
        ]
    else:
        parts += ["", "No Bayes-optimal AUC: it is known for the built-in generator only."]
    if len(scan):
        table = scan.copy()
        if optimal:
            extra = pd.DataFrame(
                {
                    "model": CEILING,
                    "resolution": sorted(optimal),
                    "mean": [optimal[r] for r in sorted(optimal)],
                    "std": 0.0,
                }
            )
            table = pd.concat([table, extra[extra["resolution"].isin(scan["resolution"])]])
        parts += [
            "",
            "### Resolution scan (full training pool)",
            "",
            _pivot_markdown(
                table,
                "resolution",
                "{:.3g}",
                lambda r: (
                    _fmt(r["mean"], r["std"]) if r["model"] != CEILING else f"{r['mean']:.4f}"
                ),
            ),
        ]
    strength_scan = tables["strength_scan"]
    if len(strength_scan):
        table = strength_scan.copy()
        for model, key in ((CEILING, "strength_optimal"),
                           (AZIMUTHAL_CEILING, "strength_azimuthal")):
            values = tables[key]
            at = [v for v in sorted(values) if v in set(strength_scan["strength"])]
            table = pd.concat([table, pd.DataFrame({"model": model, "strength": at,
                                                    "mean": [values[v] for v in at],
                                                    "std": 0.0})])
        parts += [
            "",
            f"### Scan of the azimuthal breaking (resolution {config.resolution:g}, full "
            "training pool)",
            "",
            f"sigma/pT = {config.resolution:g} (1 + s cos phi) for each strength s: the detector "
            "breaks the rotations about the beam, and with them the longitudinal symmetry. "
            f"`{AZIMUTHAL_CEILING}` is the best AUC of a classifier invariant under those "
            "rotations (the ceiling of a network with either symmetry built in).",
            "",
            _pivot_markdown(
                table,
                "strength",
                "s = {:g}",
                _auc_cell,
            ),
        ]
    parts += [
        "",
        "### Claims of the paper, checked",
        "",
        "The four claims that the paper (Nabat, Ghosh, Witkowski, Kasieczka and Whiteson, "
        '"Learning Broken Symmetries with Approximate Invariance") makes about its networks, '
        "each with where the paper makes it and the verdict of this study's numbers"
        + ("; then the claims of a symmetry and a detector of one's choice"
           if len(tables["claims"]) > 4 else "") + ". How a verdict is reached:",
        "",
        *[f"- {rule}" for rule in describe_rules()],
        "",
        _claims_markdown(tables["claims"]),
        "",
    ]
    return "\n".join(parts)


def _detector_text(config) -> str:
    """The study's smearing in words, for the summary's first paragraph."""
    text = f"Smearing {100 * config.resolution:g} % (transverse)"
    if config.detector_strength:
        text += (f", its resolution depending on the azimuth: sigma/pT = {config.resolution:g} "
                 f"(1 + {config.detector_strength:g} cos phi)")
    network = "" if config.symmetry == "lorentz" else (
        f" The invariant network and the hybrid have the {config.symmetry} symmetry built in.")
    return f"{text}.{network}"


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    clean = frame.astype(object).where(frame.notna(), None)
    return [{k: _py(v) for k, v in row.items()} for row in clean.to_dict("records")]


def _py(v):
    return v.item() if isinstance(v, np.generic) else v


def physical_flags(fits: pd.DataFrame, optimal: dict) -> list[str]:
    """One line per result outside physical bounds: a test AUC outside [0, 1], or above the
    Bayes-optimal AUC at its resolution by more than 3 standard errors of that AUC on the test
    split (Hanley & McNeil 1982), which no classifier can reach but by chance or by a bug.

    ``optimal`` maps a resolution, or a pair (resolution, detector strength), to the
    Bayes-optimal AUC (a resolution alone: the paper's smearing, strength 0)."""
    flags = []
    for row in fits.itertuples(index=False):
        missing = row.seed is None or row.seed != row.seed  # None or NaN: the Bayes line
        seed = "-" if missing else int(row.seed)
        fraction = "-" if missing else f"{row.fraction:g}"
        strength = float(getattr(row, "strength", 0.0) or 0.0)
        phi = f", strength {strength:g}" if strength else ""
        name = (f"{row.model} (fraction {fraction}, resolution {row.resolution:g}{phi}, "
                f"seed {seed})")
        if not 0.0 <= row.test_auc <= 1.0:
            flags.append(f"{name}: test AUC {row.test_auc:.4f} lies outside [0, 1].")
            continue
        key = (float(row.resolution), strength)
        ceiling = optimal.get(key, None if strength else optimal.get(key[0]))
        if row.model in CEILINGS or ceiling is None:
            continue
        n_signal = row.n_test_signal
        tolerance = 3 * _auc_standard_error(ceiling, n_signal, row.n_test - n_signal)
        if row.test_auc > ceiling + tolerance:
            flags.append(
                f"{name}: test AUC {row.test_auc:.4f} exceeds the Bayes-optimal "
                f"{ceiling:.4f} by more than its tolerance {tolerance:.4f} (3 standard errors)."
            )
    return flags


def _flags_markdown(flags: list[str]) -> str:
    lines = ["", "### Flags: results outside physical bounds", ""]
    lines += [f"- {flag}" for flag in flags]
    return "\n".join(lines) + "\n"


def write_report(
    config, payloads, store, *, plots: bool = True, write: bool = True, execution=None
) -> StudyResult:
    """Write ``results.csv``, ``summary.json``, ``summary.md`` and the figures of a study.

    With ``write=False`` (a finished result set in a read-only folder) nothing is written: the
    result holds the tables and markdown, and ``files`` lists the files already in the folder.
    A write that fails (disk full, a folder in the way) warns (:class:`ReportNotSavedWarning`)
    with the file, the reason and the fix, and returns the same way with that line in
    ``write_error``, so the tables are never lost to a full disk.
    ``execution`` (how the fits ran: parallel fits, threads) goes into ``summary.json``.
    """
    tables = summarize(config, payloads)
    fits_table = tables["fits"]
    n_pool = int(fits_table["n_pool"].iloc[0]) if len(fits_table) else 0
    n_test = int(fits_table["n_test"].iloc[0]) if len(fits_table) else 0
    set_id = store.folder.name
    flags = physical_flags(fits_table, tables["limits"][CEILING])
    markdown = _markdown(config, set_id, tables, n_pool, n_test)
    if flags:
        markdown += _flags_markdown(flags)
    folder = store.folder
    summary = {
        "set_id": set_id,
        "config": {k: v for k, v in config.result_options().items()},
        "selection": {
            "models": list(config.models),
            "fractions": list(config.fractions),
            "n_seeds": config.n_seeds,
            "scan_resolutions": list(config.scan_resolutions),
            "scan_strengths": list(config.scan_strengths),
        },
        "n_pool": n_pool,
        "n_test": n_test,
        "curve": _records(tables["curve"]),
        "scan": _records(tables["scan"]),
        "optimal": {f"{r:g}": v for r, v in tables["optimal"].items()},
        "strength_scan": _records(tables["strength_scan"]),
        "optimal_azimuthal": {f"{r:g}": v for r, v in tables["azimuthal"].items()},
        "strength_optimal": {f"{s:g}": v for s, v in tables["strength_optimal"].items()},
        "strength_optimal_azimuthal": {f"{s:g}": v
                                       for s, v in tables["strength_azimuthal"].items()},
        "epochs": tables["epochs"],
        "claims": tables["claims"],
        "flags": flags,
    }
    if execution is not None:
        summary["execution"] = execution
    files = write_error = None
    if write:
        try:
            files = _write_files(config, tables, store, summary, markdown, plots, n_pool)
        except StoreWriteError as exc:
            write_error = (f"{exc}; the results are shown but not all saved: run the same "
                           "command again to write them.")
            warnings.warn(write_error, ReportNotSavedWarning, stacklevel=2)
    if files is None:
        names = ("results.csv", "summary.json", "summary.md", *_FIGURES)
        files = [folder / name for name in names if (folder / name).is_file()]
    return StudyResult(
        folder=folder,
        fits=fits_table,
        curve=tables["curve"],
        scan=tables["scan"],
        optimal=tables["optimal"],
        claims=tables["claims"],
        summary=summary,
        markdown=markdown,
        files=files,
        flags=flags,
        write_error=write_error,
        strength_scan=tables["strength_scan"],
    )


def _write_files(config, tables, store, summary, markdown, plots, n_pool) -> list[Path]:
    fits = tables["fits"].sort_values(["model", "resolution", "strength", "fraction", "seed"],
                                      key=_model_order)
    # Integers as integers (seed 0, not 0.0), even in columns with empty cells.
    fits = fits.astype(dict.fromkeys(INTEGER_COLUMNS, "Int64"))
    files = [
        store.write_text("results.csv", fits.to_csv(index=False)),
        store.write_json("summary.json", summary),
        store.write_text("summary.md", markdown),
    ]
    if plots:
        files += _write_figures(config, tables, store, n_pool)
    return files


_FIGURES = ("fraction_curve.png", "auc_vs_epoch.png", "symmetry_factor.png", "resolution_scan.png",
            "strength_scan.png")


def _write_figures(config, tables, store, n_pool: int) -> list[Path]:
    from ._plots import (
        figure_png,
        plot_epoch_curve,
        plot_fraction_curve,
        plot_resolution_scan,
        plot_strength_scan,
        plot_symmetry,
    )

    optimal = tables["optimal"]
    opt = optimal.get(float(config.resolution))
    figures = {}
    if len(tables["curve"]):
        azimuthal = tables["azimuthal"].get(float(config.resolution)) \
            if config.detector_strength else None
        figures["fraction_curve.png"] = plot_fraction_curve(
            tables["curve"], optimal=opt, n_pool=n_pool, resolution=config.resolution,
            azimuthal=azimuthal, strength=config.detector_strength,
        )
    if tables["epochs"]:
        figures["auc_vs_epoch.png"] = plot_epoch_curve(
            tables["epochs"],
            hgb=tables["hgb_at_largest"],
            optimal=opt,
            fraction=max(config.fractions),
        )
    if tables["symmetry"]:
        figures["symmetry_factor.png"] = plot_symmetry(tables["symmetry"])
    if len(tables["scan"]) and tables["scan"]["resolution"].nunique() > 1:
        figures["resolution_scan.png"] = plot_resolution_scan(tables["scan"], optimal=optimal)
    if len(tables["strength_scan"]) and tables["strength_scan"]["strength"].nunique() > 1:
        figures["strength_scan.png"] = plot_strength_scan(
            tables["strength_scan"], optimal=tables["strength_optimal"],
            azimuthal=tables["strength_azimuthal"], resolution=config.resolution)
    return [store.write_bytes(name, figure_png(ax)) for name, ax in figures.items()]
