"""Docstring parsing for tools: the description and per-parameter descriptions.

Understands Google style (``Args:`` with ``name (type): text`` lines) and NumPy style
(``Parameters`` underlined with dashes, ``name : type`` then indented text).
"""

from __future__ import annotations

import inspect
import re

_SECTION_HEADERS = {"args", "arguments", "parameters", "params"}
_OTHER_SECTIONS = {
    "returns",
    "return",
    "yields",
    "raises",
    "examples",
    "example",
    "notes",
    "note",
    "see also",
    "attributes",
}
# "name (type): description" or "name: description" (Google style).
_GOOGLE_PARAM = re.compile(r"^(\*{0,2}\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")
# "name : type" (NumPy style; the description follows on indented lines).
_NUMPY_PARAM = re.compile(r"^(\w+)\s*(?::.*)?$")


def parse_docstring(doc: str | None) -> tuple[str, dict[str, str]]:
    """Split a docstring into (description, {parameter: description}).

    Understands Google style (``Args:`` with ``name (type): text`` lines) and NumPy style
    (``Parameters`` underlined with dashes, ``name : type`` then indented text). Anything it
    does not recognise stays in the description.
    """
    if not doc:
        return "", {}
    lines = inspect.cleandoc(doc).splitlines()
    description: list[str] = []
    params: dict[str, str] = {}
    i = 0
    while i < len(lines):
        header = lines[i].strip().rstrip(":").lower()
        numpy_underline = i + 1 < len(lines) and set(lines[i + 1].strip()) == {"-"}
        is_header = lines[i].strip().endswith(":") or numpy_underline
        if is_header and header in _SECTION_HEADERS | _OTHER_SECTIONS:
            i += 2 if numpy_underline else 1
            start = i
            while i < len(lines) and not _is_section_start(lines, i):
                i += 1
            if header in _SECTION_HEADERS:
                params.update(_parse_params(lines[start:i], numpy=numpy_underline))
            continue
        description.append(lines[i])
        i += 1
    return "\n".join(description).strip(), params


def _is_section_start(lines: list[str], i: int) -> bool:
    text = lines[i].strip()
    header = text.rstrip(":").lower()
    underlined = i + 1 < len(lines) and set(lines[i + 1].strip()) == {"-"}
    indented = lines[i][:1].isspace()
    return (
        not indented
        and (text.endswith(":") or underlined)
        and header in _SECTION_HEADERS | _OTHER_SECTIONS
    )


def _parse_params(lines: list[str], *, numpy: bool) -> dict[str, str]:
    params: dict[str, list[str]] = {}
    current: str | None = None
    base_indent: int | None = None
    for line in lines:
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip())
        if base_indent is None:
            base_indent = indent
        if indent <= base_indent:
            match = (_NUMPY_PARAM if numpy else _GOOGLE_PARAM).match(line.strip())
            if match:
                current = match.group(1).lstrip("*")
                first = "" if numpy else match.group(2)
                params[current] = [first] if first else []
                continue
        if current is not None:
            params[current].append(line.strip())
    return {name: " ".join(parts).strip() for name, parts in params.items()}
