"""skorch's own callbacks on the package's classifiers."""

from __future__ import annotations

import pytest
import torch
from numpy.testing import assert_allclose
from skorch.callbacks import (
    Checkpoint,
    EarlyStopping,
    EpochScoring,
    LoadInitState,
    LRScheduler,
    ProgressBar,
)

from sklearn_bsym.datasets import make_dimuon_events
from sklearn_bsym.nn import EnsembleClassifier, HybridClassifier, InvariantClassifier, PFNClassifier

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TINY = [
    (PFNClassifier, {"Phi_sizes": (8, 4), "F_sizes": (8,)}),
    (InvariantClassifier, {"hidden_sizes": (8,)}),
    (HybridClassifier, {"Phi_sizes": (8, 4), "invariant_sizes": (8, 4), "weight_sizes": (8,),
                        "F_sizes": (8,)}),
]
SETTINGS = {"max_epochs": 2, "batch_size": 64, "random_state": 0}


@pytest.fixture(scope="module")
def data():
    return make_dimuon_events(400, random_state=0)


@pytest.mark.parametrize(("cls", "kwargs"), TINY)
def test_early_stopping_needs_a_validation_split(cls, kwargs, data):
    X, y = data
    with pytest.raises(ValueError, match="set validation_fraction"):
        cls(**kwargs, **SETTINGS, callbacks=[EarlyStopping()]).fit(X, y)
    clf = cls(**kwargs, **{**SETTINGS, "max_epochs": 20}, validation_fraction=0.25,
              callbacks=[("stop", EarlyStopping(patience=1, monitor="valid_loss"))],
              lr=1e-7).fit(X, y)
    assert len(clf.history) < 20 and clf.stop_reason_ == "early_stopping"


@pytest.mark.parametrize(("cls", "kwargs"), TINY)
def test_checkpoint_and_load_params_restore_predictions(cls, kwargs, data, tmp_path):
    X, y = data
    cp = Checkpoint(dirname=str(tmp_path), monitor=None)
    clf = cls(**kwargs, **SETTINGS, callbacks=[cp]).fit(X, y)
    fresh = cls(**kwargs, **SETTINGS).initialize()
    fresh.load_params(checkpoint=cp)
    assert_allclose(fresh.predict_proba(X), clf.predict_proba(X), atol=1e-6)
    # Loaded onto the resolved device_ when device="auto" (skorch alone would read "auto").
    fresh = cls(**kwargs, **SETTINGS, device="auto").initialize()
    fresh.load_params(f_params=f"{tmp_path}/params.pt")
    assert_allclose(fresh.predict_proba(X), clf.predict_proba(X), atol=1e-6)
    # LoadInitState starts a new fit from the checkpoint (its history too); at lr ~0 the
    # weights stay the checkpoint's (BatchNorm statistics are recomputed on other batches).
    warm = cls(**kwargs, **{**SETTINGS, "max_epochs": 1}, lr=1e-12, weight_decay=0.0,
               callbacks=[LoadInitState(cp)]).fit(X, y)
    assert len(warm.history) == 3
    for (name, got), want in zip(warm.module_.named_parameters(), clf.module_.parameters(),
                                 strict=True):
        assert_allclose(got.detach(), want.detach(), atol=1e-6, err_msg=name)


@pytest.mark.parametrize("on_train", [True, False])
@pytest.mark.parametrize(("cls", "kwargs"), TINY)
def test_epoch_scoring_with_sklearn_scorers(cls, kwargs, on_train, data):
    X, y = data
    # device="auto": skorch's cached outputs for on_train scores go where they can.
    clf = cls(**kwargs, **SETTINGS, validation_fraction=None if on_train else 0.25,
              device="auto",
              callbacks=[("auc", EpochScoring("roc_auc", on_train=on_train,
                                              lower_is_better=False))]).fit(X, y)
    scores = clf.history[:, "roc_auc"]
    assert len(scores) == 2 and all(0.0 <= s <= 1.0 for s in scores)


@pytest.mark.parametrize(("cls", "kwargs"), TINY)
def test_lr_scheduler_replaces_the_built_in_schedule(cls, kwargs, data):
    X, y = data
    sched = LRScheduler(torch.optim.lr_scheduler.StepLR, step_size=1, gamma=0.5)
    clf = cls(**kwargs, **SETTINGS, lr=1e-3, callbacks=[("sched", sched)]).fit(X, y)
    names = dict(clf.callbacks_)
    assert "lr_scheduler" not in names and "sched" in names
    # StepLR per epoch: 1e-3, then 5e-4, then 2.5e-4 after the second epoch.
    assert clf.optimizer_.param_groups[0]["lr"] == pytest.approx(2.5e-4)
    assert "lr_scheduler" in dict(cls(**kwargs, **SETTINGS).initialize().callbacks_)


@pytest.mark.parametrize(("cls", "kwargs"), TINY)
def test_progress_bar(cls, kwargs, data, capsys):
    X, y = data
    clf = cls(**kwargs, **SETTINGS, callbacks=[ProgressBar()]).fit(X, y)
    assert len(clf.history) == 2
    ens = EnsembleClassifier(cls(**kwargs, **SETTINGS, progress_bar=True), n_members=2,
                             random_state=0).fit(X, y)
    assert len(ens.members_[0].history) == 2


def test_ensembles_share_loop_callbacks_and_refuse_others_clearly(data):
    X, y = data
    kwargs = {**TINY[0][1], **SETTINGS, "lr": 1e-3}
    sched = LRScheduler(torch.optim.lr_scheduler.StepLR, step_size=1, gamma=0.5)
    ens = EnsembleClassifier(PFNClassifier(**kwargs, callbacks=[sched]), n_members=2,
                             random_state=0).fit(X, y)
    separate = PFNClassifier(**{**kwargs, "random_state": ens.seeds_[1]},
                             callbacks=[sched]).fit(X, y)
    assert_allclose(ens.members_[1].predict_proba(X), separate.predict_proba(X), atol=1e-4)
    with pytest.raises(ValueError, match="set validation_fraction"):
        EnsembleClassifier(PFNClassifier(**kwargs, callbacks=[EarlyStopping()]),
                           n_members=2).fit(X, y)
    with pytest.raises(ValueError, match="fit members separately"):
        EnsembleClassifier(PFNClassifier(**kwargs, callbacks=[EpochScoring("roc_auc")]),
                           n_members=2).fit(X, y)


def test_batchnorm_statistics_come_from_the_first_batches_of_a_pass(data, monkeypatch):
    """The recalibration of the BatchNorm statistics stops after ``max_events`` events (whole
    batches of the shuffled training pass; 16,384 by default): a study's fits recompute them
    every epoch. The default callback's setting is a parameter of the classifier."""
    from sklearn_bsym.nn import _callbacks

    X, y = data
    seen = []
    recalibrate = _callbacks.recalibrate_batchnorm

    def counting(module, batches):
        batches = list(batches)
        seen.append(sum(len(b) for b in batches))
        return recalibrate(module, batches)

    monkeypatch.setattr(_callbacks, "recalibrate_batchnorm", counting)
    PFNClassifier(**TINY[0][1], **SETTINGS, callbacks__precise_bn__max_events=130).fit(X, y)
    assert seen == [192]  # three batches of 64 cover 130 events
    PFNClassifier(**TINY[0][1], **SETTINGS).fit(X, y)
    assert seen[-1] == 400 < _callbacks.RECALIBRATION_EVENTS
