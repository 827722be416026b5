"""YAML with line numbers: the data, and where each key or list entry was written."""

from __future__ import annotations

from typing import Any

__all__ = ["Lines", "load_yaml"]

Lines = dict[tuple[Any, ...], int]
"""Path (keys and list indices from the top) -> 1-based line number."""


def load_yaml(text: str) -> tuple[Any, Lines]:
    """Parse ``text`` (safe YAML); return the data and the line of every key and entry.

    Raises :class:`ValueError` with the line for a syntax error or a repeated key.
    """
    import yaml  # the eval extra

    try:
        data = yaml.safe_load(text)
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ValueError(f"{where}not valid YAML: {problem}") from None
    lines: Lines = {}
    if root is not None:
        _walk(root, (), lines)
    return data, lines


def _walk(node: Any, path: tuple[Any, ...], lines: Lines) -> None:
    import yaml

    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: set[Any] = set()
        for key_node, value_node in node.value:
            key = key_node.value
            if key in seen:
                line = key_node.start_mark.line + 1
                raise ValueError(f"line {line}: the key {key!r} is given twice")
            seen.add(key)
            key_path = (*path, key)
            lines[key_path] = key_node.start_mark.line + 1
            _walk(value_node, key_path, lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, (*path, index), lines)
