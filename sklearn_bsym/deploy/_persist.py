"""Model files whose loading cannot run code: skops archives of this library's estimators.

A model file is a zip archive: ``schema.json`` and ``.npy`` arrays written by :mod:`skops.io`
(loaded with ``allow_pickle=False``), plus ``sklearn_bsym.json``, this library's manifest (the
format version, the versions that wrote it, the estimator's description and the user's
metadata). skops rebuilds objects only of the types it is told to trust; :func:`load_model`
trusts this library's estimators, a few scikit-learn types, and the plain containers and arrays
skops trusts by default, and refuses any other type by name before anything is constructed.

skorch networks cannot go through skops as they are (they hold torch modules, optimizers,
callbacks and classes); each is written as a :class:`SavedNetwork`: the parameters that differ
from its class's defaults, the network's ``state_dict`` as numpy arrays, and the fitted
attributes (history as JSON text). Loading builds the network from those parameters and loads
the weights, so a loaded network predicts bit for bit as the saved one. The optimizer's state is
not saved: a loaded network that trains on (``warm_start``, ``partial_fit``) starts a fresh
optimizer, as after an ensemble's fit.
"""

from __future__ import annotations

import copy
import json
import os
import zipfile
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator

__all__ = ["save_model", "load_model", "read_model_info", "ModelFileError", "FORMAT_VERSION"]

#: The model-file format this version writes; :func:`load_model` reads it and older ones.
#: Raise it when a change makes files that an older sklearn_bsym would misread.
FORMAT_VERSION = 2
#: The first format whose networks read momenta through ``nn.momentum_inputs`` (a log scale)
#: and single-particle masses above their rounding floor; the weights of a network in an older
#: file were trained on momenta divided by 100 GeV and would score wrongly here.
_NETWORK_INPUTS_FORMAT = 2
_FORMAT = "sklearn-bsym model"
_MANIFEST = "sklearn_bsym.json"
#: scikit-learn types that a model of this library holds and that skops writes but may not
#: trust by default: the parts of a fitted HistGradientBoostingClassifier (its trees, arrays of
#: nodes; its binning; its loss and link, which skops 0.16 trusts and 0.13 does not).
_SKLEARN_TRUSTED = (
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper",
    "sklearn._loss.loss.HalfBinomialLoss",
    "sklearn._loss.link.LogitLink",
    "sklearn._loss.link.Interval",
)
# The first byte of a pickle of protocol 2 or newer (protocols 0 and 1 are text).
_PICKLE_PROTO = b"\x80"


class ModelFileError(ValueError):
    """A file that :func:`load_model` refuses: not a model file, damaged, of a newer format,
    or holding a type or payload that could run code."""


class SavedNetwork:
    """A skorch network of this library as a model file stores it (see the module notes).

    Attributes
    ----------
    cls : str
        The network's class, as ``module.Name`` inside :mod:`sklearn_bsym.nn`.
    params : dict
        Its parameters that differ from the class's defaults.
    state : dict of str to ndarray or None
        The module's ``state_dict`` (None: the network was not fitted).
    fitted : dict
        Fitted attributes: ``n_features_in_``, ``seed_``, ``stop_reason_``,
        ``epochs_planned_``, ``feature_names_in_`` where set, and ``history`` as JSON text.
    """

    def __init__(self, cls, params, state, fitted):
        self.cls, self.params, self.state, self.fitted = cls, params, state, fitted


def _network_classes() -> dict[str, type]:
    from .. import nn
    from ..nn._classifiers import _EventClassifier

    return {f"{c.__module__}.{c.__qualname__}": c for c in vars(nn).values()
            if isinstance(c, type) and issubclass(c, _EventClassifier)}


def _trusted_types() -> list[str]:
    """The types a model file may hold besides skops' defaults: the estimators of
    :mod:`sklearn_bsym.preprocessing`, :mod:`sklearn_bsym.nn` and :mod:`sklearn_bsym.optimal`
    and their parameter objects (a detector's
    :class:`~sklearn_bsym.preprocessing.DetectorResolution`: plain numbers behind
    ``get_params``), found from their ``__all__``, so a new one is trusted as soon as it is
    public; :class:`SavedNetwork` and ``_SKLEARN_TRUSTED``."""
    from .. import nn, optimal, preprocessing

    types = {f"{SavedNetwork.__module__}.{SavedNetwork.__qualname__}", *_SKLEARN_TRUSTED}
    for module in (nn, optimal, preprocessing):
        for name in module.__all__:
            obj = getattr(module, name)
            if isinstance(obj, type) and (issubclass(obj, BaseEstimator)
                                          or callable(getattr(obj, "get_params", None))):
                types.add(f"{obj.__module__}.{obj.__qualname__}")
    return sorted(types)


def _symmetry_by_name(value, where: str):
    """``value`` with each of the library's symmetries given as a
    :class:`~sklearn_bsym.symmetries.Symmetry` replaced by its name (the same symmetry);
    a symmetry of the user's own is refused in one line."""
    from ..symmetries import SYMMETRIES, Symmetry

    if isinstance(value, Symmetry):
        if SYMMETRIES.get(value.name) is value:
            return value.name
        raise ValueError(
            f"Cannot save {where}: its symmetry Symmetry({value.name!r}) is an invariant map of "
            "your own, code that a model file does not hold (loading one runs no code); keep "
            "the code that defines it with the model (a network: its weights by save_params, "
            "or the whole network as ONNX by to_onnx)."
        )
    if isinstance(value, list | tuple) and any(isinstance(v, Symmetry) for v in value):
        return type(value)(_symmetry_by_name(v, where) for v in value)
    return value


# -- writing ----------------------------------------------------------------------------------
_NETWORK_FITTED = ("n_features_in_", "feature_names_in_", "seed_", "stop_reason_",
                   "epochs_planned_")
# skorch's record of which names to check, not a parameter a user sets.
_NETWORK_SKIP = ("_params_to_validate",)
_MISSING = object()


def _same(a, b) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return False
    try:
        return bool(a is b or (type(a) is type(b) and a == b))
    except Exception:  # a comparison that is not a bool: treat as different
        return False


def _saved_network(net) -> SavedNetwork:
    cls = type(net)
    defaults = cls().get_params(deep=False)
    params = {k: _symmetry_by_name(v, f"the {cls.__name__}")
              for k, v in net.get_params(deep=False).items()
              if k not in _NETWORK_SKIP and not _same(v, defaults.get(k, _MISSING))}
    if not getattr(net, "initialized_", False) or not hasattr(net, "module_"):
        return SavedNetwork(f"{cls.__module__}.{cls.__qualname__}", params, None, {})
    state = {k: v.detach().cpu().numpy().copy() for k, v in net.module_.state_dict().items()}
    fitted = {k: getattr(net, k) for k in _NETWORK_FITTED if hasattr(net, k)}
    fitted["history"] = json.dumps(list(net.history), default=_json_number)
    return SavedNetwork(f"{cls.__module__}.{cls.__qualname__}", params, state, fitted)



def _json_number(value):
    """NumPy scalars in a skorch history, as Python numbers."""
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"a {type(value).__name__} in the training history is not a number")


def _derived_attributes() -> dict[type, dict]:
    """Fitted attributes that a model file does not store because they are rebuilt from the
    others on loading: class -> {attribute: rebuild(estimator)}."""
    from ..nn import EnsembleClassifier, stack_modules

    return {EnsembleClassifier: {
        "module_": lambda est: stack_modules([m.module_ for m in est.members_]).eval()}}


def _encode(obj, where: str, derived):
    """``obj`` with every network replaced by its :class:`SavedNetwork` and the derived
    attributes left out (copies: the caller's objects are not changed)."""
    import torch

    from ..nn._classifiers import _EventClassifier

    if isinstance(obj, _EventClassifier):
        return _saved_network(obj)
    obj = _symmetry_by_name(obj, f"the {where.split('.')[0]} ({where})")
    if isinstance(obj, torch.nn.Module | torch.Tensor | torch.optim.Optimizer):
        raise ValueError(
            f"{where} is a torch {type(obj).__name__}; a model file holds torch objects only "
            "inside this library's networks (PFNClassifier, InvariantClassifier, "
            "HybridClassifier, EnsembleClassifier)."
        )
    if isinstance(obj, BaseEstimator):
        skip = derived.get(type(obj), {})
        out = copy.copy(obj)
        out.__dict__ = {k: _encode(v, f"{where}.{k}", derived)
                        for k, v in vars(obj).items() if k not in skip}
        return out
    if isinstance(obj, list | tuple):
        items = [_encode(v, f"{where}[{i}]", derived) for i, v in enumerate(obj)]
        return type(obj)(items) if isinstance(obj, list) or type(obj) is tuple else obj
    if isinstance(obj, dict):
        return {k: _encode(v, f"{where}[{k!r}]", derived) for k, v in obj.items()}
    return obj


def _describe(obj) -> str:
    """A one-line description of an estimator: its class, and its steps or inner estimator."""
    from sklearn.pipeline import Pipeline

    name = type(obj).__name__
    if isinstance(obj, Pipeline):
        return f"{name}({', '.join(f'{n}: {_describe(s)}' for n, s in obj.steps)})"
    inner = getattr(obj, "estimator_", getattr(obj, "estimator", None))
    if isinstance(inner, BaseEstimator):
        n = getattr(obj, "n_members", None)
        return f"{name}({_describe(inner)}{f' x {n}' if n else ''})"
    return name


def _versions() -> dict[str, str]:
    import sklearn
    import skops
    import torch

    from .. import __version__

    return {"sklearn_bsym": __version__, "scikit-learn": sklearn.__version__,
            "torch": torch.__version__, "skops": skops.__version__,
            "numpy": np.__version__}


def save_model(estimator, path, *, metadata=None) -> Path:
    """Write a fitted (or unfitted) estimator to a model file whose loading cannot run code.

    Any estimator or pipeline of this library saves: the three networks,
    :class:`~sklearn_bsym.nn.EnsembleClassifier`, :class:`~sklearn_bsym.preprocessing.\
PtReweightedClassifier`, pipelines with the library's transformers and scikit-learn's
    ``HistGradientBoostingClassifier`` (the study's models and what ``python -m sklearn_bsym
    fit`` writes). Read it back with :func:`load_model`.

    Parameters
    ----------
    estimator : estimator
        The model to save. Objects :func:`load_model` would refuse (a type from outside this
        library and scikit-learn, such as a skorch callback or a user's own torch module) are
        refused here, by name, so that every file written loads.
    path : str or os.PathLike
        The file to write (overwritten). ``.skops`` is the customary extension: the file is a
        skops archive (``skops.io.get_untrusted_types(file=path)`` audits it).
    metadata : dict, default=None
        JSON-serializable facts to keep with the model (what it was trained on, a comment);
        :func:`read_model_info` returns them.

    Returns
    -------
    pathlib.Path
        The path written.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.ensemble import HistGradientBoostingClassifier
    >>> from sklearn_bsym.datasets import make_dimuon_events
    >>> from sklearn_bsym.deploy import load_model, save_model
    >>> from sklearn_bsym.preprocessing import DimuonFeatures
    >>> X, y = make_dimuon_events(1000, random_state=0)
    >>> model = make_pipeline(DimuonFeatures(), HistGradientBoostingClassifier()).fit(X, y)
    >>> path = save_model(model, pathlib.Path(tempfile.mkdtemp()) / "model.skops")
    >>> bool((load_model(path).predict_proba(X) == model.predict_proba(X)).all())
    True
    """
    import skops.io

    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"Cannot write the model to {path}: it is a folder; give a "
                                "file name such as model.skops.")
    try:
        info = {"metadata": json.loads(json.dumps(metadata if metadata is not None else {}))}
    except (TypeError, ValueError) as exc:
        raise ValueError(f"metadata must be JSON-serializable ({exc}).") from None
    encoded = _encode(estimator, type(estimator).__name__, _derived_attributes())
    try:
        data = skops.io.dumps(encoded, compression=zipfile.ZIP_DEFLATED)
    except Exception as exc:  # skops raises several types for what it cannot write
        raise ValueError(
            f"Cannot save the {type(estimator).__name__}: skops cannot write one of its parts "
            f"({type(exc).__name__}: {exc})."
        ) from exc
    untrusted = sorted(set(skops.io.get_untrusted_types(data=data)) - set(_trusted_types()))
    if untrusted:
        raise ValueError(
            f"Cannot save the {type(estimator).__name__}: it holds objects of type(s) "
            f"{untrusted}, which a model file cannot restore without running their code (model "
            "files hold this library's estimators and scikit-learn's). Remove them, e.g. "
            "training callbacks with set_params(callbacks=None), before saving."
        )
    manifest = {"format": _FORMAT, "format_version": FORMAT_VERSION,
                "estimator": _describe(estimator), "versions": _versions(), **info}
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_bytes(data)
        with zipfile.ZipFile(tmp, "a") as archive:
            archive.writestr(_MANIFEST, json.dumps(manifest, indent=1))
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise OSError(f"Cannot write the model to {path}: {exc.strerror or exc}.") from exc
    return path


# -- reading ----------------------------------------------------------------------------------
def _open_archive(path: Path) -> zipfile.ZipFile:
    """The model file's zip archive, once its members are known to be a manifest, skops'
    schema and NumPy arrays; else a ModelFileError saying what the file is or carries."""
    if not path.exists():
        raise FileNotFoundError(f"Model file {path} does not exist.")
    if path.is_dir():
        raise ModelFileError(f"Cannot load {path}: it is a folder, not a model file.")
    with open(path, "rb") as fh:
        head = fh.read(4)
    if not zipfile.is_zipfile(path):
        if head[:1] == _PICKLE_PROTO and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
            raise ModelFileError(
                f"Cannot load {path}: it is a pickle, which runs code when loaded, so it is "
                "refused (nothing in it was run). Save models with sklearn_bsym.deploy."
                "save_model, and load only files written so."
            )
        raise ModelFileError(f"Cannot load {path}: it is not a model file (not a zip archive "
                             "as save_model writes).")
    archive = zipfile.ZipFile(path)
    try:
        for member in archive.namelist():
            with archive.open(member) as fh:
                pickled = fh.read(1) == _PICKLE_PROTO or member.endswith((".pkl", ".pickle"))
            if pickled or not (member in (_MANIFEST, "schema.json") or member.endswith(".npy")):
                what = "a pickle payload" if pickled else "a member that no model file has"
                raise ModelFileError(
                    f"Cannot load {path}: it carries {what} ({member!r}); it is refused and "
                    "nothing in it was run. Load only files written by sklearn_bsym.deploy."
                    "save_model."
                )
    except BaseException:
        archive.close()
        raise
    return archive


def read_model_info(path) -> dict:
    """The manifest of a model file, without loading the model.

    Returns
    -------
    dict
        ``format``, ``format_version``, ``estimator`` (a one-line description), ``versions``
        (of sklearn_bsym, scikit-learn, torch, skops and numpy that wrote it) and
        ``metadata`` (what :func:`save_model` was given).
    """
    path = Path(path)
    with _open_archive(path) as archive:
        return _manifest(path, archive)


def _manifest(path: Path, archive: zipfile.ZipFile) -> dict:
    from .. import __version__

    try:
        manifest = json.loads(archive.read(_MANIFEST))
    except KeyError:
        raise ModelFileError(
            f"Cannot load {path}: it has no {_MANIFEST}, so it was not written by "
            "sklearn_bsym.deploy.save_model."
        ) from None
    except ValueError as exc:
        raise ModelFileError(f"Cannot load {path}: its {_MANIFEST} is damaged ({exc}).") from None
    version = manifest.get("format_version") if isinstance(manifest, dict) else None
    if manifest.get("format") != _FORMAT or not isinstance(version, int):
        raise ModelFileError(f"Cannot load {path}: its {_MANIFEST} is not a model manifest.")
    if version > FORMAT_VERSION:
        writer = manifest.get("versions", {}).get("sklearn_bsym", "a newer version")
        raise ModelFileError(
            f"Cannot load {path}: it was written in model format {version} by sklearn_bsym "
            f"{writer}; this sklearn_bsym {__version__} reads format {FORMAT_VERSION} and "
            "older. Upgrade: pip install -U sklearn-bsym."
        )
    return manifest


def load_model(path):
    """Read a model written by :func:`save_model`; reading it runs no code from the file.

    Only this library's estimators, scikit-learn's and skops' trusted containers and arrays are
    rebuilt; a file holding any other type, or a pickle payload, or written in a newer model
    format, is refused with a :class:`ModelFileError` that names the file and what was found.

    Parameters
    ----------
    path : str or os.PathLike
        The model file.

    Returns
    -------
    estimator
        The estimator as it was saved; its predictions are bit for bit those of the saved one.
    """
    import skops.io
    from skops.io.exceptions import UntrustedTypesFoundException

    path = Path(path)
    with _open_archive(path) as archive:
        manifest = _manifest(path, archive)
        trusted = _trusted_types()
        try:
            encoded = skops.io.load(path, trusted=trusted)
        except UntrustedTypesFoundException:
            found = sorted(set(skops.io.get_untrusted_types(file=path)) - set(trusted))
            raise ModelFileError(
                f"Cannot load {path}: it holds type(s) {found} that a model file of this library "
                "never holds; it is refused and nothing in it was run."
            ) from None
        except Exception as exc:  # zip, JSON and array errors of a damaged file
            raise ModelFileError(
                f"Cannot load {path}: it is damaged ({type(exc).__name__}: {exc})."
            ) from None
    def refuse_old_network(saved: SavedNetwork) -> None:
        if saved.state is not None and manifest["format_version"] < _NETWORK_INPUTS_FORMAT:
            writer = manifest.get("versions", {}).get("sklearn_bsym", "an older version")
            raise ModelFileError(
                f"Cannot load {path}: its network {saved.cls.rsplit('.', 1)[-1]} was trained "
                f"by sklearn_bsym {writer} (model format {manifest['format_version']}) on "
                "momenta divided by 100 GeV; this version's networks read them on a log scale "
                "(one tail event cannot collapse a fit), so those weights would score wrongly. "
                f"Refit it with this version, or score with sklearn_bsym {writer}."
            )

    return _decode(encoded, _derived_attributes(), refuse_old_network)


def _decode(obj, derived, check_network):
    """The inverse of :func:`_encode`, in place on the freshly loaded objects
    (``check_network`` sees each :class:`SavedNetwork` first)."""
    if isinstance(obj, SavedNetwork):
        check_network(obj)
        return _network(obj)
    if isinstance(obj, BaseEstimator):
        for k, v in list(vars(obj).items()):
            setattr(obj, k, _decode(v, derived, check_network))
        for attribute, rebuild in derived.get(type(obj), {}).items():
            try:
                setattr(obj, attribute, rebuild(obj))
            except AttributeError:  # not fitted: nothing to rebuild
                pass
        return obj
    if isinstance(obj, list):
        return [_decode(v, derived, check_network) for v in obj]
    if type(obj) is tuple:
        return tuple(_decode(v, derived, check_network) for v in obj)
    if isinstance(obj, dict):
        return {k: _decode(v, derived, check_network) for k, v in obj.items()}
    return obj


def _network(saved: SavedNetwork):
    import warnings

    import torch
    from skorch.history import History

    cls = _network_classes().get(saved.cls)
    if cls is None:  # trusted by the audit, but only known networks are built
        raise ModelFileError(f"The model file names an unknown network class {saved.cls!r}.")
    params = dict(saved.params)
    device = params.get("device", "cpu")
    if str(device).startswith("cuda") and not torch.cuda.is_available():
        warnings.warn(f"The network was saved with device={device!r}, but CUDA is not "
                      "available here; it is loaded on the CPU.", UserWarning, stacklevel=4)
        params["device"] = "cpu"
    net = cls(**params)
    if saved.state is None:
        return net
    fitted = dict(saved.fitted)
    history = json.loads(fitted.pop("history"))
    for name, value in fitted.items():
        setattr(net, name, value)
    net.initialize()  # builds the module for n_features_in_, on device_
    net.module_.load_state_dict({k: torch.from_numpy(np.asarray(v)) for k, v in
                                 saved.state.items()})
    net.module_.eval()
    net.history = History(history)
    return net
