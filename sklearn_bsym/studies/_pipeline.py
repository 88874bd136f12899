"""The study's fit of one model as a scikit-learn pipeline: :func:`make_fit_pipeline`."""

from __future__ import annotations

from ._config import StudyConfig
from ._models import make_model

__all__ = ["make_fit_pipeline"]


def make_fit_pipeline(model="hybrid", config=None, *, smearer=None, reweight=True,
                      random_state=None):
    """The study's fit of one model, unfitted: ``Pipeline([("smear", smearer), ("clf",
    PtReweightedClassifier(model, reweighter=PtReweighter(**config.reweighting)))])``.

    The structure every fit of the study and of ``python -m sklearn_bsym fit`` has (see
    :func:`~sklearn_bsym.deploy.fit_model` for the whole command: split, fit, held-out AUC and
    support). Fit it on events, score it with
    :func:`~sklearn_bsym.preprocessing.pt_weighted_roc_auc`: the pT weights are fitted on the
    training events' measured (smeared) pT, as the study does.

    Parameters
    ----------
    model : str or estimator, default="hybrid"
        A trainable model of :data:`MODELS` (built by :func:`make_model` with ``config`` and
        ``random_state``; a sequence of seeds gives their fits as one ensemble) or an unfitted
        classifier of events, used as it is.
    config : StudyConfig, default=None
        The study settings the model and the reweighting follow (preset, epoch cap,
        validation share, ``model_params``, ``reweighting``); None: ``StudyConfig()``.
    smearer : transformer, default=None
        The detector simulation before the classifier, e.g. ``MomentumSmearer(0.1,
        random_state=0)``; None: no ``"smear"`` step, the events are taken as measured.
    reweight : bool, default=True
        Weight the background so that its pT spectrum is the signal's
        (:class:`~sklearn_bsym.preprocessing.PtReweightedClassifier`); False: the model alone.
    random_state : int, sequence of int or None, default=None
        The model's seed (for a model named, as in :func:`make_model`).

    Returns
    -------
    estimator
        A :class:`~sklearn.pipeline.Pipeline` ``[smear, clf]`` when ``smearer`` is given, else
        its ``clf`` step itself (a pipeline of one step would only rename its attributes).

    Examples
    --------
    >>> from sklearn_bsym.datasets import make_dimuon_events
    >>> from sklearn_bsym.preprocessing import MomentumSmearer, pt_weighted_roc_auc
    >>> from sklearn_bsym.studies import make_fit_pipeline
    >>> X, y = make_dimuon_events(2000, random_state=0)
    >>> model = make_fit_pipeline("hgb", smearer=MomentumSmearer(0.1, random_state=0),
    ...                           random_state=0)
    >>> [name for name, _ in model.steps]
    ['smear', 'clf']
    >>> auc = pt_weighted_roc_auc(model.fit(X[:1500], y[:1500]), X[1500:], y[1500:])
    >>> bool(0.6 < auc < 0.9)
    True
    """
    from sklearn.pipeline import Pipeline

    from ..preprocessing import PtReweightedClassifier, PtReweighter

    if config is None:
        config = StudyConfig()
    estimator = make_model(model, config, random_state) if isinstance(model, str) else model
    classifier = (PtReweightedClassifier(estimator, reweighter=PtReweighter(**config.reweighting))
                  if reweight else estimator)
    if smearer is None:
        return classifier
    return Pipeline([("smear", smearer), ("clf", classifier)])
