"""One notebook in one kernel: papermill's run, the kernel's threads and environment,
and what to say when it fails. The local runner (``series``) and the cluster runner
(``cluster``) both run notebooks through here.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import signal
import threading
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager

from whale_series import console
from whale_utils.session import registry


def kernel_threads(jobs: int, cores: int | None = None) -> dict[str, str]:
    """The environment that gives each of ``jobs`` parallel kernels its share of the
    cores: TensorFlow's intra-op pool (and OpenMP's) sized ``cores // jobs``, one
    inter-op thread. Read by TensorFlow when it starts in the kernel."""
    share = str(max(1, (cores or os.cpu_count() or 1) // max(1, jobs)))
    return {"TF_NUM_INTRAOP_THREADS": share, "TF_NUM_INTEROP_THREADS": "1",
            "OMP_NUM_THREADS": share}


def shares_cores(jobs: int, cores: int | None = None) -> bool:
    """Whether ``jobs`` parallel kernels get a share of the cores each by default: when
    every share is two threads or more, or when kernels outnumber cores. Two kernels on
    two cores keep all cores each: confined to one thread, a kernel cannot use the core
    its neighbour leaves idle in its Python phases (start, plots, saving); measured
    slower on 2 cores (docs/profiles.md)."""
    cores = cores or os.cpu_count() or 1
    return jobs > cores or (jobs > 1 and cores // jobs >= 2)


@contextlib.contextmanager
def environment(values: dict[str, str], override: bool = False):
    """``os.environ`` with ``values`` set, restored afterwards (kernels inherit it); a
    value the user already set is kept unless ``override``."""
    saved = dict(os.environ)
    os.environ.update({k: v for k, v in values.items() if override or k not in os.environ})
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


class QuietShutdownKernelManager(AsyncKernelManager):
    """A kernel manager that shuts a finished kernel down without interrupting it first.

    jupyter_client sends SIGINT before every shutdown request; a kernel still finishing
    a message when it arrives logs "ERROR | KeyboardInterrupt caught in kernel." on the
    console after a notebook that succeeded. The shutdown request alone stops the kernel
    (then SIGTERM, then SIGKILL, as before); a timed-out cell is still interrupted.
    The two methods below are private to jupyter_client 8: pyproject.toml bounds it."""

    log_path: Path | None = None    # where the kernel's own C-level output goes
    launched: list | None = None    # the managers of this class's kernels (see ``logging_to``)

    async def _async_interrupt_kernel(self) -> None:
        if self.shutting_down:
            return
        await super()._async_interrupt_kernel()

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw) -> None:
        if self.launched is not None:
            self.launched.append(self)
        if self.log_path is None:
            return await super()._async_launch_kernel(kernel_cmd, **kw)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:    # the kernel keeps its own copy open
            await super()._async_launch_kernel(kernel_cmd, **{**kw, "stdout": log,
                                                              "stderr": log})


def logging_to(path: Path) -> type[QuietShutdownKernelManager]:
    """A kernel manager class whose kernels write their process output (TensorFlow's C++
    runtime lines, a crash's last words) to ``path`` instead of the console."""
    return type("LoggedKernelManager", (QuietShutdownKernelManager,),
                {"log_path": Path(path), "launched": []})


class TimeLimitError(RuntimeError):
    """A notebook stopped at its time limit: which limit, and the cell it was in."""


STOPPED: set[int] = set()   # threads whose kernel was stopped at its time limit


def stop_at(seconds: float | None, managers: list) -> threading.Timer | None:
    """A timer that kills the kernels of ``managers`` after ``seconds`` (None: no limit);
    the calling thread's "kernel died" log line is then no error (``TimeLimitError`` says
    what happened)."""
    caller = threading.get_ident()

    def stop():
        STOPPED.add(caller)
        for manager in managers:
            with contextlib.suppress(ProcessLookupError, TypeError):
                os.kill(manager.provisioner.pid, signal.SIGKILL)
    if seconds is None:
        return None
    timer = threading.Timer(seconds, stop)
    timer.daemon = True
    timer.start()
    return timer


def running_cell(output: Path) -> str:
    """The cell a stopped run was in: the last one papermill started in the partial
    executed notebook ``output`` (its index there, and its first line)."""
    try:
        cells = json.loads(output.read_text())["cells"]
    except (OSError, ValueError, KeyError):
        return "an unknown cell"
    started = [i for i, cell in enumerate(cells)
               if cell.get("metadata", {}).get("papermill", {}).get("start_time")]
    if not started:
        return "an unknown cell"
    source = "".join(cells[started[-1]].get("source", "")).strip().splitlines() or [""]
    return f"cell {started[-1]} (`{source[0][:60]}`)"


class _QuietOnPurpose(logging.Filter):
    """papermill's lines about what the runner does on purpose: it warns about any
    parameter a notebook does not declare (NOTEBOOK is meant to be injected that way), and
    logs "Kernel died" for a kernel stopped at its time limit."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "unknown parameter: NOTEBOOK" not in record.getMessage() and not (
            record.thread in STOPPED and "Kernel died" in record.getMessage())


logging.getLogger("papermill").addFilter(_QuietOnPurpose())


def log_file(output: Path) -> Path:
    """Where the kernel of the notebook executed into ``output`` logs: ``logs/NN_name.log``
    beside it."""
    return output.parent / "logs" / f"{output.stem}.log"


def execute(notebook: str, params: dict, output: Path, bar: int = 0,
            log: Path | None = None, time_limit: float | None = None,
            source: Path | None = None) -> None:
    """Run one notebook with papermill, writing the executed copy to ``output`` and its
    kernel's process output to ``log`` (by default ``log_file(output)``; the console
    keeps the progress).

    The kernel starts in the current directory: papermill's own ``cwd`` changes the
    directory of the whole process, which parallel runs cannot share. ``bar`` is the
    terminal line of its progress bar (one per parallel job). ``source`` is what runs (by
    default the notebook's ``.ipynb``; the runner gives its solved copy for ``SOLUTIONS``).
    """
    import papermill as pm

    source = source or registry.NOTEBOOK_DIR / f"{notebook}.ipynb"
    declared = pm.inspect_notebook(str(source))
    output.parent.mkdir(parents=True, exist_ok=True)
    if output.resolve() == source.resolve():
        raise SystemExit(f"error: refusing to overwrite the source notebook {source}")
    progress = {"desc": f"{notebook[:24]:24}", "position": bar, "leave": True,
                "file": console.progress_stream()}
    # The kernel's C-level output (TensorFlow's runtime) goes to its log file, not into
    # the notebook: at shutdown that pipe's reader could print tracebacks, and on the
    # console its I/E lines read as errors. Its own log stays quiet below ERROR (every
    # kernel warned that it runs over TCP on loopback, nothing a user can act on); what
    # the notebook's code warns goes into
    # the notebook. NOTEBOOK (the notebook's own name) is not a parameter a user sets:
    # the runner injects it so that the notebook's record knows whose metrics it writes.
    # Past ``time_limit`` seconds its kernel is killed, and the error names the cell.
    manager = logging_to(log or log_file(output))
    timer = stop_at(time_limit, manager.launched)
    try:
        pm.execute_notebook(str(source), str(output), progress_bar=progress,
                            parameters={**{k: v for k, v in params.items() if k in declared},
                                        "NOTEBOOK": notebook},
                            kernel_name="python3", kernel_manager_class=manager,
                            extra_arguments=["--IPKernelApp.capture_fd_output=False",
                                             "--IPKernelApp.log_level=ERROR"])
    except Exception:
        if timer is not None and not timer.is_alive():
            raise TimeLimitError(f"stopped at its time limit ({time_limit / 60:g} min, the "
                                 f"profile's time_limit_minutes) in {running_cell(output)}"
                                 ) from None
        raise
    finally:
        if timer is not None:
            timer.cancel()
        STOPPED.discard(threading.get_ident())


@contextlib.contextmanager
def silent_once_stopped():
    """Yields ``stopped()``: call it before stopping the kernels on purpose (Ctrl-C), and
    the execution threads' log lines about them ("Kernel died while waiting for execute
    reply") are not shown, until the block ends."""
    try:
        yield lambda: logging.disable(logging.CRITICAL)
    finally:
        logging.disable(logging.NOTSET)


def stop_kernels(grace: float = 5.0) -> list[int]:
    """Stop every kernel this process started (SIGTERM, then SIGKILL after ``grace``
    seconds): after Ctrl-C none is left running. Returns their process ids."""
    import psutil

    children = [child for child in psutil.Process().children(recursive=True)
                if "ipykernel" in " ".join(_command_line(child))]
    for child in children:
        with contextlib.suppress(psutil.NoSuchProcess):
            child.terminate()
    _, alive = psutil.wait_procs(children, timeout=grace)
    for child in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            child.kill()
    return [child.pid for child in children]


def _command_line(process) -> list[str]:
    import psutil

    try:
        return process.cmdline()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return []


def remove_incomplete(output: Path) -> None:
    """Remove an executed notebook that is not whole JSON (its write stopped half way, on
    a full disk): nothing half-written may be read later as a result."""
    try:
        json.loads(output.read_text())
    except FileNotFoundError:
        pass
    except (OSError, ValueError):
        output.unlink(missing_ok=True)


def describe_failure(err: Exception, output: Path) -> str:
    """Which cell failed and why, and where its partial executed notebook is."""
    from papermill.exceptions import PapermillExecutionError

    if isinstance(err, PapermillExecutionError):
        where = f"cell {err.cell_index} (execution count {err.exec_count}), {err.ename}: {err.evalue}"
    elif isinstance(err, OSError) and err.errno == errno.ENOSPC:
        return (f"no space left on the disk of {output.parent}: free some space there, or "
                "choose another OUTPUT_DIR, and run this notebook again")
    else:
        where = f"{type(err).__name__}: {err}"
    partial = f"; partial executed notebook: {output}" if output.exists() else ""
    log = f"; kernel log: {log_file(output)}" if log_file(output).is_file() else ""
    return where + partial + log
