"""Screenshots of the browser tests: test artifacts always, the README's pictures on request.

Every screenshot goes to the artifacts directory (``RTNB_ARTIFACTS``, else the test's temporary
directory). With ``RTNB_IMAGES`` set, the pictures the README shows are written there too.
Regenerate the README's pictures (the console in light and dark, the guardrail and latency
plots, the ends of notebooks 05, 06, 07 and 10 in light and dark, all from the real notebooks in
JupyterLab) with::

    python -m tests.browser.pictures          # writes docs/images/*.png
"""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).parents[2]
IMAGES = ROOT / "docs" / "images"
TESTS = [
    "tests/browser/test_console_look.py",
    "tests/browser/test_notebook_pictures.py",
]


def artifacts(tmp_path: Path) -> Path:
    """Where a test saves its screenshots (created)."""
    path = Path(os.environ.get("RTNB_ARTIFACTS") or tmp_path / "artifacts")
    path.mkdir(parents=True, exist_ok=True)
    return path


def save(element: Any, tmp_path: Path, name: str, *, readme: bool = False) -> Path:
    """Screenshot ``element`` (a Playwright locator) as ``name`` (a .png) into the artifacts; a
    ``readme`` picture also goes to ``RTNB_IMAGES`` when set, as a palette PNG (a few dozen KB)."""
    path = artifacts(tmp_path) / name
    element.screenshot(path=str(path))
    images = os.environ.get("RTNB_IMAGES")
    if readme and images:
        Path(images).mkdir(parents=True, exist_ok=True)
        (Path(images) / name).write_bytes(small_png(path.read_bytes()))
    print(f"screenshot: {path}")
    return path


def small_png(png: bytes) -> bytes:
    """The picture with at most 256 colours (screenshots of widgets lose nothing visible)."""
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    out = io.BytesIO()
    image.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(out, "PNG", optimize=True)
    return out.getvalue()


def main() -> int:
    """Run the picture-taking browser tests with ``RTNB_IMAGES`` set to ``docs/images``."""
    import pytest

    os.environ["RTNB_IMAGES"] = str(IMAGES)
    os.chdir(ROOT)
    code = pytest.main(["-m", "browser", "-p", "no:cacheprovider", *TESTS, *sys.argv[1:]])
    for path in sorted(IMAGES.glob("*.png")):
        print(f"{path.relative_to(ROOT)}: {path.stat().st_size // 1024} KB")
    return int(code)


if __name__ == "__main__":
    sys.exit(main())
