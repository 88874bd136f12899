"""The package's public estimators, found the way scikit-learn's ``all_estimators`` finds its
own: every estimator class in the ``__all__`` of a public module. The common tests check each
one (``tests/test_common.py``) and the API reference documents their methods
(``docs/conf.py``), so a new estimator is covered by both without being listed."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

from sklearn.base import BaseEstimator


def public_estimators() -> dict[str, type]:
    """Every public estimator class (abstract ones left out), by its public name:
    ``{"sklearn_bsym.nn.HybridClassifier": HybridClassifier, ...}``.

    >>> public_estimators()["sklearn_bsym.nn.HybridClassifier"].__name__
    'HybridClassifier'
    """
    import sklearn_bsym

    found = {}
    for info in pkgutil.walk_packages(sklearn_bsym.__path__, "sklearn_bsym."):
        if any(part.startswith("_") for part in info.name.split(".")[1:]):
            continue
        module = importlib.import_module(info.name)
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            if (inspect.isclass(obj) and issubclass(obj, BaseEstimator)
                    and not inspect.isabstract(obj)):
                found[f"{info.name}.{name}"] = obj
    return found
