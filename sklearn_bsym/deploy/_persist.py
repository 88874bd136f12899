"""Model files whose loading cannot run code: skops archives of this library's estimators.

A model file is a zip archive: ``schema.json`` and ``.npy`` arrays written by :mod:`skops.io`
(loaded with ``allow_pickle=False``), plus ``sklearn_bsym.json``, this library's manifest (the
format version, the versions that wrote it, the estimator's description, the part of it that
scores measured events and the smearing left out of that part, and the user's metadata). skops
rebuilds objects only of the types it is told to trust; :func:`load_model` trusts this
library's estimators, a few scikit-learn types, and the plain containers and arrays skops
trusts by default, and refuses any other type by name before anything is constructed.

Loading reads no more than a model file holds and checks everything before anything computes
(``_archive``: the file and its members within caps; ``_checks``: every estimator's type,
parameters and widths, a gradient-boosted tree's node and feature indices, a network's sizes
and weights against a network of its parameters built without memory, and a prediction on two
events); the manifest must describe what was loaded. Every refusal is a
:class:`ModelFileError` of one line naming the file.

Format 2 (this version) records the measured part (see :func:`measured_model`): a model fitted
on smeared events, ``Pipeline([("smear", MomentumSmearer(...)), ("clf", ...)])``, is stored
whole, and :func:`load_model` returns the part that scores measured events, so that
``load_model(path).predict_proba(X_measured)`` never smears measured events a second time.
Format-1 files load the same way (with a warning where they hold a smearing step).

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
import io
import json
import warnings
import zipfile
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator

from .._files import remove_stale_temporaries, replace_atomically
from ._archive import (
    MANIFEST,
    MAX_MANIFEST_BYTES,
    MAX_SCHEMA_BYTES,
    SCHEMA,
    ModelFileError,
    one_line,
    read_archive,
    refuse,
    shown,
)
from ._checks import (
    NETWORK_FITTED,
    Unfit,
    check_network_fitted,
    check_network_state,
    check_objects,
    check_predicts,
    foreign_types,
    library_types,
)

__all__ = ["save_model", "load_model", "read_model_info", "ModelFileError", "FORMAT_VERSION"]

#: The model-file format this version writes; :func:`load_model` reads it and older ones.
#: Raise it when a change makes files that an older sklearn_bsym would misread. 2: the manifest
#: records the measured part and its smearing, and loading returns the measured part; networks
#: read momenta through ``nn.momentum_inputs`` (a log scale) and single-particle masses above
#: their rounding floor, so the weights of a network in a format-1 file (trained on momenta
#: divided by 100 GeV) would score wrongly here and are refused.
FORMAT_VERSION = 2
_NETWORK_INPUTS_FORMAT = 2
_FORMAT = "sklearn-bsym model"
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
    from ..nn import NETWORK_CLASSIFIERS

    return {f"{c.__module__}.{c.__qualname__}": c for c in NETWORK_CLASSIFIERS}


def _trusted_types() -> list[str]:
    """The types a model file may hold besides skops' defaults: this library's public
    estimators and parameter objects (``_checks.library_types``: a new one is trusted as soon
    as it is public), :class:`SavedNetwork` and ``_SKLEARN_TRUSTED``."""
    return sorted({f"{SavedNetwork.__module__}.{SavedNetwork.__qualname__}", *_SKLEARN_TRUSTED,
                   *library_types()})


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
    fitted = {k: getattr(net, k) for k in NETWORK_FITTED if hasattr(net, k)}
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

    from ..nn import NETWORK_CLASSIFIERS

    if isinstance(obj, NETWORK_CLASSIFIERS):
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


def _measured(model) -> tuple[object, list]:
    """The part of ``model`` that scores measured events and its smearing steps left out,
    ``(part, [(name, step), ...])`` (see :func:`measured_model`); an unfitted model is its own
    part."""
    from sklearn.exceptions import NotFittedError

    from ..preprocessing import split_measurement

    try:
        steps, part, _ = split_measurement(model)
    except NotFittedError:
        return model, []
    return part, steps


def _json_safe(value):
    """A step's parameter as the manifest records it: JSON as it is, an object with
    parameters (a detector model) as its class and parameters, else its repr."""
    if callable(getattr(value, "get_params", None)) and not isinstance(value, type):
        return {"estimator": type(value).__name__,
                "params": {k: _json_safe(v) for k, v in value.get_params(deep=False).items()}}
    try:
        return json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError):
        return repr(value)


def _measured_entry(model) -> dict:
    """The manifest's ``measured``: the description of the part that scores measured events,
    the names of the steps left out, and each one's class and parameters."""
    part, steps = _measured(model)
    return {
        "estimator": _describe(part),
        "skipped": [name for name, _ in steps],
        "smearing": [{"step": name, "estimator": type(step).__name__,
                      "params": {k: _json_safe(v) for k, v in
                                 step.get_params(deep=False).items()}}
                     for name, step in steps],
    }


def save_model(estimator, path, *, metadata=None) -> Path:
    """Write a fitted (or unfitted) estimator to a model file whose loading cannot run code.

    Any estimator or pipeline of this library saves: the three networks,
    :class:`~sklearn_bsym.nn.EnsembleClassifier`, :class:`~sklearn_bsym.preprocessing.\
PtReweightedClassifier`, pipelines with the library's transformers and scikit-learn's
    ``HistGradientBoostingClassifier`` (the study's models and what ``python -m sklearn_bsym
    fit`` writes). Read it back with :func:`load_model`.

    A model that smears first (a pipeline starting with
    :class:`~sklearn_bsym.preprocessing.MomentumSmearer`, as ``fit --resolution`` trains) is
    stored whole, and the manifest records the part that scores measured events
    (:func:`measured_model`) and the smearing steps left out of it, with their parameters:
    :func:`load_model` returns that part, so that measured events are never smeared twice.

    The file is written through a temporary file of this call's own in the same folder,
    renamed into place once complete: a reader sees the old file or the new one, two runs
    writing one path never mix, and a symbolic link at ``path`` is replaced, never followed.

    Parameters
    ----------
    estimator : estimator
        The model to save. Objects :func:`load_model` would refuse (a type from outside this
        library and the scikit-learn types its models hold, such as a skorch callback, a user's
        own torch module or another scikit-learn estimator) are refused here, by name, so that
        every file written loads.
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
        info = {"metadata": json.loads(json.dumps(metadata if metadata is not None else {},
                                                  allow_nan=False))}
    except (TypeError, ValueError) as exc:
        raise ValueError(f"metadata must be JSON-serializable ({exc}).") from None
    if not isinstance(info["metadata"], dict):
        raise ValueError(f"metadata must be a dict, got {type(metadata).__name__}.")
    foreign = foreign_types(estimator)
    if foreign:
        raise ValueError(
            f"Cannot save the {type(estimator).__name__}: it holds estimator(s) of type(s) "
            f"{foreign}, which model files do not hold (they hold this library's estimators, "
            "pipelines and HistGradientBoostingClassifier, whose arrays load_model checks)."
        )
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
                "estimator": _describe(estimator), "measured": _measured_entry(estimator),
                "versions": _versions(), **info}
    text = json.dumps(manifest, indent=1).encode()
    buffer = io.BytesIO(data)
    with zipfile.ZipFile(buffer, "a", zipfile.ZIP_DEFLATED) as archive:
        schema = archive.getinfo(SCHEMA).file_size
        archive.writestr(MANIFEST, text)
    for what, size, cap in (("its metadata", len(text), MAX_MANIFEST_BYTES),
                            ("its description (skops' schema)", schema, MAX_SCHEMA_BYTES)):
        if size > cap:
            raise ValueError(f"Cannot save the {type(estimator).__name__}: {what} takes "
                             f"{size:,} bytes, more than a model file holds ({cap:,}), so "
                             "load_model would refuse the file.")
    remove_stale_temporaries(path)
    try:
        replace_atomically(path, buffer.getvalue())
    except OSError as exc:
        raise OSError(f"Cannot write the model to {path}: {exc.strerror or exc}.") from exc
    return path


# -- reading ----------------------------------------------------------------------------------
def read_model_info(path) -> dict:
    """The manifest of a model file, without loading the model.

    The file is read within the bounds that :func:`load_model` reads it in; the manifest's
    agreement with the model is checked by :func:`load_model` only.

    Returns
    -------
    dict
        ``format``, ``format_version``, ``estimator`` (a one-line description of the model as
        saved), ``measured`` (format 2: ``estimator``, the description of the part that
        scores measured events, which :func:`load_model` returns; ``skipped``, the names of
        the smearing steps left out of it; ``smearing``, their classes and parameters),
        ``versions`` (of sklearn_bsym, scikit-learn, torch, skops and numpy that wrote it) and
        ``metadata`` (what :func:`save_model` was given).
    """
    path = Path(path)
    return _manifest(path, read_archive(path, manifest_only=True).manifest)


def _no_constant(text: str):
    raise ValueError(f"it holds the non-JSON number {text}")


def _manifest(path: Path, raw: bytes) -> dict:
    from .. import __version__

    try:
        manifest = json.loads(raw.decode("utf-8"), parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:
        raise refuse(path, f"its {MANIFEST} is damaged ({one_line(exc)})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != _FORMAT:
        raise refuse(path, f"its {MANIFEST} is not a model manifest (no \"format\": "
                           f"\"{_FORMAT}\")")
    version = manifest.get("format_version")
    if type(version) is not int or version < 1:
        raise refuse(path, f"its {MANIFEST} gives the format version {shown(version)}, not a "
                           "positive integer")
    if version > FORMAT_VERSION:
        versions = manifest.get("versions")
        writer = versions.get("sklearn_bsym") if isinstance(versions, dict) else None
        writer = shown(writer) if isinstance(writer, str) else "a newer version"
        raise refuse(
            path, f"it was written in model format {version} by sklearn_bsym "
                  f"{writer.strip(chr(39))}; this sklearn_bsym {__version__} reads format "
                  f"{FORMAT_VERSION} and older. Upgrade: pip install -U sklearn-bsym")
    problem = _manifest_problem(manifest, version)
    if problem:
        raise refuse(path, f"its {MANIFEST} is not a model manifest ({problem})")
    return manifest


def _manifest_problem(manifest: dict, version: int) -> str | None:
    """What a manifest of ``version`` lacks (None: nothing)."""
    versions = manifest.get("versions")
    if not isinstance(manifest.get("estimator"), str):
        return "'estimator' is not a description"
    if not isinstance(versions, dict) or not all(isinstance(v, str)
                                                 for v in versions.values()):
        return "'versions' is not a table of version strings"
    if not isinstance(versions.get("sklearn_bsym"), str):
        return "'versions' lacks sklearn_bsym"
    if not isinstance(manifest.get("metadata", {}), dict):
        return "'metadata' is not a table"
    if version >= 2:
        measured = manifest.get("measured")
        if not (isinstance(measured, dict) and isinstance(measured.get("estimator"), str)
                and isinstance(measured.get("skipped"), list)
                and all(isinstance(s, str) for s in measured["skipped"])
                and isinstance(measured.get("smearing"), list)):
            return "'measured' does not describe the measured part"
    return None


def load_model(path, *, measured=True, return_info=False):
    """Read a model written by :func:`save_model`; reading it runs no code from the file.

    Only this library's estimators, the scikit-learn types its models hold, and skops'
    trusted containers and arrays are rebuilt; a file holding any other type, or a pickle
    payload, or written in a newer model format, is refused with a :class:`ModelFileError`
    that names the file and what was found. The file is read within bounds (a regular file of
    at most 256 MB; members capped before they are inflated), and every array is checked
    against the model it belongs to before anything computes: a crafted file is refused in
    one line, never crashes the process or fills its memory (see the module notes and the
    user guide's "Scoring measured data").

    Parameters
    ----------
    path : str or os.PathLike
        The model file.
    measured : bool, default=True
        Return the part of the model that scores *measured* events (:func:`measured_model`):
        a model fitted with smearing steps (``fit --resolution``) comes without them, so that
        ``load_model(path).predict_proba(X_measured)`` is right; the manifest names the steps
        left out (:func:`read_model_info`). False: the model as it was saved, smearing
        included (to evaluate it on truth-level simulation, as it was fitted).
    return_info : bool, default=False
        Also return the file's manifest, as :func:`read_model_info` gives it, from the same
        read of the file (the manifest shown is the one checked against the model).

    Returns
    -------
    estimator
        The model (or its measured part); its predictions are bit for bit those of the saved
        one (of its measured part).
    info : dict
        With ``return_info``: the manifest.

    Warns
    -----
    UserWarning
        A file of model format 1 whose model smears: its measured part is returned, as for
        format 2 (format 1 did not record it; save the model again to update the file).
    """
    model, info = _load(path, measured=measured)
    return (model, info) if return_info else model


def _load(path, *, measured=True) -> tuple[object, dict]:
    """The loaded model (its measured part with ``measured``) and the manifest, its
    ``measured`` entry filled in for files of format 1."""
    import skops.io
    from skops.io.exceptions import UntrustedTypesFoundException

    path = Path(path)
    archive = read_archive(path)
    manifest = _manifest(path, archive.manifest)
    trusted = _trusted_types()
    data = archive.skops_bytes()
    try:
        encoded = skops.io.loads(data, trusted=trusted)
    except UntrustedTypesFoundException:
        found = sorted(set(skops.io.get_untrusted_types(data=data)) - set(trusted))
        raise refuse(path, f"it holds type(s) {found} that a model file of this library never "
                           "holds; it is refused and nothing in it was run") from None
    except RecursionError:
        raise refuse(path, "it is nested too deeply to be a model") from None
    except Exception as exc:  # zip, JSON and array errors of a damaged file
        raise refuse(path, f"it is damaged ({one_line(exc)})") from None

    def refuse_old_network(saved: SavedNetwork) -> None:
        if saved.state is not None and manifest["format_version"] < _NETWORK_INPUTS_FORMAT:
            writer = manifest.get("versions", {}).get("sklearn_bsym", "an older version")
            raise Unfit(
                f"its network {saved.cls.rsplit('.', 1)[-1]} was trained by sklearn_bsym "
                f"{writer} (model format {manifest['format_version']}) on momenta divided by "
                "100 GeV; this version's networks read them on a log scale (one tail event "
                "cannot collapse a fit), so those weights would score wrongly. Refit it with "
                f"this version, or score with sklearn_bsym {writer}")

    try:
        model = _decode(encoded, _derived_attributes(), refuse_old_network)
        if not isinstance(model, BaseEstimator):
            raise Unfit(f"it holds a {type(model).__name__}, not an estimator")
        check_objects(model)
        part, steps = _measured(model)
        _check_agreement(manifest, model, part, steps)
        check_predicts(part)
    except Unfit as exc:
        raise refuse(path, str(exc)) from None
    except RecursionError:
        raise refuse(path, "it is nested too deeply to be a model") from None
    except Exception as exc:  # anything else that does not fit together
        raise refuse(path, f"its parts do not fit together ({one_line(exc)})") from None
    if "measured" not in manifest:  # format 1
        manifest = {**manifest, "measured": _measured_entry(model)}
        if steps and measured:
            names = ", ".join(repr(name) for name, _ in steps)
            warnings.warn(
                f"Model file {path} is of model format 1, which did not record the smearing "
                f"step(s) {names} of its model: load_model returns the part that scores "
                "measured events, without them, as for files of format 2 (measured=False "
                "gives the whole model). Save the model again to update the file.",
                UserWarning, stacklevel=3)
    return (part if measured else model), manifest


def _check_agreement(manifest: dict, model, part, steps) -> None:
    """The manifest describes what was loaded, or :class:`Unfit` says how it differs."""
    described = _describe(model)
    if manifest["estimator"] != described:
        raise Unfit(f"its manifest describes the model as {shown(manifest['estimator'], 200)}, "
                    f"but the file holds {shown(described, 200)}")
    entry = manifest.get("measured")
    if entry is not None and (entry["estimator"] != _describe(part)
                              or entry["skipped"] != [name for name, _ in steps]):
        raise Unfit(f"its manifest describes the measured part as "
                    f"{shown(entry['estimator'], 200)} after leaving out "
                    f"{shown(entry['skipped'])}, but the model's is "
                    f"{shown(_describe(part), 200)} after {shown([name for name, _ in steps])}")


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
    """The network a :class:`SavedNetwork` describes, built only once its parameters, fitted
    attributes and weights are checked (``_checks``): nothing is allocated for sizes the saved
    weights do not have."""
    import torch
    from skorch.history import History

    cls = _network_classes().get(saved.cls) if isinstance(saved.cls, str) else None
    if cls is None:  # trusted by the audit, but only known networks are built
        raise Unfit(f"it names an unknown network class {shown(saved.cls)}")
    if not isinstance(saved.params, dict) or not all(isinstance(k, str) for k in saved.params):
        raise Unfit(f"its {cls.__name__}'s parameters are not a table")
    params = dict(saved.params)
    state, fitted = saved.state, saved.fitted
    n_arrays = len(state) if isinstance(state, dict) else 0
    net_params = dict(params)
    device = params.get("device", "cpu")
    if isinstance(device, str) and device.startswith("cuda") and not torch.cuda.is_available():
        net_params["device"] = "cpu"
    try:
        net = cls(**net_params)
    except TypeError as exc:
        raise Unfit(f"its {cls.__name__} has parameters its class does not take "
                    f"({one_line(exc)})") from None
    history = None
    if state is not None or fitted:
        history = check_network_fitted(net, params, fitted if isinstance(fitted, dict) else {},
                                       n_arrays)
    net._check_params()  # scikit-learn's constraints, as a fit checks them
    if net_params.get("device") != params.get("device"):
        warnings.warn(f"The network was saved with device={device!r}, but CUDA is not "
                      "available here; it is loaded on the CPU.", UserWarning, stacklevel=4)
    if history is None:
        return net
    check_network_state(net, state)
    net.initialize()  # builds the module for n_features_in_, on device_
    net.module_.load_state_dict({k: torch.from_numpy(np.asarray(v)) for k, v in state.items()})
    net.module_.eval()
    net.history = History(history)
    return net
