"""What ``python -m sklearn_bsym fit`` does to events, as one function: :func:`fit_model`."""

from __future__ import annotations

__all__ = ["fit_model"]


def fit_model(X, y, *, model="hybrid", preset="fast", max_epochs=None, batch_size=None,
              resolution=0.0, reweight=True, test_fraction=None, random_state=0, log=None):
    """Train one model of the study's table on labelled events, as ``python -m sklearn_bsym
    fit`` does, and report what was done.

    The model is :func:`~sklearn_bsym.studies.make_fit_pipeline`'s: the network (or tree) of
    the study's table with the ``preset``, after a ``MomentumSmearer(resolution)`` step when
    ``resolution`` is not 0, inside a :class:`~sklearn_bsym.preprocessing.PtReweightedClassifier`
    when ``reweight``. With ``test_fraction``, a stratified share of the events is held out
    and scored once, by the pT-weighted AUC of the study and the plain AUC. The support of the
    training events as the model's measured part sees them (smeared, with ``resolution``) is
    measured for :func:`score_files` to count the events scored outside it; save both with
    ``save_model(model, path, metadata=report)``.

    Parameters
    ----------
    X : array-like of shape (n_events, 4 * n_particles)
        Events in the canonical layout (:mod:`sklearn_bsym.events`): measured ones (a
        detector's output), or truth-level ones to smear with ``resolution``.
    y : array-like of shape (n_events,)
        1 for signal, 0 for background.
    model : str, default="hybrid"
        A trainable model of :data:`~sklearn_bsym.studies.MODELS`.
    preset : {"fast", "paper"}, default="fast"
        The networks' preset.
    max_epochs : int, default=None
        The networks' epoch cap (None: the preset's).
    batch_size : int, default=None
        The networks' training batch (None: the preset's, which follows the sample).
    resolution : float, default=0.0
        Relative muon pT resolution to smear the events with before training; 0: the events
        are taken as measured, and the model has no smearing step.
    reweight : bool, default=True
        Weight the background so that its pT spectrum is the signal's, fitted on the training
        events.
    test_fraction : float, default=None
        The stratified share of the events held out and scored; None: train on every event.
    random_state : int, default=0
        The seed of the model, the smearing and the split (three seeds derived from it).
    log : callable, default=None
        Called with one line before the training (what is trained, the recipe); None: quiet.

    Returns
    -------
    model : estimator
        The fitted model.
    report : dict
        JSON-ready: ``model``, ``n_leptons``, ``resolution``, ``reweight``, ``batch_size``,
        ``random_state``, ``n_signal`` and ``n_background`` (the training events),
        ``recipe`` (what the fit did, in words), ``support`` (:func:`measure_support` of the
        training events) and, with ``test_fraction``, ``test_auc`` (``pt_weighted``,
        ``unweighted`` and ``n_events``).

    Raises
    ------
    KeyboardInterrupt
        A network's training cut short by Ctrl-C: no model to keep.

    Examples
    --------
    >>> from sklearn_bsym.datasets import make_dimuon_events
    >>> from sklearn_bsym.deploy import fit_model
    >>> X, y = make_dimuon_events(2000, random_state=0)
    >>> model, report = fit_model(X, y, model="hgb", resolution=0.1, test_fraction=0.25)
    >>> [name for name, _ in model.steps], report["n_signal"] + report["n_background"]
    (['smear', 'clf'], 1500)
    >>> bool(0.6 < report["test_auc"]["pt_weighted"] < 0.9)
    True
    """
    import numpy as np
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import train_test_split

    from .._random import spawn_seeds
    from ..preprocessing import MomentumSmearer, pt_weighted_roc_auc, signal_score
    from ..studies import MODEL_TABLE, RULES, StudyConfig, make_fit_pipeline, training_course
    from ._score import measured_model
    from ._support import measure_support

    spec = MODEL_TABLE.get(model)
    if spec is None or spec.estimator is None:
        trainable = [name for name, s in MODEL_TABLE.items() if s.estimator is not None]
        raise ValueError(f"No trainable model named {model!r}; choose from {trainable}.")
    params = {}
    if batch_size is not None:
        if not spec.tags.torch:
            raise ValueError(f"batch_size applies to the networks; {model} is not one.")
        params = {model: {"batch_size": batch_size}}
    for name, value in (("resolution", resolution), ("test_fraction", test_fraction)):
        if value is not None and not RULES[name].holds(value):
            raise ValueError(f"{name}={value!r} is out of range; allowed: {RULES[name]}.")
    config = StudyConfig(preset=preset, max_epochs=max_epochs, random_state=random_state,
                         model_params=params)
    model_seed, smear_seed, split_seed = spawn_seeds(random_state, 3)
    X, y = np.asarray(X), np.asarray(y)
    X_test = y_test = None
    if test_fraction is not None:
        X, X_test, y, y_test = train_test_split(X, y, test_size=test_fraction, stratify=y,
                                                random_state=split_seed)
    smearer = MomentumSmearer(resolution, random_state=smear_seed) if resolution else None
    fitted = make_fit_pipeline(model, config, smearer=smearer, reweight=reweight,
                               random_state=model_seed)
    classifier = fitted[-1] if smearer is not None else fitted
    estimator = classifier.estimator if reweight else classifier
    n_signal = int(y.sum())
    recipe = _recipe(estimator, len(y))
    if log is not None:
        measured = (f"smeared by a {resolution:g} pT resolution" if resolution
                    else "taken as measured")
        weights = "pT-reweighted background" if reweight else "no reweighting"
        label = "" if spec.label == model else f" ({spec.label})"
        log(f"Training {model}{label} on {n_signal:,} signal and {len(y) - n_signal:,} "
            f"background events, {measured}, {weights}.")
        log(f"Recipe: {recipe}.")
    fitted.fit(X, y)
    if training_course(getattr(classifier, "estimator_", classifier))[2] == "interrupted":
        # skorch ends its loop on Ctrl-C and keeps the partly trained weights: no model.
        raise KeyboardInterrupt
    # The support of the events the model's measured part saw (smeared, with a resolution).
    seen = X
    for name in measured_model(fitted, return_skipped=True)[1]:
        seen = fitted.named_steps[name].transform(seen)
    report = {
        "model": model, "n_leptons": X.shape[1] // 4, "resolution": resolution,
        "reweight": reweight, "batch_size": batch_size, "random_state": random_state,
        "n_signal": n_signal, "n_background": len(y) - n_signal, "recipe": recipe,
        "support": measure_support(seen),
    }
    if X_test is not None:
        report["test_auc"] = {
            "pt_weighted": pt_weighted_roc_auc(fitted, X_test, y_test),
            "unweighted": roc_auc_score(y_test, signal_score(fitted, X_test)),
            "n_events": len(y_test),
        }
    return fitted, report


def _recipe(estimator, n_events: int) -> str:
    """What a fit of ``estimator`` on ``n_events`` events does, in one sentence."""
    from ._persist import _describe

    inner = estimator[-1] if hasattr(estimator, "steps") else estimator
    if hasattr(inner, "recipe"):
        return str(inner.recipe(n_events))
    members = getattr(inner, "n_members", None)
    if members and hasattr(inner.estimator, "recipe"):
        return f"{members} networks trained together, each: {inner.estimator.recipe(n_events)}"
    return f"{_describe(estimator)}, scikit-learn's recipe"
