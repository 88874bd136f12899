"""The study: result store, resumable parallel runner, result sets, claims, end to end."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from sklearn_bsym.studies import (
    CorruptResultWarning,
    ResultStore,
    StudyConfig,
    check_claims,
    run_study,
    run_tasks,
    study_points,
    study_tasks,
)

# A tiny study: HGB reference (quick to train) on 1,000 events, 2 fractions, 2 seeds, 2-point
# resolution scan. The networks' own tests live with them; here the plumbing is under test.
TINY = StudyConfig(
    n_events=1000,
    fractions=(0.5, 1.0),
    n_seeds=2,
    models=("hgb",),
    scan_resolutions=(0.0, 0.1),
    model_params={"hgb": {"max_iter": 15}},
)
TINY_KEYS = {
    "hgb_f0.5_r0.1_s0",
    "hgb_f0.5_r0.1_s1",
    "hgb_f1_r0.1_s0",
    "hgb_f1_r0.1_s1",
    "hgb_f1_r0_s0",
    "hgb_f1_r0_s1",
}


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """One serial run of TINY, shared by the tests that only read it."""
    out = tmp_path_factory.mktemp("study")
    ran = []
    result = run_study(TINY, out, on_done=ran.append)
    return out, result, ran


# ---------------------------------------------------------------------------- store


def test_store_round_trip(tmp_path):
    store = ResultStore(tmp_path)
    store.save("a_f0.5", {"auc": 0.75, "history": [0.7, None]})
    assert store.load("a_f0.5") == {"auc": 0.75, "history": [0.7, None]}
    assert store.load("absent") is None
    assert not list(store.fits_dir.glob("*.tmp"))


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (lambda text: text[: len(text) // 2], "not valid JSON"),
        (lambda text: text.replace("0.75", "0.76"), "checksum"),
        (lambda text: text.replace('"key": "a"', '"key": "b"'), "holds fit 'b'"),
        (lambda text: json.dumps({"auc": 0.75}), "lacks"),
    ],
)
def test_store_rejects_damaged_file(tmp_path, damage, reason):
    store = ResultStore(tmp_path)
    path = store.save("a", {"auc": 0.75})
    path.write_text(damage(path.read_text()))
    with pytest.warns(CorruptResultWarning, match=reason):
        assert store.load("a") is None


def test_store_rejects_unsafe_key(tmp_path):
    with pytest.raises(ValueError, match="not a safe file name"):
        ResultStore(tmp_path).path("../escape")


def test_store_refuses_nan(tmp_path):
    with pytest.raises(ValueError, match="JSON compliant"):
        ResultStore(tmp_path).save("a", {"auc": float("nan")})


# ---------------------------------------------------------------------------- runner

# ``dict`` is a picklable task function that every backend can import.
TOY_TASKS = [(f"t{i}", ([("value", i * i)],)) for i in range(6)]


def test_runner_resumes_only_unfinished(tmp_path):
    store = ResultStore(tmp_path)
    ran = []
    first = run_tasks(dict, TOY_TASKS, store, on_done=ran.append)
    assert ran == [key for key, _ in TOY_TASKS]
    assert first == {f"t{i}": {"value": i * i} for i in range(6)}
    store.path("t2").unlink()
    store.path("t4").unlink()
    ran.clear()
    again = run_tasks(dict, TOY_TASKS, store, on_done=ran.append)
    assert sorted(ran) == ["t2", "t4"]
    assert again == first


def test_runner_redoes_corrupt_file(tmp_path):
    store = ResultStore(tmp_path)
    run_tasks(dict, TOY_TASKS, store)
    path = store.path("t3")
    path.write_text(path.read_text()[:10])
    ran = []
    with pytest.warns(CorruptResultWarning, match="t3.json"):
        result = run_tasks(dict, TOY_TASKS, store, on_done=ran.append)
    assert ran == ["t3"]
    assert result["t3"] == {"value": 9}
    assert store.load("t3") == {"value": 9}


def test_runner_rejects_duplicate_keys(tmp_path):
    with pytest.raises(ValueError, match="unique"):
        run_tasks(dict, TOY_TASKS + TOY_TASKS[:1], ResultStore(tmp_path))


@pytest.mark.parametrize("backend", [{"n_jobs": 2}, {"dask": "local", "n_jobs": 2}])
def test_runner_backends_agree(tmp_path, backend):
    serial = run_tasks(dict, TOY_TASKS, ResultStore(tmp_path / "serial"))
    other = run_tasks(
        dict, TOY_TASKS, ResultStore(tmp_path / "other"), dask_processes=False, **backend
    )
    assert other == serial
    assert list(other) == [key for key, _ in TOY_TASKS]


# ---------------------------------------------------------------------------- config


@pytest.mark.parametrize(
    "change",
    [
        {"resolution": 0.05},
        {"n_events": 1200},
        {"random_state": 1},
        {"max_epochs": 3},
        {"validation_fraction": 0.3},
        {"model_params": {"hgb": {"max_iter": 16}}},
        {"ensemble": True},
    ],
)
def test_result_changing_option_gives_new_set(change):
    import dataclasses

    assert dataclasses.replace(TINY, **change).result_set_id() != TINY.result_set_id()


@pytest.mark.parametrize(
    "change",
    [
        {"fractions": (0.25, 1.0)},
        {"n_seeds": 5},
        {"models": ("hgb", "pfn")},
        {"scan_resolutions": ()},
    ],
)
def test_selection_option_keeps_set(change):
    import dataclasses

    assert dataclasses.replace(TINY, **change).result_set_id() == TINY.result_set_id()


def test_widening_seeds_reuses_fits():
    import dataclasses

    three = {key: args for key, args in study_tasks(dataclasses.replace(TINY, n_seeds=3))}
    two = dict(study_tasks(TINY))
    assert set(two) == TINY_KEYS
    assert set(two) < set(three)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"models": ("pfn", "mlp")}, "Unknown or no model names"),
        ({"fractions": (0.0, 1.0)}, r"fractions must be a finite number in \(0, 1\]"),
        ({"fractions": (float("nan"), 1.0)}, r"finite number in \(0, 1\], got nan"),
        ({"fractions": (0.5, 0.5)}, "repeat"),
        ({"test_fraction": 1.0}, r"test_fraction must be a finite number in \(0, 1\)"),
        ({"n_seeds": 0}, r"n_seeds must be an integer in \[1, inf\), got 0"),
        ({"resolution": -0.1}, r"Resolutions \(0 = no smearing\) must be a finite number"),
        ({"resolution": float("inf")}, r"in \[0, 1\], got inf"),
        ({"scan_resolutions": (0.1, float("nan"))}, "got nan"),
        ({"signal": "s.lhe"}, "both --signal and --background"),
        ({"n_events": 100}, "use --n-events 1250 or more"),
        ({"n_events": 120, "fractions": (1.0,)}, "use --n-events 125 or more"),
        ({"preset": "huge"}, "preset must be one of"),
        ({"max_epochs": 0}, r"max_epochs \(or None: the preset's\) must be an integer in \[1,"),
        ({"symmetry_bins": 0}, r"symmetry_bins must be an integer in \[1, inf\)"),
        ({"random_state": -1}, r"random_state must be an integer in \[0, 4294967295\], got -1"),
        ({"lepton": "tau"}, "lepton must be one of"),
        ({"model_params": {"mlp": {}}}, "unknown model names"),
        ({"ensemble": "yes"}, "ensemble must be True or False"),
        ({"reweighting": {"bins": 20}}, r"unknown setting\(s\) \['bins'\]; it takes"),
        ({"reweighting": {"n_bins": 0}}, "The 'n_bins' parameter of PtReweighter must be"),
    ],
)
def test_config_rejects_bad_options(change, match):
    with pytest.raises(ValueError, match=match):
        StudyConfig(**change)


def test_missing_event_file_is_named(tmp_path):
    config = StudyConfig(signal=str(tmp_path / "s.lhe"), background=str(tmp_path / "b.lhe"))
    with pytest.raises(FileNotFoundError, match="s.lhe: it does not exist"):
        config.result_set_id()


# ---------------------------------------------------------------------------- end to end


def test_study_writes_results(tiny_run):
    out, result, ran = tiny_run
    assert set(ran) == TINY_KEYS
    folder = out / TINY.result_set_id()
    assert result.folder == folder
    for name in (
        "results.csv",
        "summary.json",
        "summary.md",
        "fraction_curve.png",
        "resolution_scan.png",
    ):
        assert (folder / name).stat().st_size > 0, name
    assert len(list((folder / "fits").glob("*.json"))) == len(TINY_KEYS)
    table = pd.read_csv(folder / "results.csv")
    assert len(table) == len(TINY_KEYS)
    assert table["test_auc"].between(0.55, 1.0).all()
    assert set(table["n_train"]) == {400, 800}
    curve = result.curve.set_index(["model", "fraction"])
    assert curve.loc[("hgb", 1.0), "n"] == 2
    assert curve.loc[("hgb", 1.0), "std"] > 0
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["n_test"] == 200 and summary["n_pool"] == 800
    assert "| hgb |" in result.markdown and "### Claims" in result.markdown


def test_study_scan_without_smearing_is_easier(tiny_run):
    scan = tiny_run[1].scan.set_index(["model", "resolution"])["mean"]
    assert scan[("hgb", 0.0)] > scan[("hgb", 0.1)]


def test_study_resumes_and_redoes_corrupt(tiny_run, tmp_path):
    out, first, _ = tiny_run
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    fits = copy / TINY.result_set_id() / "fits"
    (fits / "hgb_f0.5_r0.1_s1.json").unlink()
    corrupt = fits / "hgb_f1_r0_s0.json"
    corrupt.write_text(corrupt.read_text()[:-40])
    ran = []
    with pytest.warns(CorruptResultWarning, match="hgb_f1_r0_s0"):
        again = run_study(TINY, copy, on_done=ran.append, plots=False)
    assert sorted(ran) == ["hgb_f0.5_r0.1_s1", "hgb_f1_r0_s0"]
    assert_allclose(again.fits["test_auc"], first.fits["test_auc"])


@pytest.mark.parametrize(
    "backend", [{"n_jobs": 2}, {"dask": "local", "n_jobs": 1}], ids=["loky", "dask"]
)
def test_study_backends_give_identical_numbers(tiny_run, tmp_path, backend):
    import dataclasses

    config = dataclasses.replace(TINY, scan_resolutions=())
    result = run_study(config, tmp_path, plots=False, **backend)
    serial = tiny_run[1].fits.set_index(["fraction", "seed", "resolution"])["test_auc"]
    other = result.fits.set_index(["fraction", "seed", "resolution"])["test_auc"]
    assert_allclose(other.to_numpy(), serial.loc[other.index].to_numpy())


def test_a_fit_is_the_users_own_learning_curve():
    """A study fit equals what a user writes with learning_curve on the same split and seeds."""
    from sklearn.model_selection import learning_curve
    from sklearn.pipeline import Pipeline

    from sklearn_bsym.preprocessing import (
        MomentumSmearer,
        PtReweightedClassifier,
        pt_weighted_roc_auc,
    )
    from sklearn_bsym.studies import (
        StudyPoint,
        compute_point,
        load_study_data,
        make_model,
    )

    (record,) = compute_point(TINY, StudyPoint("hgb", 0.5, 0.1, (1,)))
    data = load_study_data(TINY)
    train, model_seed = data.training_subset(0.5, 1)
    pipeline = Pipeline(
        [
            ("smear", MomentumSmearer(0.1, random_state=data.seeds["smear"])),
            ("clf", PtReweightedClassifier(make_model("hgb", TINY, model_seed))),
        ]
    )
    # learning_curve trains on the first n_train events of its training indices.
    pool = np.concatenate([train, np.setdiff1d(data.pool, train)])
    _, _, scores = learning_curve(
        pipeline,
        data.X,
        data.y,
        train_sizes=[len(train)],
        cv=[(pool, data.test)],
        scoring=pt_weighted_roc_auc,
        shuffle=False,
    )
    assert record.n_train == len(train) == 400
    assert_allclose(scores[0, 0], record.test_auc)
    assert record.stop_reason == "completed" and record.n_test == len(data.test)


# ---------------------------------------------------------------------------- claims


def _curve(table: dict[str, list[float]], fractions, std=0.002, n=5):
    # n=5: the paper's numbers are means of 5 runs.
    rows = [
        {"model": m, "fraction": f, "mean": v, "std": std, "n": n}
        for m, values in table.items()
        for f, v in zip(fractions, values, strict=True)
    ]
    return pd.DataFrame(rows)


PAPER = {  # physics.md section 6, fractions 0.1 / 0.5 / 1.0
    "pfn": [0.727, 0.776, 0.789],
    "invariant": [0.761, 0.764, 0.762],
    "hybrid": [0.771, 0.781, 0.785],
}
PAPER_EPOCHS = {
    "pfn": {"mean": [0.680, 0.745, 0.781], "std": [0.002] * 3},
    "invariant": {"mean": [0.752, 0.751, 0.753], "std": [0.002] * 3},
    "hybrid": {"mean": [0.764, 0.770, 0.777], "std": [0.002] * 3},
}
RISING = [{"pt_center": [15, 25, 35, 45, 60], "w_general_mean": [0.2, 0.3, 0.45, 0.6, 0.8]}]


def test_claims_hold_on_the_papers_numbers():
    # The paper gives no spread; 0.004 makes its 0.785 vs 0.789 at full size a tie.
    claims = check_claims(_curve(PAPER, [0.1, 0.5, 1.0], std=0.004), PAPER_EPOCHS, RISING)
    assert [c["verdict"] for c in claims] == ["held"] * 4


def test_claims_fail_when_reversed():
    reversed_table = {"pfn": PAPER["invariant"], "invariant": PAPER["pfn"], "hybrid": [0.70] * 3}
    falling = [{**RISING[0], "w_general_mean": RISING[0]["w_general_mean"][::-1]}]
    claims = check_claims(_curve(reversed_table, [0.1, 0.5, 1.0]), {}, falling)
    assert [c["verdict"] for c in claims] == ["not held"] * 4


def test_claims_inconclusive_within_std():
    tied = {m: [0.76, 0.76, 0.76] for m in PAPER}
    claims = check_claims(_curve(tied, [0.1, 0.5, 1.0], std=0.01), {}, [])
    assert claims[2]["verdict"] == "inconclusive"
    assert claims[3]["verdict"] == "not checked"


# ---------------------------------------------------------------------------- the networks

TINY_NETS = StudyConfig(
    n_events=1000,
    fractions=(0.5, 1.0),
    n_seeds=2,
    scan_resolutions=(),
    max_epochs=2,
    model_params={
        "pfn": {"Phi_sizes": (16, 8), "F_sizes": (16,)},
        "invariant": {"hidden_sizes": (16, 16)},
        "hybrid": {
            "Phi_sizes": (16, 8),
            "invariant_sizes": (16, 8),
            "weight_sizes": (16,),
            "F_sizes": (16,),
        },
        "hgb": {"max_iter": 10},
    },
)


def test_study_with_the_networks_end_to_end(tmp_path):
    result = run_study(TINY_NETS, tmp_path)
    folder = result.folder
    for name in ("fraction_curve.png", "auc_vs_epoch.png", "symmetry_factor.png"):
        assert (folder / name).stat().st_size > 0, name
    fits = result.fits.set_index("model")
    assert set(fits.index) == {"pfn", "invariant", "hybrid", "hgb", "hgb_collider",
                                 "optimal"}
    nets = result.fits[result.fits["model"].isin(["pfn", "invariant", "hybrid"])]
    assert nets["best_epoch"].between(1, 2).all() and (nets["n_epochs"] <= 2).all()
    assert result.fits["test_auc"].between(0.3, 1.0).all()
    curve = result.curve
    assert curve["gap"].notna().all()
    assert [c["claim"] for c in result.claims] == [1, 2, 3, 4]
    assert all(c["verdict"] != "not checked" for c in result.claims)
    summary = json.loads((folder / "summary.json").read_text())
    assert set(summary["epochs"]) == {"pfn", "invariant", "hybrid"}
    assert len(summary["epochs"]["hybrid"]["mean"]) == 2
    stored = json.loads((folder / "fits" / "hybrid_f1_r0.1_s0.json").read_text())
    assert {"pt_center", "w_general_mean"} <= set(stored["payload"]["symmetry"])


def test_the_averaged_hybrid_is_a_model_of_its_own(tmp_path):
    import dataclasses

    from sklearn_bsym.nn import EnsembleClassifier, HybridClassifier
    from sklearn_bsym.studies import DEFAULT_MODELS, MODELS, make_model

    # Five times the hybrid's cost: offered, but run only when named.
    assert "hybrid_x5" in MODELS and "hybrid_x5" not in DEFAULT_MODELS
    assert StudyConfig().models == DEFAULT_MODELS
    config = dataclasses.replace(
        TINY_NETS, fractions=(1.0,), models=("hybrid", "hybrid_x5"),
        model_params={**TINY_NETS.model_params, "hybrid_x5": {"F_sizes": (8,)}},
    )
    model = make_model("hybrid_x5", config, 3)
    assert isinstance(model, EnsembleClassifier)
    assert (model.n_members, model.random_state) == (5, 3)
    # Its members are the study's hybrid (recipe, validation share, the hybrid's parameters),
    # with the average's own parameters on top.
    template = model.estimator
    assert isinstance(template, HybridClassifier)
    assert template.F_sizes == (8,) and template.Phi_sizes == (16, 8)
    assert template.max_epochs == 2
    assert template.validation_fraction == config.validation_fraction

    result = run_study(config, tmp_path)
    fits = result.fits[result.fits["model"] == "hybrid_x5"]
    assert len(fits) == config.n_seeds
    assert fits["test_auc"].between(0.3, 1.0).all()
    assert fits["n_epochs"].between(1, 2).all() and (fits["epochs_planned"] == 2).all()
    assert fits["stop_reason"].isin(["completed", "early_stopping"]).all()
    assert "hybrid_x5" in set(result.curve["model"])
    stored = json.loads((result.folder / "fits" / "hybrid_x5_f1_r0.1_s0.json").read_text())
    assert stored["payload"]["symmetry"] is None and stored["payload"]["valid_auc"] == []


def test_an_average_cut_short_by_ctrl_c_is_not_stored(monkeypatch):
    # A Ctrl-C in the members' shared loop leaves the members still training "interrupted" (one
    # that had stopped early keeps "early_stopping"): the average is refused, not stored.
    import dataclasses

    from sklearn_bsym.nn import EnsembleClassifier
    from sklearn_bsym.studies import FitInterruptedError, StudyPoint, compute_point

    fit = EnsembleClassifier.fit

    def fit_then_ctrl_c(self, *args, **kwargs):
        fit(self, *args, **kwargs)
        for member in self.members_[1:]:
            member.stop_reason_ = "interrupted"
        self.members_[0].stop_reason_ = "early_stopping"
        return self

    monkeypatch.setattr(EnsembleClassifier, "fit", fit_then_ctrl_c)
    config = dataclasses.replace(TINY_NETS, fractions=(1.0,), models=("hybrid_x5",), n_seeds=1)
    with pytest.raises(FitInterruptedError, match=r"hybrid_x5.* interrupted after \d+ of 2 "):
        compute_point(config, StudyPoint("hybrid_x5", 1.0, config.resolution, (0,)))


# ---------------------------------------------------------------------------- ensembles

TINY_ENSEMBLE = StudyConfig(
    n_events=1500,
    fractions=(0.5, 1.0),
    n_seeds=2,
    models=("invariant", "hybrid", "hgb"),
    scan_resolutions=(),
    max_epochs=3,
    model_params={
        "invariant": {"hidden_sizes": (16, 16), "batch_size": 64},
        "hybrid": {
            "Phi_sizes": (16, 8),
            "invariant_sizes": (16, 8),
            "weight_sizes": (16,),
            "F_sizes": (16,),
            "batch_size": 64,
        },
        "hgb": {"max_iter": 10},
    },
    ensemble=True,
    # Not the paper's weights: every path must weight with the configured reweighter.
    reweighting={"variable": "leading", "n_bins": 20},
)


@pytest.fixture(scope="module")
def ensemble_runs(tmp_path_factory):
    """TINY_ENSEMBLE run once with ensembles and once with separate fits."""
    import dataclasses

    out = tmp_path_factory.mktemp("ensemble")
    ran = []
    together = run_study(TINY_ENSEMBLE, out, on_done=ran.append, plots=False)
    separate = run_study(dataclasses.replace(TINY_ENSEMBLE, ensemble=False), out, plots=False)
    return out, together, separate, ran


def test_ensemble_option_keeps_old_set_ids():
    import dataclasses

    plain = dataclasses.replace(TINY_ENSEMBLE, ensemble=False)
    assert "ensemble" not in plain.result_options()
    assert TINY_ENSEMBLE.result_options()["ensemble"] is True
    assert plain.result_set_id() != TINY_ENSEMBLE.result_set_id()


def test_ensemble_tasks_group_the_seeds_of_network_points():
    import dataclasses

    grouped = study_tasks(TINY_ENSEMBLE)
    separate = study_tasks(dataclasses.replace(TINY_ENSEMBLE, ensemble=False))
    groups = [key for key, _ in grouped if isinstance(key, tuple)]
    assert sorted(groups) == sorted(
        (f"{m}_f{f:g}_r0.1_s0", f"{m}_f{f:g}_r0.1_s1")
        for m in ("invariant", "hybrid")
        for f in (0.5, 1.0)
    )
    singles = [key for key, _ in grouped if isinstance(key, str)]
    assert all(key.startswith("hgb_") for key in singles) and len(singles) == 4
    flat = {k for key, _ in grouped for k in ((key,) if isinstance(key, str) else key)}
    assert flat == {key for key, _ in separate}


def test_ensemble_study_writes_one_file_per_fit(ensemble_runs):
    out, together, separate, ran = ensemble_runs
    fits = out / TINY_ENSEMBLE.result_set_id() / "fits"
    expected = {
        f"{m}_f{f:g}_r0.1_s{s}"
        for m in ("invariant", "hybrid", "hgb")
        for f in (0.5, 1.0)
        for s in (0, 1)
    }
    assert {p.stem for p in fits.glob("*.json")} == expected
    assert set(ran) == expected
    assert set(together.fits.columns) == set(separate.fits.columns)
    nets = together.fits[together.fits["model"] != "hgb"]
    assert nets["n_epochs"].eq(3).all() and nets["best_epoch"].between(1, 3).all()
    assert nets["train_auc"].notna().all()
    assert set(nets["n_train"]) == {600, 1200}
    # The group's time is shared out equally among its seeds.
    assert nets.groupby(["model", "fraction"])["fit_time"].nunique().eq(1).all()
    stored = json.loads((fits / "hybrid_f0.5_r0.1_s1.json").read_text())["payload"]
    assert stored["seed"] == 1 and len(stored["valid_auc"]) == 3
    assert {"pt_center", "w_general_mean"} <= set(stored["symmetry"])


def test_ensemble_aucs_agree_with_separate_fits(ensemble_runs):
    """The ensemble path and the separate path give the same records, with a non-default
    reweighter (TINY_ENSEMBLE weights on the leading muon's pT in 20 bins): each member sees its
    separate fit's events, weights, seed and batches, so only the stacked layers' rounding
    differs."""
    _, together, separate, _ = ensemble_runs
    assert TINY_ENSEMBLE.reweighting
    index = ["model", "fraction", "seed"]
    a = together.fits.set_index(index).sort_index()
    b = separate.fits.set_index(index).sort_index()
    assert a.index.equals(b.index)
    assert_allclose(a.loc["hgb", "test_auc"], b.loc["hgb", "test_auc"])
    for column in ("n_train", "n_epochs", "epochs_planned", "best_epoch", "stop_reason"):
        assert a[column].equals(b[column]), column
    # Rounding apart, the same fits: most AUCs agree to 1e-3; three epochs of a tiny network can
    # amplify one rounding difference to a few 1e-3 (seen at the dependency floors), while
    # another seed or another subset moves them by several 1e-2.
    for column in ("test_auc", "train_auc"):
        diff = (a[column] - b[column]).abs()
        assert diff.median() <= 1e-3 and diff.max() <= 1e-2, (column, diff.to_dict())
    assert a.loc["invariant", "test_auc"].min() > 0.7


def test_ensemble_study_resumes_by_member(ensemble_runs, tmp_path):
    out, first, _, _ = ensemble_runs
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    fits = copy / TINY_ENSEMBLE.result_set_id() / "fits"
    (fits / "hybrid_f1_r0.1_s1.json").unlink()
    corrupt = fits / "invariant_f0.5_r0.1_s0.json"
    corrupt.write_text(corrupt.read_text()[:-40])
    kept = (fits / "hybrid_f1_r0.1_s0.json").read_text()
    ran = []
    with pytest.warns(CorruptResultWarning, match="invariant_f0.5_r0.1_s0"):
        again = run_study(TINY_ENSEMBLE, copy, on_done=ran.append, plots=False)
    # Each group with a missing member reran; only that member was saved, its stored sibling
    # is read and left as it was.
    assert sorted(ran) == ["hybrid_f1_r0.1_s1", "invariant_f0.5_r0.1_s0"]
    assert (fits / "hybrid_f1_r0.1_s0.json").read_text() == kept
    assert len(again.fits) == len(first.fits)
    index = ["model", "fraction", "seed"]
    assert_allclose(
        again.fits.set_index(index).sort_index()["test_auc"],
        first.fits.set_index(index).sort_index()["test_auc"],
        atol=1e-6,
    )


def test_ensemble_members_train_on_the_separate_fits_data(monkeypatch):
    """Each member gets the events, labels, pT weights and seed its separate fit gets."""
    import sklearn_bsym.nn as nn_module
    from sklearn_bsym.studies import StudyPoint, compute_point

    config = TINY_ENSEMBLE
    seen_separate = {}
    original_fit = nn_module.InvariantClassifier.fit

    def spy_fit(self, X, y, sample_weight=None):
        seen_separate[self.random_state] = (np.array(X), np.array(y), np.array(sample_weight))
        return original_fit(self, X, y, sample_weight=sample_weight)

    monkeypatch.setattr(nn_module.InvariantClassifier, "fit", spy_fit)
    for seed in (0, 1):
        compute_point(config, StudyPoint("invariant", 0.5, 0.1, (seed,)))
    monkeypatch.undo()

    seen_ensemble = {}
    original_ensemble = nn_module.EnsembleClassifier.fit

    def spy_ensemble(self, X, y, sample_weight=None, subsets=None):
        for w, idx, seed in zip(sample_weight, subsets, self.random_state, strict=True):
            seen_ensemble[seed] = (X[idx], y[idx], w)
        return original_ensemble(self, X, y, sample_weight=sample_weight, subsets=subsets)

    monkeypatch.setattr(nn_module.EnsembleClassifier, "fit", spy_ensemble)
    compute_point(config, StudyPoint("invariant", 0.5, 0.1, (0, 1), together=True))
    assert set(seen_ensemble) == set(seen_separate) and len(seen_separate) == 2
    for seed, (X, y, w) in seen_separate.items():
        X_e, y_e, w_e = seen_ensemble[seed]
        assert_allclose(X_e, X)
        np.testing.assert_array_equal(y_e, y)
        assert_allclose(w_e, w)


def test_runner_runs_a_group_task_when_a_member_is_missing(tmp_path):
    store = ResultStore(tmp_path)
    group = (("g0", "g1"), ([("g0", {"v": 0}), ("g1", {"v": 1})],))
    tasks = [*TOY_TASKS[:2], group]
    ran = []
    first = run_tasks(dict, tasks, store, on_done=ran.append)
    assert ran == ["t0", "t1", "g0", "g1"]
    assert list(first) == ["t0", "t1", "g0", "g1"] and first["g1"] == {"v": 1}
    store.path("g0").unlink()
    ran.clear()
    assert run_tasks(dict, tasks, store, on_done=ran.append) == first
    assert ran == ["g0"]


def test_runner_rejects_a_group_task_with_wrong_keys(tmp_path):
    group = (("g0", "g1"), ([("g0", {"v": 0})],))
    with pytest.raises(ValueError, match="exactly these keys"):
        run_tasks(dict, [group], ResultStore(tmp_path))


def test_runner_rejects_a_key_in_two_tasks(tmp_path):
    group = (("t0", "g1"), ([("t0", {}), ("g1", {})],))
    with pytest.raises(ValueError, match="unique"):
        run_tasks(dict, [TOY_TASKS[0], group], ResultStore(tmp_path))


def test_command_line_ensemble_flag(capsys):
    from sklearn_bsym.__main__ import build_parser, config_from_args, main

    assert config_from_args(build_parser().parse_args(["--ensemble"])).ensemble is True
    assert config_from_args(build_parser().parse_args([])).ensemble is False
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "--ensemble" in capsys.readouterr().out


def test_one_model_table_serves_the_network_presets_and_figures():
    from sklearn_bsym import nn
    from sklearn_bsym.studies import MODEL_STYLE, MODEL_TABLE, MODELS, NETWORK_PRESETS, NETWORKS

    assert set(NETWORK_PRESETS) == set(nn.PRESETS)
    assert MODELS == tuple(MODEL_TABLE) and set(NETWORKS) < set(MODELS)
    assert MODEL_STYLE == {m: (s.label, s.colour) for m, s in MODEL_TABLE.items()}


def test_behaviour_comes_from_the_table_not_the_names(monkeypatch):
    """The study builds a model from its table entry's class path and records what the
    entry's tags say, whatever the model's name."""
    import dataclasses

    from sklearn_bsym.nn import EnsembleClassifier, InvariantClassifier
    from sklearn_bsym.studies import MODEL_TABLE, StudyPoint, compute_point, make_model

    hybrid = MODEL_TABLE["hybrid"]
    monkeypatch.setitem(MODEL_TABLE, "hybrid", dataclasses.replace(
        hybrid, tags=dataclasses.replace(hybrid.tags, symmetry_factor=False)))
    (record,) = compute_point(TINY_NETS, StudyPoint("hybrid", 1.0, 0.1, (0,)))
    assert record.symmetry is None and record.n_epochs == 2 and record.valid_auc
    pfn = MODEL_TABLE["pfn"]
    monkeypatch.setitem(MODEL_TABLE, "pfn", dataclasses.replace(
        pfn, estimator="sklearn_bsym.nn.InvariantClassifier"))
    config = dataclasses.replace(TINY_NETS, model_params={"pfn": {"hidden_sizes": (8,)}})
    model = make_model("pfn", config, 4)
    assert isinstance(model, InvariantClassifier) and model.hidden_sizes == (8,)
    assert (model.max_epochs, model.random_state, model.validation_fraction) == (2, 4, 0.2)
    # A sequence of seeds: their fits as one ensemble, the study's one ensemble estimator.
    ensemble = make_model("pfn", config, [4, 5])
    assert isinstance(ensemble, EnsembleClassifier) and ensemble.n_members == 2
    assert ensemble.random_state == [4, 5] and ensemble.estimator.random_state == 4
    monkeypatch.setitem(MODEL_TABLE, "pfn", dataclasses.replace(
        pfn, tags=dataclasses.replace(pfn.tags, seeds_together=False)))
    points = study_points(dataclasses.replace(
        TINY_NETS, models=("pfn", "hybrid"), fractions=(1.0,), ensemble=True))
    assert [(p.model, p.together) for p in points] == [
        ("pfn", False), ("pfn", False), ("hybrid", True)]


def test_study_data_carries_its_seeds():
    from sklearn_bsym.studies import load_study_data, study_seeds

    data = load_study_data(TINY)
    assert data.seeds == study_seeds(TINY)
    train, model_seed = data.training_subset(0.5, 1)
    again, same_seed = data.training_subset(0.5, 1)
    np.testing.assert_array_equal(train, again)
    assert model_seed == same_seed and len(train) == 400
    assert set(train) <= set(data.pool)


@pytest.mark.parametrize(
    ("n_jobs", "n_threads", "expected"),
    [
        (None, None, (1, 1)),
        (2, None, (2, 1)),
        (-1, None, ("cores", 1)),
        (None, 3, (1, 3)),
    ],
)
def test_threads_never_oversubscribe(n_jobs, n_threads, expected):
    from sklearn_bsym.studies import plan_execution

    plan = plan_execution(n_jobs, n_threads=n_threads)
    parallel, threads = ({"cores": plan.cores}.get(v, v) for v in expected)
    assert (plan.parallel, plan.threads) == (parallel, threads)
    assert "thread(s) each" in plan.describe()
    with pytest.raises(ValueError, match="n_jobs=0 runs nothing"):
        plan_execution(0)


# ---------------------------------------------------------------------------- Dask


def _where(value):
    """A task that says whether it ran on a Dask worker (and in which thread count)."""
    from distributed import get_worker

    try:
        get_worker()
    except ValueError:
        return {"value": value, "on_worker": False}
    return {"value": value, "on_worker": True}


@pytest.fixture
def one_thread_cluster():
    """A running Dask scheduler with a single worker thread, as a remote address."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address="127.0.0.1:0"
    ) as cluster:
        yield cluster.scheduler_address


def test_a_one_thread_dask_cluster_runs_the_fits_on_its_worker(tmp_path, one_thread_cluster):
    tasks = [(f"t{i}", (i,)) for i in range(3)]
    seen = []
    result = run_tasks(
        _where, tasks, ResultStore(tmp_path), dask=one_thread_cluster, on_parallel=seen.append
    )
    assert [r["on_worker"] for r in result.values()] == [True] * 3
    assert [r["value"] for r in result.values()] == [0, 1, 2]
    assert seen == [1]


def test_a_remote_dask_study_runs_like_a_serial_one(tiny_run, tmp_path, one_thread_cluster):
    import dataclasses

    config = dataclasses.replace(TINY, scan_resolutions=())
    lines = []
    result = run_study(config, tmp_path, plots=False, dask=one_thread_cluster, log=lines.append)
    # One thread per fit, as serially; the parallelism is the cluster's, measured.
    assert result.summary["execution"]["threads"] == 1
    assert result.summary["execution"]["parallel"] == 1
    assert any("runs 1 fit(s) at once" in line for line in lines)
    serial = tiny_run[1].fits.set_index(["fraction", "seed", "resolution"])["test_auc"]
    other = result.fits.set_index(["fraction", "seed", "resolution"])["test_auc"]
    assert_allclose(other.to_numpy(), serial.loc[other.index].to_numpy())


def test_a_local_dask_cluster_does_not_need_port_8787(tmp_path):
    """Something else listening on the dashboard's usual port must not stop (or warn in) a
    local cluster; the test holds the port when it is free, and else finds it taken already."""
    import socket
    import warnings

    pytest.importorskip("distributed")
    holder = socket.socket()
    try:
        holder.bind(("", 8787))
        holder.listen()
    except OSError:
        pass  # taken by another program: the same situation
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            result = run_tasks(
                dict, TOY_TASKS, ResultStore(tmp_path), dask="local", n_jobs=1,
                dask_processes=False,
            )
    finally:
        holder.close()
    assert result["t3"] == {"value": 9}


def _stop_at_two(value):
    from sklearn_bsym.studies import TaskInterruptedError

    if value == 2:
        raise TaskInterruptedError("cut short")
    return {"value": value}


def test_a_stopped_run_erases_its_progress_bar(tmp_path, capsys):
    from sklearn_bsym.studies import TasksInterrupted

    tasks = [(f"t{i}", (i,)) for i in range(4)]
    with pytest.raises(TasksInterrupted):
        run_tasks(_stop_at_two, tasks, ResultStore(tmp_path), progress=True)
    err = capsys.readouterr().err
    # Drawn while running, then erased: not drawn a second time, left on its own line.
    assert "fits:" in err and "\n" not in err.rsplit("fits:", 1)[1]
