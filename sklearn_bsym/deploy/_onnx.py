"""ONNX export of the networks, for ONNX Runtime and ROOT's SOFIE in the experiments' frameworks."""

from __future__ import annotations

import contextlib
import copy
import logging
import warnings
from pathlib import Path

import torch

from .._files import replace_atomically

__all__ = ["to_onnx", "ONNX_INPUT", "ONNX_OUTPUT"]

#: The graph's input: float32 events ``(n_events, 4 * n_particles)``, (px, py, pz, E) in GeV
#: per particle, the positive lepton first (the canonical layout of :mod:`sklearn_bsym.events`).
ONNX_INPUT = "events"
#: The graph's output: float32 ``(n_events,)``, the signal probability.
ONNX_OUTPUT = "signal_probability"


def _signal_module(model):
    """(a torch module mapping events to the signal probability, the events' width) of a
    fitted network, ensemble, or model that classifies with one after its measurement."""
    from sklearn.pipeline import Pipeline
    from sklearn.utils.validation import check_is_fitted

    from ..nn import NETWORK_CLASSIFIERS, EnsembleClassifier
    from ..preprocessing import PtReweightedClassifier
    from ._persist import _describe
    from ._score import measured_model

    net = measured_model(model)
    while True:  # the classifier inside what the measured model wraps without changing X
        if isinstance(net, PtReweightedClassifier):
            net = net.estimator_
        elif isinstance(net, Pipeline) and len(net) == 1:
            net = net[-1]
        else:
            break
    if isinstance(net, NETWORK_CLASSIFIERS):
        net.check_is_fitted()
        n_members = 1
    elif isinstance(net, EnsembleClassifier):
        check_is_fitted(net, "members_")
        n_members = len(net.members_)
    else:
        raise TypeError(
            f"to_onnx exports the networks of sklearn_bsym.nn (PFNClassifier, "
            f"InvariantClassifier, HybridClassifier, EnsembleClassifier), alone or after their "
            f"measurement; the model classifies with {_describe(net)}. (Export scikit-learn "
            "models with skl2onnx.)"
        )
    # A CPU copy in eval mode: BatchNorm frozen at its running statistics, dropout off.
    module = copy.deepcopy(net.module_).to("cpu", torch.float32).eval()
    return _SignalProbability(module, n_members).eval(), int(net.n_features_in_)


class _SignalProbability(torch.nn.Module):
    """Events -> signal probability: sigmoid of the network's logit; for an ensemble of K
    stacked members, the mean of the members' probabilities (as ``predict_proba``)."""

    def __init__(self, module, n_members: int):
        super().__init__()
        self.module = module
        self.n_members = n_members

    def forward(self, x):
        # x: (N, 4 * P) float32 [px, py, pz, E] per particle in GeV -> (N,)
        if self.n_members == 1:
            return torch.sigmoid(self.module(x))
        # The stacked module takes member-major rows: each member's copy of the events.
        logits = self.module(x.repeat(self.n_members, 1)).reshape(self.n_members, x.shape[0])
        return torch.sigmoid(logits).mean(0)


@contextlib.contextmanager
def _quiet_export():
    """torch's exporter logs the optional packages it lacks (torchvision) and warns of its own
    internals' deprecations; none of them concerns the user's export."""
    logger = logging.getLogger("torch.onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            # Only torch's and onnxscript's code runs here (and the network's forward).
            for category in (DeprecationWarning, FutureWarning):
                warnings.simplefilter("ignore", category)
            yield
    finally:
        logger.setLevel(level)


def to_onnx(model, path, *, opset_version=18) -> Path:
    """Export a fitted network to ONNX: float32 events in, the signal probability out.

    The graph holds everything the network does to the events (its input scaling, pT, eta
    and the Lorentz invariants are computed inside the torch modules), in evaluation mode
    (BatchNorm at its running statistics). It reads the canonical events, float32
    ``(n_events, 4 * n_particles)`` named ``"events"`` (``ONNX_INPUT``) with a dynamic batch
    axis, and returns the float32 signal probability ``(n_events,)`` named
    ``"signal_probability"`` (``ONNX_OUTPUT``), as ``predict_proba(X)[:, 1]`` (an
    :class:`~sklearn_bsym.nn.EnsembleClassifier`: the mean of its members'). Run it in ONNX
    Runtime or compile it with ROOT's SOFIE.

    Parameters
    ----------
    model : fitted estimator
        :class:`~sklearn_bsym.nn.PFNClassifier`, :class:`~sklearn_bsym.nn.InvariantClassifier`,
        :class:`~sklearn_bsym.nn.HybridClassifier` or :class:`~sklearn_bsym.nn.EnsembleClassifier`,
        alone or in a :class:`~sklearn_bsym.preprocessing.PtReweightedClassifier` or a pipeline
        that measures first (the measurement is left out, see :func:`measured_model`: the
        graph scores measured events).
    path : str or os.PathLike
        The ``.onnx`` file to write.
    opset_version : int, default=18
        The ONNX operator set.

    Returns
    -------
    pathlib.Path
        The path written.

    Notes
    -----
    Needs the ``onnx`` extra (``pip install "sklearn-bsym[onnx]"``: onnx, onnxscript for
    torch's exporter, onnxruntime to run the graph). The export uses torch's ``torch.export``
    based exporter (``dynamo=True``); the older TorchScript exporter has no ``asinh``, which
    the hybrid's pseudorapidity needs. ONNX Runtime and torch add float32 numbers in different
    orders: their probabilities agree to a few times 1e-6 (median 1e-7 to 1e-6); a network
    whose BatchNorm amplifies rounding differs more (4e-5 at most for a default hybrid on
    100,000 events, as much as torch's float32 differs from its float64 evaluation; see the
    user guide's "Scoring measured data").
    """
    try:
        import onnx
        import onnxscript  # noqa: F401  (torch's exporter needs it)
    except ImportError as exc:
        raise ImportError(f"to_onnx needs the onnx extra ({exc.name} is missing): "
                          'pip install "sklearn-bsym[onnx]"') from None
    from .. import __version__

    path = Path(path)
    module, n_features = _signal_module(model)
    example = torch.zeros(2, n_features)
    with _quiet_export():
        program = torch.onnx.export(
            module, (example,), input_names=[ONNX_INPUT], output_names=[ONNX_OUTPUT],
            dynamic_shapes=({0: torch.export.Dim("n_events")},), opset_version=opset_version,
            dynamo=True, verbose=False, external_data=False)
    graph = program.model_proto
    graph.doc_string = (
        f"{type(model).__name__} from sklearn_bsym {__version__}. Input '{ONNX_INPUT}': float32 "
        f"(n_events, {n_features}), (px, py, pz, E) in GeV of each of {n_features // 4} "
        f"particles, the positive lepton first. Output '{ONNX_OUTPUT}': float32 (n_events,), "
        "the signal probability."
    )
    onnx.helper.set_model_props(graph, {"sklearn_bsym_version": __version__,
                                        "n_particles": str(n_features // 4)})
    # Written whole or not at all, never through a link (see _files.atomic_output).
    replace_atomically(path, graph.SerializeToString())
    return path
