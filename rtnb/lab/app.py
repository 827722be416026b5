"""``rtnb lab``: JupyterLab on a working copy of the tutorial notebooks, opened at the quickstart.

What JupyterLab opens, first match wins:

1. ``--dir DIR``: any directory you choose, used as it is;
2. otherwise a working copy of the tutorials in ``./rtnb-notebooks`` (in the directory you run
   ``rtnb lab`` from; run inside a working copy, that copy), made from the ``notebooks/`` folder
   of the clone rtnb runs from (an editable install, ``pip install -e``) or, installed from a
   wheel, from the copy packaged in it (``rtnb/_notebooks``). Outputs, autosaves and the files
   the tutorials write stay in the copy, so a clone's ``git status`` stays clean (its
   ``.gitignore`` lists ``rtnb-notebooks/``). Each start copies new tutorials and updates the
   ones you have not edited (see
   :mod:`rtnb.lab.working_copy`).

JupyterLab listens on 127.0.0.1 unless ``--host`` names another address, which needs
``--allow-remote``. Its news pop-up is turned off for the run (:mod:`rtnb.lab.settings`). Stopping
``rtnb lab`` (Ctrl-C, SIGTERM, SIGHUP) shuts JupyterLab and its kernels down
(:mod:`rtnb.lab.process`). The kernels inherit the environment: with ``OPENAI_API_KEY`` set the
notebooks talk to the OpenAI Realtime API, otherwise to the embedded local server. The key itself
is never printed, put on a command line or written anywhere by this command.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import tempfile
from importlib import resources
from pathlib import Path

from rtnb.lab.process import run_until_stopped
from rtnb.lab.settings import write_app_settings
from rtnb.lab.working_copy import MANIFEST, sync_working_copy, trust_tutorials
from rtnb.transport.base import is_loopback_host

QUICKSTART = "01_quickstart.ipynb"
COPY_DIR = "rtnb-notebooks"
"""The working copy of the tutorials (relative to the directory ``rtnb lab`` runs in)."""


def clone_notebooks() -> Path | None:
    """The ``notebooks/`` folder of the source tree rtnb is imported from, if there is one."""
    folder = Path(__file__).resolve().parents[2] / "notebooks"
    return folder if (folder / QUICKSTART).is_file() else None


def packaged_notebooks() -> Path | None:
    """The notebooks shipped inside the installed wheel, if any."""
    folder = resources.files("rtnb") / "_notebooks"
    path = Path(str(folder))
    return path if (path / QUICKSTART).is_file() else None


def notebooks_dir(
    explicit: str | os.PathLike[str] | None = None, *, cwd: Path | None = None
) -> Path:
    """The directory JupyterLab should open (see the module docstring for the order).

    Without ``explicit``, the working copy is brought up to date first; what happened to
    notebooks already there is printed.
    """
    if explicit is not None:
        path = Path(explicit).expanduser().resolve()
        if not path.is_dir():
            raise ValueError(f"--dir {explicit}: not a directory")
        return path
    source = clone_notebooks() or packaged_notebooks()
    if source is None:
        raise ValueError("no tutorial notebooks found; pass --dir DIR")
    here = cwd or Path.cwd()
    # run from inside the working copy: that copy, not a copy nested in it
    target = here if (here / MANIFEST).is_file() else here / COPY_DIR
    for note in sync_working_copy(source, target):
        print(f"rtnb lab: {note}", flush=True)
    return target


def check_host(host: str, *, allow_remote: bool = False) -> None:
    """Refuse a non-loopback ``host`` unless ``allow_remote`` (``ValueError``)."""
    if not allow_remote and not is_loopback_host(host):
        raise ValueError(
            f"host {host!r} is not a loopback address; pass --allow-remote to expose JupyterLab "
            "(and everything it can run) to other machines"
        )


def lab_command(
    directory: Path,
    *,
    host: str = "127.0.0.1",
    port: int | None = None,
    open_browser: bool = True,
    allow_remote: bool = False,
    app_settings_dir: Path | None = None,
) -> list[str]:
    """The ``jupyter lab`` command line serving ``directory``, opening the quickstart if present.

    ``app_settings_dir`` replaces JupyterLab's application settings directory (the defaults
    written by :func:`rtnb.lab.settings.write_app_settings`).
    """
    check_host(host, allow_remote=allow_remote)
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        f"--ServerApp.ip={host}",
        f"--ServerApp.root_dir={directory}",
    ]
    if (directory / QUICKSTART).is_file():
        command.append(f"--LabApp.default_url=/lab/tree/{QUICKSTART}")
    if port is not None:
        command.append(f"--ServerApp.port={port}")
    if not open_browser:
        command.append("--no-browser")
    if app_settings_dir is not None:
        command.append(f"--LabApp.app_settings_dir={app_settings_dir}")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")  # containers (Binder-like images, CI) run as root
    return command


def run_lab(
    directory: str | None = None,
    *,
    host: str = "127.0.0.1",
    port: int | None = None,
    open_browser: bool = True,
    allow_remote: bool = False,
) -> int:
    """Run JupyterLab until it exits or ``rtnb lab`` is stopped; return an exit code.

    The code is JupyterLab's, or ``128 + signal number`` when a signal stopped ``rtnb lab``.
    """
    if importlib.util.find_spec("jupyterlab") is None:
        print(
            "rtnb lab needs JupyterLab: python -m pip install 'rtnb[notebook]'"
            " (in a clone: python -m pip install -e '.[notebook]')",
            file=sys.stderr,
        )
        return 1
    check_host(host, allow_remote=allow_remote)  # before anything is copied
    folder = notebooks_dir(directory)
    if directory is None:
        trust_tutorials(folder)  # else JupyterLab logs "not trusted" for each one it opens
    backend = (
        "the OpenAI Realtime API (OPENAI_API_KEY is set)"
        if os.environ.get("OPENAI_API_KEY")
        else "the embedded local server (no OPENAI_API_KEY: offline)"
    )
    print(f"rtnb lab: notebooks in {folder}; sessions will use {backend}", flush=True)
    with tempfile.TemporaryDirectory(prefix="rtnb-lab-settings-") as settings:
        command = lab_command(
            folder,
            host=host,
            port=port,
            open_browser=open_browser,
            allow_remote=allow_remote,
            app_settings_dir=write_app_settings(Path(settings)),
        )
        return run_until_stopped(command, cwd=folder)
