"""Sphinx configuration: numpydoc API pages (autosummary), a sphinx-gallery, MyST user guide."""

from __future__ import annotations

import os
from pathlib import Path

import torch

import sklearn_bsym

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
exclude_patterns = ["_build", "results/**", "**/README.md"]
templates_path = ["_templates"]

# One page per public class and function, generated from the docstrings.
autosummary_generate = True
autosummary_imported_members = True
autodoc_default_options = {"inherited-members": False}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

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
    "footer_start": ["copyright"],
    "footer_end": [],
}
html_sidebars = {"index": [], "changelog": []}
html_static_path = ["_static"]
html_css_files = ["custom.css"]

# Examples run headless and, like the tests, with one torch thread: on a 2-core machine shared
# with other jobs, threads contend and every small operation slows down many times.
os.environ.setdefault("MPLBACKEND", "Agg")
torch.set_num_threads(1)


def _skip_metadata_request_methods(app, what, name, obj, skip, options):
    """scikit-learn generates ``set_fit_request`` & co. on every estimator class; their
    docstrings are scikit-learn's (with links into its own docs), documented there."""
    if name.startswith("set_") and name.endswith("_request"):
        return True
    return None


def setup(app):
    app.connect("autodoc-skip-member", _skip_metadata_request_methods)
