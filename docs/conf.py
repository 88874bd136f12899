"""Sphinx configuration: numpydoc API pages (autosummary), a sphinx-gallery, MyST user guide."""

from __future__ import annotations

import inspect
import os
import re
from pathlib import Path

import torch
from skorch import NeuralNet

import sklearn_bsym
from sklearn_bsym._discovery import public_estimators

ROOT = Path(__file__).resolve().parents[1]

project = "sklearn_bsym"
author = "sklearn_bsym developers"
copyright = "2026, sklearn_bsym developers"  # noqa: A001
release = sklearn_bsym.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
# sg_execution_times.rst: "Computation times" pages that older builds left (this one writes none).
exclude_patterns = ["_build", "results/**", "**/README.md", "sg_execution_times.rst",
                    "**/sg_execution_times.rst"]
templates_path = ["_templates"]

# One page per public class and function, generated from the docstrings.
autosummary_generate = True
autosummary_imported_members = True
autodoc_default_options = {"inherited-members": False}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

# "On this page" of a class lists its members as ``fit()``, not ``HybridClassifier.fit()``.
toc_object_entries_show_parents = "hide"

myst_enable_extensions = ["dollarmath"]
myst_heading_anchors = 3

intersphinx_mapping = {
    "python": ("https://docs.python.org/3", None),
    "numpy": ("https://numpy.org/doc/stable/", None),
    "sklearn": ("https://scikit-learn.org/stable/", None),
    "skorch": ("https://skorch.readthedocs.io/en/stable/", None),
    "torch": ("https://pytorch.org/docs/stable/", None),
}
# The build runs offline (CI has no internet): intersphinx only where its inventories are cached.
if not os.environ.get("SKLEARN_BSYM_DOCS_ONLINE"):
    intersphinx_mapping = {}

sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "within_subsection_order": "FileNameSortKey",
    "download_all_examples": False,
    "remove_config_comments": True,
    "reset_modules": ("matplotlib",),
    "abort_on_example_error": False,
    "only_warn_on_example_error": False,
    "show_memory": False,
    # No "Computation times" pages (one per gallery and one for all, both found by the search
    # under the same title, and loading their table scripts from CDNs): each example prints its
    # own running time.
    "write_computation_times": False,
    # "Examples using X" under each API page
    "backreferences_dir": "generated/backreferences",
    "doc_module": ("sklearn_bsym",),
}

html_theme = "pydata_sphinx_theme"
html_title = "sklearn_bsym"
html_theme_options = {
    "navbar_align": "left",
    "show_toc_level": 2,
    "navigation_with_keys": False,
    "secondary_sidebar_items": ["page-toc"],
    # The API section's sidebar: one group per module (the captions of api.rst's tables),
    # folded but for the page's own.
    "show_nav_level": 0,
    "footer_start": ["copyright"],
    "footer_end": [],
}
html_sidebars = {"index": [], "changelog": []}
html_static_path = ["_static"]
html_css_files = ["custom.css"]
# The search shows an excerpt of each page found, which the browser fetches: on a served site
# (``python -m http.server -d docs/_build/html``), not on one opened as files. Deferred, the
# script runs after the search page's own scripts.
html_js_files = [("search_excerpts.js", {"defer": "defer"})]

# Examples run headless and, like the tests, with one torch thread (set in setup(), for the
# build only): on a 2-core machine shared with other jobs, threads contend and every small
# operation slows down many times.
os.environ.setdefault("MPLBACKEND", "Agg")


# -- The pages of the estimators: their methods --------------------------------------------------
#
# An estimator's page documents, as scikit-learn's API pages do, every method a scikit-learn user
# calls, inherited ones included, with a summary table above them:
#
# - scikit-learn's estimator API (SKLEARN_API) and every public method of the package's own;
# - of skorch's methods (the networks are skorch nets), those of scikit-learn's API and the few a
#   user of a network calls (SKORCH_USER: set up a net to load a checkpoint into, save, load).
#   Not skorch's training machinery, which one overrides to change how a net trains and which
#   skorch documents: callback hooks (on_*), the set-up of each part (initialize_*), the data
#   and batch hooks (get_dataset, get_iterator, get_split_datasets), the steps (train_step,
#   evaluation_step, ...), fit_loop, notify, infer;
# - not scikit-learn's set_{fit,score,...}_request, generated on every estimator class and
#   documented in scikit-learn's metadata-routing guide.
#
# Other classes (torch modules, data classes, warnings) document the methods they define.

SKLEARN_API = {"fit", "partial_fit", "predict", "predict_proba", "predict_log_proba",
               "decision_function", "score", "transform", "fit_transform", "inverse_transform",
               "get_feature_names_out", "set_output", "get_params", "set_params",
               "get_metadata_routing"}
SKORCH_USER = {"initialize", "save_params", "load_params"}


def _metadata_setter(name: str) -> bool:
    return name.startswith("set_") and name.endswith("_request")


def api_methods(cls: type) -> list[str]:
    """The methods the page of the estimator ``cls`` documents (the rule above)."""
    names = []
    for name in dir(cls):
        if name.startswith("_") or not inspect.isfunction(getattr(cls, name)):
            continue
        if _metadata_setter(name):
            continue
        if (issubclass(cls, NeuralNet) and hasattr(NeuralNet, name)
                and name not in SKLEARN_API | SKORCH_USER):
            continue
        names.append(name)
    return names


def api_attributes(cls: type) -> list[str]:
    """The public class attributes of the estimator ``cls`` that the package defines (fitted
    attributes, ending in ``_``, are in each docstring's Attributes section)."""
    return sorted({name for klass in cls.__mro__ if klass.__module__.startswith("sklearn_bsym")
                   for name in vars(klass)
                   if not name.startswith("_") and not name.endswith("_")
                   and not _metadata_setter(name) and not callable(getattr(cls, name))})


_ESTIMATORS = public_estimators()
autosummary_context = {
    "api_methods": {name: api_methods(cls) for name, cls in _ESTIMATORS.items()},
    "api_attributes": {name: api_attributes(cls) for name, cls in _ESTIMATORS.items()},
}


def _short_class_defaults(app, what, name, obj, options, signature, return_annotation):
    """A class as a default value reads as its name (``module=HybridNetwork``), not as Python
    prints it (``module=<class 'sklearn_bsym.nn._modules.HybridNetwork'>``)."""
    if signature:
        signature = re.sub(r"<class '(?:\w+\.)*(\w+)'>", r"\1", signature)
    return signature, return_annotation


#: The labels of scikit-learn's documentation that the docstrings of inherited methods link to
#: (``:ref:`` in scikit-learn's and skorch's docstrings): their pages, and a title for a link
#: without one.
SKLEARN_LABELS = {
    "accuracy_score": ("modules/model_evaluation.html#accuracy-score", "accuracy"),
    "metadata_routing": ("metadata_routing.html", "metadata routing"),
    "sphx_glr_auto_examples_miscellaneous_plot_set_output.py": (
        "auto_examples/miscellaneous/plot_set_output.html", "plot_set_output.py"),
}


def _third_party_refs(app, what, name, obj, options, lines):
    """Links of scikit-learn's and skorch's docstrings into their own documentation, which this
    build does not have: to scikit-learn's site where the label is known, else plain text."""
    if not getattr(obj, "__module__", "").startswith(("sklearn.", "skorch.")):
        return

    def resolve(match):
        label = (match["label"] or match["bare"]).removeprefix("sklearn:")
        page, default_title = SKLEARN_LABELS.get(label, (None, label))
        title = match["title"] or default_title
        return f"`{title} <https://scikit-learn.org/stable/{page}>`__" if page else title

    lines[:] = [_REF.sub(resolve, line) for line in lines]


_REF = re.compile(r":ref:`(?:(?P<title>[^`<]+?)\s*<(?P<label>[^`>]+)>|(?P<bare>[^`<]+))`")


def setup(app):
    torch.set_num_threads(1)
    app.connect("autodoc-process-signature", _short_class_defaults)
    app.connect("autodoc-process-docstring", _third_party_refs)
