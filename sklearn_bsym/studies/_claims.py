"""The paper's four claims, checked against a study's numbers.

The paper is Nabat, Ghosh, Witkowski, Kasieczka and Whiteson, "Learning Broken Symmetries with
Approximate Invariance"; :data:`CLAIMS` states each claim in plain words with the section and
figure that make it. Every claim is a conjunction of explicit checks on means over seeds.

How a check is judged (``z`` is ``THRESHOLDS["n_standard_errors"]``; ``se`` is the standard
error of a difference of two means over seeds, ``sqrt(s_a**2 / n_a + s_b**2 / n_b)`` with ``s``
the standard deviation over the ``n`` seeds; ``sd = sqrt(s_a**2 + s_b**2)`` is the spread of one
seed's difference):

- "A above B" *holds* when ``A - B > z * se`` and ``A - B > sd`` (larger than both its
  uncertainty and the seed-to-seed spread), is *not held* when ``A - B < -z * se`` and is
  *inconclusive* otherwise;
- "A best or tied" holds when ``A - B >= -z * se`` and is not held otherwise, so a tie is a
  difference within the uncertainty of the means, not within one seed's spread;
- "X below a threshold" holds when ``X + z * se`` is below it, is not held when ``X - z * se`` is
  above it, and is inconclusive otherwise;
- the pT trend is "A above B" with A the general subnet's mean weight in the highest pT bin of
  the symmetry-factor table and B that in the lowest, differenced seed by seed (``se`` and ``sd``
  are those of the per-seed difference). The paper's own statement is about the two ends ("more of
  the general subnet's output for high pT, more of the invariant subnet's for low pT") and it
  expects a dip where most events lie; a rank correlation over equal-count bins would put most of
  its bins inside that dip, so it is reported beside the verdict but does not decide it.

A claim holds when all its checks hold, is not held when any is not held, and is inconclusive
otherwise.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

__all__ = ["CLAIMS", "SYMMETRY_CLAIMS", "THRESHOLDS", "check_claims", "check_symmetry_claims",
           "describe_rules"]

#: The numbers the claims are judged by.
THRESHOLDS = {
    # Claim 1: the invariant net "plateaus" if its test AUC grows by less than this from the
    # smallest to the largest training fraction (paper: +0.001), and its validation AUC by less
    # than this from epoch 1 to its best epoch (paper: +0.001).
    "plateau_gain": 0.01,
    # Every comparison of means: a difference is resolved when it exceeds this many standard
    # errors of the difference (about a 95 % interval for a normal spread).
    "n_standard_errors": 2.0,
    # Claim 5: a network "has a ceiling" when, besides being passed by a network that sees
    # more, it stays more than this below the Bayes-optimal AUC at the largest training size.
    "ceiling_gap": 0.01,
}

#: The paper's claims: the statement in plain words, where the paper makes it, and what the
#: paper shows (its AUCs as read off its figures; 10 % smearing, 80,000 training events at 100 %).
CLAIMS = {
    1: {
        "statement": "The invariant network learns fastest but plateaus: with the symmetry built "
        "in, it reaches its best AUC with few events and few epochs, and more of either hardly "
        "helps.",
        "source": "Sec. IV, Fig. 4 (AUC against epoch) and Fig. 6 (AUC against training size)",
        "paper": "invariant AUC 0.761 with 10 % of the data and 0.762 with all of it; 0.752 "
        "after epoch 1 and 0.753 after 100",
    },
    2: {
        "statement": "The general network (a Particle Flow Network on the muon four-vectors) "
        "starts slowest and keeps improving with more data; with enough data it is the best of "
        "the three networks.",
        "source": "Sec. IV, Figs. 4 and 6, and Appendix A",
        "paper": "PFN AUC 0.727 with 10 % of the data and 0.789 with all of it, against the "
        "hybrid's 0.785",
    },
    3: {
        "statement": "The hybrid learns as fast as the invariant network without its ceiling: "
        "it is best or tied-best at every training size and clearly best at small sizes.",
        "source": "the abstract, Sec. IV and Fig. 6",
        "paper": "with 10 % of the data hybrid 0.771, invariant 0.761, PFN 0.727",
    },
    4: {
        "statement": "The learned weight of the general subnet grows with pT: the hybrid leans "
        "on the unconstrained subnet where the pT-dependent resolution breaks the symmetry "
        "most.",
        "source": "Sec. IV, Fig. 5 and Appendix C",
        "paper": "the general subnet's weight rises with pT, with a brief dip where most "
        "events lie",
    },
}

#: The claims about a symmetry of one's choice and a detector that breaks it (checked
#: in a study whose symmetry is not the paper's, whose detector depends on the azimuth, or that
#: has the chain hybrid; :func:`check_symmetry_claims`). ``{symmetry}`` is the study's.
SYMMETRY_CLAIMS = {
    5: {
        "statement": "The network with the {symmetry} symmetry built in has a ceiling where the "
        "detector breaks that symmetry: at the largest training size it stays below the "
        "Bayes-optimal limit, and a network that sees what the symmetry hides (the PFN or a "
        "hybrid) is above it. (Where the detector keeps the symmetry, it should have none: "
        "the verdict says whether it has one, the gap how far below the limit it stays.)",
        "source": "the paper's claim 1 for any symmetry and detector (Sec. IV, Figs. 4 and 6)",
        "paper": "the Lorentz-invariant network under 10 % pT smearing: AUC 0.762 against the "
        "PFN's 0.789 with all of the data",
    },
    6: {
        "statement": "A detector whose resolution depends on the azimuth lowers the limit of "
        "every classifier invariant under rotations about the beam (so of both symmetries' "
        "networks) below the Bayes-optimal limit, and the network with the symmetry built in "
        "stays at or below that lower limit.",
        "source": "the limits of optimal_discriminant, with azimuthally_invariant=True",
        "paper": "nothing of it: its detector keeps the azimuthal symmetry",
    },
    7: {
        "statement": "The chain hybrid (a general, a Lorentz and a longitudinal branch, mixed "
        "by one symmetry factor) follows its best branch: it is best or tied with the best "
        "other network at every training size.",
        "source": "the paper's claim 3 for a hybrid of more than two branches",
        "paper": "nothing of it: its hybrid has two branches",
    },
}

HELD, NOT_HELD, INCONCLUSIVE, NOT_CHECKED = "held", "not held", "inconclusive", "not checked"


def describe_rules() -> list[str]:
    """The verdict rules and thresholds in words, one sentence per item (for reports)."""
    z = THRESHOLDS["n_standard_errors"]
    return [
        f'"A above B" holds when A\'s mean exceeds B\'s by more than {z:g} standard errors of '
        "the difference and by more than the seed-to-seed spread of the difference; it is not "
        f"held when A is below B by more than {z:g} standard errors, and inconclusive otherwise.",
        f'"A best or tied" holds unless A\'s mean is below the best other network\'s by more '
        f"than {z:g} standard errors of the difference (then it is not held): a tie is a "
        "difference the seeds cannot resolve.",
        "The standard error of a difference of two means over n_a and n_b seeds is "
        "sqrt(s_a² / n_a + s_b² / n_b), with s the standard deviation over seeds; the spread of "
        "the difference is sqrt(s_a² + s_b²).",
        f"A network plateaus when its AUC gain, plus {z:g} standard errors, is below "
        f"{THRESHOLDS['plateau_gain']:g} (from the smallest to the largest training size, and "
        f"from epoch 1 to its best epoch); a gain that exceeds {THRESHOLDS['plateau_gain']:g} by "
        f"more than {z:g} standard errors is not a plateau.",
        f"A network has a ceiling (claim 5) when its gap to the Bayes-optimal AUC at the "
        f"largest training size, less {z:g} standard errors, exceeds "
        f"{THRESHOLDS['ceiling_gap']:g} (the gap plus {z:g} standard errors below "
        f"{THRESHOLDS['ceiling_gap']:g} is none) and the best network without that symmetry "
        "alone (the PFN, a hybrid) is above it by the \"A above B\" rule. A limit lies below "
        "another (claim 6) "
        f"when their difference exceeds {z:g} standard errors of the AUC of the test split "
        "(Hanley and McNeil).",
        "The pT trend compares the general subnet's mean weight in the highest pT bin with that "
        "in the lowest, seed by seed, by the \"A above B\" rule (the paper speaks of the two ends "
        "and expects a dip where most events lie, so the Spearman rank correlation over the "
        "bins is shown but does not decide).",
        "A claim holds when all its checks hold, is not held when any check is not held, and is "
        "inconclusive otherwise.",
    ]


class _Estimate(NamedTuple):
    """A mean over seeds with its standard error ``se`` and its seed-to-seed spread ``sd``."""

    value: float
    se: float
    sd: float

    def __sub__(self, other):
        return _Estimate(
            self.value - other.value, float(np.hypot(self.se, other.se)),
            float(np.hypot(self.sd, other.sd)),
        )


def _above(diff: _Estimate) -> str:
    z = THRESHOLDS["n_standard_errors"]
    if diff.value > z * diff.se and diff.value > diff.sd:
        return HELD
    if diff.value < -z * diff.se:
        return NOT_HELD
    return INCONCLUSIVE


def _at_least(diff: _Estimate) -> str:
    return HELD if diff.value >= -THRESHOLDS["n_standard_errors"] * diff.se else NOT_HELD


def _below(x: _Estimate, threshold: float) -> str:
    z = THRESHOLDS["n_standard_errors"]
    if x.value + z * x.se < threshold:
        return HELD
    if x.value - z * x.se > threshold:
        return NOT_HELD
    return INCONCLUSIVE


def _combine(checks: list[dict[str, Any]]) -> str:
    verdicts = [c["verdict"] for c in checks]
    if not verdicts:
        return NOT_CHECKED
    if NOT_HELD in verdicts:
        return NOT_HELD
    if all(v == HELD for v in verdicts):
        return HELD
    return INCONCLUSIVE


def _check(text: str, verdict: str, **numbers: float) -> dict[str, Any]:
    return {"check": text, "verdict": verdict, **{k: float(v) for k, v in numbers.items()}}


def _diff_check(text: str, verdict: str, a_name, a, b_name, b, diff) -> dict[str, Any]:
    return _check(
        text, verdict, **{a_name: a.value, b_name: b.value},
        difference=diff.value, standard_error=diff.se, spread=diff.sd,
    )


def _estimate(mean: float, std: float, n: int) -> _Estimate:
    std = float(std) if np.isfinite(std) else 0.0
    return _Estimate(float(mean), std / np.sqrt(n), std)


def _point(curve, model, fraction) -> _Estimate:
    row = curve[(curve["model"] == model) & (curve["fraction"] == fraction)].iloc[0]
    return _estimate(row["mean"], row["std"], _seed_count(curve, model, fraction))


def _against_best(curve, model, others, fraction, text, compare) -> dict[str, Any]:
    """``model`` against the best (highest mean) of ``others`` at ``fraction``, judged by
    ``compare`` (:func:`_above` or :func:`_at_least`) on the difference."""
    a = _point(curve, model, fraction)
    best_name = max(others, key=lambda other: _point(curve, other, fraction).value)
    best = _point(curve, best_name, fraction)
    check = _diff_check(text.format(best=best_name), compare(a - best), model, a,
                        "best_other", best, a - best)
    check["best_other_model"] = best_name
    return check


def _claim(number: int, checks: list[dict[str, Any]], missing: str | None):
    claim = {"claim": number, **CLAIMS[number]}
    if missing:
        return {**claim, "verdict": NOT_CHECKED, "reason": missing, "checks": []}
    return {**claim, "verdict": _combine(checks), "checks": checks}


def _has_epochs(curve: dict[str, list] | None) -> bool:
    return bool(curve) and any(v is not None and np.isfinite(v) for v in curve["mean"])


def _epoch_estimate(curve: dict[str, list], epoch: int | None, n: int) -> _Estimate:
    """Validation AUC at ``epoch`` (0-based; None: the best epoch of the mean curve)."""
    mean = np.asarray([np.nan if v is None else v for v in curve["mean"]], dtype=float)
    std = np.asarray([np.nan if v is None else v for v in curve["std"]], dtype=float)
    i = int(np.nanargmax(mean)) if epoch is None else epoch
    return _estimate(mean[i], std[i], n)


def check_claims(curve, epochs: dict[str, dict[str, list]], symmetry: list[dict[str, list]]):
    """Verdicts on the paper's four claims (see :data:`CLAIMS` and the module docstring).

    Parameters
    ----------
    curve : DataFrame
        Test AUC per (model, fraction) with columns ``model, fraction, mean, std`` and
        optionally ``n`` (seeds per point; 1 when absent).
    epochs : dict
        Per network name, ``{"mean": [...], "std": [...]}``: validation AUC per epoch at the
        largest training fraction (Fig. 4); its seed count is the curve's at that fraction.
    symmetry : list of dict
        The hybrid's symmetry-factor tables (one per seed, columns ``pt_center`` and
        ``w_general_mean``, as from :func:`sklearn_bsym.nn.symmetry_factor_table`).

    Returns
    -------
    list of dict
        One per claim: ``claim``, ``statement``, ``source`` (the paper's section and figure),
        ``paper`` (what the paper shows), ``verdict`` and its ``checks`` (each with its text,
        numbers and verdict), or ``reason`` when it could not be checked.

    Examples
    --------
    >>> import pandas as pd
    >>> curve = pd.DataFrame({"model": ["hybrid", "invariant"], "fraction": [1.0, 1.0],
    ...                       "mean": [0.810, 0.800], "std": [0.004, 0.004], "n": [5, 5]})
    >>> check_claims(curve, {}, [])[2]["verdict"]  # 0.010 ahead, 2 SE = 0.005, spread 0.006
    'held'
    >>> curve["mean"] = [0.805, 0.800]  # 0.005 ahead: best or tied, but not clearly ahead
    >>> [c["verdict"] for c in check_claims(curve, {}, [])[2]["checks"]]
    ['held', 'inconclusive']
    """
    fractions = sorted(curve["fraction"].unique()) if len(curve) else []
    have = set(curve["model"]) if len(curve) else set()
    claims = []
    lo = fractions[0] if fractions else None
    hi = fractions[-1] if fractions else None
    plateau = THRESHOLDS["plateau_gain"]

    def seeds_at_hi(model) -> int:
        return _seed_count(curve, model, hi)

    # 1. The invariant net learns fastest but plateaus.
    checks = []
    missing = None
    if not {"invariant", "pfn"} <= have or len(fractions) < 2:
        missing = "needs the invariant and PFN nets at two or more training fractions"
    else:
        gain = _point(curve, "invariant", hi) - _point(curve, "invariant", lo)
        checks.append(_check(
            f"the invariant net's test AUC grows by less than {plateau:g} from training "
            f"fraction {lo:g} to {hi:g}",
            _below(gain, plateau), gain=gain.value, standard_error=gain.se,
        ))
        inv, pfn = epochs.get("invariant"), epochs.get("pfn")
        if _has_epochs(inv) and _has_epochs(pfn):
            a = _epoch_estimate(inv, 0, seeds_at_hi("invariant"))
            b = _epoch_estimate(pfn, 0, seeds_at_hi("pfn"))
            checks.append(_diff_check(
                f"after epoch 1 (training fraction {hi:g}) the invariant net's validation AUC is "
                "above the PFN's",
                _above(a - b), "invariant", a, "pfn", b, a - b,
            ))
            rise = _epoch_estimate(inv, None, seeds_at_hi("invariant")) - a
            checks.append(_check(
                f"the invariant net's validation AUC grows by less than {plateau:g} from epoch 1 "
                "to its best epoch",
                _below(rise, plateau), gain=rise.value, standard_error=rise.se,
            ))
    claims.append(_claim(1, checks, missing))

    # 2. The PFN starts slowest and keeps improving; with enough data it is best.
    checks = []
    others = sorted(have & {"invariant", "hybrid"})
    if "pfn" not in have or not others or len(fractions) < 2:
        missing = "needs the PFN and another net at two or more training fractions"
    else:
        missing = None
        p = _point(curve, "pfn", lo)
        for other in others:
            o = _point(curve, other, lo)
            checks.append(_diff_check(
                f"at training fraction {lo:g} the {other} net is above the PFN",
                _above(o - p), other, o, "pfn", p, o - p,
            ))
        gain = _point(curve, "pfn", hi) - p
        checks.append(_check(
            f"the PFN's test AUC grows from training fraction {lo:g} to {hi:g}",
            _above(gain), gain=gain.value, standard_error=gain.se, spread=gain.sd,
        ))
        if "invariant" in have:
            gain_inv = _point(curve, "invariant", hi) - _point(curve, "invariant", lo)
            more = gain - gain_inv
            checks.append(_check(
                "the PFN gains more AUC than the invariant net over the same range",
                _above(more), pfn_gain=gain.value, invariant_gain=gain_inv.value,
                difference=more.value, standard_error=more.se, spread=more.sd,
            ))
        checks.append(_against_best(curve, "pfn", others, hi,
                                    f"at training fraction {hi:g} the PFN is best or tied "
                                    "with the best other net, the {best} net", _at_least))
    claims.append(_claim(2, checks, missing))

    # 3. The hybrid is best or tied at every size, clearly best at small sizes.
    checks = []
    others = sorted(have & {"invariant", "pfn"})
    if "hybrid" not in have or not others:
        missing = "needs the hybrid and another net"
    else:
        missing = None
        for fraction in fractions:
            checks.append(_against_best(curve, "hybrid", others, fraction,
                                        f"at training fraction {fraction:g} the hybrid is best "
                                        "or tied with the best other net, the {best} net",
                                        _at_least))
        checks.append(_against_best(curve, "hybrid", others, lo,
                                    f"at training fraction {lo:g} the hybrid is above the best "
                                    "other net, the {best} net", _above))
    claims.append(_claim(3, checks, missing))

    # 4. The learned general-subnet weight grows with pT: high-pT end above the low-pT end.
    from scipy.stats import spearmanr

    rises, rhos = [], []
    for table in symmetry:
        pt = np.asarray(table["pt_center"], dtype=float)
        w = np.asarray([np.nan if v is None else v for v in table["w_general_mean"]], dtype=float)
        ok = np.isfinite(pt) & np.isfinite(w)
        if ok.sum() >= 2:
            pt, w = pt[ok], w[ok]
            order = np.argsort(pt)
            rises.append((float(w[order[-1]]), float(w[order[0]])))
            rhos.append(float(spearmanr(pt, w).statistic) if ok.sum() >= 3 and np.ptp(w) > 0
                        else np.nan)
    checks = []
    if not rises:
        missing = "needs the hybrid's symmetry-factor table with 2 or more bins"
    else:
        missing = None
        high, low = np.asarray(rises).T
        n = len(rises)
        diff = _estimate(np.mean(high - low), np.std(high - low, ddof=1) if n > 1 else 0.0, n)
        rho = np.asarray(rhos)
        checks.append(_check(
            f"the general subnet's weight in the highest pT bin is above that in the lowest, "
            f"over {n} seed(s)",
            _above(diff), high_pt_weight=float(np.mean(high)), low_pt_weight=float(np.mean(low)),
            difference=diff.value, standard_error=diff.se, spread=diff.sd,
            spearman=float(np.nanmean(rho)) if np.isfinite(rho).any() else np.nan,
            n_seeds=n,
        ))
    claims.append(_claim(4, checks, missing))
    return claims


def _auc_standard_error(auc: float, n_pos: int, n_neg: int) -> float:
    """The Hanley-McNeil standard error of an AUC of ``n_pos`` positive and ``n_neg`` negative
    events (infinite without both)."""
    if n_pos < 1 or n_neg < 1:
        return float("inf")
    q1, q2 = auc / (2 - auc), 2 * auc**2 / (1 + auc)
    var = (auc * (1 - auc) + (n_pos - 1) * (q1 - auc**2) + (n_neg - 1) * (q2 - auc**2)) / (
        n_pos * n_neg
    )
    return float(np.sqrt(max(var, 0.0)))


def _exceeds(x: _Estimate, threshold: float) -> str:
    """Whether ``x`` exceeds ``threshold`` by more than its uncertainty (the mirror of
    :func:`_below`)."""
    z = THRESHOLDS["n_standard_errors"]
    if x.value - z * x.se > threshold:
        return HELD
    if x.value + z * x.se < threshold:
        return NOT_HELD
    return INCONCLUSIVE


def _symmetry_claim(number: int, symmetry: str, checks, missing):
    claim = {"claim": number, **SYMMETRY_CLAIMS[number]}
    claim["statement"] = claim["statement"].format(symmetry=symmetry)
    if missing:
        return {**claim, "verdict": NOT_CHECKED, "reason": missing, "checks": []}
    return {**claim, "verdict": _combine(checks), "checks": checks}


def check_symmetry_claims(curve, *, optimal=None, azimuthal=None, symmetry="lorentz",
                          strength=0.0, n_test=(0, 0)):
    """Verdicts on the claims of a symmetry and a detector of one's choice (see
    :data:`SYMMETRY_CLAIMS`), by the rules of :func:`check_claims`.

    Parameters
    ----------
    curve : DataFrame
        Test AUC per (model, fraction), as for :func:`check_claims`; ``invariant`` is the
        network with the study's symmetry, ``chain`` the chain hybrid.
    optimal, azimuthal : float or None
        The Bayes-optimal AUC of the test split, and that of the best classifier invariant
        under rotations about the beam (None: not known, e.g. for event files).
    symmetry : str
        The study's symmetry (for the statements).
    strength : float
        The detector's azimuthal strength (claim 6 is checked where it is above 0).
    n_test : (int, int)
        Signal and background events of the test split (the standard error of its AUCs).

    Returns
    -------
    list of dict
        Claims 5 to 7, as :func:`check_claims` returns claims 1 to 4.

    Examples
    --------
    >>> import pandas as pd
    >>> curve = pd.DataFrame({"model": ["invariant", "invariant", "pfn", "pfn"],
    ...                       "fraction": [0.1, 1.0, 0.1, 1.0],
    ...                       "mean": [0.784, 0.808, 0.70, 0.851], "std": [0.001] * 4,
    ...                       "n": [3] * 4})
    >>> claims = check_symmetry_claims(curve, optimal=0.859, azimuthal=0.826,
    ...                                symmetry="longitudinal", strength=0.9,
    ...                                n_test=(20_000, 20_000))
    >>> [(c["claim"], c["verdict"]) for c in claims]
    [(5, 'held'), (6, 'held'), (7, 'not checked')]
    """
    fractions = sorted(curve["fraction"].unique()) if len(curve) else []
    have = set(curve["model"]) if len(curve) else set()
    hi = fractions[-1] if fractions else None
    z = THRESHOLDS["n_standard_errors"]
    claims = []

    # 5. The symmetric network's ceiling.
    checks, missing = [], None
    seeing = sorted(have & {"pfn", "hybrid", "chain"})
    if "invariant" not in have or not seeing or optimal is None:
        missing = ("needs the invariant net, the PFN or a hybrid, and the Bayes-optimal AUC")
    else:
        at = _point(curve, "invariant", hi)
        gap = _Estimate(optimal - at.value, at.se, at.sd)
        threshold = THRESHOLDS["ceiling_gap"]
        checks.append(_check(
            f"at training fraction {hi:g} the {symmetry}-invariant net stays more than "
            f"{threshold:g} below the Bayes-optimal AUC",
            _exceeds(gap, threshold), invariant=at.value, optimal=optimal, gap=gap.value,
            standard_error=gap.se,
        ))
        best = max(seeing, key=lambda other: _point(curve, other, hi).value)
        b = _point(curve, best, hi)
        checks.append(_diff_check(
            f"at training fraction {hi:g} the {best} net, which sees what the symmetry hides, "
            "is above it",
            _above(b - at), best, b, "invariant", at, b - at,
        ))
    claims.append(_symmetry_claim(5, symmetry, checks, missing))

    # 6. The detector's azimuthal dependence lowers the symmetric classifiers' limit.
    checks, missing = [], None
    if not strength:
        missing = "the detector does not depend on the azimuth (detector_strength 0)"
    elif optimal is None or azimuthal is None:
        missing = "needs the two limits (built-in generator only)"
    else:
        se = _auc_standard_error(optimal, *n_test)
        diff = optimal - azimuthal
        verdict = HELD if diff > z * se else NOT_HELD if diff < -z * se else INCONCLUSIVE
        checks.append(_check(
            "the limit of classifiers invariant under rotations about the beam is below the "
            "Bayes-optimal limit",
            verdict, optimal=optimal, optimal_azimuthal=azimuthal, difference=diff,
            standard_error=se,
        ))
        if "invariant" in have and fractions:
            at = _point(curve, "invariant", hi)
            checks.append(_check(
                f"at training fraction {hi:g} the {symmetry}-invariant net is at or below it",
                _at_least(_Estimate(azimuthal - at.value, at.se, at.sd)),
                invariant=at.value, optimal_azimuthal=azimuthal,
                difference=azimuthal - at.value, standard_error=at.se,
            ))
    claims.append(_symmetry_claim(6, symmetry, checks, missing))

    # 7. The chain hybrid follows its best branch.
    checks, missing = [], None
    others = sorted(have & {"invariant", "pfn", "hybrid"})
    if "chain" not in have or not others:
        missing = "needs the chain hybrid (model 'chain') and another net"
    else:
        for fraction in fractions:
            checks.append(_against_best(curve, "chain", others, fraction,
                                        f"at training fraction {fraction:g} the chain hybrid "
                                        "is best or tied with the best other net, the {best} "
                                        "net", _at_least))
    claims.append(_symmetry_claim(7, symmetry, checks, missing))
    return claims


def _seed_count(curve, model, fraction) -> int:
    # A curve without seed counts is read as one seed per point: the std is then the spread of
    # a single result, and its own standard error.
    if "n" not in curve.columns:
        return 1
    row = curve[(curve["model"] == model) & (curve["fraction"] == fraction)].iloc[0]
    return max(int(row["n"]), 1) if np.isfinite(row["n"]) else 1
