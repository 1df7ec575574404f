"""The series on a Dask cluster: each notebook one task, its outputs brought back.

    make run-all SCHEDULER=tcp://host:8786      (or DASK_SCHEDULER_ADDRESS=tcp://...)

Every worker needs the repository and its environment (the same checkout path is not
required). A notebook runs on a worker as it runs here, from the worker's checkout, and
its executed copy and metrics come back into this machine's ``outputs/<profile>/``.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from pathlib import Path

from whale_utils.gridsearch import ADDRESS_VARIABLE
from whale_utils.session import registry


def scheduler_address(given: str | None = None) -> str | None:
    """The cluster to use: ``given`` (``SCHEDULER=``), else ``$DASK_SCHEDULER_ADDRESS``."""
    return given or os.environ.get(ADDRESS_VARIABLE) or None


def thread_shares(client) -> dict[str, int]:
    """TensorFlow threads per notebook on each worker: the host's cores shared among all
    the worker threads on that host, so that concurrent notebooks never oversubscribe."""
    cores = client.run(os.cpu_count)
    workers = client.scheduler_info()["workers"]
    per_host = Counter()
    for info in workers.values():
        per_host[info["host"]] += info["nthreads"]
    return {address: max(1, (cores[address] or 1) // per_host[info["host"]])
            for address, info in workers.items()}


def bound_threads(shares: dict[str, int], dask_worker=None) -> int:
    """Size TensorFlow's pools in this worker process to its share before TensorFlow
    starts there (the folds of 07's grid search run in the workers themselves)."""
    from whale_series import kernels

    threads = shares.get(dask_worker.address, 1)
    for key, value in kernels.kernel_threads(1, cores=threads).items():
        os.environ.setdefault(key, value)
    return threads


def run_on_worker(notebook: str, params: dict, shares: dict[str, int]) -> dict:
    """One notebook on this worker, from its checkout (a Dask task). Returns the wall time,
    the failure if any, and the files it wrote under ``OUTPUT_DIR`` as bytes."""
    from dask.distributed import get_worker, rejoin, secede

    from whale_series import kernels

    worker = get_worker()
    threads = shares.get(worker.address, 1)
    environment = {**kernels.kernel_threads(1, cores=threads),
                   ADDRESS_VARIABLE: worker.scheduler.address}   # 07's grid search uses it
    out_dir = (registry.NOTEBOOK_DIR / params["OUTPUT_DIR"]).resolve()
    output = out_dir / f"{notebook}.ipynb"
    secede()    # the slot is free for tasks the notebook submits itself (07's folds)
    os.chdir(registry.NOTEBOOK_DIR)   # kernels start here; every task wants the same folder
    start = time.perf_counter()
    try:
        with kernels.environment(environment, override=True):
            kernels.execute(notebook, params, output)
        failure = None
    except Exception as err:  # noqa: BLE001 - reported by the client with the others
        failure = kernels.describe_failure(err, output)
    seconds = time.perf_counter() - start
    rejoin()
    files = {path.relative_to(out_dir).as_posix(): path.read_bytes()
             for path in [output, *sorted((out_dir / "metrics").glob(f"{notebook}.*"))]
             if path.is_file()}
    return {"notebook": notebook, "seconds": seconds, "failure": failure, "files": files,
            "worker": worker.address, "threads": threads}


def run_notebooks(client, jobs: list[tuple[str, dict]], out_dir: Path
                  ) -> dict[str, tuple[float, str | None]]:
    """Submit each (notebook, parameters) to the cluster of ``client``
    (``whale_utils.gridsearch.connect``), at
    most one per worker thread at a time, in the order given; write what comes back under
    ``out_dir``."""
    from dask.distributed import as_completed

    address = client.scheduler.address
    shares = thread_shares(client)
    client.run(bound_threads, shares)
    slots = sum(info["nthreads"] for info in client.scheduler_info()["workers"].values())
    print(f"cluster {address}: {len(shares)} worker(s), {slots} thread(s); TensorFlow "
          f"threads per notebook: {sorted(set(shares.values()))}")
    waiting = list(jobs)
    running = as_completed()
    results = {}
    while waiting or running.count():
        while waiting and running.count() < max(1, slots):
            notebook, params = waiting.pop(0)
            running.add(client.submit(run_on_worker, notebook, params, shares,
                                      key=f"notebook-{notebook}-{time.time_ns()}",
                                      pure=False))
        result = next(running).result()
        notebook = result["notebook"]
        for name, content in result["files"].items():
            target = out_dir / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
        results[notebook] = (result["seconds"], result["failure"])
        print(f"{notebook}: {result['seconds']:.1f} s on {result['worker']} "
              f"({result['threads']} thread(s))" + ("  FAILED" if result["failure"] else ""))
    return results

