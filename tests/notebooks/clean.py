"""Keep the tutorial notebooks stored without outputs (a pre-commit style check).

    python -m tests.notebooks.clean            # strip outputs, counts and run metadata in place
    python -m tests.notebooks.clean --check    # exit 1 and list the notebooks that need it

Stored notebooks keep their sources, cell ids and the kernelspec only: no outputs, no execution
counts, no saved widget state, no per-cell run metadata (``execution``, ``collapsed``, ...).
``tests/notebooks/test_clean.py`` runs the check in CI.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

NOTEBOOKS = Path(__file__).parents[2] / "notebooks"
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


def dirty(path: Path) -> bool:
    """True if ``path`` is not stored clean."""
    text = path.read_text(encoding="utf-8")
    return dumps(clean(json.loads(text))) != text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.notebooks.clean", description=__doc__)
    parser.add_argument("--check", action="store_true", help="only report; exit 1 if any is dirty")
    parser.add_argument("paths", nargs="*", type=Path, help="notebooks (default: notebooks/)")
    args = parser.parse_args(argv)
    paths = args.paths or sorted(NOTEBOOKS.glob("*.ipynb"))
    found = [path for path in paths if dirty(path)]
    for path in found:
        if args.check:
            print(f"{path}: has outputs or run metadata")
        else:
            notebook = clean(json.loads(path.read_text(encoding="utf-8")))
            path.write_text(dumps(notebook), encoding="utf-8")
            print(f"{path}: cleaned")
    if args.check and found:
        print("run: python -m tests.notebooks.clean", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
