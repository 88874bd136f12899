"""pT reweighting: background weights that make its pT spectrum match the signal's, leak-free."""

from __future__ import annotations

import warnings
from numbers import Integral

import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    MetaEstimatorMixin,
    _fit_context,
    clone,
)
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import Pipeline
from sklearn.utils import _safe_indexing
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from .. import kinematics
from .._random import check_random_state
from ..events import (
    check_labels,
    check_sample_weight,
    feature_names,
    to_particles,
    validate_events,
)

__all__ = [
    "PtReweighter",
    "PtReweightedClassifier",
    "pt_weighted_roc_auc",
    "weighted_roc_auc",
    "roc_auc_contributions",
    "signal_score",
    "split_measurement",
]


def _pt_variable(X: np.ndarray, variable: str) -> np.ndarray:
    """The pT (GeV, float64) that the reweighting bins, one value per event."""
    particles = to_particles(X)
    if variable == "first":
        return kinematics.pt(particles[:, 0, :])
    if variable == "leading":
        return kinematics.pt(particles).max(axis=1)
    return kinematics.pt(kinematics.system(particles))


#: ``n_bins="auto"``: the paper's number of bins, and at least this many training events per bin
#: on smaller samples.
_PAPER_BINS = 100
_EVENTS_PER_BIN = 5


class PtReweighter(BaseEstimator):
    """Background weights that make the background pT spectrum match the signal's.

    ``fit`` histograms a pT variable per class; :meth:`compute_sample_weight` gives every signal
    event weight 1 and every background event the ratio signal density / background density
    in its bin, scaled so that both classes carry equal total weight (user guide:
    :ref:`physics-reweighting`).
    Fit it on *measured* (smeared) events, and on the training fold only:
    :class:`PtReweightedClassifier` and :func:`pt_weighted_roc_auc` do both.

    Parameters
    ----------
    variable : {"first", "leading", "dimuon"}, default="first"
        The binned pT: of the first particle (the paper), of the leading (highest-pT) particle,
        or of the whole system (zero for every event at leading order: use it only with a
        boson pT spectrum).
    n_bins : int or "auto", default="auto"
        Number of bins. ``"auto"``: the paper's 100, or one per 5 training events where they
        are fewer than 500 (so that a small sample, a control region, still has bins that hold
        both classes). Ignored when ``binning`` is an array of edges.
    binning : {"quantile", "uniform"} or array-like of edges, default="quantile"
        ``"quantile"``: edges at quantiles of the pooled (both classes) training pT, so every
        bin holds the same number of training events. It is the default because the spectra
        are steep: the signal has a sharp Jacobian peak near m_Z / 2 and the background a long
        tail to several hundred GeV. Equal-width bins over that range leave the tail bins with
        a handful of background events (noisy, huge weights) and put few bins across the peak;
        quantile bins give every ratio about the same statistical error. ``"uniform"``: equal
        widths over the training range (the authors' ``numpy.histogram`` choice). An array:
        strictly increasing edges in GeV (``inf`` allowed).
    random_state : int, RandomState instance or None, default=None
        Seed of the resampling in :meth:`fit_resample`.

    Attributes
    ----------
    bin_edges_ : ndarray of shape ``(n_bins_ + 1,)``
    signal_counts_, background_counts_ : ndarray of shape ``(n_bins_,)``
        Training events per bin and class.
    density_ratio_ : ndarray of shape ``(n_bins_,)``
        Signal density / background density per bin (0 where the background is empty).
    n_features_in_ : int
    feature_names_in_ : ndarray of str

    Notes
    -----
    Events outside ``[bin_edges_[0], bin_edges_[-1]]`` get weight 0, and so do background
    events in a bin without training background (their ratio is undefined); each case raises a
    ``UserWarning`` that counts them. Weights are never NaN or inf.

    :meth:`fit_resample` follows the imbalanced-learn sampler API (duck-typed: imbalanced-learn
    stays optional), so the paper's procedure, weighted sampling with replacement, fits in an
    ``imblearn.pipeline.Pipeline``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_bsym.preprocessing import PtReweighter
    >>> def event(pt):  # two massless back-to-back muons in the transverse plane
    ...     return [pt, 0.0, 0.0, pt, -pt, 0.0, 0.0, pt]
    >>> X = np.array([event(20.0), event(40.0), event(20.0), event(20.0), event(40.0)])
    >>> y = np.array([1, 1, 0, 0, 0])
    >>> rw = PtReweighter(binning=[10.0, 30.0, 50.0]).fit(X, y)
    >>> rw.compute_sample_weight(X, y)
    array([1. , 1. , 0.5, 0.5, 1. ])
    """

    _parameter_constraints: dict = {
        "variable": [StrOptions({"first", "leading", "dimuon"})],
        "n_bins": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "binning": [StrOptions({"quantile", "uniform"}), "array-like"],
        "random_state": ["random_state"],
    }

    def __init__(self, *, variable="first", n_bins="auto", binning="quantile",
                 random_state=None):
        self.variable = variable
        self.n_bins = n_bins
        self.binning = binning
        self.random_state = random_state

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Histogram the pT variable of each class.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_events, 4 * n_particles)
            Measured events in the canonical layout.
        y : array-like of shape (n_events,)
            0 = background, 1 = signal; both classes required.

        Returns
        -------
        self
        """
        X, y = validate_events(self, X, y, reset=True)
        return self._fit(X, y)

    def _fit(self, X: np.ndarray, y: np.ndarray):
        value = _pt_variable(X, self.variable)
        self.bin_edges_ = self._edges(value)
        n_bins = self.bin_edges_.size - 1
        index, _ = self._bin_index(value)
        inside = index >= 0
        self.signal_counts_ = np.bincount(index[inside & (y == 1)], minlength=n_bins)
        self.background_counts_ = np.bincount(index[inside & (y == 0)], minlength=n_bins)
        sig = self.signal_counts_ / max(self.signal_counts_.sum(), 1)
        bkg = self.background_counts_ / max(self.background_counts_.sum(), 1)
        self.density_ratio_ = np.divide(sig, bkg, out=np.zeros(n_bins), where=bkg > 0)
        if not np.any(self.density_ratio_ > 0):
            raise ValueError(
                "No bin holds both signal and background training events, so no background "
                f"event can be reweighted. Check the binning ({self.bin_edges_.size - 1} bins "
                f"from {self.bin_edges_[0]:.4g} to {self.bin_edges_[-1]:.4g} GeV) against the "
                "pT range of both classes."
            )
        return self

    def _edges(self, value: np.ndarray) -> np.ndarray:
        if not isinstance(self.binning, str):
            edges = np.asarray(self.binning, dtype=np.float64)
            if edges.ndim != 1 or edges.size < 2 or np.isnan(edges).any():
                raise ValueError(
                    f"binning edges must be a 1-D array of at least 2 numbers, got shape "
                    f"{edges.shape}{' with NaN' if np.isnan(edges).any() else ''}."
                )
            if np.any(np.diff(edges) <= 0):
                raise ValueError(
                    "binning edges must be strictly increasing; sort them and drop duplicates "
                    "(numpy.unique)."
                )
            return edges
        if value.min() == value.max():
            raise ValueError(
                f"The pT variable {self.variable!r} takes the single value {value.min():.6g} GeV "
                "on the training events, so it cannot be binned. At leading order the 'dimuon' "
                "pT is 0 for every event: use variable='first' (or generate events with a boson "
                "pT spectrum)."
            )
        n_bins = (min(_PAPER_BINS, max(1, value.size // _EVENTS_PER_BIN))
                  if isinstance(self.n_bins, str) else self.n_bins)
        if self.binning == "uniform":
            return np.linspace(value.min(), value.max(), n_bins + 1)
        # Ties (e.g. many identical values) give repeated quantiles: merge them.
        return np.unique(np.quantile(value, np.linspace(0.0, 1.0, n_bins + 1)))

    def _bin_index(self, value: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Bin of each value (-1 outside the edges; the last edge is inside) and the mask of
        out-of-range values."""
        edges = self.bin_edges_
        index = np.searchsorted(edges, value, side="right") - 1
        index[value == edges[-1]] = edges.size - 2
        outside = (value < edges[0]) | (value > edges[-1])
        index[outside] = -1
        return index, outside

    def compute_sample_weight(self, X, y):
        """Per-event weights: 1 for signal, the binned density ratio for background.

        Background weights are scaled so that the background's total weight equals the
        signal's (in-range events) on the events given.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_events, 4 * n_particles)
        y : array-like of shape (n_events,)

        Returns
        -------
        ndarray of shape (n_events,), float64, finite and >= 0
        """
        check_is_fitted(self)
        X, y = validate_events(self, X, y, reset=False)
        return self._weights(X, y)

    def density_ratio(self, X) -> np.ndarray:
        """Unnormalised background weight of each event: the fitted signal/background density
        ratio in its pT bin, 0 outside the bins or in bins without training background.

        It is a function of the measured event alone (no labels), e.g. for the Bayes-optimal
        discriminant of the weighted problem (:func:`sklearn_bsym.optimal.optimal_discriminant`);
        :meth:`compute_sample_weight` scales it so that both classes carry equal weight.
        """
        check_is_fitted(self)
        X = validate_events(self, X, reset=False)
        index, outside = self._bin_index(_pt_variable(X, self.variable))
        return np.where(outside, 0.0, self.density_ratio_[index])

    def _weights(self, X: np.ndarray, y: np.ndarray) -> np.ndarray:
        index, outside = self._bin_index(_pt_variable(X, self.variable))
        if outside.any():
            warnings.warn(
                f"{int(outside.sum())} of {outside.size} event(s) have pT outside the fitted "
                f"bins [{self.bin_edges_[0]:.4g}, {self.bin_edges_[-1]:.4g}] GeV and get weight "
                "0. Fit the reweighter on the events it weights, or pass wider binning edges.",
                UserWarning,
                stacklevel=3,
            )
        background = y == 0
        empty = background & ~outside & (self.background_counts_[index] == 0)
        if empty.any():
            warnings.warn(
                f"{int(empty.sum())} background event(s) fall in bins without training "
                "background and get weight 0. Use fewer bins or fit on more events.",
                UserWarning,
                stacklevel=3,
            )
        weight = np.where(background, self.density_ratio_[index], 1.0)
        weight[outside] = 0.0
        total_signal = weight[~background].sum()
        total_background = weight[background].sum()
        if total_signal == 0 or total_background == 0:
            cls = "signal" if total_signal == 0 else "background"
            raise ValueError(
                f"Every {cls} event got weight 0 (out of range, or in bins where the other "
                "class is empty), so the classes cannot be given equal total weight. Fit the "
                "reweighter on events like these, or use fewer bins."
            )
        weight[background] *= total_signal / total_background
        return weight

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_resample(self, X, y):
        """The paper's procedure: fit, then resample the background with replacement.

        Signal events with non-zero weight are kept once each; as many background events as
        kept signal events are drawn with replacement, with probability proportional to their
        weight, so the resampled background has the signal's pT spectrum and the two classes
        have equal size (the expectation of the weighted sample). Rows keep their input order
        (duplicates adjacent). The imbalanced-learn sampler API.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_events, 4 * n_particles)
        y : array-like of shape (n_events,)

        Returns
        -------
        X_res : same type as ``X``, shape (2 * n_signal_kept, 4 * n_particles)
        y_res : same type as ``y``
        """
        X_valid, labels = validate_events(self, X, y, reset=True)
        weight = self._fit(X_valid, labels)._weights(X_valid, labels)
        signal = np.flatnonzero((labels == 1) & (weight > 0))
        background = np.flatnonzero(labels == 0)
        prob = weight[background] / weight[background].sum()
        rng = check_random_state(self.random_state)
        drawn = rng.choice(background, size=signal.size, replace=True, p=prob)
        rows = np.sort(np.concatenate([signal, drawn]))
        return _safe_indexing(X, rows), _safe_indexing(y, rows)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags


def _estimator_has(attr: str):
    """For ``available_if``: the fitted estimator if any, else the unfitted one, has ``attr``."""

    def check(self) -> bool:
        return hasattr(getattr(self, "estimator_", self.estimator), attr)

    return check


class PtReweightedClassifier(MetaEstimatorMixin, ClassifierMixin, BaseEstimator):
    """Train a classifier with pT weights learnt on its own training fold (leak-free).

    ``fit(X, y)`` fits a clone of ``reweighter`` on the measured events, computes the weights
    and calls ``estimator.fit(X, y, sample_weight=w)`` (``{last_step}__sample_weight`` for a
    Pipeline). Because only ``fit``'s data are used, it is leak-free in ``cross_val_score``,
    ``learning_curve`` and ``GridSearchCV`` (tune the wrapped estimator as ``estimator__...``).

    The weights must use the *measured* pT, the one a detector sees. The recommended structure
    measures before this classifier, so ``X`` as given is measured:
    ``Pipeline([("smear", MomentumSmearer(...)), ("clf", PtReweightedClassifier(model))])``.
    When the measurement is part of ``estimator`` instead, say so with ``measured_after``.

    Parameters
    ----------
    estimator : classifier
        Must accept ``sample_weight`` in ``fit`` (the last step, for a Pipeline).
    reweighter : PtReweighter or None, default=None
        Configuration of the weights; None means ``PtReweighter()``. Cloned at each ``fit``.
    measured_after : int, str or None, default=None
        Where the measured events come out of a Pipeline ``estimator``: the number of its
        leading steps that measure (e.g. a :class:`MomentumSmearer`), or the name of the last
        of them. That head is fitted once, the weights are computed on its output, and the
        rest of the Pipeline is fitted on that output. None: ``X`` as given is measured.

    Attributes
    ----------
    estimator_ : the fitted clone of ``estimator``
    reweighter_ : the fitted clone of ``reweighter``; with ``subsets``, a list of them, one
        fitted on each subset
    classes_ : ndarray of shape (2,)

    Examples
    --------
    >>> from sklearn.model_selection import cross_val_score
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> from sklearn_bsym.datasets import make_dimuon_events
    >>> from sklearn_bsym.preprocessing import (
    ...     DimuonFeatures, MomentumSmearer, PtReweightedClassifier, pt_weighted_roc_auc)
    >>> X, y = make_dimuon_events(2000, random_state=0)
    >>> tree = make_pipeline(DimuonFeatures(), DecisionTreeClassifier(max_depth=4, random_state=0))
    >>> clf = make_pipeline(MomentumSmearer(0.10, random_state=0), PtReweightedClassifier(tree))
    >>> scores = cross_val_score(clf, X, y, cv=2, scoring=pt_weighted_roc_auc)
    >>> bool(0.6 < scores.mean() < 0.9)
    True

    The same model with the smearer inside the reweighted estimator, its first step:

    >>> inside = PtReweightedClassifier(make_pipeline(
    ...     MomentumSmearer(0.10, random_state=0),
    ...     DimuonFeatures(),
    ...     DecisionTreeClassifier(max_depth=4, random_state=0)), measured_after=1)
    >>> bool(all(cross_val_score(inside, X, y, cv=2, scoring=pt_weighted_roc_auc) == scores))
    True
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit"])],
        "reweighter": [HasMethods(["fit", "compute_sample_weight"]), None],
        "measured_after": [Interval(Integral, 0, None, closed="left"), str, None],
    }

    def __init__(self, estimator, *, reweighter=None, measured_after=None):
        self.estimator = estimator
        self.reweighter = reweighter
        self.measured_after = measured_after

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, subsets=None, **fit_params):
        """Fit the reweighter on the measured ``(X, y)``, then the estimator with its weights.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_events, 4 * n_particles)
        y : array-like of shape (n_events,)
        subsets : list of int arrays, optional
            For an estimator that trains several members, each on its own events (e.g.
            :class:`~sklearn_bsym.nn.EnsembleClassifier`): one array of positions into ``X``
            per member. A reweighter is then fitted on each subset, and the estimator gets
            ``subsets`` and one weight array per subset (aligned with it), so every member is
            weighted exactly as a separate fit on its subset would be.
        **fit_params : dict
            Passed on to ``estimator.fit`` (not ``sample_weight``: it is computed here).

        Returns
        -------
        self
        """
        if any(key == "sample_weight" or key.endswith("__sample_weight") for key in fit_params):
            raise ValueError(
                "PtReweightedClassifier computes sample_weight itself from the pT reweighting; "
                "do not pass one. To combine weights, fit the estimator directly with "
                "PtReweighter().fit(X, y).compute_sample_weight(X, y) * your_weights."
            )
        check_labels(y, estimator=self)
        estimator = clone(self.estimator)
        n_head = _n_measuring(estimator, self.measured_after)
        head_names = {name for name, _ in estimator.steps[:n_head]} if n_head else set()
        head_params = {k: v for k, v in fit_params.items() if k.split("__")[0] in head_names}
        rest_params = {k: v for k, v in fit_params.items() if k not in head_params}
        if n_head:
            head, rest = estimator[:n_head], estimator[n_head:]
            X = head.fit_transform(X, y, **head_params)
        else:
            head, rest = None, estimator
        reweighter = PtReweighter() if self.reweighter is None else self.reweighter
        if subsets is None:
            reweighter = clone(reweighter).fit(X, y)
            weight = reweighter.compute_sample_weight(X, y)
        else:
            parts = [(_safe_indexing(X, idx), _safe_indexing(y, idx)) for idx in subsets]
            reweighter = [clone(reweighter).fit(Xk, yk) for Xk, yk in parts]
            weight = [r.compute_sample_weight(Xk, yk)
                      for r, (Xk, yk) in zip(reweighter, parts, strict=True)]
            rest_params[_last_step_key(rest, "subsets")] = subsets
        rest.fit(X, y, **rest_params, **{_last_step_key(rest, "sample_weight"): weight})
        if head is not None:
            # The fitted whole: the head as fitted above, then the rest as fitted on its output.
            estimator.steps = [*head.steps, *rest.steps]
        self.estimator_ = estimator
        self.reweighter_ = reweighter
        self.classes_ = estimator.classes_
        return self

    @property
    def n_features_in_(self) -> int:
        """Number of input columns seen in ``fit``."""
        return self.estimator_.n_features_in_

    @available_if(_estimator_has("predict"))
    def predict(self, X):
        """Class labels from the fitted estimator."""
        check_is_fitted(self)
        return self.estimator_.predict(X)

    @available_if(_estimator_has("predict_proba"))
    def predict_proba(self, X):
        """Class probabilities ``(n_events, 2)`` from the fitted estimator."""
        check_is_fitted(self)
        return self.estimator_.predict_proba(X)

    @available_if(_estimator_has("decision_function"))
    def decision_function(self, X):
        """Decision function of the fitted estimator."""
        check_is_fitted(self)
        return self.estimator_.decision_function(X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags


def _n_measuring(estimator, measured_after) -> int:
    """The number of leading steps of ``estimator`` named by ``measured_after`` (0 for None)."""
    if measured_after is None or measured_after == 0:
        return 0
    steps = estimator.steps if isinstance(estimator, Pipeline) else None
    if steps is None:
        raise ValueError(
            f"measured_after={measured_after!r} names leading steps of a Pipeline, but the "
            f"estimator is a {type(estimator).__name__}; put the measurement before the "
            "classifier, Pipeline([('smear', MomentumSmearer(...)), ('clf', "
            "PtReweightedClassifier(model))]), and leave measured_after=None."
        )
    names = [name for name, _ in steps]
    if isinstance(measured_after, str):
        if measured_after not in names:
            raise ValueError(f"measured_after={measured_after!r} is no step of the Pipeline; "
                             f"its steps are {names}.")
        n = names.index(measured_after) + 1
    else:
        n = int(measured_after)
    if n >= len(steps):
        raise ValueError(
            f"measured_after={measured_after!r} leaves no step to train after the measurement "
            f"(the Pipeline has {len(steps)} steps: {names}); name the last measuring step."
        )
    return n


def _last_step_key(estimator, param: str) -> str:
    """The fit-parameter key of ``param`` for ``estimator``: ``{last step}__{param}`` for a
    Pipeline (its classifier), else ``param``."""
    if isinstance(estimator, Pipeline):
        return f"{estimator.steps[-1][0]}__{param}"
    return param


def weighted_roc_auc(y_true, y_score, X, *, reweighter=None) -> float:
    """ROC AUC with pT weights fitted on the scored events themselves.

    Parameters
    ----------
    y_true : array-like of shape (n_events,)
        0 = background, 1 = signal.
    y_score : array-like of shape (n_events,)
        Higher = more signal-like.
    X : array-like or DataFrame of shape (n_events, 4 * n_particles)
        The *measured* events (after smearing) whose pT the weights use.
    reweighter : PtReweighter or None, default=None
        Configuration of the weights (cloned); None means ``PtReweighter()``.

    Returns
    -------
    float
    """
    reweighter = PtReweighter() if reweighter is None else clone(reweighter)
    weight = reweighter.fit(X, y_true).compute_sample_weight(X, y_true)
    return float(roc_auc_score(y_true, y_score, sample_weight=weight))


def signal_score(estimator, X) -> np.ndarray:
    """The fitted ``estimator``'s signal-likeness of the events ``X``, one value per event: its
    ``predict_proba`` of class 1, else its ``decision_function`` (what the AUCs rank and what
    :func:`~sklearn_bsym.deploy.score_files` writes).

    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn_bsym.datasets import make_dimuon_events
    >>> from sklearn_bsym.preprocessing import signal_score
    >>> X, y = make_dimuon_events(500, random_state=0)
    >>> signal_score(LogisticRegression(max_iter=1000).fit(X, y), X).shape
    (500,)
    """
    if hasattr(estimator, "predict_proba"):
        column = list(estimator.classes_).index(1)
        return np.asarray(estimator.predict_proba(X))[:, column]
    return np.asarray(estimator.decision_function(X)).ravel()


def pt_weighted_roc_auc(estimator, X, y) -> float:
    """Scorer: ROC AUC weighted with pT weights computed on the scored fold.

    Use it as ``scoring=pt_weighted_roc_auc`` in ``cross_val_score``, ``learning_curve`` or
    ``GridSearchCV``. The weights come from a :class:`PtReweighter` fitted on the scored fold
    (never the training fold); the one configured in a :class:`PtReweightedClassifier` when
    the estimator has one, else ``PtReweighter()``. They use the *measured* pT, the events the
    classifier sees, found from the estimator's structure (a fitted search is read through its
    ``best_estimator_``):

    * a Pipeline whose last step is a :class:`PtReweightedClassifier`: the steps before it
      measure (the recommended structure, ``Pipeline([smear, PtReweightedClassifier(model)])``);
    * a :class:`PtReweightedClassifier`: then its ``measured_after`` head, if any;
    * any other Pipeline: its leading steps that map events to events, i.e. whose output
      columns (``get_feature_names_out``) are the event columns they were fitted on (the
      canonical ``mu0_px, ...`` for an array), such as :class:`MomentumSmearer`. The first
      step that makes features (:class:`MinkowskiInvariants`, :class:`DimuonFeatures`) or the
      classifier ends the measurement;
    * anything else: ``X`` as given is measured.

    Parameters
    ----------
    estimator : fitted classifier with ``predict_proba`` or ``decision_function``
    X : array-like or DataFrame of shape (n_events, 4 * n_particles)
    y : array-like of shape (n_events,)

    Returns
    -------
    float
    """
    X_measured, reweighter = _measured(estimator, X)
    return weighted_roc_auc(y, signal_score(estimator, X), X_measured, reweighter=reweighter)


def _measured(estimator, X):
    """(the measured events of ``X``, the configured reweighter or None) for the scorer."""
    steps, _, reweighter = split_measurement(estimator)
    for _, step in steps:
        X = step.transform(X)
    return X, reweighter


def split_measurement(estimator):
    """The fitted ``estimator`` split where the measured events come out (the structure that
    :func:`pt_weighted_roc_auc` reads, see there): ``(steps, model, reweighter)``, the
    ``(name, step)`` pairs that measure (smear), in order, the fitted model that classifies
    measured events, and the reweighter configured in a :class:`PtReweightedClassifier`
    (None if none). A fitted search is read through its ``best_estimator_``."""
    while hasattr(estimator, "best_estimator_"):
        estimator = estimator.best_estimator_
    steps = []
    if isinstance(estimator, Pipeline) and isinstance(estimator[-1], PtReweightedClassifier):
        steps, estimator = estimator.steps[:-1], estimator[-1]
    if isinstance(estimator, PtReweightedClassifier):
        check_is_fitted(estimator)
        inner = estimator.estimator_
        n_head = _n_measuring(inner, estimator.measured_after)
        if n_head:
            return [*steps, *inner.steps[:n_head]], inner[n_head:], estimator.reweighter
        return steps, estimator, estimator.reweighter
    if isinstance(estimator, Pipeline):
        n_head = 0
        for _, step in estimator.steps[:-1]:
            if not _maps_events_to_events(step):
                break
            n_head += 1
        return estimator.steps[:n_head], (estimator[n_head:] if n_head else estimator), None
    return [], estimator, None


def _maps_events_to_events(step) -> bool:
    """Whether a fitted step's output columns are the event columns it was fitted on."""
    n_in = getattr(step, "n_features_in_", None)
    if not hasattr(step, "get_feature_names_out") or not n_in or n_in % 4:
        return False
    names_in = getattr(step, "feature_names_in_", None)
    names_in = feature_names(n_in // 4) if names_in is None else list(names_in)
    return list(step.get_feature_names_out()) == names_in


def roc_auc_contributions(y_true, y_score, sample_weight=None) -> np.ndarray:
    """Each event's share of the (weighted) ROC AUC: the shares sum to the AUC.

    The AUC is the weighted fraction of (signal, background) pairs that the score ranks the
    right way round (ties count one half). Half of each pair is credited to its signal event and
    half to its background event, so event ``i`` of class ``c`` receives

        ``0.5 * w_i / W_c * (weighted fraction of the other class it is ranked correctly
        against)``

    with ``W_c`` the total weight of class ``c``. Summing the shares over any subset of events
    (a pT or mass bin) gives that subset's part of the AUC, and the difference of two scores'
    shares bin by bin splits their AUC difference exactly: where a classifier loses against the
    Bayes-optimal discriminant (``benchmarks/hybrid_edge.py`` draws it).

    Parameters
    ----------
    y_true : array-like of shape (n_events,)
        0 = background, 1 = signal; both classes must be present.
    y_score : array-like of shape (n_events,)
        Higher = more signal-like.
    sample_weight : array-like of shape (n_events,) or None
        Non-negative event weights (e.g. the pT weights of
        :meth:`PtReweighter.compute_sample_weight`); None = unit weights.

    Returns
    -------
    ndarray of shape (n_events,)
        ``roc_auc_contributions(y, s, w).sum()`` equals
        ``sklearn.metrics.roc_auc_score(y, s, sample_weight=w)`` up to rounding.
    """
    y = check_labels(y_true, estimator="roc_auc_contributions")
    score = np.asarray(y_score, dtype=np.float64).ravel()
    if len(score) != len(y):
        raise ValueError(f"y_true and y_score have different lengths: {len(y)}, {len(score)}; "
                         "pass one score per event.")
    if not np.isfinite(score).all():
        raise ValueError("y_score must be finite; drop or repair the events with NaN or inf "
                         "scores.")
    weight = (np.ones(len(y)) if sample_weight is None
              else check_sample_weight(sample_weight, len(y)))
    signal = y == 1
    shares = np.empty(len(score))
    for this, other, sign in ((signal, ~signal, 1.0), (~signal, signal, -1.0)):
        # Ranking correctly = this event's score above (signal) or below (background) the
        # other class's: compare -score for background so both read "strictly below".
        mine, theirs = sign * score[this], sign * score[other]
        order = np.argsort(theirs, kind="stable")
        cum = np.concatenate([[0.0], np.cumsum(weight[other][order])])
        sorted_theirs = theirs[order]
        below = cum[np.searchsorted(sorted_theirs, mine, side="left")]
        tied = cum[np.searchsorted(sorted_theirs, mine, side="right")] - below
        total_this, total_other = weight[this].sum(), cum[-1]
        if total_this <= 0 or total_other <= 0:
            raise ValueError("Both classes need positive total weight for a ROC AUC.")
        shares[this] = 0.5 * weight[this] / total_this * (below + 0.5 * tied) / total_other
    return shares
