"""Every tutorial notebook runs top to bottom on the embedded server: no API key, no microphone.

Each runs in a fresh ``python3`` kernel of this environment (nbclient) started without
``OPENAI_API_KEY``, in its own temporary working directory, with real-time audio pacing as a
person would see it; the seconds it took are printed. Its last code cell must show something:
a table, a plot or a widget. The notebooks mostly wait for speech played at real-time pace, so
``PARALLEL`` of them run at once (the whole set takes about a minute on 2 cores). The limits
(``CELL_TIMEOUT_S`` a cell, the pytest timeout a notebook) only catch a hang: a busy machine is
slower, not wrong.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from .clean import NOTEBOOKS

pytestmark = [pytest.mark.notebooks, pytest.mark.timeout(900)]

PATHS = sorted(NOTEBOOKS.glob("*.ipynb"))
PARALLEL = 2
CELL_TIMEOUT_S = 300
SHOWN = ("text/html", "image/png", "application/vnd.jupyter.widget-view+json")
MISSING_CELL = re.compile(r"<t[dh][^>]*>\s*(NaN|None|nan|<NA>|&lt;NA&gt;|NaT)\s*</t[dh]>")
TABLE_NOTEBOOKS = ("01_quickstart", "03_tools", "06_interruption_and_vad", "11_evaluate")
"""Notebooks that show analysis frames (their tables must be there to be checked)."""

Run = tuple[nbformat.NotebookNode, float]


def run_notebook(path: Path, workdir: Path) -> Run:
    """Execute ``path`` in ``workdir`` offline; return the executed notebook and its seconds."""
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT_S,
        kernel_name="python3",
        resources={"metadata": {"path": str(workdir)}},
    )
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    env["OPENAI_AGENTS_DISABLE_TRACING"] = "1"
    start = time.perf_counter()
    client.execute(env=env)
    return notebook, time.perf_counter() - start


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Future[Run]]]:
    """All notebooks, started ``PARALLEL`` at a time when the first test asks."""
    with ThreadPoolExecutor(PARALLEL, thread_name_prefix="notebook") as pool:
        futures = {
            path.name: pool.submit(run_notebook, path, tmp_path_factory.mktemp(path.stem))
            for path in PATHS
        }
        yield futures
        for future in futures.values():
            future.cancel()


@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_notebook_runs_offline(path: Path, runs: dict[str, Future[Run]]) -> None:
    notebook, seconds = runs[path.name].result()
    print(f"{path.name}: {seconds:.1f} s")
    last = [cell for cell in notebook.cells if cell.cell_type == "code"][-1]
    shown = [
        kind
        for output in last.outputs
        if output.output_type in ("execute_result", "display_data")
        for kind in output.data
        if kind in SHOWN
    ]
    assert shown, f"{path.name} should end with a table, a plot or a widget"


@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_tables_show_missing_values_as_blanks(path: Path, runs: dict[str, Future[Run]]) -> None:
    notebook, _ = runs[path.name].result()
    tables = [
        output.data["text/html"]
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if output.output_type in ("execute_result", "display_data")
        and "<table" in output.data.get("text/html", "")
    ]
    if path.stem in TABLE_NOTEBOOKS:
        assert tables, f"{path.name} should show a table"
    for table in tables:
        assert not MISSING_CELL.search(table), f"{path.name} shows a missing value as text"
