"""The documentation site's configuration (docs/conf.py): which methods an estimator's API page
documents. The site itself is built, warnings as errors, by ``nox -s docs`` and CI."""

from __future__ import annotations

import re
import runpy
from pathlib import Path

import pytest

from sklearn_bsym.nn import EnsembleClassifier, HybridClassifier, PFNClassifier
from sklearn_bsym.preprocessing import MomentumSmearer, PtReweightedClassifier, PtReweighter

CONF = Path(__file__).resolve().parents[1] / "docs" / "conf.py"


@pytest.fixture(scope="module")
def conf():
    return runpy.run_path(str(CONF))


def test_a_network_page_lists_what_a_user_calls_and_not_skorchs_machinery(conf):
    methods = conf["api_methods"](HybridClassifier)
    assert {"fit", "partial_fit", "predict", "predict_proba", "decision_function", "score",
            "recipe", "symmetry_factor", "get_params", "set_params", "initialize",
            "save_params", "load_params"} <= set(methods)
    assert not {"get_iterator", "get_dataset", "get_split_datasets", "initialize_module",
                "initialize_optimizer", "on_batch_begin", "train_step", "evaluation_step",
                "fit_loop", "notify", "infer", "set_fit_request"} & set(methods)
    assert "symmetry_factor" not in conf["api_methods"](PFNClassifier)
    assert conf["api_attributes"](HybridClassifier) == ["preset_module", "preset_recipe"]


@pytest.mark.parametrize(
    ("cls", "expected"),
    [
        (EnsembleClassifier, {"fit", "predict_proba", "predict_proba_members",
                              "member_estimator", "score", "get_params"}),
        (MomentumSmearer, {"fit", "transform", "fit_transform", "get_feature_names_out",
                           "set_output", "set_params"}),
        (PtReweighter, {"fit", "compute_sample_weight", "density_ratio", "fit_resample"}),
        # available_if methods too
        (PtReweightedClassifier, {"fit", "predict", "predict_proba", "decision_function",
                                  "score"}),
    ],
)
def test_every_estimator_page_lists_its_inherited_methods(conf, cls, expected):
    methods = conf["api_methods"](cls)
    assert expected <= set(methods)
    assert not [m for m in methods if m.startswith("set_") and m.endswith("_request")]


def test_every_public_estimator_has_its_methods_on_its_page(conf):
    pages = conf["autosummary_context"]["api_methods"]
    assert {"sklearn_bsym.nn.HybridClassifier", "sklearn_bsym.nn.EnsembleClassifier",
            "sklearn_bsym.preprocessing.PtReweightedClassifier",
            "sklearn_bsym.preprocessing.MomentumSmearer"} <= set(pages)
    assert all("fit" in methods for methods in pages.values())


def test_the_docstrings_cite_pages_of_the_site():
    """The library's text cites its own user guide, not the team's notes (physics.md), which
    the site and a user's clone do not have."""
    package = Path(__file__).resolve().parents[1] / "sklearn_bsym"
    cited = [f"{path.relative_to(package)}:{n}" for path in package.rglob("*.py")
             for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             if "physics notes" in line or "physics.md" in line]
    assert not cited


def test_the_site_names_no_issue_numbers():
    """The pages, the results they include, the docstrings and the examples speak for
    themselves, without the project's issue tracker."""
    root = Path(__file__).resolve().parents[1]
    texts = [*(root / "docs").glob("*.md"), *(root / "docs" / "user_guide").glob("*.md"),
             *(root / "benchmarks" / "results").glob("*.md"), *(root / "examples").glob("*.py"),
             *(root / "sklearn_bsym").rglob("*.py"), root / "README.md", root / "CHANGELOG.md"]
    named = [f"{path.relative_to(root)}: {m.group(0)}" for path in texts
             for m in re.finditer(r"\bissue #?\d+", path.read_text(encoding="utf-8"), re.I)]
    assert not named


def test_the_guides_code_fits_its_page():
    """A code line of the user guide fits the page's column at 1400 px (84 characters), so
    nothing is cut on the right (a phone scrolls the block)."""
    guide = Path(__file__).resolve().parents[1] / "docs" / "user_guide"
    long = []
    for path in sorted(guide.glob("*.md")):
        text = path.read_text(encoding="utf-8")
        for block in re.finditer(r"^```[^\n]*\n(.*?)^```", text, flags=re.S | re.M):
            first = text.count("\n", 0, block.start(1)) + 1
            long += [f"{path.name}:{first + i}" for i, line in enumerate(block[1].split("\n"))
                     if len(line) > 84]
    assert not long


def test_the_api_reference_lists_every_public_name():
    """Each name in a public module's ``__all__`` has an entry in docs/api.rst (under that
    module's ``currentmodule``), so a new transformer or function is never missing from the
    reference."""
    import importlib

    api = (CONF.parent / "api.rst").read_text(encoding="utf-8")
    sections = re.split(r"^\.\. currentmodule:: ", api, flags=re.M)[1:]
    listed = {}
    for section in sections:
        module, _, body = section.partition("\n")
        listed[module.strip()] = set(re.findall(r"^   (\w+)$", body, flags=re.M))
    missing = {
        module: sorted(set(importlib.import_module(module).__all__) - names)
        for module, names in listed.items()
    }
    assert not any(missing.values()), missing
