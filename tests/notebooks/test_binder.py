"""binder/ launches the repository on Binder (repo2docker) into the quickstart, offline.

repo2docker runs ``pip install -r binder/requirements.txt`` from the repository root, then
``binder/postBuild``; the server it starts already has JupyterLab. The static tests check that
the files agree with pyproject.toml; the slow one builds a fresh virtual environment the same
way (pip's cache allowed) and runs the quickstart notebook in it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

if sys.version_info >= (3, 11):
    import tomllib
else:  # pytest brings tomli before Python 3.11
    import tomli as tomllib

ROOT = Path(__file__).parents[2]
BINDER = ROOT / "binder"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
QUICKSTART = ROOT / "notebooks" / "01_quickstart.ipynb"


def requirement_lines() -> list[str]:
    lines = (BINDER / "requirements.txt").read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def test_requirements_install_the_project_with_its_notebook_extra() -> None:
    # Consistent with pyproject.toml by construction: no dependency is listed twice.
    assert requirement_lines() == ["-e .[notebook]"]
    extras = PYPROJECT["project"]["optional-dependencies"]
    notebook = {Requirement(spec).name for spec in extras["notebook"]}
    assert {"jupyterlab", "ipywidgets", "anywidget", "pandas", "matplotlib"} <= notebook
    # The hosted-MCP tutorial needs the mcp extra: the notebook extra brings it.
    assert "rtnb" in notebook and any("mcp" in spec for spec in extras["notebook"])


def test_runtime_matches_requires_python() -> None:
    runtime = (BINDER / "runtime.txt").read_text(encoding="utf-8").strip()
    match = re.fullmatch(r"python-(\d+\.\d+)", runtime)
    assert match, runtime
    assert SpecifierSet(PYPROJECT["project"]["requires-python"]).contains(match[1] + ".0")


def test_post_build_is_executable_and_downloads_nothing() -> None:
    post_build = BINDER / "postBuild"
    assert os.access(post_build, os.X_OK), "chmod +x binder/postBuild"
    text = post_build.read_text(encoding="utf-8")
    assert text.startswith("#!/usr/bin/env bash\n") and "set -euo pipefail" in text
    code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    downloads = r"\b(pip3?|conda|mamba|apt(-get)?|curl|wget|git|npm|jlpm|labextension)\b|://"
    assert not re.search(downloads, code), "postBuild must not download anything"
    assert not (BINDER / "apt.txt").exists(), "no system packages needed: everything is a wheel"


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_fresh_environment_from_binder_files_runs_the_quickstart(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    venv = tmp_path / "venv"
    bin_dir = venv / "bin"
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "VIRTUAL_ENV")}
    env |= {
        "HOME": str(home),  # no user kernelspecs or Jupyter config
        "PATH": f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "OPENAI_AGENTS_DISABLE_TRACING": "1",
    }
    env.setdefault("PIP_CACHE_DIR", str(Path.home() / ".cache" / "pip"))  # keep pip's cache
    timings: dict[str, float] = {}

    def step(name: str, command: list[str], timeout: float) -> str:
        start = time.perf_counter()
        result = subprocess.run(
            command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
        )
        timings[name] = time.perf_counter() - start
        assert result.returncode == 0, f"{name} failed:\n{result.stdout}\n{result.stderr}"
        return result.stdout

    pip = [str(bin_dir / "python"), "-m", "pip"]
    start = time.perf_counter()
    made = subprocess.run([sys.executable, "-m", "venv", str(venv)], capture_output=True)
    timings["venv"] = time.perf_counter() - start
    if made.returncode != 0:  # a distribution Python without ensurepip: this pip installs
        step("venv", [sys.executable, "-m", "venv", "--clear", "--without-pip", str(venv)], 120)
        pip = [sys.executable, "-m", "pip", "--python", str(bin_dir / "python")]
    step(
        "pip install -r binder/requirements.txt",
        # --no-compile: byte-compiling every installed module is about a third of the install
        # and checks nothing here; the modules the quickstart imports compile as it runs.
        [*pip, "install", "-q", "--no-compile", "-r", "binder/requirements.txt"],
        600,
    )
    step("postBuild", [str(BINDER / "postBuild")], 120)
    output = step(
        "quickstart", [str(bin_dir / "python"), "-c", RUN_QUICKSTART, str(QUICKSTART)], 240
    )
    print({name: f"{seconds:.0f} s" for name, seconds in timings.items()})

    kernel_python, rtnb_file, backend = output.split("RTNB-KERNEL ", 1)[1].split()[:3]
    assert Path(kernel_python).parent == bin_dir  # the notebook ran in the fresh environment
    assert Path(rtnb_file).is_relative_to(ROOT)  # on this checkout, as Binder's editable install
    assert backend == "local"


RUN_QUICKSTART = """
import sys
import nbformat
from nbclient import NotebookClient

notebook = nbformat.read(sys.argv[1], as_version=4)
notebook.cells.append(nbformat.v4.new_code_cell(
    "import sys\\nprint('RTNB-KERNEL', sys.executable, rtnb.__file__, session.backend)"
))
NotebookClient(notebook, timeout=120, kernel_name="python3").execute()
print(notebook.cells[-1].outputs[0].text)
"""
