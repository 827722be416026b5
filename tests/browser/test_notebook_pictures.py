"""What notebooks 05, 06, 07 and 10 end with (their tables, plots and the replayed console), as
a person sees them in JupyterLab's light and dark themes. Each notebook runs top to bottom in the
browser; the outputs of its last cells are saved as one picture per theme (test artifacts, and
the README's pictures with ``python -m tests.browser.pictures``). The plots are transparent:
in the dark theme the page shows through them, never a white block. The plots the README shows
on their own (the guardrail trips of 05, the per-turn latencies of 06) must be drawn images in
the last cell; they are saved from the same run."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import pytest

from .lab import KERNEL_IDLE, jupyter_lab, launch_with_fake_mic
from .pictures import artifacts, save, small_png
from .test_console_look import RUN_ALL, dismiss_news, write_silence_wav

pytestmark = [pytest.mark.browser, pytest.mark.timeout(900)]

NOTEBOOKS = Path(__file__).parents[2] / "notebooks"
# notebook, how many of its last code cells are shown, the README picture of its last cell's plot
SHOWN = [
    ("05_output_guardrails.ipynb", 2, "guardrail-plot.png"),
    ("06_interruption_and_vad.ipynb", 3, "latency-plot.png"),
    ("07_history.ipynb", 2, None),
    ("10_compare_models.ipynb", 3, None),
]
CODE_CELLS = """() => {
  const cells = window.jupyterapp.shell.currentWidget.content.widgets;
  return cells.map((cell, i) => [i, cell.model.type]).filter(([, t]) => t === "code")
              .map(([i]) => i);
}"""
# Every code cell ran (an execution count), the kernel is idle and the images have loaded.
DONE = """(cells) => {
  const panel = window.jupyterapp.shell.currentWidget;
  const widgets = panel.content.widgets;
  const ran = cells.every((i) => widgets[i].model.executionCount !== null);
  const idle = panel.sessionContext.session?.kernel?.status === "idle";
  const images = [...panel.node.querySelectorAll(".jp-OutputArea img")];
  return ran && idle && images.every((img) => img.complete && img.naturalWidth > 0);
}"""
ERRORS = """() => [...document.querySelectorAll(".jp-OutputArea-output[data-mime-type*=error]")]
                  .map((node) => node.innerText.slice(0, 500))"""
BACKGROUND = "() => getComputedStyle(document.querySelector('.jp-Notebook')).backgroundColor"


def stacked(shots: list[bytes], background: str) -> bytes:
    """The screenshots one under the other on the page's background, as one PNG."""
    from PIL import Image

    images = [Image.open(io.BytesIO(shot)).convert("RGB") for shot in shots]
    gap = 12
    width = max(image.width for image in images)
    height = sum(image.height for image in images) + gap * (len(images) - 1)
    rgb = tuple(int(float(v)) for v in background[background.index("(") + 1 : -1].split(",")[:3])
    sheet = Image.new("RGB", (width, height), rgb)
    top = 0
    for image in images:
        sheet.paste(image, (0, top))
        top += image.height + gap
    out = io.BytesIO()
    sheet.save(out, "PNG")
    return out.getvalue()


def picture(page: Any, cells: list[int], tmp_path: Path, name: str) -> Path:
    outputs = [
        page.locator(".jp-Notebook .jp-Cell").nth(i).locator(".jp-OutputArea").first for i in cells
    ]
    shots = []
    for output in outputs:
        output.scroll_into_view_if_needed()
        shots.append(output.screenshot())
    png = stacked(shots, page.evaluate(BACKGROUND))
    path = artifacts(tmp_path) / name
    path.write_bytes(png)
    images = os.environ.get("RTNB_IMAGES")
    if images:
        Path(images).mkdir(parents=True, exist_ok=True)
        (Path(images) / name).write_bytes(small_png(png))
    print(f"screenshot: {path}")
    return path


@pytest.mark.parametrize(("name", "last", "plot"), SHOWN, ids=[name[:2] for name, *_ in SHOWN])
def test_the_notebook_ends_readable_in_light_and_dark(
    name: str, last: int, plot: str | None, tmp_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    wav = tmp_path / "silence.wav"
    write_silence_wav(wav, 2)
    logs: list[str] = []
    stem = f"notebook-{name[:2]}"
    with jupyter_lab(tmp_path / "lab") as lab, sync_playwright() as pw:
        (lab.root / name).write_bytes((NOTEBOOKS / name).read_bytes())
        browser, page = launch_with_fake_mic(pw, wav, logs)
        page.set_viewport_size({"width": 1200, "height": 1100})
        try:
            page.goto(lab.page_url(name))
            page.wait_for_function(KERNEL_IDLE, timeout=120_000)
            code = page.evaluate(CODE_CELLS)
            page.evaluate(RUN_ALL)
            page.wait_for_function(DONE, arg=code, timeout=600_000, polling=500)
            errors = page.evaluate(ERRORS)
            dismiss_news(page)
            shown = code[-last:]
            if plot is not None:
                image = page.locator(".jp-Notebook .jp-Cell").nth(code[-1])
                image = image.locator(".jp-OutputArea img").first
                size = image.evaluate("(img) => [img.naturalWidth, img.naturalHeight]")
                image.scroll_into_view_if_needed()
                save(image, tmp_path, plot, readme=True)
            light = picture(page, shown, tmp_path, f"{stem}-light.png")
            page.evaluate(
                """async () => window.jupyterapp.commands.execute(
                     "apputils:change-theme", {theme: "JupyterLab Dark"})"""
            )
            page.wait_for_function(
                "() => document.body.dataset.jpThemeLight === 'false'", timeout=60_000
            )
            page.wait_for_function(  # the dark theme's colours are applied, its splash gone
                f"""() => ({BACKGROUND})() !== 'rgb(255, 255, 255)'
                          && !document.querySelector('#jupyterlab-splash')""",
                timeout=60_000,
            )
            dark = picture(page, shown, tmp_path, f"{stem}-dark.png")
        except Exception:
            page.screenshot(path=str(tmp_path / f"{stem}-failure.png"), full_page=True)
            print("\n".join(logs[-60:]))
            print("".join(lab.log[-60:]))
            raise
        finally:
            browser.close()
    assert errors == []
    if plot is not None:
        assert size[0] > 200 and size[1] > 100, size  # a drawn plot, not an icon
    from PIL import Image

    # No block of the other theme's colour: in the light theme almost nothing is dark, in the
    # dark theme almost nothing is white (a figure painted behind is a third of the picture;
    # text and bars are a few per cent).
    for path, other in ((light, range(0, 70)), (dark, range(200, 256))):
        histogram = Image.open(path).convert("L").histogram()
        share = sum(histogram[v] for v in other) / sum(histogram)
        assert share < 0.12, (path, share)
