"""Notebooks without outputs: what the tutorials are stored as, and how copies are compared.

A clean notebook keeps its sources, cell ids, cell tags and the kernelspec only: no outputs, no
execution counts, no saved widget state, no per-cell run metadata (``execution``, ``collapsed``,
...). Two notebooks with the same clean form differ only by what running them produced.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

KEEP_NOTEBOOK_METADATA = ("kernelspec", "language_info")
KEEP_CELL_METADATA = ("tags",)


def clean(notebook: dict[str, Any]) -> dict[str, Any]:
    """``notebook`` (nbformat JSON) with outputs and run metadata removed."""
    notebook = json.loads(json.dumps(notebook))
    metadata = notebook.get("metadata", {})
    notebook["metadata"] = {k: metadata[k] for k in KEEP_NOTEBOOK_METADATA if k in metadata}
    if "language_info" in notebook["metadata"]:
        notebook["metadata"]["language_info"] = {"name": metadata["language_info"].get("name")}
    for cell in notebook.get("cells", []):
        cell["metadata"] = {
            k: v for k, v in cell.get("metadata", {}).items() if k in KEEP_CELL_METADATA
        }
        if cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
    return notebook


def dumps(notebook: dict[str, Any]) -> str:
    """The notebook as Jupyter writes it (1-space indent, sorted keys, final newline)."""
    return json.dumps(notebook, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def fingerprint(path: Path) -> str | None:
    """SHA-256 of the clean form of the notebook at ``path`` (``None``: not a notebook)."""
    try:
        notebook = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(notebook, dict):
        return None
    return hashlib.sha256(dumps(clean(notebook)).encode()).hexdigest()
