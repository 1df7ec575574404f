"""The kernel a notebook runs in: threads, environment, and a shutdown that logs nothing."""

import asyncio
import errno
import os
import signal

import pytest
from jupyter_client.manager import AsyncKernelManager

from whale_series import kernels


def signals_at_shutdown(manager_class) -> list[int]:
    """Start a real kernel, shut it down as papermill does, and return the signals it got."""
    async def run():
        manager = manager_class(kernel_name="python3")
        await manager.start_kernel(extra_arguments=["--IPKernelApp.log_level=ERROR"])
        sent, send = [], manager.provisioner.send_signal

        async def spy(signum):
            sent.append(signum)
            await send(signum)

        manager.provisioner.send_signal = spy
        await manager.shutdown_kernel()
        assert not await manager.is_alive()
        return sent
    return asyncio.run(run())


@pytest.mark.parametrize("manager_class, interrupted", [
    (AsyncKernelManager, True),   # jupyter_client's: SIGINT first (the kernel logs ERROR)
    (kernels.QuietShutdownKernelManager, False)])
def test_a_finished_kernel_stops_without_an_interrupt(manager_class, interrupted):
    """A kernel interrupted while it finishes a message logs "ERROR | KeyboardInterrupt
    caught in kernel." after a notebook that succeeded; the runner's manager only asks
    it to shut down."""
    assert (signal.SIGINT in signals_at_shutdown(manager_class)) is interrupted


def test_cores_are_shared_only_where_each_kernel_keeps_two_threads_or_kernels_outnumber_cores():
    assert not kernels.shares_cores(1, cores=8)          # one kernel: all of them
    assert not kernels.shares_cores(2, cores=2)          # one thread each would idle a core
    assert not kernels.shares_cores(2, cores=3)
    assert kernels.shares_cores(2, cores=4) and kernels.shares_cores(4, cores=8)
    assert kernels.shares_cores(3, cores=2)              # more kernels than cores


def test_kernel_threads_share_the_cores_among_the_jobs():
    assert kernels.kernel_threads(2, cores=2)["TF_NUM_INTRAOP_THREADS"] == "1"
    assert kernels.kernel_threads(1, cores=8)["TF_NUM_INTRAOP_THREADS"] == "8"
    assert kernels.kernel_threads(3, cores=8) == {"TF_NUM_INTRAOP_THREADS": "2",
                                                 "TF_NUM_INTEROP_THREADS": "1",
                                                 "OMP_NUM_THREADS": "2"}
    assert kernels.kernel_threads(4, cores=2)["TF_NUM_INTRAOP_THREADS"] == "1"


def test_environment_keeps_what_the_user_set_and_restores(monkeypatch):
    monkeypatch.setenv("TF_NUM_INTRAOP_THREADS", "7")
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    with kernels.environment({"TF_NUM_INTRAOP_THREADS": "1", "OMP_NUM_THREADS": "1"}):
        assert os.environ["TF_NUM_INTRAOP_THREADS"] == "7"
        assert os.environ["OMP_NUM_THREADS"] == "1"
    assert "OMP_NUM_THREADS" not in os.environ and os.environ["TF_NUM_INTRAOP_THREADS"] == "7"


def test_a_full_disk_under_the_outputs_says_where_and_what_to_do(tmp_path):
    out = tmp_path / "outputs" / "06_transfer_early_stopping.ipynb"
    said = kernels.describe_failure(OSError(errno.ENOSPC, "No space left on device"), out)
    assert said == (f"no space left on the disk of {out.parent}: free some space there, or "
                    "choose another OUTPUT_DIR, and run this notebook again")
    other = kernels.describe_failure(OSError(errno.EIO, "Input/output error"), out)
    assert other == "OSError: [Errno 5] Input/output error"


def test_an_executed_notebook_cut_short_by_a_full_disk_is_removed(tmp_path):
    cut, whole = tmp_path / "cut.ipynb", tmp_path / "whole.ipynb"
    cut.write_text('{"cells": [{"cell_type": "code", "sou')
    whole.write_text('{"cells": []}')
    for output in (cut, whole, tmp_path / "never-written.ipynb"):
        kernels.remove_incomplete(output)
    assert [p.name for p in tmp_path.iterdir()] == ["whole.ipynb"]
