"""Tests of the built-in generator: layout, cuts, LO kinematics, seeding, densities, calibration."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy import integrate

from sklearn_bsym import kinematics
from sklearn_bsym.datasets import (
    ETA_MAX,
    MASS_MIN,
    PT_MIN,
    REFERENCE_PERCENTILES,
    REFERENCE_QUANTILES,
    Z_MASS,
    background_mass_pdf,
    boson_pt_pdf,
    cos_theta_pdf,
    lo_acceptance,
    make_dimuon_events,
    mass_pdf,
    rapidity_pdf,
    signal_mass_pdf,
)
from sklearn_bsym.events import to_particles


@pytest.fixture(scope="module")
def large_sample():
    X, y = make_dimuon_events(200_000, random_state=123)
    return X, y


@pytest.fixture(scope="module")
def truth_sample():
    return make_dimuon_events(20_000, random_state=7, return_truth=True)


@pytest.mark.parametrize("boson_pt", [False, True])
def test_shapes_dtypes_and_cuts(boson_pt):
    X, y = make_dimuon_events(3000, boson_pt=boson_pt, random_state=0)
    assert X.shape == (3000, 8) and X.dtype == np.float64
    assert y.shape == (3000,) and y.dtype == np.int64
    p = to_particles(X)
    assert (kinematics.pt(p) > PT_MIN).all()
    assert (np.abs(kinematics.eta(p)) < ETA_MAX).all()
    assert (kinematics.mass(kinematics.system(p)) > MASS_MIN).all()
    # massless muons: E = |p|
    assert_allclose(p[..., 3], kinematics.p_abs(p), rtol=1e-12)


def test_leading_order_equal_pt_back_to_back():
    X, _ = make_dimuon_events(2000, random_state=1)
    p = to_particles(X)
    assert_allclose(kinematics.pt(p[:, 0]), kinematics.pt(p[:, 1]), rtol=1e-10)
    assert_allclose(p[:, 0, :2], -p[:, 1, :2], atol=1e-9)
    assert_allclose(kinematics.pt(kinematics.system(p)), 0.0, atol=1e-9)


def test_boson_pt_option_gives_transverse_recoil():
    X, _, truth = make_dimuon_events(2000, boson_pt=True, random_state=1, return_truth=True)
    dimuon_pt = kinematics.pt(kinematics.system(to_particles(X)))
    assert np.median(dimuon_pt) > 1.0
    assert_allclose(dimuon_pt, truth["boson_pt"], rtol=1e-8, atol=1e-8)
    pts = kinematics.pt(to_particles(X))
    assert np.mean(np.abs(pts[:, 0] - pts[:, 1])) > 1.0


def test_mu_plus_first_is_the_decay_angle_particle(truth_sample):
    # Charge is carried by the order: column block 0 is the mu+, whose rest-frame polar angle is
    # the truth cos_theta. At LO its pseudorapidity is y + artanh(cos theta*).
    X, _, truth = truth_sample
    eta_plus = kinematics.eta(to_particles(X)[:, 0])
    assert_allclose(eta_plus, truth["rapidity"] + np.arctanh(truth["cos_theta"]), atol=1e-8)
    assert_allclose(kinematics.phi(to_particles(X)[:, 0]), truth["phi"], atol=1e-9)


def test_truth_consistent_with_events(truth_sample):
    X, _, truth = truth_sample
    assert list(truth.columns)[:5] == ["mass", "rapidity", "boson_pt", "cos_theta", "phi"]
    sys4 = kinematics.system(to_particles(X))
    assert_allclose(kinematics.mass(sys4), truth["mass"], rtol=1e-9)
    assert_allclose(kinematics.rapidity(sys4), truth["rapidity"], atol=1e-9)
    assert (truth["boson_pt"] == 0).all()


def test_deterministic_for_int_seed():
    X1, y1 = make_dimuon_events(500, random_state=42)
    X2, y2 = make_dimuon_events(500, random_state=42)
    X3, _ = make_dimuon_events(500, random_state=43)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    assert not np.allclose(X1, X3)


def test_random_state_instance_advances():
    rs = np.random.RandomState(0)
    X1, _ = make_dimuon_events(100, random_state=rs)
    X2, _ = make_dimuon_events(100, random_state=rs)
    assert not np.allclose(X1, X2)


@pytest.mark.parametrize(("n", "fraction"), [(1000, 0.5), (999, 0.3), (10, 0.05), (7, 0.99)])
def test_signal_fraction_exact_and_shuffled(n, fraction):
    _, y = make_dimuon_events(n, signal_fraction=fraction, random_state=3)
    assert y.sum() == round(n * fraction)
    if n >= 1000:
        # interleaved: not all signal first
        assert 0.3 < y[: n // 2].mean() / max(y.mean(), 1e-9) < 1.7


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_events": 0}, "n_events must be > 0"),
        ({"n_events": -5}, "n_events must be > 0"),
        ({"n_events": 2.5}, "positive int"),
        ({"n_events": 10, "signal_fraction": 0.0}, "strictly between 0 and 1"),
        ({"n_events": 10, "signal_fraction": 1.0}, "strictly between 0 and 1"),
        ({"n_events": 10, "signal_fraction": 1.5}, "strictly between 0 and 1"),
    ],
)
def test_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_dimuon_events(**kwargs)


@pytest.mark.parametrize(
    ("pdf", "lo", "hi", "points"),
    [
        (signal_mass_pdf, MASS_MIN, 1e5, (Z_MASS, 200.0, 1000.0)),
        (background_mass_pdf, MASS_MIN, 1e5, (200.0, 1000.0)),
        (rapidity_pdf, -ETA_MAX, ETA_MAX, ()),
        (cos_theta_pdf, -1.0, 1.0, ()),
        (boson_pt_pdf, 0.0, 1e5, (10.0, 100.0)),
    ],
)
def test_densities_integrate_to_one(pdf, lo, hi, points):
    edges = [lo, *points, hi]
    pieces = zip(edges[:-1], edges[1:], strict=True)
    total = sum(integrate.quad(pdf, a, b, limit=500)[0] for a, b in pieces)
    assert_allclose(total, 1.0, atol=2e-4)


def test_densities_vanish_outside_support():
    assert signal_mass_pdf(MASS_MIN - 1) == 0 and background_mass_pdf(MASS_MIN - 1) == 0
    assert rapidity_pdf(ETA_MAX + 0.1) == 0 and cos_theta_pdf(1.1) == 0 and boson_pt_pdf(-1) == 0
    expected = [signal_mass_pdf(90.0), background_mass_pdf(90.0)]
    assert_allclose(mass_pdf([90.0, 90.0], [1, 0]), expected)


@pytest.mark.parametrize("label", [0, 1])
def test_mass_histogram_matches_density_times_acceptance(large_sample, label):
    # After the cuts the mass density is pdf(m) * <acceptance(m, y)>_y / total acceptance.
    X, y = large_sample
    m = kinematics.mass(kinematics.system(to_particles(X[y == label])))
    edges = np.array([70, 75, 80, 85, 88, 90, 91, 92, 94, 97, 100, 110, 130, 160, 200])
    hist, _ = np.histogram(m, bins=edges)
    grid_y = np.linspace(-ETA_MAX, ETA_MAX, 201)
    fine = np.linspace(MASS_MIN, 2000, 40_001)
    pdf = signal_mass_pdf if label == 1 else background_mass_pdf
    acceptance = lo_acceptance(fine[:, None], grid_y) * rapidity_pdf(grid_y)
    dens = pdf(fine) * integrate.trapezoid(acceptance, grid_y, axis=1)
    cdf = np.concatenate([[0.0], np.cumsum(0.5 * (dens[1:] + dens[:-1]) * np.diff(fine))])
    expected = np.diff(np.interp(edges, fine, cdf)) / cdf[-1] * m.size
    sigma = np.sqrt(expected) + 1.0
    assert np.all(np.abs(hist - expected) < 5 * sigma), (hist, expected.round())


def test_lo_acceptance_matches_sampled_fraction():
    rng = np.random.default_rng(0)
    u = 2.0 - 4.0 * rng.uniform(size=400_000)
    c = np.cbrt(np.sqrt(u * u + 1) - u) - np.cbrt(np.sqrt(u * u + 1) + u)
    for m, yy in [(91.0, 0.0), (91.0, 1.8), (30.0, 0.5), (300.0, 2.3)]:
        pt = 0.5 * m * np.sqrt(1 - c * c)
        eta1, eta2 = yy + np.arctanh(c), yy - np.arctanh(c)
        passed = (pt > PT_MIN) & (np.abs(eta1) < ETA_MAX) & (np.abs(eta2) < ETA_MAX)
        assert_allclose(lo_acceptance(m, yy), passed.mean(), atol=3e-3)


@pytest.mark.parametrize("label", [0, 1])
@pytest.mark.parametrize("quantity", ["mass", "pt", "rapidity"])
def test_calibration_against_reference(large_sample, label, quantity):
    X, y = large_sample
    p = to_particles(X[y == label])
    values = {
        "mass": lambda: kinematics.mass(kinematics.system(p)),
        "pt": lambda: kinematics.pt(p[:, 0]),
        "rapidity": lambda: kinematics.rapidity(kinematics.system(p)),
    }[quantity]()
    mine = np.percentile(values, REFERENCE_PERCENTILES)
    ref = np.array(REFERENCE_QUANTILES[label, quantity])
    if quantity == "rapidity":
        # quantiles near 0: an absolute tolerance of 0.05
        assert_allclose(mine, ref, atol=0.05)
        assert_allclose(values.std(), 1.13 if label else 1.14, atol=0.03)
    else:
        assert_allclose(mine, ref, rtol=0.05)
    if label == 1 and quantity == "mass":
        assert_allclose(mine[1:-1], ref[1:-1], atol=1.5)
