"""The plots the README shows, drawn by the real notebooks in JupyterLab: the guardrail trips
(notebook 05) and the per-turn latencies (notebook 06). Each notebook runs top to bottom in the
browser; its last cell must show a drawn image, which is saved as a test artifact (and as a README
picture with ``python -m tests.browser.pictures``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from .lab import KERNEL_IDLE, Chromium, Lab
from .pictures import save
from .test_console_look import CELL_COUNT, RUN_ALL, write_silence_wav

pytestmark = [pytest.mark.browser, pytest.mark.timeout(900)]

NOTEBOOKS = Path(__file__).parents[2] / "notebooks"
PLOTS = [
    ("05_output_guardrails.ipynb", "guardrail-plot.png"),
    ("06_interruption_and_vad.ipynb", "latency-plot.png"),
]
# The last code cell's drawn image (matplotlib's PNG), once it has loaded.
LAST_IMAGE = """(index) => {
  const cell = window.jupyterapp.shell.currentWidget.content.widgets[index];
  const image = cell.outputArea?.node.querySelector("img");
  return Boolean(image && image.complete && image.naturalWidth > 200);
}"""
LAST_CODE_CELL = """() => {
  const cells = window.jupyterapp.shell.currentWidget.content.widgets;
  for (let i = cells.length - 1; i >= 0; i--) if (cells[i].model.type === "code") return i;
  return -1;
}"""


@pytest.mark.parametrize(("name", "picture"), PLOTS, ids=[p for _, p in PLOTS])
def test_the_notebook_draws_its_plot_in_the_browser(
    name: str, picture: str, tmp_path: Path, lab: Lab, chromium: Chromium
) -> None:
    wav = tmp_path / "silence.wav"
    write_silence_wav(wav, 2)
    logs: list[str] = []
    (lab.root / name).write_bytes((NOTEBOOKS / name).read_bytes())
    page = chromium.new_page(wav, logs)
    page.set_viewport_size({"width": 1100, "height": 1000})
    try:
        page.goto(lab.page_url(name))
        page.wait_for_function(KERNEL_IDLE, timeout=120_000)
        assert page.evaluate(CELL_COUNT) > 1
        last = page.evaluate(LAST_CODE_CELL)
        page.evaluate(RUN_ALL)
        page.wait_for_function(LAST_IMAGE, arg=last, timeout=600_000)
        image = page.locator(".jp-Notebook .jp-Cell").nth(last).locator(".jp-OutputArea img")
        size = image.evaluate("(img) => [img.naturalWidth, img.naturalHeight]")
        save(image, tmp_path, picture, readme=True)
    except Exception:
        page.screenshot(path=str(tmp_path / f"{name}-failure.png"), full_page=True)
        print("\n".join(logs[-60:]))
        print("".join(lab.log[-60:]))
        raise
    finally:
        page.context.close()
    assert size[0] > 200 and size[1] > 100, size
