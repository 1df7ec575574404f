"""The notebooks as a series: data preparation, the local runner, the golden copies, and
the command line.

    python -m whale_series.series run --profile smoke [--nb 03]
    python -m whale_series.series data --profile default
    python -m whale_series.series golden

Executed notebooks go to ``outputs/<profile>/``; the sources are never written.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import queue
import shutil
import subprocess
import sys
import threading
import time
import warnings
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor, wait
from pathlib import Path

from whale_series import cluster, console, kernels
from whale_series import solutions as solutions_module
from whale_utils import backend, data, gridsearch
from whale_utils.data import competition
from whale_utils.session import profile, registry

ROOT = registry.ROOT
NOTEBOOK_DIR = registry.NOTEBOOK_DIR
GOLDEN_DIR = ROOT / "tests" / "golden"
NOTEBOOKS = tuple(registry.notebooks())


def select(names: list[str] | None) -> list[str]:
    """Notebook names from numbers or names (``03`` or ``03_dropout_datagen``)."""
    if not names:
        return list(NOTEBOOKS)
    chosen = []
    for name in names:
        match = [nb for nb in NOTEBOOKS if nb == name or nb.split("_")[0] == name.zfill(2)]
        if not match:
            raise SystemExit(f"error: no notebook {name!r}; choose a number or a name of "
                             f"{', '.join(NOTEBOOKS)}")
        chosen += match
    return chosen


def inputs(path: Path) -> list[tuple[str, str]]:
    """A notebook's cells as (type, source), from its .py or its .ipynb, to compare the two."""
    import jupytext

    return [(cell.cell_type, cell.source.strip()) for cell in jupytext.read(path).cells]


def sync_pairs(notebooks: list[str], folder: Path | None = None) -> None:
    """Before a run executes ``NN_name.ipynb``: where it and ``NN_name.py`` differ, the one
    edited last updates the other (``jupytext --sync``), never the reverse, and the console
    says which; where neither is newer, the run stops and names the pair."""
    folder = folder or registry.NOTEBOOK_DIR
    for notebook in notebooks:
        py, ipynb = folder / f"{notebook}.py", folder / f"{notebook}.ipynb"
        if not (py.is_file() and ipynb.is_file()) or inputs(py) == inputs(ipynb):
            continue
        newer, older = sorted((py, ipynb), key=lambda path: -path.stat().st_mtime_ns)
        if newer.stat().st_mtime_ns == older.stat().st_mtime_ns:
            raise SystemExit(f"error: {py} and {ipynb} differ and neither is newer: keep the "
                             "one you want, touch it, and run `make sync`")
        subprocess.run([sys.executable, "-m", "jupytext", "--sync", "--quiet", str(newer)],
                       check=True, cwd=folder)
        print(f"{notebook}: {older.name} updated from {newer.name}, which you edited last")


def prepare_data(settings: dict, name: str) -> None:
    """Generate the profile's synthetic data if needed, or find (and verify once) its real
    data: ``DATA_DIR: kaggle`` goes the way a notebook goes, through kagglehub."""
    if "synthetic" in settings:
        from whale_utils.data import synthetic

        data_dir = (NOTEBOOK_DIR / settings["DATA_DIR"]).resolve()
        options = settings["synthetic"]
        start = time.perf_counter()
        synthetic.generate(data_dir, options["images"], options["seed"], options["size"])
        print(f"data: {data_dir} ready ({options['images']} synthetic images, "
              f"{time.perf_counter() - start:.1f} s)")
        return
    try:
        data_dir = competition.data_folder(settings["DATA_DIR"], NOTEBOOK_DIR)
    except competition.KaggleDataError as err:
        raise SystemExit(f"error: profile {name!r} reads the competition's photos: {err}") from None
    if not (data_dir / "train.csv").is_file():
        raise SystemExit(
            f"error: profile {name!r} reads the real Kaggle data from {data_dir}, which has no "
            "train.csv. Set DATA_DIR: kaggle in notebooks/params/" f"{name}.yaml (see "
            "data/README.md), or run a synthetic profile: PROFILE=default")


def decode_once(settings: dict, notebooks: list[str]) -> None:
    """Decode each photo set the notebooks will read into the shared cache before any
    starts, so parallel kernels never decode the same photos twice."""
    wanted = {(p["DATA_DIR"], p["N_ROWS"], p["IMG_SIZE"])
              for p in (profile.parameters(settings, nb) for nb in notebooks) if "IMG_SIZE" in p}
    for data_dir, n_rows, img_size in sorted(wanted, key=str):
        try:
            folder = competition.data_folder(data_dir, NOTEBOOK_DIR)
        except competition.KaggleDataError:   # the notebook says it, in its own words
            continue
        start = time.perf_counter()
        try:
            frame = data.read_labels(folder, n_rows)
            data.load_photos(folder, frame["Image"], img_size)
        except MemoryError as err:         # refused before decoding: no kernel starts
            raise SystemExit(f"error: {err}") from None
        except (ValueError, OSError):      # bad input: the notebook says what and where
            continue
        print(f"photos: {len(frame)} at {img_size} px decoded or found in the cache "
              f"({time.perf_counter() - start:.1f} s)")


def run_profile(name: str, notebooks: list[str] | None = None, jobs: int = 1,
        split: str | None = None, scheduler: str | None = None,
        share_cores: bool | None = None, solutions: bool = False,
        seed: int | None = None) -> Path:
    """Execute the chosen notebooks of profile ``name`` into ``outputs/<name>/``.

    ``jobs`` notebooks run at once, each in its own kernel. With ``share_cores`` (by
    default where ``shares_cores`` says so) each kernel's TensorFlow gets ``cores // jobs``
    threads (``kernel_threads``); otherwise every core, as TensorFlow chooses. The
    thread count can change results in the last digits: the metrics record it
    (``timing.threads``), and ``make run`` takes the same threads as ``make run-all``.
    With a Dask
    ``scheduler`` address (or ``$DASK_SCHEDULER_ADDRESS``) each notebook is a task on
    that cluster instead (``whale_series.cluster``).
    ``split`` overrides the profile's SPLIT and writes to ``outputs/<name>-<split>/``.
    With ``solutions`` each notebook runs with its exercises' solutions in place of the
    answer cells (``whale_series.solutions``), into ``outputs/<name>-solutions/``.
    ``seed`` overrides the profile's SEED (``outputs/<name>-seed<N>/``); a Keras backend
    other than TensorFlow writes to ``outputs/<name>-<backend>/``.
    """
    settings = profile.load(name)
    if split:
        settings = {**settings, "SPLIT": split, "OUTPUT_DIR": f"{settings['OUTPUT_DIR']}-{split}"}
    if solutions:
        settings = {**settings, "OUTPUT_DIR": f"{settings['OUTPUT_DIR']}-solutions"}
    if seed is not None:
        settings = {**settings, "SEED": seed, "OUTPUT_DIR": f"{settings['OUTPUT_DIR']}-seed{seed}"}
    if backend.name() != backend.DEFAULT:
        settings = {**settings, "OUTPUT_DIR": f"{settings['OUTPUT_DIR']}-{backend.name()}"}
    chosen = select(notebooks)          # a wrong request fails before any data is made
    if solutions and cluster.scheduler_address(scheduler):
        raise SystemExit("error: SOLUTIONS runs here, not on a Dask cluster: leave out SCHEDULER")
    out_dir = (NOTEBOOK_DIR / settings["OUTPUT_DIR"]).resolve()
    with exclusive(out_dir):
        console.log_to(out_dir / "logs" / RUN_LOG, f"run, profile {name!r}: {', '.join(chosen)}")
        sync_pairs(chosen)                  # the run executes what was edited last
        sources = ({nb: solutions_module.write_solved(nb, out_dir / "solved") for nb in chosen}
                   if solutions else {})
        return _run(name, settings, chosen, out_dir, jobs, scheduler, share_cores, sources)


@contextlib.contextmanager
def exclusive(out_dir: Path):
    """Hold ``out_dir/.run.lock`` while a run writes there: a second run on the same
    outputs stops at once and names the first (the lock dies with its process)."""
    import fcntl

    out_dir.mkdir(parents=True, exist_ok=True)
    with open(out_dir / LOCK, "a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            raise SystemExit(f"error: another run is writing {out_dir} ({lock.read().strip()}); "
                             "wait for it to finish, or run another profile") from None
        lock.seek(0)
        lock.truncate()
        lock.write(f"pid {os.getpid()}, started {time.strftime('%Y-%m-%d %H:%M:%S')}")
        lock.flush()
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


LOCK = ".run.lock"
RUN_LOG = "run.log"     # what the runner said, in outputs/<profile>/logs/, whatever its console


def _run(name: str, settings: dict, chosen: list[str], out_dir: Path, jobs: int,
         scheduler: str | None, share_cores: bool | None, sources: dict | None = None) -> Path:
    address = cluster.scheduler_address(scheduler)
    client = gridsearch.connect(address) if address else None   # no cluster: stop before any work
    with client or contextlib.nullcontext():     # the client closes, whatever happens
        prepare_data(settings, name)
        decode_once(settings, chosen)
        archived = archive_previous(out_dir, chosen)
        if archived:
            print(f"earlier outputs of these notebooks moved to {archived}")
        start = time.perf_counter()
        order = after_what_they_build_on(longest_first(
            chosen, read_timings(out_dir) or settings.get("estimated_seconds", {})))
        work = [(notebook, profile.parameters(settings, notebook)) for notebook in order]
        if client is not None:
            print(f"running {len(chosen)} notebook(s), profile {name!r}, on {address} -> {out_dir}")
            results = cluster.run_notebooks(client, work, out_dir)
        else:
            limit = settings.get("time_limit_minutes", TIME_LIMIT_MINUTES)
            results = run_here(work, jobs, share_cores, f"profile {name!r}", out_dir,
                               time_limit=None if limit is None else 60 * limit,
                               sources=sources)
    summarise(chosen, results, out_dir, time.perf_counter() - start)
    return out_dir


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during a run: which notebooks finished, and which did not."""

    def __init__(self, finished: list[str], unfinished: list[str]):
        super().__init__()
        self.finished, self.unfinished = finished, unfinished


TIME_LIMIT_MINUTES = 60   # per notebook, unless the profile says otherwise (None: no limit)


def run_here(work: list[tuple[str, dict]], jobs: int, share_cores: bool | None, what: str,
             out_dir: Path, time_limit: float | None = None, sources: dict | None = None
             ) -> dict[str, tuple[float, str | None]]:
    """Run ``work`` (notebook, parameters) on this machine, ``jobs`` kernels at a time.
    On Ctrl-C no further notebook starts, the running kernels are stopped, their threads
    get ``STOP_GRACE`` seconds to notice (never more: a thread may wait on a console that
    is gone), and ``Interrupted`` says what finished. A notebook still running after
    ``time_limit`` seconds is stopped and named with its cell; the others go on.
    ``sources`` maps a notebook to the copy that runs instead of its ``.ipynb``."""
    if share_cores is None:
        share_cores = kernels.shares_cores(jobs)
    threads = kernels.kernel_threads(jobs) if share_cores else {}
    bars: queue.Queue[int] = queue.Queue()
    for line in range(max(1, jobs)):
        bars.put(line)
    STOPPING.clear()
    pool = ThreadPoolExecutor(max_workers=max(1, jobs))
    with contextlib.chdir(NOTEBOOK_DIR), kernels.environment(threads), \
            kernels.silent_once_stopped() as stopped:
        print(f"running {len(work)} notebook(s), {what}, {jobs} at a time, "
              f"{os.environ.get('TF_NUM_INTRAOP_THREADS', 'all')} TensorFlow thread(s) each "
              f"-> {out_dir}")
        futures: dict[str, Future] = {}
        for nb, params in work:      # a notebook starts once the one it builds on has ended
            after = futures.get(registry.describe(nb)["builds_on"])
            futures[nb] = pool.submit(execute_timed, nb, params, bars, after, time_limit,
                                      (sources or {}).get(nb))
        try:
            results = {notebook: future.result() for notebook, future in futures.items()}
        except KeyboardInterrupt:
            STOPPING.set()
            pool.shutdown(wait=False, cancel_futures=True)    # no further notebook starts
            stopped()                                 # their "kernel died" is no error
            kernels.stop_kernels()                    # the running ones stop now
            wait([f for f in futures.values() if not f.cancelled()], timeout=STOP_GRACE)
            finished = [nb for nb, f in futures.items()
                        if f.done() and not f.cancelled() and f.exception() is None
                        and f.result()[1] is None]
            raise Interrupted(finished, [nb for nb, _ in work if nb not in finished]) from None
    pool.shutdown()
    return results


STOP_GRACE = 5.0
STOPPING = threading.Event()     # set at Ctrl-C: a notebook still waiting never starts


def execute_timed(notebook: str, params: dict, bars: queue.Queue, after: Future | None = None,
                  time_limit: float | None = None, source: Path | None = None
                  ) -> tuple[float, str | None]:
    """One notebook through papermill on one progress-bar line, once ``after`` (the run of
    the notebook it builds on) has ended: its wall time, and what went wrong (``None``
    when nothing did)."""
    if after is not None:
        with contextlib.suppress(CancelledError):
            after.exception()                 # wait for it to end, however it ends
    if STOPPING.is_set():
        return 0.0, "not started: the run was interrupted"
    output = (NOTEBOOK_DIR / params["OUTPUT_DIR"]).resolve() / f"{notebook}.ipynb"
    bar = bars.get()
    start = time.perf_counter()
    try:
        kernels.execute(notebook, params, output, bar=bar, time_limit=time_limit, source=source)
        failure = None
    except Exception as err:  # noqa: BLE001 - one notebook's failure must not stop the rest
        kernels.remove_incomplete(output)
        failure = kernels.describe_failure(err, output)
    finally:
        bars.put(bar)
    return time.perf_counter() - start, failure


def summarise(chosen: list[str], results: dict, out_dir: Path, seconds: float) -> None:
    """Each notebook's time, the wall time, and every failure (then exit non-zero)."""
    print()
    write_timings(out_dir, {nb: seconds for nb, (seconds, failure) in results.items()
                            if not failure})
    for notebook in chosen:
        took, failure = results[notebook]
        print(f"{notebook:30} {took:6.1f} s  " + ("FAILED" if failure else result_of(out_dir, notebook)))
    print(f"{'wall time':30} {seconds:6.1f} s")
    failures = {nb: failure for nb, (_, failure) in results.items() if failure}
    if failures:
        for notebook, failure in failures.items():
            print(f"FAILED {notebook}: {failure}", file=sys.stderr)
        raise SystemExit(f"error: {len(failures)} of {len(chosen)} notebook(s) failed; the "
                         "others ran to the end (see above)")


def result_of(out_dir: Path, notebook: str) -> str:
    """The notebook's validation MAP@5 from the metrics it wrote, for the run's summary."""
    try:
        model = json.loads((out_dir / "metrics" / f"{notebook}.json").read_text())["evaluation"]
        return f"MAP@5 {model['model']['map5']:.3f} (all-new_whale {model['baseline']['map5']:.3f})"
    except (OSError, ValueError, KeyError):
        return ""


TIMINGS = "timings.json"   # each notebook's last wall time, in outputs/<profile>/


def read_timings(out_dir: Path) -> dict[str, float]:
    path = Path(out_dir) / TIMINGS
    try:
        return {k: float(v) for k, v in json.loads(path.read_text()).items()}
    except (OSError, ValueError, AttributeError):
        return {}


def write_timings(out_dir: Path, seconds: dict[str, float]) -> None:
    """Keep each notebook's latest wall time, for the next run's order (only an order:
    where it cannot be written, say so and go on)."""
    path = Path(out_dir) / TIMINGS
    merged = {**read_timings(out_dir), **{k: round(v, 1) for k, v in seconds.items()}}
    text = json.dumps(merged, indent=2, sort_keys=True) + "\n"
    try:
        data.write_atomically(path, lambda partial: Path(partial).write_text(text))
    except OSError as err:
        warnings.warn(f"cannot write {path} ({err.strerror or err}): the next run orders the "
                      "notebooks by the profile's estimates", stacklevel=2)


def longest_first(notebooks: list[str], timings: dict[str, float]) -> list[str]:
    """The order to start notebooks in: the longest last time (or by the profile's
    ``estimated_seconds``) first, so that parallel jobs end together; a notebook never
    timed counts as the longest."""
    return sorted(notebooks, key=lambda nb: -timings.get(nb, float("inf")))


def after_what_they_build_on(order: list[str]) -> list[str]:
    """``order`` with each notebook moved after the one it builds on, when both run: its
    "What this run shows" compares the two on the same rows (``registry``'s ``builds_on``)."""
    placed: list[str] = []

    def place(notebook):
        previous = registry.describe(notebook)["builds_on"]
        if previous in order and previous not in placed:
            place(previous)
        if notebook not in placed:
            placed.append(notebook)
    for notebook in order:
        place(notebook)
    return placed


def archive_previous(out_dir: Path, notebooks: list[str]) -> Path | None:
    """Move earlier executed notebooks, metrics and kernel logs of ``notebooks`` to
    ``outputs/archive/``."""
    earlier = [path for nb in notebooks for path in
               (out_dir / f"{nb}.ipynb", out_dir / "metrics" / f"{nb}.json",
                out_dir / "metrics" / f"{nb}.rows.csv", out_dir / "logs" / f"{nb}.log")
               if path.exists()]
    if not earlier:
        return None
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(max(p.stat().st_mtime for p in earlier)))
    archive = out_dir.parent / "archive" / f"{out_dir.name}-{stamp}"
    for path in earlier:
        target = archive / path.relative_to(out_dir)
        target.parent.mkdir(parents=True, exist_ok=True)
        path.replace(target)
    return archive


def golden(notebooks: list[str] | None = None) -> None:
    """Re-execute the golden notebooks of ``tests/golden/`` with the smoke profile."""
    settings = profile.load("smoke")
    chosen = select(notebooks)
    sync_pairs(chosen)
    prepare_data(settings, "smoke")
    for notebook in chosen:
        params = profile.parameters(settings, notebook)
        # The golden copies live two folders below the root, the sources one.
        params = {k: (f"../{v}" if k in ("DATA_DIR", "OUTPUT_DIR") and v != competition.KAGGLE else v)
                  for k, v in params.items()}
        params["OUTPUT_DIR"] = "../../outputs/golden"
        print(f"== golden {notebook}", flush=True)
        with contextlib.chdir(GOLDEN_DIR):
            kernels.execute(notebook, params, GOLDEN_DIR / f"{notebook}.ipynb",
                            log=ROOT / "outputs" / "golden" / "logs" / f"{notebook}.log")
        # Keep the run's metrics beside its golden copy: tests check the generated prose
        # against them (nbval's re-runs write to outputs/golden, never here).
        (GOLDEN_DIR / "metrics").mkdir(exist_ok=True)
        for path in (ROOT / "outputs" / "golden" / "metrics").glob(f"{notebook}.*"):
            shutil.copy(path, GOLDEN_DIR / "metrics" / path.name)


NATIVE_CHATTER = ("WARNING: All log messages before absl::InitializeLog()", "I0000 ")


def import_tensorflow_quietly() -> None:
    """Import TensorFlow with its C++ runtime's start-up lines (information, written to
    the process's stderr before any Python logging) kept off the console; any other line
    it writes there, a real error, is passed on."""
    import tempfile

    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as caught:
        os.dup2(caught.fileno(), 2)
        try:
            import tensorflow  # noqa: F401
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        caught.seek(0)
        for line in caught.read().decode(errors="replace").splitlines():
            if not line.startswith(NATIVE_CHATTER):
                print(line, file=sys.stderr)


def console_warning(message, category, *where, **more) -> str:
    """A warning on the runner's console as one line: what happened and what to do (the
    module and line that raised it are for developers, not for the user)."""
    return f"warning: {message}\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m whale_series.series",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["run", "data", "golden"])
    parser.add_argument("--profile", default="default", help=f"one of {profile.names()}")
    parser.add_argument("--nb", nargs="*", help="notebook numbers, e.g. 03 (default: all)")
    parser.add_argument("--jobs", type=int, default=1, help="notebooks run at once")
    cores = parser.add_mutually_exclusive_group()
    cores.add_argument("--all-cores", action="store_const", const=False, dest="share_cores",
                       help="let every kernel's TensorFlow use all cores (no share)")
    cores.add_argument("--share-cores", action="store_const", const=True, dest="share_cores",
                       help="give each of the JOBS kernels cores / JOBS threads (by default "
                            "when that is 2 or more, or when JOBS exceeds the cores)")
    parser.add_argument("--scheduler", default=None,
                        help="a Dask scheduler (tcp://host:8786): run each notebook there")
    parser.add_argument("--stats", action="store_true",
                        help="with data: print the data set's statistics next to the real data's")
    parser.add_argument("--gallery", metavar="PNG", help="with data: write a photo grid per whale")
    parser.add_argument("--split", choices=[*data.SPLITS, *data.RENAMED_SPLITS],
                        help="override the profile's SPLIT (outputs go to outputs/PROFILE-SPLIT)")
    parser.add_argument("--seed", type=int, help="with run: override the profile's SEED "
                        "(outputs go to outputs/PROFILE-seedN)")
    parser.add_argument("--solutions", action="store_true", help="with run: the exercises' "
                        "solutions in place of the answer cells (outputs/PROFILE-solutions)")
    args = parser.parse_args(argv)
    import_tensorflow_quietly()
    with console.consoles():
        return command(args)


def command(args: argparse.Namespace) -> int:
    """Carry out one parsed command line; 130 after Ctrl-C (its last words said)."""
    if args.command == "run":
        try:
            run_profile(args.profile, args.nb, args.jobs, args.split, args.scheduler,
                args.share_cores, args.solutions, args.seed)
        except KeyboardInterrupt as stop:
            done = getattr(stop, "finished", [])
            print(f"\ninterrupted: {', '.join(done) or 'no notebook'} finished; "
                  f"{', '.join(getattr(stop, 'unfinished', [])) or 'the others'} did not (their "
                  "partial executed copies, if they started, are in outputs/; the next run "
                  "starts them again). The sources, the data and earlier outputs (moved to "
                  "outputs/archive/) are intact.", file=sys.stderr)
            return INTERRUPTED
    elif args.command == "data":
        settings = profile.load(args.profile)
        prepare_data(settings, args.profile)
        data_dir = (NOTEBOOK_DIR / settings["DATA_DIR"]).resolve()
        if args.stats or args.gallery:
            from whale_utils.data import synthetic
        if args.stats:
            print(synthetic.format_statistics(synthetic.statistics(data_dir)))
        if args.gallery:
            print(f"gallery written to {synthetic.gallery(data_dir, args.gallery)}")
    else:
        golden(args.nb)
    return 0


INTERRUPTED = 130    # the shell's code for a process ended by Ctrl-C


def cli(argv: list[str] | None = None) -> None:
    """``main`` as a process: its exit code, and no wait at exit after Ctrl-C."""
    warnings.formatwarning = console_warning
    code = main(argv)
    if code == INTERRUPTED:
        # Interrupted: the kernels are stopped, but a notebook's thread may still wait on
        # a console that is gone, and Python would join it forever at exit.
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    cli()
