"""Running notebook 07's grid search (taught in the notebook: ``lessons.student_grid_search``)
here or on a Dask cluster, and its table; ``connect`` is the one way to a cluster (the
series' Dask runner, ``whale_series.cluster``, connects with it too)."""

from __future__ import annotations

import contextlib
import os
import time

ADDRESS_VARIABLE = "DASK_SCHEDULER_ADDRESS"   # Dask's own: Client() connects to it


def fit(search, features, labels, scheduler: str | None = None, **fit_params):
    """Run ``search`` here, or with a Dask ``scheduler`` (by default
    ``$DASK_SCHEDULER_ADDRESS``, set when the series runs on a cluster) on the cluster
    through joblib's Dask backend, with the same results; ``fit_params`` go to every fit
    (Keras' wrapper takes its epochs there); ``search.seconds`` is the time
    of the whole search."""
    import warnings

    from sklearn.base import clone

    scheduler = scheduler or os.environ.get(ADDRESS_VARIABLE)
    # On a cluster the best optimizer is refit here, after the Dask client has closed:
    # its threads draw from Python's global random generator, which Keras uses too.
    search.set_params(refit=not scheduler, n_jobs=-1 if scheduler else None)
    with warnings.catch_warnings():
        # Many whales have a single photo: stratification warns that it cannot split them.
        warnings.filterwarnings("ignore", message="The least populated class")
        start = time.perf_counter()
        with on_cluster(scheduler):
            search.fit(features, labels, **fit_params)
        if scheduler:
            search.best_estimator_ = clone(search.estimator).set_params(**search.best_params_)
            search.best_estimator_.fit(features, labels, **fit_params)
    search.seconds = time.perf_counter() - start
    return search


@contextlib.contextmanager
def on_cluster(scheduler: str | None):
    """joblib's Dask backend on the cluster at ``scheduler``; nothing when it is None."""
    if not scheduler:
        yield
        return
    import joblib

    with connect(scheduler), joblib.parallel_backend("dask"):
        yield


CONNECT_SECONDS = 5   # a scheduler that answers at all answers well within this


def connect(address: str):
    """A ``dask.distributed.Client``; a clear error when no scheduler answers."""
    from dask.distributed import Client

    try:
        return Client(address, timeout=f"{CONNECT_SECONDS}s")
    except (OSError, TimeoutError) as err:
        raise SystemExit(f"error: SCHEDULER={address}: no Dask scheduler answers there "
                         f"({err}). Start one (`dask scheduler`) and workers (`dask worker "
                         f"{address} --nthreads 1`), or leave SCHEDULER empty to run here."
                         ) from err


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
