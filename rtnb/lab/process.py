"""Run JupyterLab as a child process and take it down completely when ``rtnb lab`` is stopped.

JupyterLab starts its kernels in sessions of their own, so a signal to ``rtnb lab``'s process
group does not reach them, and a ``rtnb lab`` that simply died would leave the server, its port
and its kernels behind. :func:`run_until_stopped` catches SIGTERM, SIGINT and SIGHUP, asks
JupyterLab to shut down (SIGTERM: it stops its kernels and closes its port, without the
"Shut down this Jupyter server?" prompt of Ctrl-C), kills it if it has not exited after a grace
period, and finally stops any process it started that outlived it.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import Any

GRACE_S = 20.0
"""How long JupyterLab may take to shut down before it is killed."""

STOP_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGTERM", "SIGINT", "SIGHUP") if hasattr(signal, name)
)


class _Stopper:
    """Signal handler state: the first signal asks for a shutdown, the second kills."""

    def __init__(self, process: subprocess.Popen[Any], grace_s: float) -> None:
        self.process = process
        self.grace_s = grace_s
        self.requested = 0
        self.descendants: list[Any] = []
        self._timer: threading.Timer | None = None

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        self.requested += 1
        self.remember_descendants()
        if self.requested == 1:
            print(
                "rtnb lab: stopping JupyterLab and its kernels (again to kill them now)",
                file=sys.stderr,
                flush=True,
            )
            _send(self.process, signal.SIGTERM)
            self._timer = threading.Timer(self.grace_s, self.kill)
            self._timer.daemon = True
            self._timer.start()
        else:  # a second Ctrl-C: do not wait any longer
            self.kill()

    def remember_descendants(self) -> None:
        """Note the processes under JupyterLab (its kernels) while they are still its children."""
        psutil = _psutil()
        if psutil is None:
            return
        with contextlib.suppress(psutil.Error):
            known = {p.pid for p in self.descendants}
            found = psutil.Process(self.process.pid).children(recursive=True)
            self.descendants += [p for p in found if p.pid not in known]

    def kill(self) -> None:
        """Kill JupyterLab now."""
        _send(self.process, signal.SIGKILL if hasattr(signal, "SIGKILL") else signal.SIGTERM)

    def cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()


def run_until_stopped(
    command: Sequence[str],
    *,
    cwd: Path,
    env: dict[str, str] | None = None,
    grace_s: float = GRACE_S,
) -> int:
    """Run ``command`` until it exits or this process is asked to stop; return its exit code.

    Must be called from the main thread (it installs signal handlers, restored on return).
    When stopped by a signal the return code is ``128 + signal`` of the first signal, as a
    shell reports a process ended by it.
    """
    received: list[int] = []
    stopper: _Stopper | None = None

    def on_signal(signum: int, frame: FrameType | None) -> None:
        received.append(signum)
        if stopper is not None:
            stopper(signum, frame)

    # Installed before the start, so that no signal can end rtnb with JupyterLab left running.
    previous = {sig: signal.signal(sig, on_signal) for sig in STOP_SIGNALS}
    try:
        process = subprocess.Popen(
            list(command),
            cwd=cwd,
            env=env,
            # Its own process group: a Ctrl-C in the terminal reaches rtnb only, which shuts
            # JupyterLab down in one step (JupyterLab would ask for a confirmation instead).
            start_new_session=True,
        )
        stopper = _Stopper(process, grace_s)
        if received:  # a signal came while it was starting
            stopper(received[0], None)
        try:
            code = process.wait()
        except BaseException:
            stopper.kill()
            process.wait()
            raise
    finally:
        if stopper is not None:
            stopper.cancel_timer()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if stopper is not None:
            stop_processes(stopper.descendants, grace_s=grace_s)
    return 128 + received[0] if received else code


def stop_processes(processes: list[Any], *, grace_s: float = GRACE_S) -> None:
    """Terminate the ``psutil.Process`` objects still running, then kill what is left."""
    psutil = _psutil()
    if psutil is None or not processes:
        return
    alive = []
    for process in processes:
        with contextlib.suppress(psutil.Error):
            if process.is_running():  # also false when the pid was reused since
                process.terminate()
                alive.append(process)
    _, left = psutil.wait_procs(alive, timeout=grace_s)
    for process in left:
        with contextlib.suppress(psutil.Error):
            process.kill()
    psutil.wait_procs(left, timeout=grace_s)


def _send(process: subprocess.Popen[Any], sig: int) -> None:
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(sig)


def _psutil() -> Any:
    try:
        import psutil
    except ImportError:  # no kernel sweep without it (it comes with JupyterLab's ipykernel)
        return None
    return psutil
