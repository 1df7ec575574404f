"""Faults while things run, not only bad files: what the user sees, and that nothing of
theirs is lost."""

import contextlib
import errno
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import keras
import nbformat
import numpy as np
import psutil
import pytest
from conftest import save_run

from whale_series import series
from whale_utils import backbones, data
from whale_utils.backbones import weights
from whale_utils.session import profile

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("text, says", [
    ("DATA_DIR: [unclosed\n", "is not valid YAML"),
    ("- just\n- a list\n", "must be a mapping of parameters"),
])
def test_a_malformed_profile_is_named_before_anything_runs(tmp_path, monkeypatch, text, says):
    (tmp_path / "broken.yaml").write_text(text)
    monkeypatch.setattr(profile, "FOLDER", tmp_path)
    monkeypatch.setattr(series, "prepare_data", lambda *a: pytest.fail("data prepared"))
    with pytest.raises(SystemExit) as stop:
        series.main(["run", "--profile", "broken"])
    message = str(stop.value)
    assert says in message and str(tmp_path / "broken.yaml") in message


def test_an_unknown_profile_or_notebook_lists_what_exists(monkeypatch):
    monkeypatch.setattr(series, "prepare_data", lambda *a: pytest.fail("data prepared"))
    with pytest.raises(SystemExit, match=r"no profile 'nope'.*'default'"):
        series.main(["run", "--profile", "nope"])
    with pytest.raises(SystemExit, match=r"no notebook '42'.*01_overfit_baseline"):
        series.main(["run", "--profile", "smoke", "--nb", "42"])


def no_space(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def test_a_full_disk_leaves_no_half_written_cache_and_says_where(tmp_path, monkeypatch):
    cache = tmp_path / "cache" / "images-48px.npy"
    monkeypatch.setattr(np, "save", lambda path, array: (open(path, "wb").write(b"\x93NUMPY"),
                                                         no_space()))
    with pytest.warns(UserWarning, match=rf"cannot write the cache file {re.escape(str(cache))} "
                                         r"\(No space left on device\).*WHALE_CACHE"):
        data.write_cache(cache, np.zeros((2, 4, 4, 3), np.uint8))
    assert list((tmp_path / "cache").iterdir()) == []          # nothing half-written


def test_metrics_that_cannot_be_written_name_the_file_and_keep_the_earlier_ones(tmp_path,
                                                                                 monkeypatch):
    earlier = save_run(tmp_path, "01_overfit_baseline", 0.5)
    before = earlier.read_bytes()
    monkeypatch.setattr(Path, "write_text", no_space)
    with pytest.raises(OSError, match=rf"cannot write this run's metrics to "
                                      rf"{re.escape(str(earlier))} \(No space left on device\)"):
        save_run(tmp_path, "01_overfit_baseline", 0.9)
    monkeypatch.undo()
    assert earlier.read_bytes() == before                      # the earlier run is intact
    assert sorted(p.name for p in earlier.parent.iterdir()) == [
        "01_overfit_baseline.json", "01_overfit_baseline.rows.csv"]


def test_a_misplaced_cache_folder_is_named_and_the_photos_still_load(tiny_set, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    names = data.read_labels(tiny_set)["Image"][:4]
    with pytest.warns(UserWarning, match=rf"cannot write the cache file "
                                         rf"{re.escape(str(blocker / 'cache'))}.*WHALE_CACHE"):
        photos, kept = data.load_photos(tiny_set, names, 32, cache_dir=blocker / "cache")
    assert photos.shape == (4, 32, 32, 3) and list(kept) == [0, 1, 2, 3]
    assert blocker.read_text() == "not a folder"                # the user's file untouched


def test_the_console_shows_a_warning_as_one_line_that_says_what_to_do(tmp_path):
    """The runner as `make run` starts it (``-m whale_series.series``), into a folder of the
    test's own, with its image cache placed under a file."""
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    start = ("import runpy, sys; from whale_utils.session import profile\n"
             "smoke = {**profile.load('smoke'), 'OUTPUT_DIR': sys.argv[1]}\n"
             "profile.load = lambda name: smoke\n"
             "sys.argv = ['series', 'run', '--profile', 'smoke', '--nb', '06']\n"
             "runpy.run_module('whale_series.series', run_name='__main__')")
    done = subprocess.run([sys.executable, "-c", start, str(tmp_path / "outputs")],
                          env={**os.environ, "WHALE_CACHE": str(blocker / "cache")},
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    said = [line for line in done.stderr.splitlines() if "cache" in line]
    assert len(said) == 1 and said[0].startswith(
        f"warning: cannot write the cache file {blocker / 'cache'}/images-32px-"), done.stderr
    assert said[0].endswith("set WHALE_CACHE to another folder") and "Warning" not in done.stderr


def test_timings_that_cannot_be_written_are_named_and_the_earlier_ones_kept(tmp_path,
                                                                           monkeypatch):
    series.write_timings(tmp_path, {"01_overfit_baseline": 12.0})
    monkeypatch.setattr(Path, "write_text", no_space)
    with pytest.warns(UserWarning, match=rf"cannot write {re.escape(str(tmp_path))}/timings.json "
                                         r"\(No space left on device\)"):
        series.write_timings(tmp_path, {"02_dropout": 5.0})
    monkeypatch.undo()
    assert series.read_timings(tmp_path) == {"01_overfit_baseline": 12.0}
    assert [p.name for p in tmp_path.iterdir()] == ["timings.json"]


def test_an_interrupted_write_leaves_the_old_file_whole(tmp_path):
    target = tmp_path / "metrics.json"
    target.write_text("old")

    def interrupted(partial):
        Path(partial).write_text("half")
        raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        data.write_atomically(target, interrupted)
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["metrics.json"]
    data.write_atomically(target, lambda partial: Path(partial).write_text("new"))
    assert target.read_text() == "new"
    assert target.stat().st_mode & 0o777 == 0o666 & ~data.UMASK     # not mkstemp's 0600


def test_a_damaged_file_in_keras_weights_cache_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    damaged = tmp_path / "models" / weights.RESNET_WEIGHTS_FILE
    damaged.parent.mkdir()
    damaged.write_bytes(b"\x89HDF\r\n truncated download")
    chosen = backbones.choose_weights("resnet50v2", "auto")
    assert chosen.source == "imagenet-cached" and chosen.load == str(damaged)
    with pytest.raises(ValueError, match=rf"could not load {re.escape(str(damaged))}.*Delete or "
                                         "replace it"):
        backbones.feature_extractor(chosen, 32)


def test_a_full_disk_under_the_converted_lite0_weights_is_named_and_the_run_goes_on(
        tmp_path, monkeypatch):
    """h5py reports a failed write as a RuntimeError whose text buries the reason."""
    cache = tmp_path / "cache"
    save_weights = keras.Model.save_weights

    def full_in_cache(self, path, overwrite=True):
        if Path(path).parent == cache:
            Path(path).write_bytes(b"\x89HDF half")
            raise RuntimeError("Can't decrement id ref count (file write failed: time = ..., "
                               "errno = 28, error message = 'No space left on device', buf = 0x0)")
        save_weights(self, path, overwrite=overwrite)
    monkeypatch.setattr(keras.Model, "save_weights", full_in_cache)
    with pytest.warns(UserWarning, match=rf"cannot keep the converted weights in "
                                         rf"{re.escape(str(cache))} \(No space left on device\): "
                                         r"converting them for this run only.*set WHALE_CACHE"):
        path = weights.lite0_keras_weights(weights.lite0_weights_path(), cache_dir=cache)
    assert list(cache.iterdir()) == []                         # nothing half-written
    model = weights.efficientnet_lite0()
    model.load_weights(path)                                   # this run's weights are whole
    shutil.rmtree(path.parent)


def test_too_little_room_for_the_converted_lite0_weights_is_seen_before_writing(tmp_path,
                                                                              monkeypatch):
    """HDF5 can crash the process when the disk fills mid-file: the free space is checked
    first, and the weights are converted for this run only."""
    cache = tmp_path / "cache"
    disk_usage = shutil.disk_usage
    monkeypatch.setattr(shutil, "disk_usage", lambda folder: disk_usage(folder)._replace(
        free=150_000) if Path(folder) == cache else disk_usage(folder))
    with pytest.warns(UserWarning, match=rf"cannot keep the converted weights in "
                                         rf"{re.escape(str(cache))} \(0.1 MB free, \d+ MB needed\)"):
        path = weights.lite0_keras_weights(weights.lite0_weights_path(), cache_dir=cache)
    assert list(cache.iterdir()) == [] and path.is_file()


def running_kernels() -> list:
    return [child for child in psutil.Process().children(recursive=True)
            if "ipykernel" in " ".join(child.cmdline())]


def when_a_kernel_runs(action, after: float = 4.0) -> threading.Thread:
    """Call ``action(kernel)`` once a notebook's kernel has run for ``after`` seconds."""
    def watch():
        while not running_kernels():
            time.sleep(0.2)
        time.sleep(after)
        action(running_kernels()[0])
    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


@pytest.fixture
def smoke_into(tmp_path, monkeypatch):
    """The smoke profile writing into a folder of the test's own."""
    settings = {**profile.load("smoke"), "OUTPUT_DIR": str(tmp_path / "outputs")}
    monkeypatch.setattr(profile, "load", lambda name: settings)
    return tmp_path / "outputs"


def ctrl_c(kernel):
    """A terminal's Ctrl-C: SIGINT to the whole process group, the kernel and the runner."""
    os.kill(kernel.pid, signal.SIGINT)
    os.kill(os.getpid(), signal.SIGINT)


def test_ctrl_c_stops_the_run_leaves_no_kernel_and_the_next_run_completes(smoke_into, capsys,
                                                                          caplog):
    when_a_kernel_runs(ctrl_c)
    assert series.main(["run", "--profile", "smoke", "--nb", "06", "01"]) == 130
    said = capsys.readouterr().err
    assert "interrupted: no notebook finished; 06_transfer_early_stopping, 01_overfit_baseline " \
           "did not" in said and "the next run starts them again" in said
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == []               # no "Kernel died" for a kernel stopped on purpose
    assert running_kernels() == []
    assert not (smoke_into / "metrics" / "01_overfit_baseline.json").exists()
    series.run_profile("smoke", ["06"])                       # the lock was released; a normal run
    assert (smoke_into / "metrics" / "06_transfer_early_stopping.json").is_file()


RUNNER_INTO = """
import sys
from whale_utils.session import profile
from whale_series import series
settings = {**profile.load("smoke"), "OUTPUT_DIR": sys.argv[1]}
profile.load = lambda name: settings
series.cli(["run", "--profile", "smoke", "--nb", "06", "01", "02", "--jobs", "2"])
"""


def in_a_terminal_group():
    """The child of a terminal's shell: its own process group, SIGINT as the default
    (a background job would start with it ignored and prove nothing)."""
    os.setpgrp()
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.parametrize("reader", ["tee", "closed"])
def test_ctrl_c_with_the_console_piped_ends_the_run_within_seconds(tmp_path, reader):
    """``make run-all 2>&1 | tee run.log``: Ctrl-C reaches the runner and ``tee`` alike, so
    the runner's last words meet a pipe without a reader; or the pipe closed long before
    (``| head -1``). Either way the run ends, non-zero, leaving no kernel, and its log says
    what happened."""
    out = tmp_path / "outputs"
    read_end, write_end = os.pipe()
    runner = subprocess.Popen([sys.executable, "-c", RUNNER_INTO, str(out)], stdout=write_end,
                              stderr=write_end, preexec_fn=in_a_terminal_group)
    os.close(write_end)
    tee = subprocess.Popen(["tee", str(tmp_path / "console.txt")] if reader == "tee"
                           else ["head", "-c", "1"], stdin=read_end, stdout=subprocess.DEVNULL,
                           preexec_fn=lambda: os.setpgid(0, runner.pid))
    os.close(read_end)
    try:
        kernels = []
        while not kernels and runner.poll() is None:
            time.sleep(0.2)
            kernels = [c for c in psutil.Process(runner.pid).children(recursive=True)
                       if "ipykernel" in " ".join(c.cmdline())]
        time.sleep(4)                                   # the notebooks are running
        os.killpg(runner.pid, signal.SIGINT)            # the terminal's Ctrl-C
        stopped = time.monotonic()
        assert runner.wait(timeout=30) == 130
        assert time.monotonic() - stopped < 10
        assert not [k for k in kernels if k.is_running() and k.status() != psutil.STATUS_ZOMBIE]
        log = (out / "logs" / "run.log").read_text()
        assert "interrupted: " in log and "did not" in log
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(runner.pid, signal.SIGKILL)
        tee.wait(timeout=10)


def test_a_kernel_that_dies_is_named_with_its_partial_notebook_and_the_others_finish(
        smoke_into, capsys):
    when_a_kernel_runs(lambda kernel: kernel.kill())   # as the out-of-memory killer does
    with pytest.raises(SystemExit, match="1 of 2 notebook"):
        series.run_profile("smoke", ["06", "01"])
    said = capsys.readouterr().err
    partial = smoke_into / "06_transfer_early_stopping.ipynb"
    assert "FAILED 06_transfer_early_stopping: DeadKernelError" in said
    assert f"partial executed notebook: {partial}" in said and partial.is_file()
    assert (smoke_into / "metrics" / "01_overfit_baseline.json").is_file()
    assert running_kernels() == []


def test_a_second_run_on_the_same_outputs_stops_at_once_and_the_lock_dies_with_its_run(tmp_path):
    with series.exclusive(tmp_path):
        with pytest.raises(SystemExit, match=rf"another run is writing {re.escape(str(tmp_path))} "
                                             rf"\(pid {os.getpid()}, started "):
            with series.exclusive(tmp_path):
                pass
    holder = subprocess.Popen([sys.executable, "-c",
                               "import sys, time; from pathlib import Path; "
                               "from whale_series import series\n"
                               "with series.exclusive(Path(sys.argv[1])):\n"
                               "    print('held', flush=True); time.sleep(60)", str(tmp_path)],
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    with pytest.raises(SystemExit, match=rf"pid {holder.pid}"):
        with series.exclusive(tmp_path):
            pass
    holder.kill()                                     # a run that crashed
    holder.wait()
    with series.exclusive(tmp_path):                  # its lock went with it
        pass


def test_the_runner_refuses_photos_that_cannot_fit_before_decoding_any(tmp_path, monkeypatch,
                                                                      capsys):
    """IMG_SIZE=1024 on a machine with little memory: the runner stops with the loader's
    message before it decodes a photo or starts a kernel (it once filled the array first)."""
    settings = {**profile.load("smoke"), "IMG_SIZE": 1024, "OUTPUT_DIR": str(tmp_path / "out")}
    series.prepare_data(settings, "smoke")
    monkeypatch.setattr(data, "available_memory", lambda: 2**30)        # 1 GiB
    monkeypatch.setattr(data, "decode_dataset", lambda *a, **k: pytest.fail("decoded photos"))
    monkeypatch.setattr(data, "read_cache", lambda *a, **k: pytest.fail("read cached photos"))
    with pytest.raises(SystemExit, match=r"error: IMG_SIZE=1024 with 200 photos needs about "
                                         r"1\.8 GiB .* 1\.0 GiB is available: choose a smaller "
                                         r"IMG_SIZE or N_ROWS"):
        series.decode_once(settings, ["01_overfit_baseline"])


def test_a_notebook_past_its_time_limit_is_stopped_and_named_with_its_cell(tmp_path,
                                                                          monkeypatch):
    """A cell that never returns (a hung kernel, a stuck worker): the notebook is stopped
    at its limit, the error names the cell, and no kernel is left."""
    import nbformat

    from whale_series import kernels
    from whale_utils.session import registry

    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("SEED = 0", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("import time"),
        nbformat.v4.new_code_cell("time.sleep(600)  # never returns in time")])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}
    nbformat.write(notebook, tmp_path / "99_hangs.ipynb")
    monkeypatch.setattr(registry, "NOTEBOOK_DIR", tmp_path)
    start = time.monotonic()
    # cell 3: its index in the executed copy, where papermill put the injected parameters
    with pytest.raises(kernels.TimeLimitError, match=r"stopped at its time limit \(0\.1 min, "
                                                     r"the profile's time_limit_minutes\) in "
                                                     r"cell 3 \(`time\.sleep\(600\)"):
        kernels.execute("99_hangs", {}, tmp_path / "out" / "99_hangs.ipynb", time_limit=6)
    assert time.monotonic() - start < 60
    assert running_kernels() == []


@pytest.fixture
def pair(tmp_path):
    """A copy of notebook 06's pair (and the jupytext settings) that a test may edit."""
    for name in ("06_transfer_early_stopping.py", "06_transfer_early_stopping.ipynb"):
        shutil.copy2(ROOT / "notebooks" / name, tmp_path / name)
    shutil.copy(ROOT / "jupytext.toml", tmp_path)
    return tmp_path / "06_transfer_early_stopping.py", tmp_path / "06_transfer_early_stopping.ipynb"


def touch_later(path: Path, seconds: float = 5.0) -> None:
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + int(seconds * 1e9)))


def test_an_edited_source_is_what_the_run_executes(pair, capsys):
    py, ipynb = pair
    py.write_text(py.read_text() + '\n# %%\nprint("my edit")\n')
    touch_later(py)
    series.sync_pairs(["06_transfer_early_stopping"], py.parent)
    assert 'print("my edit")' in "".join(c.source for c in nbformat.read(ipynb, 4).cells)
    assert 'print("my edit")' in py.read_text()
    assert "06_transfer_early_stopping: 06_transfer_early_stopping.ipynb updated from " \
           "06_transfer_early_stopping.py, which you edited last" in capsys.readouterr().out


def test_an_ipynb_edited_without_jupytext_is_kept_and_the_source_follows(pair):
    py, ipynb = pair
    notebook = nbformat.read(ipynb, 4)
    notebook.cells.append(nbformat.v4.new_code_cell('print("edited in Colab")'))
    nbformat.write(notebook, ipynb)
    touch_later(ipynb)
    series.sync_pairs(["06_transfer_early_stopping"], py.parent)
    assert 'print("edited in Colab")' in py.read_text()
    assert 'print("edited in Colab")' in "".join(c.source for c in nbformat.read(ipynb, 4).cells)


def test_a_pair_already_in_step_is_left_alone_and_a_tie_is_refused(pair):
    py, ipynb = pair
    before = {path: (path.stat().st_mtime_ns, path.read_bytes()) for path in pair}
    series.sync_pairs(["06_transfer_early_stopping"], py.parent)
    assert {path: (path.stat().st_mtime_ns, path.read_bytes()) for path in pair} == before
    py.write_text(py.read_text() + '\n# %%\nprint("one side")\n')
    os.utime(ipynb, ns=(py.stat().st_atime_ns, py.stat().st_mtime_ns))
    with pytest.raises(SystemExit, match="differ and neither is newer"):
        series.sync_pairs(["06_transfer_early_stopping"], py.parent)
    assert 'print("one side")' in py.read_text()                  # nothing overwritten
