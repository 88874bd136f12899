"""Which leptons of an event the readers keep: one rule for ROOT collections, LHE files and
mapped tables.

An event holds any number of leptons of the requested kind (a NanoAOD ``Muon`` collection, the
final-state leptons of an LHE event, the particles of a column mapping with a charge or PDG id).
A fit on ``n_leptons`` leptons per event takes ``n_leptons / 2`` of each charge:

- ``pair="exclusive"`` (the default): events with exactly ``n_leptons / 2`` of each charge, no
  more (for a pair: exactly one mu+ and one mu-);
- ``pair="leading"``: events with at least that many of each charge; the highest-pT ones of each
  charge are taken;
- ``pair="closest"``: events with at least that many of each charge; the opposite-charge pair
  whose mass is closest to ``pair_mass`` (default the Z mass, 91.1876 GeV) is taken, then, for
  more than two leptons, the closest pair of the leptons left, and so on (the Z candidates of a
  Z or H -> ZZ -> 4 lepton analysis).

Events with fewer leptons are dropped (never zero-padded), and counted per reason. The leptons
taken are ordered by charge, then by pT: the positive ones first, each charge by decreasing pT
(for a pair: the positive lepton, then the negative one).
"""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np

from .. import kinematics
from ._generator import Z_MASS

__all__ = ["PAIR_MODES", "LEPTON_MASSES", "LeptonSelection", "check_selection"]

#: The pair modes of every reader (``pair=...``; ``--pair`` on the command line).
PAIR_MODES = ("exclusive", "leading", "closest")

#: Charged-lepton masses in GeV by unsigned PDG id (PDG 2024): what a column mapping without a
#: ``mass`` takes.
LEPTON_MASSES = {11: 0.000510999, 13: 0.1056584, 15: 1.77686}

@dataclass(frozen=True)
class LeptonSelection:
    """The leptons a reader keeps of each event (see the module notes); made by
    :func:`check_selection`."""

    pair: str = "exclusive"
    pair_mass: float = Z_MASS
    n_leptons: int = 2

    @property
    def per_charge(self) -> int:
        return self.n_leptons // 2

    def __str__(self) -> str:
        """The mode in words, e.g. ``"leading mode (the highest-pT lepton of each charge)"``."""
        h = self.per_charge
        one = h == 1
        what = {
            "exclusive": (f"exactly {'one lepton' if one else f'{h} leptons'} of each charge"),
            "leading": (f"the {'' if one else f'{h} '}highest-pT "
                        f"lepton{'' if one else 's'} of each charge"),
            "closest": (f"the {'' if one else f'{h} '}opposite-charge pair{'' if one else 's'} "
                        f"closest to {self.pair_mass:g} GeV"
                        f"{'' if one else ', one after the other'}"),
        }[self.pair]
        return f"{self.pair} mode ({what})"

    def reasons(self) -> tuple[str, ...]:
        """The reasons an event is dropped, in cutflow order (the last one in exclusive mode
        only)."""
        n, h = self.n_leptons, self.per_charge
        if n == 2:
            names = ("no lepton", "one lepton", "only same-charge leptons",
                     "more than one of a charge")
        else:
            names = ("no lepton", f"fewer than {n} leptons", f"fewer than {h} of a charge",
                     f"more than {h} of a charge")
        return names if self.pair == "exclusive" else names[:3]

    def select(self, counts, vectors, sign) -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
        """``(X, selected, dropped)`` of a block of events.

        Parameters
        ----------
        counts : ndarray of shape (n_events,)
            Leptons (candidates) per event; the arrays below list them event after event.
        vectors : ndarray of shape (n_candidates, 4)
            Their ``(px, py, pz, E)``.
        sign : ndarray of shape (n_candidates,)
            +1 for a positive lepton, -1 for a negative one, 0 for a candidate that is not a
            lepton of the requested kind (ignored).

        Returns
        -------
        X : ndarray of shape (n_selected, 4 * n_leptons)
        selected : ndarray of shape (n_events,), bool
        dropped : dict
            Reason -> number of events dropped for it (every reason of :meth:`reasons`).
        """
        counts = np.asarray(counts, dtype=np.int64)
        n_events, h = counts.size, self.per_charge
        event = np.repeat(np.arange(n_events), counts)
        sign = np.sign(np.asarray(sign)).astype(np.int8)
        n_pos = np.bincount(event[sign > 0], minlength=n_events)
        n_neg = np.bincount(event[sign < 0], minlength=n_events)
        enough = (n_pos >= h) & (n_neg >= h)
        keep = (n_pos == h) & (n_neg == h) if self.pair == "exclusive" else enough
        n_any = n_pos + n_neg
        counted = [n_any == 0, (n_any > 0) & (n_any < self.n_leptons),
                   (n_any >= self.n_leptons) & ~enough, enough & ~keep]
        dropped = {reason: int(mask.sum()) for reason, mask in zip(self.reasons(), counted,
                                                                   strict=False)}
        taken = keep[event] & (sign != 0)
        event, vectors, sign = event[taken], np.asarray(vectors)[taken], sign[taken]
        if not event.size:
            return np.empty((0, 4 * self.n_leptons)), keep, dropped
        if self.pair == "closest":
            chosen = _closest_pairs(event, vectors, sign, h, self.pair_mass, n_events)
            event, vectors, sign = event[chosen], vectors[chosen], sign[chosen]
        # By event, then charge (positive first), then decreasing pT; the first h of each
        # (event, charge) group are taken (all of them in the exclusive and closest modes).
        order = np.lexsort((-kinematics.pt(vectors), -sign, event))
        event, vectors, sign = event[order], vectors[order], sign[order]
        group = np.r_[True, (event[1:] != event[:-1]) | (sign[1:] != sign[:-1])]
        starts = np.flatnonzero(group)
        rank = np.arange(event.size) - np.repeat(starts, np.diff(np.r_[starts, event.size]))
        X = vectors[rank < h].reshape(-1, 4 * self.n_leptons).astype(np.float64, copy=False)
        return X, keep, dropped


def _closest_pairs(event, vectors, sign, h, mass, n_events) -> np.ndarray:
    """Which leptons (sorted by event) form the ``h`` opposite-charge pairs closest to ``mass``,
    chosen one after the other among the leptons left; every event has ``h`` of each charge."""
    pos, neg = np.flatnonzero(sign > 0), np.flatnonzero(sign < 0)
    n_pos = np.bincount(event[pos], minlength=n_events)
    n_neg = np.bincount(event[neg], minlength=n_events)
    pos_start, neg_start = np.cumsum(n_pos) - n_pos, np.cumsum(n_neg) - n_neg
    n_pairs = n_pos * n_neg
    pair_event = np.repeat(np.arange(n_events), n_pairs)
    k = np.arange(pair_event.size) - np.repeat(np.cumsum(n_pairs) - n_pairs, n_pairs)
    width = n_neg[pair_event]
    i = pos[pos_start[pair_event] + k // np.maximum(width, 1)]
    j = neg[neg_start[pair_event] + k % np.maximum(width, 1)]
    distance = np.abs(kinematics.mass(vectors[i] + vectors[j]) - mass)
    used = np.zeros(sign.size, dtype=bool)
    if not distance.size:
        return used
    for _ in range(h):
        free = np.where(used[i] | used[j], np.inf, distance)
        order = np.lexsort((free, pair_event))
        first = order[np.r_[True, pair_event[order][1:] != pair_event[order][:-1]]]
        used[i[first]] = used[j[first]] = True
    return used


def check_selection(pair="exclusive", pair_mass=None, n_leptons=2) -> LeptonSelection:
    """The reader options ``pair``, ``pair_mass`` and ``n_leptons`` checked, as a
    :class:`LeptonSelection`; else one ValueError line naming the option and the fix."""
    if not isinstance(pair, str) or pair not in PAIR_MODES:
        raise ValueError(
            f"pair must be one of {', '.join(map(repr, PAIR_MODES))}, got {pair!r}: 'exclusive' "
            "keeps events with exactly one lepton of each charge, 'leading' takes the "
            "highest-pT lepton of each charge, 'closest' the opposite-charge pair whose mass "
            "is closest to pair_mass (the Z mass by default)."
        )
    if pair_mass is not None:
        if pair != "closest":
            raise ValueError(
                f"pair_mass={pair_mass!r} applies to pair='closest' only; pass pair='closest' "
                "(--pair closest) or remove pair_mass."
            )
        if (isinstance(pair_mass, bool) or not isinstance(pair_mass, Real)
                or not np.isfinite(pair_mass) or pair_mass <= 0):
            raise ValueError(
                f"pair_mass must be a mass in GeV > 0 (e.g. 91.1876 for the Z), got "
                f"{pair_mass!r}."
            )
    if (isinstance(n_leptons, bool) or not isinstance(n_leptons, Integral) or n_leptons < 2
            or n_leptons % 2):
        raise ValueError(
            f"n_leptons must be an even int >= 2 (half of them of each charge), e.g. 2 for a "
            f"pair or 4 for H -> ZZ -> 4 leptons; got {n_leptons!r}."
        )
    return LeptonSelection(pair, Z_MASS if pair_mass is None else float(pair_mass),
                           int(n_leptons))
