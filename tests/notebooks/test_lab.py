"""``rtnb lab``: JupyterLab on the tutorials, on loopback, opened at the quickstart, key-safe."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import pytest

from rtnb.cli import main
from rtnb.lab import app as lab
from rtnb.lab import settings as lab_settings
from rtnb.lab.notebook_clean import dumps
from rtnb.lab.working_copy import sync_working_copy

ROOT = Path(__file__).parents[2]
SECRET = "sk-test-rtnb-lab-must-never-show-this-key"
URL = re.compile(r"(http://127\.0\.0\.1:\d+)/lab/tree/01_quickstart\.ipynb\?token=(\w+)")


def test_command_serves_a_working_copy_of_the_clone_notebooks_on_loopback(
    tmp_path: Path,
) -> None:
    folder = lab.notebooks_dir(cwd=tmp_path)
    assert folder == tmp_path / lab.COPY_DIR
    originals = sorted((ROOT / "notebooks").glob("*.ipynb"))
    assert [p.name for p in sorted(folder.glob("*.ipynb"))] == [p.name for p in originals]
    assert all((folder / p.name).read_bytes() == p.read_bytes() for p in originals)
    command = lab.lab_command(
        folder, port=9999, open_browser=False, app_settings_dir=tmp_path / "settings"
    )
    assert command[:3] == [sys.executable, "-m", "jupyterlab"]
    assert "--ServerApp.ip=127.0.0.1" in command
    assert f"--ServerApp.root_dir={folder}" in command
    assert "--LabApp.default_url=/lab/tree/01_quickstart.ipynb" in command
    assert "--ServerApp.port=9999" in command and "--no-browser" in command
    assert f"--LabApp.app_settings_dir={tmp_path / 'settings'}" in command
    assert lab.notebooks_dir(cwd=folder) == folder  # run again from inside the copy


def test_the_clone_ignores_the_working_copy() -> None:
    ignored = subprocess.run(
        ["git", "-C", str(ROOT), "check-ignore", "-q", f"{lab.COPY_DIR}/01_quickstart.ipynb"],
        check=False,
    )
    assert ignored.returncode == 0, f"add {lab.COPY_DIR}/ to .gitignore"


def test_working_copy_follows_the_tutorials_but_keeps_edits(tmp_path: Path) -> None:
    source, copy = tmp_path / "notebooks", tmp_path / "work"
    source.mkdir()
    quickstart = ROOT / "notebooks" / "01_quickstart.ipynb"
    tutorial = json.loads(quickstart.read_text(encoding="utf-8"))
    (source / quickstart.name).write_text(dumps(tutorial), encoding="utf-8")
    assert sync_working_copy(source, copy) == []
    mine = copy / quickstart.name

    # run it: outputs and counts only; the same tutorial keeps them
    ran = json.loads(mine.read_text(encoding="utf-8"))
    code = next(cell for cell in ran["cells"] if cell["cell_type"] == "code")
    code["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "hi\n"}]
    code["execution_count"] = 1
    mine.write_text(dumps(ran), encoding="utf-8")
    assert sync_working_copy(source, copy) == []
    assert json.loads(mine.read_text(encoding="utf-8")) == ran

    # the tutorial changes upstream: a copy that was only run is updated
    tutorial["cells"][0]["source"] = ["# A new title\n"]
    (source / quickstart.name).write_text(dumps(tutorial), encoding="utf-8")
    notes = sync_working_copy(source, copy)
    assert len(notes) == 1 and "updated" in notes[0]
    assert mine.read_bytes() == (source / quickstart.name).read_bytes()

    # an edited copy is kept when the tutorial changes again, and the user is told
    edited = json.loads(mine.read_text(encoding="utf-8"))
    edited["cells"][0]["source"] = ["# My notes\n"]
    mine.write_text(dumps(edited), encoding="utf-8")
    tutorial["cells"][0]["source"] = ["# Another title\n"]
    (source / quickstart.name).write_text(dumps(tutorial), encoding="utf-8")
    notes = sync_working_copy(source, copy)
    assert len(notes) == 1 and "kept your edited copy" in notes[0]
    assert str(source / quickstart.name) in notes[0]
    assert json.loads(mine.read_text(encoding="utf-8")) == edited
    assert sync_working_copy(source, copy) == notes  # still said on the next start

    # deleting the copy brings the tutorial back
    mine.unlink()
    assert sync_working_copy(source, copy) == []
    assert mine.read_bytes() == (source / quickstart.name).read_bytes()


def test_news_are_off_in_a_settings_dir_of_its_own(tmp_path: Path) -> None:
    schema_path = (
        Path(sys.prefix)
        / "share/jupyter/lab/schemas/@jupyterlab/apputils-extension/notification.json"
    )
    schema = json.loads(schema_path.read_text(encoding="utf-8"))
    never = {
        c["const"] for c in schema["properties"]["fetchNews"]["oneOf"] if c["title"] == "Never"
    }
    assert lab_settings.OVERRIDES[lab_settings.NOTIFICATION_PLUGIN]["fetchNews"] in never

    source = tmp_path / "app-settings"
    source.mkdir()
    theirs = {
        "@jupyterlab/apputils-extension:themes": {"theme": "JupyterLab Dark"},
        lab_settings.NOTIFICATION_PLUGIN: {"doNotDisturbMode": True, "fetchNews": "true"},
    }
    (source / "overrides.json").write_text(json.dumps(theirs), encoding="utf-8")
    (source / "page_config.json").write_text('{"a": 1}', encoding="utf-8")
    before = {p.name: p.read_bytes() for p in source.iterdir()}

    target = lab_settings.write_app_settings(tmp_path / "run", source)
    merged = json.loads((target / "overrides.json").read_text(encoding="utf-8"))
    assert merged["@jupyterlab/apputils-extension:themes"] == {"theme": "JupyterLab Dark"}
    assert merged[lab_settings.NOTIFICATION_PLUGIN] == {
        "doNotDisturbMode": True,
        **lab_settings.OVERRIDES[lab_settings.NOTIFICATION_PLUGIN],
    }
    assert (target / "page_config.json").read_text(encoding="utf-8") == '{"a": 1}'
    assert {p.name: p.read_bytes() for p in source.iterdir()} == before  # untouched


def test_public_host_needs_allow_remote(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ValueError, match="--allow-remote"):
        lab.lab_command(ROOT / "notebooks", host="0.0.0.0")
    assert "--ServerApp.ip=0.0.0.0" in lab.lab_command(
        ROOT / "notebooks", host="0.0.0.0", allow_remote=True
    )
    monkeypatch.chdir(tmp_path)
    assert main(["lab", "--host", "0.0.0.0"]) == 2
    assert "not a loopback address" in capsys.readouterr().err
    assert not (tmp_path / lab.COPY_DIR).exists()  # refused before anything was copied


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
    assert sorted(p.name for p in folder.glob("*.ipynb")) == [
        "01_quickstart.ipynb",
        "02_session_configuration.ipynb",
    ]
    assert (folder / "01_quickstart.ipynb").read_text(encoding="utf-8") == "mine"  # kept


@dataclass
class LabRun:
    """A running ``rtnb lab`` (its own process group) and what it printed."""

    process: subprocess.Popen[str]
    log: list[str]
    base: str = ""
    token: str = ""
    started: list[Any] = field(default_factory=list)
    """Processes to kill after the test if they are still there (``psutil.Process``)."""

    def get(self, path: str) -> Any:
        return _get_json(f"{self.base}{path}?token={self.token}", self.log)

    def send(self, method: str, path: str, body: Any) -> Any:
        request = urllib.request.Request(
            f"{self.base}{path}?token={self.token}",
            data=json.dumps(body).encode(),
            method=method,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as reply:
            return json.load(reply)


@contextlib.contextmanager
def rtnb_lab(tmp_path: Path, **env_vars: str) -> Iterator[LabRun]:
    """``rtnb lab --no-browser --port 0`` run from ``tmp_path/work`` with its own Jupyter dirs."""
    dirs = {name: tmp_path / name for name in ("home", "config", "runtime", "data", "settings")}
    for path in [*dirs.values(), tmp_path / "work"]:
        path.mkdir()
    env = dict(os.environ) | {
        "HOME": str(dirs["home"]),
        "JUPYTER_CONFIG_DIR": str(dirs["config"]),
        "JUPYTER_RUNTIME_DIR": str(dirs["runtime"]),
        "JUPYTER_DATA_DIR": str(dirs["data"]),
        "JUPYTERLAB_SETTINGS_DIR": str(dirs["settings"]),
        "JUPYTERLAB_WORKSPACES_DIR": str(dirs["settings"]),
        "PYTHONPATH": str(ROOT),  # this checkout's rtnb
    }
    env |= env_vars
    process = subprocess.Popen(
        [sys.executable, "-m", "rtnb.cli", "lab", "--no-browser", "--port", "0"],
        cwd=tmp_path / "work",
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # the test's signals reach rtnb only, never pytest
    )
    run = LabRun(process, [])
    found = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            run.log.append(line)
            if URL.search(line):
                found.set()
        found.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert found.wait(90), "".join(run.log)
        match = URL.search("".join(run.log))
        assert match, "".join(run.log)
        run.base, run.token = match.groups()
        yield run
    finally:
        with contextlib.suppress(psutil.Error):
            run.started += psutil.Process(process.pid).children(recursive=True)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
        for leftover in run.started:  # whatever a failing rtnb left behind
            with contextlib.suppress(psutil.Error):
                leftover.kill()
        reader.join(5)


@pytest.mark.slow  # a real `rtnb lab` process
def test_rtnb_lab_starts_jupyterlab_without_showing_the_key(tmp_path: Path) -> None:
    with rtnb_lab(tmp_path, OPENAI_API_KEY=SECRET) as run:
        listing = run.get("/api/contents")
        names = {entry["name"] for entry in listing["content"]}
        run.get("/api/contents/03_tools.ipynb")  # opened as JupyterLab opens it: checked
        run.get("/api/contents/01_quickstart.ipynb")
        command_lines = [
            Path(f"/proc/{pid}/cmdline").read_bytes()
            for pid in _group(run.process.pid)
            if Path(f"/proc/{pid}/cmdline").exists()
        ]

    output = "".join(run.log)
    assert "rtnb lab: notebooks in" in output and "OpenAI Realtime API" in output
    assert {"01_quickstart.ipynb", "09_hosted_mcp.ipynb"} <= names
    assert "not trusted" not in output  # the tutorial copies are signed
    assert SECRET not in output
    assert command_lines and all(SECRET.encode() not in line for line in command_lines)
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), f"the key was written to {path}"


@pytest.mark.slow  # a real `rtnb lab` process, stopped
@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_stopped_rtnb_lab_leaves_no_process_and_no_modified_notebook(
    tmp_path: Path, stop: signal.Signals
) -> None:
    original = ROOT / "notebooks" / "01_quickstart.ipynb"
    stored = original.read_bytes()
    try:
        with rtnb_lab(tmp_path) as run:
            # the news pop-up: JupyterLab serves "Never" as the default of fetchNews
            notification = run.get("/lab/api/settings/@jupyterlab/apputils-extension:notification")
            assert notification["schema"]["properties"]["fetchNews"]["default"] == "false"

            # what JupyterLab's autosave does after cells ran: PUT the notebook with outputs
            model = run.get("/api/contents/01_quickstart.ipynb")
            code = next(c for c in model["content"]["cells"] if c["cell_type"] == "code")
            code["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "ran\n"}]
            code["execution_count"] = 1
            run.send(
                "PUT",
                "/api/contents/01_quickstart.ipynb",
                {"type": "notebook", "format": "json", "content": model["content"]},
            )
            checkpoint = run.send("POST", "/api/contents/01_quickstart.ipynb/checkpoints", {})
            assert checkpoint["id"]
            saved = json.loads(
                (tmp_path / "work" / lab.COPY_DIR / "01_quickstart.ipynb").read_text("utf-8")
            )
            assert any(c.get("outputs") for c in saved["cells"])  # saved, in the working copy

            kernel = run.send("POST", "/api/kernels", {"name": "python3"})
            rtnb = psutil.Process(run.process.pid)
            kernel_process = _wait_for(
                lambda: next(
                    (p for p in rtnb.children(recursive=True) if kernel["id"] in _cmdline(p)),
                    None,
                ),
                "the kernel process",
            )
            family = [rtnb, *rtnb.children(recursive=True)]
            run.started += family
            assert kernel_process in family and len(family) >= 3  # rtnb, JupyterLab, kernel
            port = int(run.base.rsplit(":", 1)[1])

            os.kill(run.process.pid, stop)  # to rtnb alone, as `kill` or a supervisor does
            code = run.process.wait(60)
            _, alive = psutil.wait_procs(family, timeout=60)
            assert not alive, [(p.pid, _cmdline(p)) for p in alive]
            with pytest.raises(ConnectionRefusedError):
                socket.create_connection(("127.0.0.1", port), timeout=5).close()
            assert code == 128 + stop  # as a shell reports a process ended by the signal
        assert "rtnb lab: stopping JupyterLab and its kernels" in "".join(run.log)
    finally:
        modified = original.read_bytes() != stored
        original.write_bytes(stored)  # never leave the clone changed, even when this fails
    assert not modified, "rtnb lab saved into the clone's notebooks/"
    status = subprocess.run(
        ["git", "-C", str(ROOT), "status", "--porcelain", "--", "notebooks"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert status.stdout == ""


def _cmdline(process: Any) -> str:
    with contextlib.suppress(psutil.Error):
        return " ".join(process.cmdline())
    return ""


def _wait_for(probe: Any, what: str, timeout: float = 60) -> Any:
    """Poll ``probe()`` until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while not (found := probe()):
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} after {timeout:.0f} s")
        time.sleep(0.1)
    return found


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


def test_the_tutorial_copies_are_trusted_the_edited_ones_left_alone(tmp_path: Path) -> None:
    from nbformat import NO_CONVERT, read
    from nbformat.sign import MemorySignatureStore, NotebookNotary

    from rtnb.lab.working_copy import trust_tutorials

    notary = NotebookNotary(store_factory=MemorySignatureStore, secret=b"test secret")
    copy = tmp_path / "work"
    sync_working_copy(ROOT / "notebooks", copy)
    edited = copy / "02_session_configuration.ipynb"
    mine = json.loads(edited.read_text(encoding="utf-8"))
    mine["cells"][0]["source"] = ["# My notes\n"]
    edited.write_text(dumps(mine), encoding="utf-8")

    def trusted() -> set[str]:
        return {
            p.name
            for p in copy.glob("*.ipynb")
            if notary.check_signature(read(p, as_version=NO_CONVERT))
        }

    assert trusted() == set()  # what JupyterLab warned about: "Notebook ... is not trusted"
    signed = trust_tutorials(copy, notary)
    names = {p.name for p in (ROOT / "notebooks").glob("*.ipynb")} - {edited.name}
    assert set(signed) == trusted() == names
    assert trust_tutorials(copy, notary) == []  # signed once


def test_trusting_skips_what_is_not_a_notebook(tmp_path: Path) -> None:
    from nbformat.sign import MemorySignatureStore, NotebookNotary

    from rtnb.lab.working_copy import trust_tutorials

    source, copy = tmp_path / "notebooks", tmp_path / "work"
    source.mkdir()
    (source / "01_quickstart.ipynb").write_text("{}", encoding="utf-8")  # as a test wheel has
    sync_working_copy(source, copy)
    notary = NotebookNotary(store_factory=MemorySignatureStore, secret=b"test secret")
    assert trust_tutorials(copy, notary) == []
