"""``rtnb lab``: JupyterLab on the tutorial notebooks, opened at the quickstart.

Where the notebooks come from, first match wins:

1. ``--dir DIR``: any directory you choose;
2. the ``notebooks/`` folder of the clone rtnb runs from (an editable install, ``pip install -e``);
3. otherwise (rtnb installed from a wheel) the copy packaged in the wheel (``rtnb/_notebooks``),
   copied once into ``./rtnb-notebooks`` so your edits and outputs stay out of site-packages
   (files already there are kept).

JupyterLab listens on 127.0.0.1 unless ``--host`` names another address, which needs
``--allow-remote``. The kernels inherit the environment: with ``OPENAI_API_KEY`` set the notebooks
talk to the OpenAI Realtime API, otherwise to the embedded local server. The key itself is never
printed, put on a command line or written anywhere by this command.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from importlib import resources
from pathlib import Path

from rtnb.transport.base import is_loopback_host

QUICKSTART = "01_quickstart.ipynb"
COPY_DIR = "rtnb-notebooks"
"""Where the packaged notebooks are copied (relative to the working directory)."""


def clone_notebooks() -> Path | None:
    """The ``notebooks/`` folder of the source tree rtnb is imported from, if there is one."""
    folder = Path(__file__).resolve().parents[1] / "notebooks"
    return folder if (folder / QUICKSTART).is_file() else None


def packaged_notebooks() -> Path | None:
    """The notebooks shipped inside the installed wheel, if any."""
    folder = resources.files("rtnb") / "_notebooks"
    path = Path(str(folder))
    return path if (path / QUICKSTART).is_file() else None


def notebooks_dir(
    explicit: str | os.PathLike[str] | None = None, *, cwd: Path | None = None
) -> Path:
    """The directory JupyterLab should open (see the module docstring for the order)."""
    if explicit is not None:
        path = Path(explicit).expanduser().resolve()
        if not path.is_dir():
            raise ValueError(f"--dir {explicit}: not a directory")
        return path
    clone = clone_notebooks()
    if clone is not None:
        return clone
    packaged = packaged_notebooks()
    if packaged is None:
        raise ValueError("no tutorial notebooks found; pass --dir DIR")
    target = (cwd or Path.cwd()) / COPY_DIR
    target.mkdir(exist_ok=True)
    for notebook in sorted(packaged.glob("*.ipynb")):
        if not (target / notebook.name).exists():
            shutil.copy2(notebook, target / notebook.name)
    return target


def lab_command(
    directory: Path,
    *,
    host: str = "127.0.0.1",
    port: int | None = None,
    open_browser: bool = True,
    allow_remote: bool = False,
) -> list[str]:
    """The ``jupyter lab`` command line serving ``directory``, opening the quickstart if present."""
    if not allow_remote and not is_loopback_host(host):
        raise ValueError(
            f"host {host!r} is not a loopback address; pass --allow-remote to expose JupyterLab "
            "(and everything it can run) to other machines"
        )
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
    """Start JupyterLab (until Ctrl-C); return its exit code."""
    if importlib.util.find_spec("jupyterlab") is None:
        print(
            "rtnb lab needs JupyterLab: python -m pip install 'rtnb[notebook]'"
            " (in a clone: python -m pip install -e '.[notebook]')",
            file=sys.stderr,
        )
        return 1
    folder = notebooks_dir(directory)
    command = lab_command(
        folder, host=host, port=port, open_browser=open_browser, allow_remote=allow_remote
    )
    backend = (
        "the OpenAI Realtime API (OPENAI_API_KEY is set)"
        if os.environ.get("OPENAI_API_KEY")
        else "the embedded local server (no OPENAI_API_KEY: offline)"
    )
    print(f"rtnb lab: notebooks in {folder}; sessions will use {backend}", flush=True)
    process = subprocess.Popen(command, cwd=folder)
    try:
        return process.wait()
    except KeyboardInterrupt:  # JupyterLab got the Ctrl-C too and shuts down on its own
        try:
            return process.wait(30)
        except (KeyboardInterrupt, subprocess.TimeoutExpired):
            process.terminate()
            return process.wait()
