"""The study's symmetry options (issue 36): the symmetry of its networks, a detector whose
resolution depends on the azimuth with the limit of classifiers invariant under rotations about
the beam, a scan of that strength, the chain hybrid, and the claims they check."""

from __future__ import annotations

import dataclasses
import json

import pandas as pd
import pytest

from sklearn_bsym.__main__ import build_parser, config_from_args
from sklearn_bsym.studies import (
    FitRecord,
    StudyConfig,
    StudyPoint,
    check_symmetry_claims,
    make_model,
    run_study,
    study_points,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TINY_HYBRID = {"Phi_sizes": (16, 8), "invariant_sizes": (16, 8), "weight_sizes": (16,),
               "F_sizes": (16,)}
#: A tiny study under the azimuth-dependent detector: the longitudinal symmetry, the chain, a
#: two-point strength scan.
TINY = StudyConfig(
    n_events=1200,
    fractions=(0.5, 1.0),
    n_seeds=2,
    models=("invariant", "hybrid", "chain", "optimal"),
    scan_resolutions=(),
    symmetry="longitudinal",
    detector_strength=0.9,
    scan_strengths=(0.0, 0.9),
    max_epochs=2,
    model_params={"invariant": {"hidden_sizes": (16,)}, "hybrid": TINY_HYBRID,
                  "chain": TINY_HYBRID},
)


def test_the_symmetry_names_are_the_librarys():
    from sklearn_bsym.studies import SYMMETRY_NAMES
    from sklearn_bsym.symmetries import SYMMETRIES

    assert SYMMETRY_NAMES == tuple(SYMMETRIES)


def test_the_paper_config_keeps_its_result_set_id():
    paper = StudyConfig()
    options = paper.result_options()
    assert not {"symmetry", "detector_strength", "scan_strengths"} & set(options)
    assert StudyConfig(scan_strengths=(0.0, 0.5)).result_set_id() == paper.result_set_id()
    assert StudyConfig(symmetry="longitudinal").result_set_id() != paper.result_set_id()
    assert StudyConfig(detector_strength=0.5).result_set_id() != paper.result_set_id()


@pytest.mark.parametrize(("changes", "match"), [
    ({"symmetry": "sideways"}, r"symmetry must be one of \['lorentz', 'longitudinal'\]"),
    ({"detector_strength": 1.0}, r"detector_strength \(0 = the paper's smearing\) must be"),
    ({"scan_strengths": (0.5, -0.1)}, r"Strengths of the scan .* must be a finite number"),
    ({"scan_strengths": (0.5, 0.5)}, "Strengths of the scan repeat"),
])
def test_bad_symmetry_options_are_refused(changes, match):
    with pytest.raises(ValueError, match=match):
        StudyConfig(**changes)


def test_the_points_of_a_strength_scan():
    points = study_points(TINY)
    keys = {key for point in points for key in point.keys()}
    # the curve and the scan at the config's strength, the scan at strength 0 too
    assert "invariant_f0.5_r0.1_s0_phi0.9" in keys and "chain_f1_r0.1_s1_phi0.9" in keys
    assert "hybrid_f1_r0.1_s0" in keys  # strength 0: the paper's key
    # the limits: both where the detector depends on phi, the Bayes-optimal alone elsewhere
    ceilings = {p.keys()[0] for p in points if p.fraction is None}
    assert ceilings == {"optimal_r0.1_phi0.9", "optimal_azimuthal_r0.1_phi0.9", "optimal_r0.1"}


def test_the_study_builds_its_symmetry_into_the_networks():
    assert make_model("invariant", TINY, 0).symmetry == "longitudinal"
    assert make_model("hybrid", TINY, 0).symmetry == "longitudinal"
    assert make_model("chain", TINY, 0).symmetry == ("lorentz", "longitudinal")
    paper = make_model("hybrid", StudyConfig(), 0)
    assert paper.symmetry == "lorentz" and "symmetry" not in repr(paper)


def test_a_record_stored_before_the_strength_reads_as_the_papers_detector():
    record = FitRecord("optimal", None, 0, None, 0.1, 0.8, None, 800, 200, 100)
    payload = record.to_payload()
    del payload["strength"]
    assert FitRecord.from_payload(payload).strength == 0.0
    with pytest.raises(ValueError, match="strength must be in"):
        dataclasses.replace(record, strength=1.5)


def test_the_command_line_reaches_the_symmetry_options():
    args = build_parser().parse_args(["--quick", "--symmetry", "longitudinal",
                                      "--detector-strength", "0.5",
                                      "--scan-strengths", "0", "0.5", "--models", "chain"])
    config = config_from_args(args)
    assert (config.symmetry, config.detector_strength, config.scan_strengths) == (
        "longitudinal", 0.5, (0.0, 0.5))
    assert config.models == ("chain",)


def test_a_bad_strength_on_the_command_line(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--detector-strength", "1"])
    assert "--detector-strength: 1 is out of range; allowed: [0, 1)" in capsys.readouterr().err


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    return run_study(TINY, tmp_path_factory.mktemp("symmetry_study"))


def test_the_study_under_the_phi_detector_end_to_end(tiny_run):
    result = tiny_run
    fits = result.fits
    limits = fits[fits["seed"].isna()].set_index(["model", "strength"])["test_auc"]
    # the detector that depends on phi raises the limit, and lowers that of classifiers
    # invariant under rotations about the beam
    assert limits[("optimal", 0.9)] > limits[("optimal", 0.0)]
    assert limits[("optimal_azimuthal", 0.9)] < limits[("optimal", 0.9)]
    assert set(result.strength_scan["strength"]) == {0.0, 0.9}
    assert set(result.strength_scan["model"]) == {"invariant", "hybrid", "chain"}
    assert [c["claim"] for c in result.claims] == [1, 2, 3, 4, 5, 6, 7]
    # claim 6 on 240 test events: the limits' difference, if not yet resolved
    assert result.claims[5]["checks"][0]["difference"] > 0
    assert all(c["verdict"] != "not checked" for c in result.claims[4:])
    for name in ("strength_scan.png", "fraction_curve.png", "results.csv"):
        assert (result.folder / name).stat().st_size > 0, name
    csv = pd.read_csv(result.folder / "results.csv")
    assert set(csv["strength"]) == {0.0, 0.9}
    summary = json.loads((result.folder / "summary.json").read_text())
    assert summary["config"]["symmetry"] == "longitudinal"
    assert set(summary["strength_optimal_azimuthal"]) == {"0", "0.9"}
    assert "optimal_azimuthal" in result.markdown
    assert "Scan of the azimuthal breaking" in result.markdown


def test_the_chain_records_a_factor_per_branch(tiny_run):
    stored = json.loads((tiny_run.folder / "fits" / "chain_f1_r0.1_s0_phi0.9.json").read_text())
    table = stored["payload"]["symmetry"]
    assert {"w_general_mean", "w_lorentz_mean", "w_longitudinal_mean"} <= set(table)


def test_a_rerun_reuses_every_fit(tiny_run):
    ran = []
    run_study(TINY, tiny_run.folder.parent, on_done=ran.append, plots=False)
    assert ran == []


def _curve(rows):
    return pd.DataFrame(rows, columns=["model", "fraction", "mean", "std", "n"])


def test_claim_5_says_whether_the_network_has_a_ceiling():
    below = _curve([("invariant", 1.0, 0.780, 0.001, 3), ("hybrid", 1.0, 0.805, 0.001, 3)])
    at_limit = _curve([("invariant", 1.0, 0.808, 0.001, 3), ("pfn", 1.0, 0.797, 0.001, 3)])
    claim = check_symmetry_claims(below, optimal=0.81)[0]
    assert claim["verdict"] == "held"
    assert claim["checks"][1]["hybrid"] == pytest.approx(0.805)  # the best that sees more
    claim = check_symmetry_claims(at_limit, optimal=0.81, symmetry="longitudinal")[0]
    assert claim["verdict"] == "not held"
    assert "longitudinal symmetry" in claim["statement"]
    assert claim["checks"][0]["gap"] == pytest.approx(0.002)
    assert [c["verdict"] for c in claim["checks"]] == ["not held", "not held"]


def test_claim_6_needs_a_detector_that_depends_on_phi():
    curve = _curve([("invariant", 0.1, 0.80, 0.001, 3), ("invariant", 1.0, 0.80, 0.001, 3)])
    claims = check_symmetry_claims(curve, optimal=0.81, azimuthal=0.81)
    assert claims[1]["verdict"] == "not checked" and "detector_strength 0" in claims[1]["reason"]
    # a network above the limit of its symmetry: not held
    claims = check_symmetry_claims(curve, optimal=0.86, azimuthal=0.79, strength=0.9,
                                   n_test=(20_000, 20_000))
    assert [c["verdict"] for c in claims[1]["checks"]] == ["held", "not held"]


def test_claim_7_compares_the_chain_with_every_other_network():
    curve = _curve([("chain", 1.0, 0.80, 0.001, 3), ("hybrid", 1.0, 0.81, 0.001, 3),
                    ("pfn", 1.0, 0.79, 0.001, 3)])
    claim = check_symmetry_claims(curve)[2]
    assert claim["verdict"] == "not held"
    assert claim["checks"][0]["best_other_model"] == "hybrid"
    assert StudyPoint("chain", 1.0, 0.1, (0,), strength=0.5).keys() == (
        "chain_f1_r0.1_s0_phi0.5",)
