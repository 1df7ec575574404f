"""The runner's console: what it says reaches the terminal, pipe or file while that can
take it, and its lines always reach the run's log.

A console piped into ``tee`` loses its reader at Ctrl-C (the terminal interrupts ``tee``
too), and ``make run-all | head`` closes it early: a write there fails with
``BrokenPipeError``. The runner must not fail, or hang, for that: ``Console`` drops the
console at its first failed write and goes on writing the log.
"""

from __future__ import annotations

import contextlib
import io
import sys
import time
from pathlib import Path


class Console(io.TextIOBase):
    """A text stream that writes to ``stream`` until a write there fails, and everything
    to the log, once ``log_to``."""

    def __init__(self, stream):
        super().__init__()
        self.stream, self.log = stream, None

    def write(self, text: str) -> int:
        if self.stream is not None:
            try:
                self.stream.write(text)
                self.stream.flush()
            except (OSError, ValueError):        # a closed pipe or file: the log goes on
                self.stream = None
        if self.log is not None:
            self.log.write(text)
            self.log.flush()
        return len(text)

    def flush(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            if self.stream is not None:
                self.stream.flush()

    def isatty(self) -> bool:
        return self.stream is not None and self.stream.isatty()

    @property
    def encoding(self) -> str:
        return getattr(self.stream, "encoding", None) or "utf-8"


@contextlib.contextmanager
def consoles():
    """``sys.stdout`` and ``sys.stderr`` as ``Console`` streams for the block."""
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = Console(sys.stdout), Console(sys.stderr)
    try:
        yield
    finally:
        for stream in (sys.stdout, sys.stderr):
            if isinstance(stream, Console) and stream.log is not None:
                stream.log.close()
                stream.log = None
        sys.stdout, sys.stderr = saved


def log_to(path: Path, title: str) -> None:
    """Append what the consoles say from now on to ``path`` (the run's log), after a
    header line with ``title`` and the time."""
    streams = [s for s in (sys.stdout, sys.stderr) if isinstance(s, Console)]
    if not streams:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    log = open(path, "a", encoding="utf-8")      # noqa: SIM115 - closed by consoles()
    log.write(f"\n== {time.strftime('%Y-%m-%d %H:%M:%S')} {title}\n")
    for stream in streams:
        stream.log = log


def progress_stream():
    """Where progress bars go: the console as ``sys.stderr`` has it, never the log (a bar
    redraws itself many times a second)."""
    return Console(sys.stderr.stream) if isinstance(sys.stderr, Console) else sys.stderr
