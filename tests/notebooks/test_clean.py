"""The notebooks are stored without outputs, and every one is listed in the README."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .clean import NOTEBOOKS, clean, dirty, dumps, main

ROOT = Path(__file__).parents[2]
PATHS = sorted(NOTEBOOKS.glob("*.ipynb"))


def test_there_are_tutorials() -> None:
    assert [p.name for p in PATHS][:1] == ["01_quickstart.ipynb"]
    assert len(PATHS) >= 8


@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_notebook_is_stored_clean(path: Path) -> None:
    assert not dirty(path), f"{path.name} has outputs; run: python -m tests.notebooks.clean"
    notebook = json.loads(path.read_text(encoding="utf-8"))
    assert notebook["metadata"]["kernelspec"]["name"] == "python3"
    assert all(cell.get("id") for cell in notebook["cells"]), "cells need ids (nbformat 4.5)"


def test_cleaner_strips_outputs_and_run_metadata(tmp_path: Path) -> None:
    notebook = json.loads(PATHS[0].read_text(encoding="utf-8"))
    notebook["metadata"]["widgets"] = {"application/vnd.jupyter.widget-state+json": {}}
    code = next(cell for cell in notebook["cells"] if cell["cell_type"] == "code")
    code["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "hi\n"}]
    code["execution_count"] = 3
    code["metadata"] = {"execution": {"iopub.status.idle": "..."}, "tags": ["keep"]}
    path = tmp_path / "dirty.ipynb"
    path.write_text(dumps(notebook), encoding="utf-8")

    assert main(["--check", str(path)]) == 1
    assert main([str(path)]) == 0
    cleaned = json.loads(path.read_text(encoding="utf-8"))
    assert cleaned == clean(notebook) and not dirty(path)
    assert "widgets" not in cleaned["metadata"]
    code = next(cell for cell in cleaned["cells"] if cell["cell_type"] == "code")
    assert (code["outputs"], code["execution_count"], code["metadata"]) == (
        [],
        None,
        {"tags": ["keep"]},
    )


def test_readme_lists_every_notebook() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [p.name for p in PATHS if f"notebooks/{p.name}" not in readme]
    assert not missing, f"README's Tutorials section does not list {missing}"
