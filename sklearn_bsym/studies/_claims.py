"""The paper's claims (physics.md section 7), checked against a study's numbers.

Every claim is a conjunction of explicit checks. A comparison of two means uses the larger of
their standard deviations over seeds as its tolerance ``tol``: ``a > b`` *holds* when
``a - b > tol``, is *not held* when ``a - b < -tol`` and is *inconclusive* in between; ``a >= b``
("best or tied") holds when ``a >= b - tol`` and is not held otherwise. A claim holds when all
its checks hold, is not held when any is not held, and is inconclusive otherwise.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["THRESHOLDS", "check_claims"]

#: The numbers the claims are judged by.
THRESHOLDS = {
    # Claim 1: the invariant net "plateaus" if its test AUC grows by less than this from the
    # smallest to the largest training fraction (paper: +0.001), and its validation AUC by less
    # than this from epoch 1 to its best epoch (paper: +0.001).
    "plateau_gain": 0.01,
    # Claim 4: Spearman correlation of the binned mean w_general with the bin's pT, averaged over
    # seeds: at least this much holds; at most 0 is not held; in between is inconclusive.
    "spearman_min": 0.5,
}

HELD, NOT_HELD, INCONCLUSIVE, NOT_CHECKED = "held", "not held", "inconclusive", "not checked"


def _greater(a: float, sa: float, b: float, sb: float) -> str:
    tol = max(sa, sb)
    if a - b > tol:
        return HELD
    if a - b < -tol:
        return NOT_HELD
    return INCONCLUSIVE


def _at_least(a: float, sa: float, b: float, sb: float) -> str:
    return HELD if a >= b - max(sa, sb) else NOT_HELD


def _below(value: float, std: float, threshold: float) -> str:
    if value + std < threshold:
        return HELD
    if value - std > threshold:
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


def _point(curve, model, fraction) -> tuple[float, float]:
    row = curve[(curve["model"] == model) & (curve["fraction"] == fraction)]
    return float(row["mean"].iloc[0]), float(row["std"].iloc[0])


def _against_best(curve, model, others, fraction, text, compare) -> dict[str, Any]:
    """``model`` against the best of ``others`` at ``fraction``, judged by ``compare``
    (:func:`_greater` or :func:`_at_least`)."""
    a, sa = _point(curve, model, fraction)
    best, sb = max(_point(curve, other, fraction) for other in others)
    return _check(text, compare(a, sa, best, sb), **{model: a}, best_other=best, tol=max(sa, sb))


def _gain(curve, model, lo, hi) -> tuple[float, float]:
    a, sa = _point(curve, model, lo)
    b, sb = _point(curve, model, hi)
    return b - a, float(np.hypot(sa, sb))


def _claim(number: int, statement: str, checks: list[dict[str, Any]], missing: str | None):
    if missing:
        return {
            "claim": number,
            "statement": statement,
            "verdict": NOT_CHECKED,
            "reason": missing,
            "checks": [],
        }
    return {"claim": number, "statement": statement, "verdict": _combine(checks), "checks": checks}


def check_claims(curve, epochs: dict[str, dict[str, list]], symmetry: list[dict[str, list]]):
    """Verdicts on the four claims.

    Parameters
    ----------
    curve : DataFrame
        Test AUC per (model, fraction) with columns ``model, fraction, mean, std``.
    epochs : dict
        Per network name, ``{"mean": [...], "std": [...]}``: validation AUC per epoch at the
        largest training fraction (Fig. 4).
    symmetry : list of dict
        The hybrid's symmetry-factor tables (one per seed, columns ``pt_center`` and
        ``w_general_mean``, as from :func:`sklearn_bsym.nn.symmetry_factor_table`).

    Returns
    -------
    list of dict
        One per claim: ``claim``, ``statement``, ``verdict`` and its ``checks`` (each with its
        numbers and verdict), or ``reason`` when it could not be checked.
    """
    fractions = sorted(curve["fraction"].unique()) if len(curve) else []
    have = set(curve["model"]) if len(curve) else set()
    claims = []
    lo = fractions[0] if fractions else None
    hi = fractions[-1] if fractions else None
    plateau = THRESHOLDS["plateau_gain"]

    # 1. The invariant net learns fastest but plateaus.
    checks = []
    missing = None
    if not {"invariant", "pfn"} <= have or len(fractions) < 2:
        missing = "needs the invariant and PFN nets at two or more training fractions"
    else:
        gain, sg = _gain(curve, "invariant", lo, hi)
        checks.append(
            _check(
                f"invariant test AUC gain from fraction {lo:g} to {hi:g} < {plateau}",
                _below(gain, sg, plateau),
                gain=gain,
                std=sg,
            )
        )
        inv, pfn = epochs.get("invariant"), epochs.get("pfn")
        if inv and pfn and inv["mean"] and pfn["mean"]:
            a, sa, b, sb = inv["mean"][0], inv["std"][0], pfn["mean"][0], pfn["std"][0]
            checks.append(
                _check(
                    "invariant validation AUC after epoch 1 > PFN's",
                    _greater(a, sa, b, sb),
                    invariant=a,
                    pfn=b,
                    tol=max(sa, sb),
                )
            )
            rise = float(np.nanmax(inv["mean"]) - inv["mean"][0])
            checks.append(
                _check(
                    f"invariant validation AUC gain from epoch 1 to its best < {plateau}",
                    _below(rise, sa, plateau),
                    gain=rise,
                    std=sa,
                )
            )
    claims.append(_claim(1, "The invariant net learns fastest but plateaus.", checks, missing))

    # 2. The PFN starts slowest and keeps improving; with enough data it is best.
    checks = []
    others = sorted(have & {"invariant", "hybrid"})
    if "pfn" not in have or not others or len(fractions) < 2:
        missing = "needs the PFN and another net at two or more training fractions"
    else:
        missing = None
        p, sp = _point(curve, "pfn", lo)
        for other in others:
            o, so = _point(curve, other, lo)
            checks.append(
                _check(
                    f"PFN below {other} at fraction {lo:g}",
                    _greater(o, so, p, sp),
                    pfn=p,
                    other=o,
                    tol=max(sp, so),
                )
            )
        gain, sg = _gain(curve, "pfn", lo, hi)
        checks.append(
            _check(
                f"PFN test AUC grows from fraction {lo:g} to {hi:g}",
                _greater(gain, sg, 0.0, 0.0),
                gain=gain,
                std=sg,
            )
        )
        if "invariant" in have:
            gi, sgi = _gain(curve, "invariant", lo, hi)
            checks.append(
                _check(
                    "PFN gains more than the invariant net",
                    _greater(gain, sg, gi, sgi),
                    pfn_gain=gain,
                    invariant_gain=gi,
                    tol=max(sg, sgi),
                )
            )
        checks.append(_against_best(curve, "pfn", others, hi,
                                    f"PFN best or tied at fraction {hi:g}", _at_least))
    claims.append(
        _claim(
            2,
            "The PFN starts slowest and keeps improving; with enough data it is best.",
            checks,
            missing,
        )
    )

    # 3. The hybrid is best or tied at every size, clearly best at small sizes.
    checks = []
    others = sorted(have & {"invariant", "pfn"})
    if "hybrid" not in have or not others:
        missing = "needs the hybrid and another net"
    else:
        missing = None
        for fraction in fractions:
            checks.append(_against_best(curve, "hybrid", others, fraction,
                                        f"hybrid best or tied at fraction {fraction:g}",
                                        _at_least))
        checks.append(_against_best(curve, "hybrid", others, lo,
                                    f"hybrid clearly best at fraction {lo:g}", _greater))
    claims.append(
        _claim(
            3,
            "The hybrid is best or tied-best at every training size, clearly best at small sizes.",
            checks,
            missing,
        )
    )

    # 4. The learned general-subnet weight grows with pT.
    from scipy.stats import spearmanr

    rhos, slopes = [], []
    for table in symmetry:
        pt = np.asarray(table["pt_center"], dtype=float)
        w = np.asarray([np.nan if v is None else v for v in table["w_general_mean"]], dtype=float)
        ok = np.isfinite(pt) & np.isfinite(w)
        if ok.sum() >= 3 and np.ptp(w[ok]) > 0:
            rhos.append(float(spearmanr(pt[ok], w[ok]).statistic))
            slopes.append(float(np.polyfit(pt[ok], w[ok], 1)[0]))
    checks = []
    if not rhos:
        missing = "needs the hybrid's symmetry-factor table with 3 or more non-constant bins"
    else:
        missing = None
        rho = float(np.mean(rhos))
        threshold = THRESHOLDS["spearman_min"]
        verdict = HELD if rho >= threshold else NOT_HELD if rho <= 0 else INCONCLUSIVE
        checks.append(
            _check(
                f"Spearman(pT, w_general) >= {threshold} (mean over seeds; <= 0: not held)",
                verdict,
                spearman=rho,
                spearman_std=float(np.std(rhos)),
                slope_per_gev=float(np.mean(slopes)),
            )
        )
    claims.append(_claim(4, "The learned general-subnet weight grows with pT.", checks, missing))
    return claims
