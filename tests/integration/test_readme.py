"""Every ``python`` code block of the README runs offline, as a new user would paste it.

Each block is a whole script (it runs its own ``asyncio.run``) and ends by printing what it
shows; a block may state the lines it must print in ``# prints: ...`` comments.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).parents[2] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


def _title(block: str) -> str:
    first = block.strip().splitlines()[0]
    return first.removeprefix("#").strip()[:40]


@pytest.mark.slow  # each block in a fresh interpreter
@pytest.mark.parametrize("block", BLOCKS, ids=[_title(b) for b in BLOCKS])
def test_readme_block_runs_offline(block: str, tmp_path: Path) -> None:
    script = tmp_path / "snippet.py"
    script.write_text(block, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=300,  # a hang guard: a busy machine is slower, not wrong
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},  # no OPENAI_API_KEY
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    expected = re.findall(r"#\s*prints:\s*(.+)", block)
    assert expected, "a README block says what it prints with a '# prints: ...' comment"
    for line in expected:
        assert line.strip() in result.stdout, f"{line!r} not in output:\n{result.stdout}"
