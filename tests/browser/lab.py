"""A JupyterLab server and a headless Debian chromium for browser tests (no downloads).

The server runs on 127.0.0.1 with its own root, workspaces, settings, config and runtime
directories and a token; chromium is driven by Python Playwright with the fake media devices.
``python -m bench`` (bench/widgets.py) uses it too.

The browser tests share one JupyterLab and one chromium per test session (tests/browser/
conftest.py): each test works in a folder and a JupyterLab workspace of its own
(:meth:`Lab.for_test`), in a fresh browser context whose fake microphone plays the file the test
gives (:meth:`Chromium.new_page`); its kernels are stopped and the settings it changed are
reset after it (:meth:`Lab.reset`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
import wave
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
]
STARTUP_TIMEOUT = 90.0
_URL = re.compile(r"(http://127\.0\.0\.1:(\d+)/lab)\?token=")

# Page scripts for ``page.evaluate``: run cell ``index`` of the open notebook; whether its kernel
# is idle (the notebook loaded); the text of cell ``index``'s output.
RUN_CELL = """async (index) => {
  const panel = window.jupyterapp.shell.currentWidget;
  panel.content.activeCellIndex = index;
  await window.jupyterapp.commands.execute("notebook:run-cell");
}"""

KERNEL_IDLE = """() => {
  const panel = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const kernel = panel && panel.sessionContext && panel.sessionContext.session?.kernel;
  return Boolean(kernel && kernel.status === "idle" && panel.content.widgets.length);
}"""

CELL_OUTPUT = """(index) => {
  const cell = window.jupyterapp.shell.currentWidget.content.widgets[index];
  return cell.outputArea ? cell.outputArea.node.innerText : "";
}"""


def missing_requirements() -> str | None:
    """Why browser runs cannot happen here (chromium, Playwright or JupyterLab missing), or None."""
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} is not installed (apt-get install chromium)"
    for module in ("playwright", "jupyterlab"):
        if importlib.util.find_spec(module) is None:
            return f"{module} is not installed (pip install -e '.[test]')"
    return None


def launch_with_fake_mic(pw: Any, wav: Path, logs: list[str]) -> tuple[Any, Any]:
    """Chromium whose fake microphone plays ``wav`` once, and a page whose console messages and
    errors go to ``logs``. Returns (browser, page); the caller closes the browser.

    The browser tests share one chromium instead (:func:`chromium_with_fake_mic`)."""
    browser = pw.chromium.launch(
        executable_path=CHROMIUM,
        args=[*CHROMIUM_FLAGS, f"--use-file-for-fake-audio-capture={wav}%noloop"],
    )
    page = browser.new_page()
    _log_page(page, logs)
    return browser, page


def _log_page(page: Any, logs: list[str]) -> None:
    page.on("console", lambda m: logs.append(f"console.{m.type}: {m.text}"))
    page.on("pageerror", lambda e: logs.append(f"pageerror: {e}"))


class Chromium:
    """A headless chromium for many pages, started when first needed, whose fake microphone
    plays the file at ``mic``. Chromium reads that file each time a page starts capturing, so
    tests sharing the browser each give their own (:meth:`new_page`).

    Playwright's sync API allows one instance per thread at a time: :meth:`close` stops it, so
    that code starting its own (``launch_with_fake_mic``) can run; the next page starts it again.
    """

    def __init__(self, mic: Path) -> None:
        self.mic = mic
        self._playwright: Any = None
        self._browser: Any = None

    @property
    def browser(self) -> Any:
        """The running browser (started now if it is not)."""
        if self._browser is None:
            from playwright.sync_api import sync_playwright

            self._playwright = sync_playwright().start()
            self._browser = self._playwright.chromium.launch(
                executable_path=CHROMIUM,
                args=[*CHROMIUM_FLAGS, f"--use-file-for-fake-audio-capture={self.mic}%noloop"],
            )
        return self._browser

    def new_page(self, wav: Path, logs: list[str]) -> Any:
        """A page in a fresh browser context (its own storage and permissions) whose fake
        microphone plays ``wav`` once, its console messages and errors going to ``logs``. The
        caller closes ``page.context``."""
        shutil.copyfile(wav, self.mic)
        page = self.browser.new_context().new_page()
        _log_page(page, logs)
        return page

    def close(self) -> None:
        """Stop the browser and Playwright (if running)."""
        if self._browser is not None:
            try:
                self._browser.close()
            finally:
                self._playwright.stop()
                self._browser = self._playwright = None


@contextmanager
def chromium_with_fake_mic(tmp: Path) -> Iterator[Chromium]:
    """One chromium for many pages (:meth:`Chromium.new_page`), closed on exit."""
    tmp.mkdir(parents=True, exist_ok=True)
    mic = tmp / "mic.wav"
    with wave.open(str(mic), "wb") as silence:  # until a test gives its own
        silence.setnchannels(1)
        silence.setsampwidth(2)
        silence.setframerate(48_000)
        silence.writeframes(b"\x00\x00" * 4_800)
    chromium = Chromium(mic)
    try:
        yield chromium
    finally:
        chromium.close()


def write_notebook(path: Path, *sources: str) -> None:
    """A notebook of code cells (``sources``) for the Python 3 kernel, at ``path``."""
    cells = [
        {
            "id": f"cell-{index}",
            "cell_type": "code",
            "metadata": {},
            "source": source,
            "outputs": [],
            "execution_count": None,
        }
        for index, source in enumerate(sources)
    ]
    notebook = {
        "cells": cells,
        "metadata": {
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path.write_text(json.dumps(notebook))


@dataclass
class Lab:
    """A running JupyterLab: where it is and which token it wants.

    ``root`` is where a test puts its files: the server's root, or a folder in it (``folder``,
    see :meth:`for_test`); pages open in the JupyterLab workspace ``workspace`` (``""``: the
    default one)."""

    url: str
    token: str
    root: Path
    process: subprocess.Popen[str]
    log: list[str]
    settings: Path | None = None
    folder: str = ""
    workspace: str = ""

    def page_url(self, path: str) -> str:
        """The URL opening ``path`` (relative to :attr:`root`) in JupyterLab."""
        where = f"{self.folder}/{path}" if self.folder else path
        lab = f"{self.url}/workspaces/{self.workspace}" if self.workspace else self.url
        return f"{lab}/tree/{where}?token={self.token}"

    def for_test(self, name: str) -> Lab:
        """This JupyterLab as one test sees it: files in a folder of its own (its kernels run
        there) and pages in a workspace of its own, so no notebook of an earlier test reopens."""
        (self.root / name).mkdir()
        return dataclasses.replace(self, root=self.root / name, folder=name, workspace=name)

    def reset(self) -> None:
        """Stop every kernel (with its session) and drop the user settings a test changed (the
        theme): the next test starts from a JupyterLab as it was started."""
        server = self.url.removesuffix("/lab")
        for kind in ("sessions", "kernels"):
            for entry in self._api(f"{server}/api/{kind}"):
                self._api(f"{server}/api/{kind}/{entry['id']}", method="DELETE")
        if self.settings is not None:
            for path in self.settings.rglob("*.jupyterlab-settings"):
                if path.name != "notification.jupyterlab-settings":
                    path.unlink()

    def _api(self, url: str, method: str = "GET") -> Any:
        request = urllib.request.Request(
            url, method=method, headers={"Authorization": f"token {self.token}"}
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as reply:
                body = reply.read()
        except urllib.error.HTTPError as error:
            if error.code == 404:  # gone already (a session's kernel stops with it)
                return None
            raise
        return json.loads(body) if body else None


@contextmanager
def jupyter_lab(tmp: Path) -> Iterator[Lab]:
    """Start JupyterLab on a free loopback port in ``tmp``; stop it (and its kernels) on exit."""
    root, home = tmp / "root", tmp / "home"
    dirs = {name: tmp / name for name in ("workspaces", "settings", "config", "runtime", "ipy")}
    for path in (root, home, *dirs.values()):
        path.mkdir(parents=True, exist_ok=True)
    # No "get notified about news?" toast: it can cover the widgets a test clicks.
    notification = dirs["settings"] / "@jupyterlab" / "apputils-extension"
    notification.mkdir(parents=True, exist_ok=True)
    (notification / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False})
    )
    token = secrets.token_hex(16)
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    env |= {
        "HOME": str(home),
        "JUPYTER_CONFIG_DIR": str(dirs["config"]),
        "JUPYTER_RUNTIME_DIR": str(dirs["runtime"]),
        "IPYTHONDIR": str(dirs["ipy"]),
        "JUPYTER_PLATFORM_DIRS": "1",
        "OPENAI_AGENTS_DISABLE_TRACING": "1",
    }
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        "--ServerApp.port=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        f"--LabApp.workspaces_dir={dirs['workspaces']}",
        f"--LabApp.user_settings_dir={dirs['settings']}",
        "--LabApp.expose_app_in_browser=True",
        "--LabApp.news_url=",
        "--ServerApp.terminals_enabled=False",
    ]
    if os.geteuid() == 0:
        command.append("--allow-root")  # CI containers run as root
    process = subprocess.Popen(
        command,
        cwd=root,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group: the kernels go with it
    )
    log: list[str] = []
    found: list[str] = []
    ready = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            log.append(line)
            match = _URL.search(line)
            if match and not ready.is_set():
                found.append(match.group(1))
                ready.set()
        ready.set()  # the server exited

    reader = threading.Thread(target=read, name="jupyterlab-log", daemon=True)
    reader.start()
    try:
        if not ready.wait(STARTUP_TIMEOUT) or not found:
            raise RuntimeError("JupyterLab did not start:\n" + "".join(log[-40:]))
        yield Lab(found[0], token, root, process, log, settings=dirs["settings"])
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # kernels left in the server's group
        reader.join(5)


# A kernel task reports to the test by setting the value of an HTML widget of class
# ``rtnb-result`` (a JSON text): the page shows it, the test waits for it.
RESULT_WIDGET = """
import ipywidgets as _ipywidgets
result = _ipywidgets.HTML()
result.add_class("rtnb-result")
"""
RESULT_TEXT = """() => document.querySelector(".rtnb-result")?.textContent || "" """


def wait_for_result(page: Any, timeout_ms: float) -> dict[str, Any]:
    """The JSON the kernel put in the ``rtnb-result`` widget (see :data:`RESULT_WIDGET`)."""
    page.wait_for_function(f"() => ({RESULT_TEXT})().startsWith('{{')", timeout=timeout_ms)
    return json.loads(page.evaluate(RESULT_TEXT))


def write_mic_wav(path: Path, samples: Any, rate: int = 24_000) -> None:
    """A WAV for the fake microphone (``--use-file-for-fake-audio-capture``): int16 ``samples``
    at ``rate``, written mono PCM16 at 48 kHz."""
    from rtnb.protocol.audio import resample

    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(48_000)
        wav.writeframes(resample(samples, rate, 48_000).astype("<i2").tobytes())
