"""Tests of the Bayes-optimal discriminant of the built-in generator."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy import integrate
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from threadpoolctl import threadpool_limits

from sklearn_bsym import kinematics
from sklearn_bsym.datasets import (
    ETA_MAX,
    PT_MIN,
    background_mass_pdf,
    cos_theta_pdf,
    make_dimuon_events,
    rapidity_pdf,
    signal_mass_pdf,
)
from sklearn_bsym.events import to_flat, to_particles
from sklearn_bsym.optimal import (
    BayesOptimalClassifier,
    _lo_mass,
    _p_of_mass,
    class_acceptance,
    optimal_discriminant,
)
from sklearn_bsym.preprocessing import (
    DetectorResolution,
    MomentumSmearer,
    PtReweighter,
    SymmetryInvariants,
)


def _auc_error(auc, n_pos, n_neg):
    """Hanley-McNeil standard error of an AUC."""
    q1, q2 = auc / (2 - auc), 2 * auc**2 / (1 + auc)
    var = (auc * (1 - auc) + (n_pos - 1) * (q1 - auc**2) + (n_neg - 1) * (q2 - auc**2))
    return np.sqrt(var / (n_pos * n_neg))


@pytest.fixture(scope="module")
def smeared():
    X, y = make_dimuon_events(60_000, random_state=11)
    Xs = MomentumSmearer(0.10, random_state=2).fit_transform(X)
    return Xs, y, optimal_discriminant(Xs, resolution=0.10)


def test_resolution_zero_separates_like_the_true_mass_ratio():
    X, y, truth = make_dimuon_events(20_000, random_state=3, return_truth=True)
    d = optimal_discriminant(X, resolution=0.0)
    m = truth["mass"].to_numpy()
    truth_ratio = np.log(signal_mass_pdf(m)) - np.log(background_mass_pdf(m))
    # Everything but the mass density cancels: the same ordering, up to a constant shift.
    assert_allclose(d - truth_ratio, (d - truth_ratio).mean(), atol=1e-8)
    assert_allclose(roc_auc_score(y, d), roc_auc_score(y, truth_ratio), atol=1e-12)


def test_small_resolution_approaches_resolution_zero():
    X, _ = make_dimuon_events(2000, random_state=4)
    Xs = MomentumSmearer(1e-4, random_state=0).fit_transform(X)
    assert_allclose(optimal_discriminant(Xs, resolution=1e-4),
                    optimal_discriminant(X, resolution=0.0), atol=0.02)


def test_posterior_is_calibrated(smeared):
    # expit(d) is P(signal | x) for balanced classes, only if both normalisations are exact.
    Xs, y, d = smeared
    prob = 1 / (1 + np.exp(-d))
    bins = np.digitize(prob, [0.1, 0.3, 0.5, 0.7, 0.9])
    for i in range(6):
        sel = bins == i
        if sel.sum() < 500:
            continue
        err = np.sqrt(prob[sel].mean() * (1 - prob[sel].mean()) / sel.sum())
        assert abs(y[sel].mean() - prob[sel].mean()) < 4 * err + 0.005


def test_histogram_ratio_on_a_slice(smeared):
    # Central muons, bins of measured mass: n_s / n_b in a bin estimates E_b[exp(d) | bin].
    Xs, y, d = smeared
    p = to_particles(Xs)
    central = (np.abs(kinematics.eta(p)) < 0.8).all(axis=1)
    mass = kinematics.mass(kinematics.system(p))
    edges = np.array([70, 80, 85, 88, 90, 92, 94, 97, 102, 110, 130])
    index = np.digitize(mass, edges) - 1
    for b in range(edges.size - 1):
        sel = central & (index == b)
        n_s, n_b = int((sel & (y == 1)).sum()), int((sel & (y == 0)).sum())
        if min(n_s, n_b) < 100:
            continue
        expected = np.exp(d[sel & (y == 0)]).mean()
        observed = n_s / n_b
        rel_err = np.sqrt(1 / n_s + 1 / n_b)
        assert abs(np.log(observed / expected)) < 4 * rel_err, (b, observed, expected)


def test_beats_histogram_ratio_and_trained_model_on_held_out(smeared):
    Xs, y, d = smeared
    train, test = slice(0, 40_000), slice(40_000, None)
    p = to_particles(Xs)
    mass = kinematics.mass(kinematics.system(p))
    edges = np.quantile(mass[train], np.linspace(0, 1, 41))
    idx = np.clip(np.digitize(mass, edges) - 1, 0, 39)
    n_s = np.bincount(idx[train][y[train] == 1], minlength=40) + 1
    n_b = np.bincount(idx[train][y[train] == 0], minlength=40) + 1
    hist_score = np.log(n_s / n_b)[idx[test]]
    # One thread: OpenMP threads on busy shared cores slow it down many times over.
    with threadpool_limits(1):
        hgb = HistGradientBoostingClassifier(max_iter=60, random_state=0).fit(Xs[train], y[train])
    auc_opt = roc_auc_score(y[test], d[test])
    err = _auc_error(auc_opt, int(y[test].sum()), int((1 - y[test]).sum()))
    for score in (hist_score, hgb.predict_proba(Xs[test])[:, 1]):
        assert roc_auc_score(y[test], score) <= auc_opt + 2 * err
    assert auc_opt > roc_auc_score(y[test], hist_score)


def test_p_of_mass_inverts_lo_mass():
    rng = np.random.default_rng(0)
    pz1, pz2 = rng.normal(0, 60, 1000), rng.normal(0, 60, 1000)
    p = rng.uniform(10, 100, 1000)
    m = _lo_mass(p, pz1, pz2)
    assert_allclose(_p_of_mass(m, pz1, pz2), p, rtol=1e-7)


def _event(pt1, pt2, pz1, pz2):
    e1, e2 = np.hypot(pt1, pz1), np.hypot(pt2, pz2)
    return [pt1, 0.0, pz1, e1, -pt2, 0.0, pz2, e2]


@pytest.mark.parametrize("resolution", [0.0, 0.02, 0.10, 0.20])
def test_finite_on_edge_cases(resolution):
    X = np.array([
        _event(10.0001, 10.0001, 60.0, -60.0),   # at the pT cut
        _event(40.0, 40.0, 240.0, 0.0),           # eta near 2.5
        _event(1000.0, 1000.0, 10.0, -10.0),      # far above both masses
        _event(5.0, 200.0, 1.0, 1.0),             # very asymmetric
        _event(3.0, 3.0, 0.5, -0.5),              # below every cut
        _event(45.6, 45.6, 0.0, 0.0),             # on the Z peak
        _event(35.0, 35.0, 1000.0, 1000.0),       # both very forward
    ])
    d = optimal_discriminant(X, resolution=resolution)
    assert np.isfinite(d).all()


def test_reweighter_subtracts_log_background_weight(smeared):
    Xs, y, d = smeared
    X = Xs[:2000]

    def weight(X_):
        return 1.0 + kinematics.pt(to_particles(X_)[:, 0]) / 50.0

    assert_allclose(optimal_discriminant(X, reweighter=weight), d[:2000] - np.log(weight(X)))
    rw = PtReweighter(n_bins=20).fit(Xs, y)
    pt = kinematics.pt(to_particles(X)[:, 0])
    index = np.clip(np.searchsorted(rw.bin_edges_, pt, side="right") - 1, 0, 19)
    expected = d[:2000] - np.log(rw.density_ratio_[index])
    assert_allclose(optimal_discriminant(X, reweighter=rw), expected)


def test_weighted_discriminant_is_better_for_the_weighted_problem(smeared):
    Xs, y, d = smeared
    rw = PtReweighter(n_bins=50).fit(Xs, y)
    w = rw.compute_sample_weight(Xs, y)
    d_rw = optimal_discriminant(Xs, reweighter=rw)
    assert roc_auc_score(y, d_rw, sample_weight=w) >= roc_auc_score(y, d, sample_weight=w) - 1e-3


def test_classifier_api(smeared):
    Xs, y, d = smeared
    clf = BayesOptimalClassifier(resolution=0.10).fit(Xs[:500], y[:500])
    np.testing.assert_array_equal(clf.classes_, [0, 1])
    assert_allclose(clf.decision_function(Xs[:500]), d[:500])
    proba = clf.predict_proba(Xs[:500])
    assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(clf.predict(Xs[:500]), (d[:500] > 0).astype(int))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"resolution": -0.1}, "resolution must be a finite float >= 0"),
        ({"resolution": "10%"}, "resolution must be a finite float >= 0, a pair"),
        ({"resolution": (0.01,)}, r"resolution=\(a, b\) must be two finite numbers"),
        ({"resolution": DetectorResolution(strength=1.5)}, "The 'strength' parameter"),
        ({"n_nodes": 2}, "n_nodes must be an int >= 8"),
        ({"reweighter": "yes"}, "reweighter must be a fitted PtReweighter or a callable"),
        ({"azimuthally_invariant": "yes"}, "azimuthally_invariant must be True or False"),
        ({"reweighter": lambda X: -np.ones(len(X))}, "finite background weight >= 0"),
    ],
)
def test_bad_input(kwargs, match):
    X, _ = make_dimuon_events(10, random_state=0)
    with pytest.raises(ValueError, match=match):
        optimal_discriminant(X, **kwargs)


def test_wrong_number_of_particles():
    with pytest.raises(ValueError, match="Expected 2 particles"):
        optimal_discriminant(np.tile([1.0, 0.0, 0.0, 2.0], (3, 3)))
    with pytest.raises(ValueError, match="resolution"):
        BayesOptimalClassifier(resolution=-1).fit(*make_dimuon_events(10, random_state=0))



# ---------------------------------------------------------------- a detector that breaks more
#: sigma/pT = 0.1 (1 + 0.8 cos phi): the azimuthal symmetry broken hard.
PHI_DETECTOR = DetectorResolution(0.10, strength=0.8)


def _true_variables(x):
    """(m, y, cos theta*) of LO events x (..., 3) = (p, pz1, pz2), from their four-vectors: the
    pair's mass and rapidity, and the mu+ direction in the pair's rest frame."""
    p, pz1, pz2 = x[..., 0], x[..., 1], x[..., 2]
    zero = np.zeros_like(p)
    mu1 = np.stack([p, zero, pz1, np.sqrt(p * p + pz1 * pz1)], -1)
    mu2 = np.stack([-p, zero, pz2, np.sqrt(p * p + pz2 * pz2)], -1)
    pair = mu1 + mu2
    rest = kinematics.boost(mu1, -pair[..., :3] / pair[..., 3:])
    return np.stack([kinematics.mass(pair), kinematics.rapidity(pair),
                     rest[..., 2] / kinematics.p_abs(rest)], -1)


def _true_density(p, pz1, pz2, label):
    """Density of class ``label`` in (p, pz1, pz2) at the nodes p: the generator's densities of
    (m, y, cos theta*) times the Jacobian, here by central differences."""
    x = np.stack([p, np.full_like(p, pz1), np.full_like(p, pz2)], -1)
    jac = np.empty(p.shape + (3, 3))
    for k in range(3):
        step = np.zeros_like(x)
        step[..., k] = 1e-6 * np.maximum(np.abs(x[..., k]), 1.0)
        jac[..., k] = ((_true_variables(x + step) - _true_variables(x - step))
                       / (2 * step[..., k:k + 1]))
    m, y, c = np.moveaxis(_true_variables(x), -1, 0)
    pdf = signal_mass_pdf if label == 1 else background_mass_pdf
    inside = ((p > PT_MIN) & (np.abs(np.arcsinh(pz1 / p)) < ETA_MAX)
              & (np.abs(np.arcsinh(pz2 / p)) < ETA_MAX))
    density = pdf(m) * rapidity_pdf(y) * cos_theta_pdf(c) * np.abs(np.linalg.det(jac))
    return np.where(inside, density, 0.0) / class_acceptance(label)


def _brute_force_log_ratio(event, relative):
    """log L_s / L_b of one measured event by direct integration over the true pT p, with the
    resolution ``relative(p, eta, phi)`` (sigma/pT) of each muon."""
    p4 = event.reshape(2, 4)
    a, b = kinematics.pt(p4)
    phi1, phi2 = kinematics.phi(p4)
    pz1, pz2 = p4[:, 2]
    p = np.linspace(0.3 * min(a, b), 3.0 * max(a, b), 20_001)
    m = _true_variables(np.stack([p, np.full_like(p, pz1), np.full_like(p, pz2)], -1))[:, 0]
    near_z = p[np.abs(m - 91.19) < 25.0]  # the Z peak, 25 widths either side
    if near_z.size:
        p = np.union1d(p, np.linspace(near_z.min(), near_z.max(), 20_001))
    gauss = 1.0
    for measured, pz, phi in ((a, pz1, phi1), (b, pz2, phi2)):
        r = relative(p, np.arcsinh(pz / p), np.full_like(p, phi))
        gauss = gauss * np.exp(-0.5 * ((measured - p) / (r * p)) ** 2) / (r * p)
    like = [integrate.trapezoid(_true_density(p, pz1, pz2, label) * gauss, p) for label in (1, 0)]
    return np.log(like[0]) - np.log(like[1])


class _PtDependent:
    """A user's detector model that depends on the true pT and azimuth."""

    def relative_resolution(self, pt, eta, phi):
        return (0.04 + 0.001 * pt) * (1.0 + 0.5 * np.sin(2 * phi))


@pytest.mark.parametrize(
    "resolution",
    [PHI_DETECTOR, DetectorResolution(0.05, strength=0.6, phi_periods=2, endcap=0.15),
     _PtDependent()],
    ids=["phi", "phi_eta", "user_pt_phi"],
)
def test_detector_model_matches_brute_force_integration(resolution):
    X, _ = make_dimuon_events(5, random_state=5)
    Xs = MomentumSmearer(resolution, random_state=0).fit_transform(X)
    expected = [_brute_force_log_ratio(event, resolution.relative_resolution) for event in Xs]
    assert_allclose(optimal_discriminant(Xs, resolution=resolution, n_nodes=1024), expected,
                    atol=2e-4)
    # the default grid: the quadrature error of the module notes
    assert_allclose(optimal_discriminant(Xs, resolution=resolution), expected, atol=5e-3)


def test_pt_dependent_resolutions_match_brute_force_integration():
    X, _ = make_dimuon_events(4, random_state=6)
    for resolution, relative in [
        ((0.02, 0.002), lambda p, eta, phi: np.sqrt(0.02**2 + (0.002 * p) ** 2)),
        (lambda pt: 0.05 * pt + 0.0005 * pt**2, lambda p, eta, phi: 0.05 + 0.0005 * p),
    ]:
        Xs = MomentumSmearer(resolution, random_state=1).fit_transform(X)
        expected = [_brute_force_log_ratio(event, relative) for event in Xs]
        assert_allclose(optimal_discriminant(Xs, resolution=resolution, n_nodes=1024), expected,
                        atol=2e-4)


def test_detector_model_without_breaking_is_todays_discriminant(smeared):
    Xs, _, d = smeared
    detector = DetectorResolution(0.10, strength=0.0, phi_periods=3, endcap=0.0)
    assert_allclose(optimal_discriminant(Xs[:3000], resolution=detector), d[:3000],
                    rtol=0, atol=1e-12)
    assert_allclose(optimal_discriminant(Xs[:100], resolution=DetectorResolution(0.0)),
                    optimal_discriminant(Xs[:100], resolution=0.0))


@pytest.fixture(scope="module")
def phi_smeared():
    X, y = make_dimuon_events(60_000, random_state=12)
    Xs = MomentumSmearer(PHI_DETECTOR, random_state=3).fit_transform(X)
    return Xs, y, optimal_discriminant(Xs, resolution=PHI_DETECTOR)


def test_detector_posterior_is_calibrated_where_the_detector_is_good_and_bad(phi_smeared):
    # expit(d) is P(signal | x) on the events where mu+ is measured best (sigma/pT ~ 0.02-0.05,
    # |phi| > 3 pi / 4) and worst (0.15-0.18, |phi| < pi / 4), if the detector's azimuthal
    # dependence is in the likelihood right.
    Xs, y, d = phi_smeared
    phi = kinematics.phi(to_particles(Xs)[:, 0])
    prob = 1 / (1 + np.exp(-d))
    for region in (np.abs(phi) > 0.75 * np.pi, np.abs(phi) < 0.25 * np.pi):
        bins = np.digitize(prob, [0.1, 0.3, 0.5, 0.7, 0.9])
        for i in range(6):
            sel = region & (bins == i)
            if sel.sum() < 300:
                continue
            err = np.sqrt(prob[sel].mean() * (1 - prob[sel].mean()) / sel.sum())
            assert abs(y[sel].mean() - prob[sel].mean()) < 4 * err + 0.005


def test_detector_limit_is_above_trained_models_and_symmetric_ones(phi_smeared):
    Xs, y, d = phi_smeared
    train, test = slice(0, 40_000), slice(40_000, None)
    auc_opt = roc_auc_score(y[test], d[test])
    err = _auc_error(auc_opt, int(y[test].sum()), int((1 - y[test]).sum()))
    p = to_particles(Xs)
    phis = kinematics.phi(p)
    with threadpool_limits(1):
        # a tree that sees the azimuths
        raw = np.hstack([Xs, phis, kinematics.pt(p)])
        hgb = HistGradientBoostingClassifier(max_iter=100, random_state=0)
        hgb_score = hgb.fit(raw[train], y[train]).predict_proba(raw[test])[:, 1]
        # a tree invariant under the longitudinal group (rotations about the beam, boosts)
        inv = np.hstack([SymmetryInvariants(symmetry="longitudinal").fit_transform(Xs),
                         SymmetryInvariants(symmetry="lorentz").fit_transform(Xs)])
        lon = HistGradientBoostingClassifier(max_iter=100, random_state=0)
        lon_score = lon.fit(inv[train], y[train]).predict_proba(inv[test])[:, 1]
    assert roc_auc_score(y[test], hgb_score) <= auc_opt + 2 * err
    # the azimuth carries information: blind to it (the constant resolution's ratio) or
    # invariant under rotations about the beam, a classifier falls well below the limit
    blind = roc_auc_score(y[test], optimal_discriminant(Xs[test], resolution=0.10))
    assert max(blind, roc_auc_score(y[test], lon_score)) < auc_opt - 0.02


def test_resolution_zero_for_some_muons_is_refused():
    class Blind:
        def relative_resolution(self, pt, eta, phi):
            return np.where(phi > 0, 0.1, 0.0)

    X, _ = make_dimuon_events(20, random_state=0)
    with pytest.raises(ValueError, match="sigma/pT > 0 for every muon"):
        optimal_discriminant(X, resolution=Blind())


def test_azimuthally_invariant_limit_is_the_default_without_azimuthal_breaking(smeared):
    Xs, _, d = smeared
    for resolution in (0.10, DetectorResolution(0.10, strength=0.0)):
        assert_allclose(optimal_discriminant(Xs[:500], resolution=resolution,
                                             azimuthally_invariant=True), d[:500])


def test_azimuthally_invariant_limit_is_invariant(phi_smeared):
    Xs, _, _ = phi_smeared
    X = Xs[:1000]
    rotated = to_flat(kinematics.rotate_z(to_particles(X), 0.123))
    d = optimal_discriminant(X, resolution=PHI_DETECTOR, azimuthally_invariant=True)
    d_rotated = optimal_discriminant(rotated, resolution=PHI_DETECTOR, azimuthally_invariant=True)
    # to the quadrature error of the grid in pT (the mean over 32 rotations is exact for the
    # detector's single harmonic and converged for the likelihood's)
    assert_allclose(d_rotated, d, atol=2e-3)
    full = optimal_discriminant(X, resolution=PHI_DETECTOR)
    assert np.abs(optimal_discriminant(rotated, resolution=PHI_DETECTOR) - full).max() > 0.5


def test_azimuthally_invariant_limit_is_the_ceiling_of_a_symmetric_classifier(phi_smeared):
    Xs, y, d = phi_smeared
    train, test = slice(0, 40_000), slice(56_000, None)
    clf = BayesOptimalClassifier(PHI_DETECTOR, azimuthally_invariant=True).fit(Xs[:10], y[:10])
    auc_invariant = roc_auc_score(y[test], clf.decision_function(Xs[test]))
    auc_opt = roc_auc_score(y[test], d[test])
    err = _auc_error(auc_invariant, int(y[test].sum()), int((1 - y[test]).sum()))
    inv = np.hstack([SymmetryInvariants(symmetry="longitudinal").fit_transform(Xs),
                     SymmetryInvariants(symmetry="lorentz").fit_transform(Xs)])
    with threadpool_limits(1):
        lon = HistGradientBoostingClassifier(max_iter=100, random_state=0).fit(inv[train],
                                                                                y[train])
    assert roc_auc_score(y[test], lon.predict_proba(inv[test])[:, 1]) <= auc_invariant + 2 * err
    assert auc_invariant < auc_opt - 0.01
