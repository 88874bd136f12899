"""MomentumSmearer: the smearing model, its draws, and its errors."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy import stats
from sklearn.base import clone
from sklearn.model_selection import KFold

from sklearn_bsym import kinematics
from sklearn_bsym.datasets import make_dimuon_events
from sklearn_bsym.events import to_particles
from sklearn_bsym.preprocessing import DetectorResolution, MomentumSmearer

#: The documented floor of the smearing factor (MomentumSmearer's notes: "clipped to f = 1e-3").
MIN_FACTOR = 1e-3
#: A resolution so small that no draw is ever clipped: (factor - 1) / r recovers the draw.
_TINY = 1e-4


@pytest.fixture(scope="module")
def events():
    return make_dimuon_events(3000, random_state=2)[0]


def _factors(X, Xs):
    """Measured pT / true pT for every particle, shape (n, n_particles)."""
    return kinematics.pt(to_particles(Xs)) / kinematics.pt(to_particles(X))


def event_normals(X, seed):
    """The smearer's standard-normal draw per particle, read back through the public API: with
    a constant resolution r the factor is 1 + r z."""
    X = np.asarray(X, dtype=np.float64)
    return (_factors(X, MomentumSmearer(_TINY, random_state=seed).fit_transform(X)) - 1) / _TINY


def test_paper_model_scales_pt_keeps_pz_and_mass(events):
    Xs = MomentumSmearer(0.10, random_state=0).fit_transform(events)
    p, ps = to_particles(events), to_particles(Xs)
    f = _factors(events, Xs)
    # px and py scaled by the same factor: the direction in the transverse plane is kept
    assert_allclose(ps[..., 0], f * p[..., 0], rtol=1e-12)
    assert_allclose(ps[..., 1], f * p[..., 1], rtol=1e-12)
    assert_array_equal(ps[..., 2], p[..., 2])
    # massless muons stay massless: E recomputed as |p'|
    assert_allclose(ps[..., 3], kinematics.p_abs(ps), rtol=1e-12)
    # sigma(pT)/pT = 0.10: (f - 1) / 0.10 is the normal draw
    assert_allclose(np.std(f - 1.0), 0.10, rtol=0.05)


def test_momentum_mode_scales_three_momentum(events):
    Xs = MomentumSmearer(0.10, mode="momentum", random_state=0).fit_transform(events)
    p, ps = to_particles(events), to_particles(Xs)
    f = _factors(events, Xs)
    assert_allclose(ps[..., :3], f[..., None] * p[..., :3], rtol=1e-12)
    assert_allclose(ps[..., 3], kinematics.p_abs(ps), rtol=1e-12)


def test_both_modes_use_the_same_draws(events):
    f_t = _factors(events, MomentumSmearer(0.1, random_state=3).fit_transform(events))
    f_m = _factors(
        events, MomentumSmearer(0.1, mode="momentum", random_state=3).fit_transform(events)
    )
    assert_allclose(f_t, f_m, rtol=1e-12)


def test_mass_kept_for_massive_particles():
    # a 10 GeV particle and a massless one
    X = np.array([[3.0, 4.0, 12.0, np.sqrt(9 + 16 + 144 + 100.0), 3.0, 0.0, 4.0, 5.0]])
    Xs = MomentumSmearer(0.3, random_state=1).fit_transform(X)
    assert_allclose(kinematics.mass(to_particles(Xs)), [[10.0, 0.0]], atol=1e-9)
    assert not np.allclose(Xs, X)


@pytest.mark.parametrize(
    ("resolution", "expected"),
    [
        ((0.02, 0.001), lambda pt: np.sqrt(0.02**2 + (0.001 * pt) ** 2)),
        (lambda pt: 0.05 * pt + 0.001 * pt**2, lambda pt: 0.05 + 0.001 * pt),
    ],
    ids=["quadrature", "callable"],
)
def test_resolution_models(events, resolution, expected):
    z = event_normals(events, 5)
    Xs = MomentumSmearer(resolution, random_state=5).fit_transform(events)
    pt = kinematics.pt(to_particles(events))
    assert_allclose(_factors(events, Xs), 1.0 + expected(pt) * z, rtol=1e-9)


def test_float_resolution_scales_the_same_draws(events):
    z = event_normals(events, 7)
    Xs = MomentumSmearer(0.1, random_state=7).fit_transform(events)
    assert_allclose(_factors(events, Xs), 1.0 + 0.1 * z, rtol=1e-9)
    assert_allclose([z.mean(), z.std()], [0.0, 1.0], atol=0.05)


@pytest.mark.parametrize("resolution", [0, 0.0, (0.0, 0.0)])
def test_zero_resolution_is_identity(events, resolution):
    smearer = MomentumSmearer(resolution).fit(events)
    out = smearer.transform(events)
    assert_array_equal(out, events)
    assert out is not events


def test_negative_pt_draws_are_clipped():
    X = np.tile([[30.0, 40.0, 0.0, 50.0]], (20000, 1))
    X[:, 0] += np.linspace(0, 1, 20000)  # distinct events, distinct draws
    X[:, 3] = np.sqrt(X[:, 0] ** 2 + 40.0**2)
    # sigma = 2 pT (only a callable can say so: a number above 1 is refused as a percentage)
    Xs = MomentumSmearer(lambda pt: 2.0 * pt, random_state=0).fit_transform(X)
    f = _factors(X, Xs)
    # at r = 2 a third of the draws would flip pT: they are clipped to the minimum factor
    assert np.all(f > 0)
    assert_allclose(f.min(), MIN_FACTOR, rtol=1e-9)
    assert 0.25 < np.mean(np.isclose(f, MIN_FACTOR)) < 0.4


def test_padding_stays_zero():
    X = np.array([[30.0, 40.0, 10.0, np.sqrt(2600.0), 0.0, 0.0, 0.0, 0.0]] * 3)
    X[1, 0] = 20.0
    X[1, 3] = np.sqrt(400 + 1600 + 100.0)
    Xs = MomentumSmearer(0.5, random_state=0).fit_transform(X)
    assert_array_equal(Xs[:, 4:], 0.0)
    assert not np.allclose(Xs[:, :4], X[:, :4])


def test_zero_pt_particle_is_not_smeared():
    # a particle along the beam axis: no transverse momentum to smear, in either mode
    X = np.array([[0.0, 0.0, 30.0, 30.0, 10.0, 0.0, 0.0, 10.0]])
    for mode in ("transverse", "momentum"):
        Xs = MomentumSmearer(0.5, mode=mode, random_state=0).fit_transform(X)
        assert_allclose(Xs[0, :4], X[0, :4])


def test_same_seed_same_output_different_seed_differs(events):
    a = MomentumSmearer(random_state=4).fit_transform(events)
    b = MomentumSmearer(random_state=4).fit_transform(events)
    c = MomentumSmearer(random_state=5).fit_transform(events)
    assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_none_seed_is_fixed_at_fit(events):
    smearer = MomentumSmearer(random_state=None).fit(events)
    assert_array_equal(smearer.transform(events), smearer.transform(events))
    other = MomentumSmearer(random_state=None).fit(events)
    assert smearer.seed_ != other.seed_


def test_fit_transform_equals_fit_then_transform(events):
    smearer = MomentumSmearer(random_state=8)
    assert_array_equal(smearer.fit_transform(events), smearer.fit(events).transform(events))


def test_draws_do_not_depend_on_row_position(events):
    smearer = MomentumSmearer(random_state=0).fit(events)
    full = smearer.transform(events)
    for _train, test in KFold(3, shuffle=True, random_state=0).split(events):
        assert_array_equal(smearer.transform(events[test]), full[test])
    reversed_ = smearer.transform(events[::-1])
    assert_array_equal(reversed_[::-1], full)


def test_train_and_test_rows_get_independent_draws(events):
    # rows 0..k of two different sets must not share draws
    z_a = event_normals(events[:1000], 0)
    z_b = event_normals(events[1000:2000], 0)
    assert abs(stats.pearsonr(z_a[:, 0], z_b[:, 0]).statistic) < 0.1


def test_float32_and_float64_share_draws(events):
    X32 = events.astype(np.float32)
    out = MomentumSmearer(random_state=3).fit_transform(X32)
    assert out.dtype == np.float32
    assert_allclose(out, MomentumSmearer(random_state=3).fit_transform(X32.astype(np.float64)),
                    rtol=1e-6)


def test_signed_zero_hashes_like_zero():
    X = np.array([[0.0, 40.0, 0.0, 40.0, 0.0, -40.0, 0.0, 40.0]])
    Xneg = X.copy()
    Xneg[0, [0, 2, 4, 6]] = -0.0
    assert_array_equal(event_normals(Xneg, 1), event_normals(X, 1))


def test_draw_statistics():
    # 20,000 distinct events (a tiny shift makes each one unique)
    X = np.tile([[30.0, 40.0, 5.0, 0.0, -30.0, -40.0, 5.0, 0.0]], (20000, 1))
    X[:, 0] += np.arange(20000) * 1e-6
    for e in (3, 7):  # massless particles: E = |p|
        X[:, e] = np.linalg.norm(X[:, e - 3:e], axis=1)
    z = event_normals(X, 11)
    assert abs(z.mean()) < 0.03
    assert abs(z.std() - 1.0) < 0.02
    for i in range(2):
        assert stats.kstest(z[:, i], "norm").pvalue > 0.01
    # the two particles of an event, and neighbouring events, are uncorrelated
    assert abs(stats.pearsonr(z[:, 0], z[:, 1]).statistic) < 0.03
    assert abs(stats.pearsonr(z[:-1, 0], z[1:, 0]).statistic) < 0.03
    # a different seed gives independent draws for the same events
    assert abs(stats.pearsonr(z[:, 0], event_normals(X, 12)[:, 0]).statistic) < 0.03


def test_identical_events_get_identical_draws():
    X = np.tile([[30.0, 40.0, 5.0, np.sqrt(2525.0), -30.0, -40.0, 5.0, np.sqrt(2525.0)]], (4, 1))
    Xs = MomentumSmearer(random_state=0).fit_transform(X)
    assert_array_equal(Xs, np.tile(Xs[:1], (4, 1)))


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"resolution": -0.1}, "The 'resolution' parameter of MomentumSmearer must be"),
        ({"resolution": "10%"}, "The 'resolution' parameter of MomentumSmearer must be"),
        ({"resolution": (0.1,)}, r"resolution=\(a, b\) must be two finite numbers"),
        ({"resolution": (0.1, -1.0)}, r"resolution=\(a, b\) must be two finite numbers"),
        ({"resolution": float("inf")}, "The 'resolution' parameter of MomentumSmearer must be"),
        ({"mode": "longitudinal"}, "The 'mode' parameter of MomentumSmearer must be"),
    ],
)
def test_bad_parameters(events, params, match):
    with pytest.raises(ValueError, match=match):
        MomentumSmearer(**params).fit(events)


@pytest.mark.parametrize(
    "sigma", [lambda pt: -pt, lambda pt: pt[:1], lambda pt: np.full_like(pt, np.nan)]
)
def test_bad_resolution_callable(events, sigma):
    smearer = MomentumSmearer(sigma).fit(events)
    with pytest.raises(ValueError, match="resolution callable must map"):
        smearer.transform(events)


@pytest.mark.parametrize(
    ("X", "match"),
    [
        (np.ones((3, 6)), "not a positive multiple of 4"),
        (np.array([[30.0, 40.0, 0.0, 20.0]]), r"E < \|p\|"),
        (np.array([[30.0, 40.0, 0.0, np.nan]]), "NaN"),
    ],
)
def test_bad_events(X, match):
    with pytest.raises(ValueError, match=match):
        MomentumSmearer().fit(X)


def test_a_resolution_given_as_a_percentage_is_refused_with_the_fraction():
    """MomentumSmearer(10) (a user meaning 10 %) smeared pT by ten times itself; it is refused
    with the fraction it means, alike by the smearer and the Bayes-optimal line."""
    from sklearn_bsym.optimal import BayesOptimalClassifier, optimal_discriminant

    X = np.array([[30.0, 40.0, 0.0, 50.0, -30.0, -40.0, 120.0, 130.0]] * 4)
    y = np.array([0, 1, 0, 1])
    said = r"resolution=10 is a relative resolution sigma/pT above 1 .* write resolution=0\.1\.$"
    for call in (MomentumSmearer(10).fit, BayesOptimalClassifier(10).fit,
                 lambda X, y: optimal_discriminant(X, resolution=10)):
        with pytest.raises(ValueError, match=said):
            call(X, y)
    with pytest.raises(ValueError, match=r"for 10 % write resolution=\(0\.1, 0\.0005\)\.$"):
        MomentumSmearer((10, 0.0005)).fit(X)
    assert MomentumSmearer(1.0, random_state=0).fit(X).transform(X).shape == X.shape


# ---------------------------------------------------------------- detector models
@pytest.mark.parametrize(
    "detector",
    [DetectorResolution(0.1, strength=0.6), DetectorResolution(0.05, strength=0.3, phi_periods=2,
                                                               endcap=0.2)],
    ids=["phi", "phi_eta"],
)
@pytest.mark.parametrize("mode", ["transverse", "momentum"])
def test_detector_model_scales_each_draw_by_its_own_resolution(events, detector, mode):
    z = event_normals(events, 5)
    Xs = MomentumSmearer(detector, mode=mode, random_state=5).fit_transform(events)
    p = to_particles(events)
    rel = detector.relative_resolution(kinematics.pt(p), kinematics.eta(p), kinematics.phi(p))
    assert_allclose(_factors(events, Xs), 1.0 + rel * z, rtol=1e-9)
    # the resolution is evaluated on the true particle: phi is kept, so the measured azimuth
    # tells the resolution
    assert_allclose(kinematics.phi(to_particles(Xs)), kinematics.phi(p), atol=1e-12)


def test_detector_model_breaks_the_azimuthal_symmetry(events):
    detector = DetectorResolution(0.1, strength=0.8)
    f = _factors(events, MomentumSmearer(detector, random_state=1).fit_transform(events))
    phi = kinematics.phi(to_particles(events))
    good, bad = np.abs(phi) > 0.75 * np.pi, np.abs(phi) < 0.25 * np.pi
    # sigma/pT = 0.1 (1 + 0.8 cos phi): about 0.03 near phi = pi, 0.17 near phi = 0
    assert np.std(f[good] - 1) < 0.04 < 0.15 < np.std(f[bad] - 1)


def test_detector_model_without_breaking_is_the_constant_resolution(events):
    detector = DetectorResolution(0.1, strength=0.0)
    assert_array_equal(MomentumSmearer(detector, random_state=2).fit_transform(events),
                       MomentumSmearer(0.1, random_state=2).fit_transform(events))
    assert_array_equal(MomentumSmearer(DetectorResolution(0.0), random_state=2)
                       .fit_transform(events), events)


def test_detector_model_params_reach_through_the_smearer(events):
    smearer = MomentumSmearer(DetectorResolution(0.1, strength=0.2), random_state=0)
    assert smearer.get_params()["resolution__strength"] == 0.2
    smearer.set_params(resolution__strength=0.7, resolution__endcap=0.1)
    assert smearer.resolution == DetectorResolution(0.1, strength=0.7, endcap=0.1)
    copy = clone(smearer)
    assert copy.resolution == smearer.resolution and copy.resolution is not smearer.resolution
    assert_array_equal(copy.fit_transform(events), smearer.fit_transform(events))
    with pytest.raises(ValueError, match="Invalid parameter 'period' for DetectorResolution"):
        smearer.set_params(resolution__period=2)


class _WorseAtHighPt:
    """A user's detector model: sigma/pT = 0.02 + 0.001 pT, worse for phi > 0."""

    def relative_resolution(self, pt, eta, phi):
        return (0.02 + 0.001 * pt) * np.where(phi > 0, 1.5, 1.0)


def test_user_detector_model(events):
    z = event_normals(events, 3)
    Xs = MomentumSmearer(_WorseAtHighPt(), random_state=3).fit_transform(events)
    p = to_particles(events)
    expected = (0.02 + 0.001 * kinematics.pt(p)) * np.where(kinematics.phi(p) > 0, 1.5, 1.0)
    assert_allclose(_factors(events, Xs), 1.0 + expected * z, rtol=1e-9)


@pytest.mark.parametrize(
    ("detector", "match"),
    [
        (DetectorResolution(strength=1.0),
         r"The 'strength' parameter of DetectorResolution must be a float in the range "
         r"\[0.0, 1.0\)"),
        (DetectorResolution(phi_periods=0.5), "The 'phi_periods' parameter of DetectorResolution"),
        (DetectorResolution(endcap=-1), "The 'endcap' parameter of DetectorResolution"),
        (DetectorResolution(10), r"DetectorResolution\(resolution=10\) is a relative resolution"),
    ],
)
def test_bad_detector_parameters(events, detector, match):
    with pytest.raises(ValueError, match=match):
        MomentumSmearer(detector).fit(events)


def test_bad_detector_model_output(events):
    class Broken:
        def relative_resolution(self, pt, eta, phi):
            return -np.ones_like(pt)

    smearer = MomentumSmearer(Broken()).fit(events)
    with pytest.raises(ValueError, match=r"Broken.relative_resolution\(pt, eta, phi\) must "
                                         "return sigma/pT of the same shape"):
        smearer.transform(events)
