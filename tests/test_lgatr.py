"""L-GATr (the optional extra ``lgatr``): the classifier, its symmetry, and the clean refusal
without the package, in the classifier and in the study."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose

from sklearn_bsym import kinematics
from sklearn_bsym.datasets import make_dimuon_events
from sklearn_bsym.nn import LGATrClassifier, LGATrNetwork, lgatr_available
from sklearn_bsym.studies import MODEL_TABLE, NETWORKS, StudyConfig, make_model

pytestmark = pytest.mark.usefixtures("one_torch_thread")

needs_lgatr = pytest.mark.skipif(not lgatr_available(), reason="the optional package lgatr is "
                                 "not installed (pip install 'sklearn-bsym[lgatr]')")
TINY = {"num_blocks": 1, "hidden_mv_channels": 4, "hidden_s_channels": 8, "num_heads": 1}


@pytest.fixture
def without_lgatr(monkeypatch):
    """As if lgatr were not installed: importing it fails, find_spec finds nothing."""
    monkeypatch.setitem(sys.modules, "lgatr", None)


def _events(n=6):
    X, _ = make_dimuon_events(n, random_state=0)
    return torch.as_tensor(X, dtype=torch.float64).reshape(n, 2, 4)


def test_without_lgatr_a_fit_says_what_to_install(without_lgatr):
    assert not lgatr_available()
    X, y = make_dimuon_events(200, random_state=0)
    with pytest.raises(ImportError, match=r"pip install 'sklearn-bsym\[lgatr\]'"):
        LGATrClassifier(max_epochs=1).fit(X, y)


def test_without_lgatr_the_study_refuses_the_model_in_one_line(without_lgatr):
    assert not MODEL_TABLE["lgatr"].available
    with pytest.raises(ValueError, match=r"Model 'lgatr' needs the optional package lgatr, "
                                         r"which is not installed: pip install "
                                         r"'sklearn-bsym\[lgatr\]'") as error:
        StudyConfig(models=("hybrid", "lgatr"))
    assert "\n" not in str(error.value)
    with pytest.raises(ValueError, match="needs the optional package lgatr"):
        MODEL_TABLE["lgatr"].make()
    StudyConfig(models=("hybrid",))  # the other models are untouched


def test_lgatr_is_a_peer_not_one_of_the_papers_networks():
    spec = MODEL_TABLE["lgatr"]
    assert "lgatr" not in NETWORKS and not spec.default and spec.requires == "lgatr"
    assert not spec.tags.seeds_together  # its modules do not stack into an ensemble


@needs_lgatr
def test_study_builds_lgatr_with_its_settings():
    config = StudyConfig(models=("lgatr",), max_epochs=3, validation_fraction=0.2)
    est = make_model("lgatr", config, 7)
    assert isinstance(est, LGATrClassifier)
    assert (est.max_epochs, est.validation_fraction, est.random_state) == (3, 0.2, 7)


@needs_lgatr
@pytest.mark.parametrize("spurions", [True, False])
def test_symmetry_with_and_without_spurions(spurions):
    # Without spurions L-GATr is Lorentz invariant; the beam plane and the time direction
    # break it to rotations about the beam, as the detector does.
    torch.manual_seed(0)
    net = LGATrNetwork(spurions=spurions, **TINY).double().eval()
    p = _events()
    angle = 0.7
    rotated = p.clone()
    rotated[..., 0] = p[..., 0] * np.cos(angle) - p[..., 1] * np.sin(angle)
    rotated[..., 1] = p[..., 0] * np.sin(angle) + p[..., 1] * np.cos(angle)
    boosted = kinematics.boost(p, torch.tensor([0.4, -0.2, 0.3], dtype=torch.float64))
    out = net(p).detach()
    assert_allclose(net(rotated).detach(), out, rtol=1e-9, atol=1e-9)
    if spurions:
        assert (net(boosted).detach() - out).abs().max() > 1e-4
    else:
        assert_allclose(net(boosted).detach(), out, rtol=1e-7, atol=1e-9)


@needs_lgatr
def test_lgatr_fits_with_weights_and_seeds():
    X, y = make_dimuon_events(400, random_state=0)
    w = np.where(y == 1, 1.0, 2.0)
    a = LGATrClassifier(max_epochs=2, random_state=0, **TINY).fit(X, y, sample_weight=w)
    b = LGATrClassifier(max_epochs=2, random_state=0, **TINY).fit(X, y, sample_weight=w)
    proba = a.predict_proba(X)
    assert proba.shape == (400, 2)
    assert_allclose(proba, b.predict_proba(X))
    assert "2 epochs" in str(a.recipe(400))
