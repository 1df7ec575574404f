"""The student's grid search over optimizers: scikeras' KerasClassifier in GridSearchCV."""

from __future__ import annotations

import contextlib
import os
import time


def student_grid_search(optimizers=("adam", "sgd", "adamax", "nadam"), epochs: int = 10,
                        batch_size: int = 32, cv: int = 2, seed: int = 0):
    """The student's set-up: scikeras' ``KerasClassifier`` on notebook 04's head, in
    ``GridSearchCV`` over optimizers, scored by accuracy on ``cv`` stratified folds of
    the training rows, keeping each fold's score on its own training rows too."""
    from sklearn.model_selection import GridSearchCV, StratifiedKFold

    from whale_utils.compat import KerasClassifier

    estimator = KerasClassifier(model=build_head, model__seed=seed, optimizer="adam",
                                loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                                epochs=epochs, batch_size=batch_size, verbose=0,
                                random_state=seed)
    folds = StratifiedKFold(n_splits=cv, shuffle=True, random_state=seed)
    return GridSearchCV(estimator, {"optimizer": list(optimizers)}, cv=folds,
                        scoring="accuracy", return_train_score=True)


def fit(search, features, labels, scheduler: str | None = None):
    """Run ``search`` here, or with a Dask ``scheduler`` (by default
    ``$DASK_SCHEDULER_ADDRESS``, set when the series runs on a cluster) on the cluster
    through joblib's Dask backend, with the same results; ``search.seconds`` is the time
    of the whole search."""
    import warnings

    from sklearn.base import clone

    scheduler = scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS")
    # On a cluster the best optimizer is refit here, after the Dask client has closed:
    # its threads draw from Python's global random generator, which Keras uses too.
    search.set_params(refit=not scheduler, n_jobs=-1 if scheduler else None)
    with warnings.catch_warnings():
        # Many whales have a single photo: stratification warns that it cannot split them.
        warnings.filterwarnings("ignore", message="The least populated class")
        start = time.perf_counter()
        with on_cluster(scheduler):
            search.fit(features, labels)
        if scheduler:
            search.best_estimator_ = clone(search.estimator).set_params(**search.best_params_)
            search.best_estimator_.fit(features, labels)
    search.seconds = time.perf_counter() - start
    return search


def build_head(meta, seed):
    """Notebook 04's head for scikeras (importable: a closure would not pickle)."""
    from whale_utils.models import transfer_head

    return transfer_head(meta["n_classes_"], seed=seed, n_features=meta["n_features_in_"])


@contextlib.contextmanager
def on_cluster(scheduler: str | None):
    """joblib's Dask backend on the cluster at ``scheduler``; nothing when it is None."""
    if not scheduler:
        yield
        return
    import joblib

    from whale_utils.cluster import connect

    with connect(scheduler), joblib.parallel_backend("dask"):
        yield


def grid_table(search):
    """One row per optimizer: training-fold score, cross-validated score, rank, time."""
    import pandas as pd

    results = search.cv_results_
    return pd.DataFrame({
        "optimizer": [p["optimizer"] for p in results["params"]],
        "mean_train_score": results["mean_train_score"],
        "mean_test_score": results["mean_test_score"],
        "rank": results["rank_test_score"],
        "fit_seconds": results["mean_fit_time"],
    }).round(3).sort_values("rank").reset_index(drop=True)
