"""``run_until_stopped``: a child that ignores SIGTERM is killed after the grace period, and a
process it started in a session of its own (as JupyterLab starts kernels) does not survive it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).parents[2]

# A stubborn server: ignores SIGTERM, starts a "kernel" in its own session, says both pids.
STUBBORN = textwrap.dedent(
    """
    import signal, subprocess, sys
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    kernel = subprocess.Popen(
        [sys.executable, "-c", "import signal; signal.pause()"], start_new_session=True
    )
    print("pids", kernel.pid, flush=True)
    while True:
        signal.pause()
    """
)

RUNNER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from rtnb.lab.process import run_until_stopped
    sys.exit(run_until_stopped([sys.executable, "-c", sys.argv[1]], cwd=Path.cwd(), grace_s=2))
    """
)


@pytest.mark.slow  # real processes and a kernel
@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_a_stubborn_child_is_killed_and_its_kernel_stopped(
    tmp_path: Path, stop: signal.Signals
) -> None:
    runner = subprocess.Popen(
        [sys.executable, "-c", RUNNER, STUBBORN],
        cwd=tmp_path,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    family: list[psutil.Process] = []
    try:
        assert runner.stdout is not None
        line = runner.stdout.readline()  # the kernel runs once this line is written
        assert line.startswith("pids"), line
        kernel = psutil.Process(int(line.split()[1]))
        family = [psutil.Process(runner.pid), *psutil.Process(runner.pid).children(True)]
        assert kernel in family and len(family) == 3

        os.kill(runner.pid, stop)
        assert runner.wait(60) == 128 + stop
        _, alive = psutil.wait_procs(family, timeout=30)
        assert not alive, alive
    finally:
        for process in family:
            if process.is_running():
                process.kill()
        if runner.poll() is None:
            runner.kill()
            runner.wait(10)
