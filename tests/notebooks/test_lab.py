"""``rtnb lab``: JupyterLab on the tutorials, on loopback, opened at the quickstart, key-safe."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from rtnb import lab
from rtnb.cli import main

ROOT = Path(__file__).parents[2]
SECRET = "sk-test-rtnb-lab-must-never-show-this-key"
URL = re.compile(r"(http://127\.0\.0\.1:\d+)/lab/tree/01_quickstart\.ipynb\?token=(\w+)")


def test_command_serves_the_clone_notebooks_on_loopback() -> None:
    folder = lab.notebooks_dir()
    assert folder == ROOT / "notebooks"
    command = lab.lab_command(folder, port=9999, open_browser=False)
    assert command[:3] == [sys.executable, "-m", "jupyterlab"]
    assert "--ServerApp.ip=127.0.0.1" in command
    assert f"--ServerApp.root_dir={folder}" in command
    assert "--LabApp.default_url=/lab/tree/01_quickstart.ipynb" in command
    assert "--ServerApp.port=9999" in command and "--no-browser" in command


def test_public_host_needs_allow_remote(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ValueError, match="--allow-remote"):
        lab.lab_command(ROOT / "notebooks", host="0.0.0.0")
    assert "--ServerApp.ip=0.0.0.0" in lab.lab_command(
        ROOT / "notebooks", host="0.0.0.0", allow_remote=True
    )
    assert main(["lab", "--host", "0.0.0.0"]) == 2
    assert "not a loopback address" in capsys.readouterr().err


def test_installed_from_a_wheel_copies_the_packaged_notebooks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    packaged = tmp_path / "site-packages" / "rtnb" / "_notebooks"
    packaged.mkdir(parents=True)
    for name in ("01_quickstart.ipynb", "02_session_configuration.ipynb"):
        (packaged / name).write_text("{}", encoding="utf-8")
    monkeypatch.setattr(lab, "clone_notebooks", lambda: None)
    monkeypatch.setattr(lab, "packaged_notebooks", lambda: packaged)
    work = tmp_path / "work"
    (work / lab.COPY_DIR).mkdir(parents=True)
    (work / lab.COPY_DIR / "01_quickstart.ipynb").write_text("mine", encoding="utf-8")

    folder = lab.notebooks_dir(cwd=work)
    assert folder == work / lab.COPY_DIR
    assert sorted(p.name for p in folder.iterdir()) == [
        "01_quickstart.ipynb",
        "02_session_configuration.ipynb",
    ]
    assert (folder / "01_quickstart.ipynb").read_text(encoding="utf-8") == "mine"  # kept


def test_rtnb_lab_starts_jupyterlab_without_showing_the_key(tmp_path: Path) -> None:
    dirs = {name: tmp_path / name for name in ("home", "config", "runtime", "data", "settings")}
    for path in dirs.values():
        path.mkdir()
    env = dict(os.environ) | {
        "OPENAI_API_KEY": SECRET,
        "HOME": str(dirs["home"]),
        "JUPYTER_CONFIG_DIR": str(dirs["config"]),
        "JUPYTER_RUNTIME_DIR": str(dirs["runtime"]),
        "JUPYTER_DATA_DIR": str(dirs["data"]),
        "JUPYTERLAB_SETTINGS_DIR": str(dirs["settings"]),
        "JUPYTERLAB_WORKSPACES_DIR": str(dirs["settings"]),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "rtnb.cli", "lab", "--no-browser", "--port", "0"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # rtnb and its JupyterLab child in one group
    )
    log: list[str] = []
    found = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            log.append(line)
            if URL.search(line):
                found.set()
        found.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert found.wait(90), "".join(log)
        base, token = URL.search("".join(log)).groups()
        listing = _get_json(f"{base}/api/contents?token={token}", log)
        names = {entry["name"] for entry in listing["content"]}
        command_lines = [
            Path(f"/proc/{pid}/cmdline").read_bytes()
            for pid in _group(process.pid)
            if Path(f"/proc/{pid}/cmdline").exists()
        ]
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
        reader.join(5)

    output = "".join(log)
    assert "rtnb lab: notebooks in" in output and "OpenAI Realtime API" in output
    assert {"01_quickstart.ipynb", "09_hosted_mcp.ipynb"} <= names
    assert SECRET not in output
    assert command_lines and all(SECRET.encode() not in line for line in command_lines)
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), f"the key was written to {path}"


def _get_json(url: str, log: list[str]) -> Any:
    """GET ``url``; the server may print its URL a moment before it accepts connections."""
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(url, timeout=10) as reply:
                return json.load(reply)
        except OSError as exc:
            if time.monotonic() > deadline:
                raise AssertionError(f"{exc}; rtnb lab said:\n{''.join(log)}") from exc
            time.sleep(0.2)


def _group(pgid: int) -> list[int]:
    """Process ids of the process group ``pgid`` (Linux /proc)."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid:
                pids.append(int(stat.parent.name))
    return pids
