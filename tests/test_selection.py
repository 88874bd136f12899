"""The readers' lepton selection (pair modes, N leptons, counts per reason), written once in
sklearn_bsym.datasets._select and applied alike to ROOT collections, LHE files and mappings."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from sklearn_bsym import events, kinematics
from sklearn_bsym.datasets import LEPTON_MASSES, PAIR_MODES, Z_MASS
from sklearn_bsym.datasets._select import check_selection


def _leptons(event_list):
    """``(counts, vectors, sign)`` of events given as lists of (pt, eta, phi, charge)."""
    counts = [len(e) for e in event_list]
    flat = np.array([m for e in event_list for m in e], dtype=np.float64).reshape(-1, 4)
    vectors = kinematics.from_pt_eta_phi_mass(flat[:, 0], flat[:, 1], flat[:, 2],
                                              np.full(len(flat), 0.1056584))
    return counts, vectors, flat[:, 3]


# A Z candidate (45, 40 GeV back to back) beside a soft muon of each charge: the leading pair
# is not the pair closest to the Z mass in the second event.
EVENTS = [
    [(40.0, 0.5, 0.1, 1), (35.0, -0.3, 2.9, -1)],                          # one of each
    [],                                                                    # no muon
    [(30.0, 0.0, 0.0, 1)],                                                 # one muon
    [(30.0, 0.0, 0.0, 1), (25.0, 1.0, 1.0, 1)],                            # same charge
    [(60.0, 0.0, 0.0, 1), (45.0, 0.2, 3.0, -1), (40.0, -0.1, 0.1, 1),
     (20.0, 1.5, 1.0, -1)],                                                # 2 + 2
    [(50.0, 0.2, 0.0, -1), (45.0, 0.1, 3.0, 1), (20.0, 0.0, 1.0, 1)],      # 1 - and 2 +
]


def _pair_pts(X):
    return kinematics.pt(events.to_particles(X)).round(6).tolist()


@pytest.mark.parametrize(
    ("pair", "kept", "pts", "dropped"),
    [
        ("exclusive", [0], [[40.0, 35.0]],
         {"no lepton": 1, "one lepton": 1, "only same-charge leptons": 1,
          "more than one of a charge": 2}),
        ("leading", [0, 4, 5], [[40.0, 35.0], [60.0, 45.0], [45.0, 50.0]],
         {"no lepton": 1, "one lepton": 1, "only same-charge leptons": 1}),
        ("closest", [0, 4, 5], [[40.0, 35.0], [40.0, 45.0], [45.0, 50.0]],
         {"no lepton": 1, "one lepton": 1, "only same-charge leptons": 1}),
    ],
)
def test_pair_modes_keep_choose_and_count(pair, kept, pts, dropped):
    X, selected, counts = check_selection(pair).select(*_leptons(EVENTS))
    assert np.flatnonzero(selected).tolist() == kept
    assert _pair_pts(X) == pts  # the positive lepton first
    assert counts == dropped
    assert sum(counts.values()) + len(kept) == len(EVENTS)


def test_closest_takes_the_pair_nearest_the_mass():
    counts, vectors, sign = _leptons(EVENTS[4:5])
    X, _, _ = check_selection("closest").select(counts, vectors, sign)
    p = vectors
    masses = {(i, j): float(kinematics.mass(p[i] + p[j])) for i in (0, 2) for j in (1, 3)}
    best = min(masses, key=lambda k: abs(masses[k] - Z_MASS))
    assert_allclose(X[0], np.concatenate([p[best[0]], p[best[1]]]))
    # Another mass picks another pair: 20 GeV is nearest the soft pair (40 GeV mu+, 20 GeV mu-).
    nearest = min(masses, key=lambda k: abs(masses[k] - 20.0))
    X_low, _, _ = check_selection("closest", pair_mass=20.0).select(counts, vectors, sign)
    assert_allclose(X_low[0], np.concatenate([p[nearest[0]], p[nearest[1]]]))
    assert nearest != best


@pytest.mark.parametrize("pair", PAIR_MODES)
def test_four_leptons_by_charge_then_pt(pair):
    """Four leptons: two of each charge, the positive ones first, each charge by decreasing
    pT; the 2 + 2 event is kept by every mode, the others lack leptons."""
    X, selected, counts = check_selection(pair, n_leptons=4).select(*_leptons(EVENTS))
    assert np.flatnonzero(selected).tolist() == [4]
    assert _pair_pts(X) == [[60.0, 40.0, 45.0, 20.0]]
    assert counts["no lepton"] == 1 and counts["fewer than 4 leptons"] == 4
    assert counts["fewer than 2 of a charge"] == 0


def test_closest_four_leptons_pairs_one_after_the_other():
    """Five leptons: the closest pair to the mass first, then the closest of those left."""
    event = [(45.0, 0.0, 0.0, 1), (45.0, 0.0, np.pi, -1), (30.0, 1.0, 1.0, 1),
             (29.0, 1.2, -2.0, -1), (5.0, 2.0, 0.5, -1)]
    counts, vectors, sign = _leptons([event])
    X, selected, _ = check_selection("closest", n_leptons=4).select(counts, vectors, sign)
    assert selected.tolist() == [True]
    # Z1 = (45+, 45-) at 90 GeV; Z2 from (30+) with 29- or 5-: the one nearer 91.19 GeV.
    m_29 = float(kinematics.mass(vectors[2] + vectors[3]))
    m_5 = float(kinematics.mass(vectors[2] + vectors[4]))
    second = 29.0 if abs(m_29 - Z_MASS) < abs(m_5 - Z_MASS) else 5.0
    assert _pair_pts(X) == [sorted([45.0, 30.0], reverse=True) + sorted([45.0, second],
                                                                          reverse=True)]
    X_lead, _, _ = check_selection("leading", n_leptons=4).select(counts, vectors, sign)
    assert _pair_pts(X_lead) == [[45.0, 30.0, 45.0, 29.0]]
    X_exclusive, kept, dropped = check_selection("exclusive", n_leptons=4).select(
        counts, vectors, sign)
    assert X_exclusive.shape == (0, 16) and dropped["more than 2 of a charge"] == 1


def test_candidates_of_no_charge_are_ignored():
    counts, vectors, sign = _leptons([[(40.0, 0.0, 0.0, 1), (30.0, 0.0, 3.0, 0),
                                       (35.0, 0.0, 3.0, -1)]])
    X, selected, _ = check_selection().select(counts, vectors, sign)
    assert selected.tolist() == [True] and _pair_pts(X) == [[40.0, 35.0]]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"pair": "best"}, "pair must be one of 'exclusive', 'leading', 'closest'"),
        ({"pair": "leading", "pair_mass": 91.0}, "pair_mass=91.0 applies to pair='closest'"),
        ({"pair": "closest", "pair_mass": -1.0}, "pair_mass must be a mass in GeV > 0"),
        ({"pair": "closest", "pair_mass": np.nan}, "pair_mass must be a mass in GeV > 0"),
        ({"n_leptons": 3}, "n_leptons must be an even int >= 2"),
        ({"n_leptons": 0}, "n_leptons must be an even int >= 2"),
        ({"n_leptons": 2.0}, "n_leptons must be an even int >= 2"),
    ],
)
def test_bad_selection_options(kwargs, match):
    with pytest.raises(ValueError, match=match):
        check_selection(**kwargs)


def test_the_modes_say_what_they_keep():
    assert str(check_selection()) == "exclusive mode (exactly one lepton of each charge)"
    assert str(check_selection("closest", 125.0)) == (
        "closest mode (the opposite-charge pair closest to 125 GeV)")
    assert str(check_selection("leading", n_leptons=4)) == (
        "leading mode (the 2 highest-pT leptons of each charge)")


def test_the_command_line_names_the_readers_modes():
    from sklearn_bsym.studies import PAIR_MODES as CLI_MODES

    assert CLI_MODES == PAIR_MODES
    assert_array_equal(sorted(LEPTON_MASSES), [11, 13, 15])
