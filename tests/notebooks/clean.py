"""Keep the tutorial notebooks stored without outputs (a pre-commit style check).

    python -m tests.notebooks.clean            # strip outputs, counts and run metadata in place
    python -m tests.notebooks.clean --check    # exit 1 and list the notebooks that need it

What a clean notebook keeps is defined in ``rtnb/lab/notebook_clean.py`` (``rtnb lab`` compares
working copies with it).
``tests/notebooks/test_clean.py`` runs the check in CI.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rtnb.lab.notebook_clean import clean, dumps

__all__ = ["NOTEBOOKS", "clean", "dirty", "dumps", "main"]

NOTEBOOKS = Path(__file__).parents[2] / "notebooks"


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
