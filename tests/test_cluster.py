"""The series on a Dask cluster: notebooks as tasks, and 07's grid search through joblib's
Dask backend, with the same results as here."""

import json
import os
import subprocess
import sys

import pytest

from whale_series import cluster, kernels, series
from whale_utils import gridsearch
from whale_utils.session import profile, registry

distributed = pytest.importorskip("dask.distributed")


@pytest.fixture(scope="module")
def local_cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as running:
        yield running


def evaluations(folder):
    return {path.stem: json.loads(path.read_text())["evaluation"]
            for path in sorted((folder / "metrics").glob("*.json"))}


def test_two_notebooks_on_the_cluster_give_the_local_metrics(tmp_path, monkeypatch,
                                                              local_cluster):
    smoke = profile.load("smoke")

    def into(folder):
        relative = os.path.relpath(tmp_path / folder, registry.NOTEBOOK_DIR)
        monkeypatch.setattr(profile, "load", lambda name: {**smoke, "OUTPUT_DIR": relative})

    chosen = ["01", "06", "07"]   # 07: its grid search's folds go to the cluster's workers
    into("local")   # with the share of the cluster's host: its cores over its 2 worker threads
    series.run_profile("smoke", chosen, jobs=2, share_cores=True)
    into("cluster")
    series.run_profile("smoke", chosen, jobs=2, scheduler=local_cluster.scheduler_address)
    with distributed.Client(local_cluster.scheduler_address) as client:
        prefixes = client.run_on_scheduler(lambda dask_scheduler: list(dask_scheduler.task_prefixes))
    assert any("fit_and_score" in prefix for prefix in prefixes)   # 07's folds, on the workers

    local, remote = evaluations(tmp_path / "local"), evaluations(tmp_path / "cluster")
    assert sorted(remote) == ["01_overfit_baseline", "06_transfer_early_stopping",
                              "07_grid_search"]
    assert remote == local
    grid = [json.loads((tmp_path / side / "metrics" / "07_grid_search.json").read_text())
            ["grid_search"] for side in ("local", "cluster")]
    assert grid[0] == grid[1]
    for name in remote:
        assert (tmp_path / "cluster" / f"{name}.ipynb").is_file()
        timing = json.loads((tmp_path / "cluster" / "metrics" / f"{name}.json").read_text())
        assert timing["timing"]["threads"] == max(1, os.cpu_count() // 2)


GRID = """
import json, sys
import numpy as np
from whale_utils import gridsearch, lessons
rng = np.random.default_rng(0)
labels = np.repeat(np.arange(4), 30)
features = (rng.normal(size=(120, 16)) + 3.0 * labels[:, None]).astype("float32")
search = gridsearch.fit(lessons.student_grid_search(("adam", "sgd"), epochs=10, cv=2, seed=0),
                        features, labels, scheduler=sys.argv[1] if len(sys.argv) > 1 else None)
keys = ("mean_test_score", "split0_test_score", "split1_test_score", "mean_train_score")
print(json.dumps({"best": search.best_params_, "n_jobs": search.n_jobs,
                  "refit": search.best_estimator_.predict_proba(features).round(6).tolist(),
                  **{k: search.cv_results_[k].tolist() for k in keys}}))
"""


def grid_search_in_a_fresh_python(*arguments):
    """The grid search as notebook 07's kernel runs it: a fresh process, with the
    thread share of two parallel notebooks (the workers' share on this host)."""
    environment = {**os.environ, **kernels.kernel_threads(2)}
    environment.pop(gridsearch.ADDRESS_VARIABLE, None)
    done = subprocess.run([sys.executable, "-c", GRID, *arguments], env=environment,
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_grid_search_on_dask_matches_the_sequential_one(local_cluster):
    with distributed.Client(local_cluster.scheduler_address) as client:
        client.run(cluster.bound_threads, cluster.thread_shares(client))
    here = grid_search_in_a_fresh_python()
    there = grid_search_in_a_fresh_python(local_cluster.scheduler_address)
    assert (here.pop("n_jobs"), there.pop("n_jobs")) == (None, -1)     # n_jobs=1 vs Dask
    assert there == here
    assert len(set(here["mean_test_score"])) == 2                     # the optimizers differ


def test_no_scheduler_answering_stops_the_run_before_any_work(tmp_path, monkeypatch):
    smoke = profile.load("smoke")
    relative = os.path.relpath(tmp_path / "out", registry.NOTEBOOK_DIR)
    monkeypatch.setattr(profile, "load", lambda name: {**smoke, "OUTPUT_DIR": relative})
    monkeypatch.setattr(series, "prepare_data", lambda *a: pytest.fail("data prepared"))
    earlier = tmp_path / "out" / "01_overfit_baseline.ipynb"
    earlier.parent.mkdir()
    earlier.write_text("{}")
    with pytest.raises(SystemExit, match="SCHEDULER=tcp://127.0.0.1:1: no Dask scheduler "
                                         r"answers there.*dask scheduler"):
        series.run_profile("smoke", ["01"], scheduler="tcp://127.0.0.1:1")
    assert earlier.read_text() == "{}"                # earlier outputs not moved
