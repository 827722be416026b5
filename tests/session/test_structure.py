"""Structure: parts, not mixins; no import circle in ``rtnb``; no private reach-ins.

The session package and the local server are composed of parts that talk through their public
surface. These parse the sources with :mod:`ast` (nothing is imported but the session class).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import rtnb.session
from rtnb.session import RealtimeSession

ROOT = Path(rtnb.__file__).parent
ALL_SOURCES = sorted(ROOT.rglob("*.py"))
# The composed packages: no mixins, no reading another object's private attributes.
SOURCES = sorted(
    [*Path(rtnb.session.__file__).parent.glob("*.py"), *(ROOT / "local").rglob("*.py")]
)


def _module_name(path: Path) -> str:
    parts = ("rtnb", *path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = frozenset(_module_name(path) for path in ALL_SOURCES)


def _parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_imports(tree: ast.Module, module: str, *, on_use: bool = True) -> set[str]:
    """rtnb modules that ``module`` imports when it runs (anything but ``TYPE_CHECKING``).

    ``on_use=False`` leaves out the imports inside functions (those made when first used).
    """
    is_package = (ROOT / Path(*module.split(".")[1:]) / "__init__.py").exists()
    package = module if is_package else module.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if not on_use and isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            return
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from .x import y / from . import x
                base = package if node.level == 1 else package.rsplit(".", node.level - 1)[0]
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            # from package import x: x may be a module
            found.update(f"{target}.{alias.name}" for alias in node.names)
            found.add(target)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return {name for name in found if name in MODULES and name != module}


def _import_graph(sources: list[Path], *, on_use: bool = True) -> dict[str, set[str]]:
    return {
        _module_name(path): _runtime_imports(_parse(path), _module_name(path), on_use=on_use)
        for path in sources
    }


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph`` as a path that returns to its start, or ``None``."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state and (cycle := visit(target)) is not None:
                return cycle
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)) is not None:
            return cycle
    return None


def test_rtnb_imports_without_a_circle() -> None:
    # Import time: module-level imports. (An import made on use, inside a function, may go
    # against the layers: ``RealtimeSession.widget()`` imports the widgets, which use sessions.)
    graph = _import_graph(ALL_SOURCES, on_use=False)
    assert "rtnb.local.responder" in graph["rtnb.local.responses"], "the graph was not read"
    cycle = find_cycle(graph)
    assert cycle is None, "import circle: " + " -> ".join(cycle or ())


def test_the_composed_packages_need_no_import_on_use_to_avoid_a_circle() -> None:
    # Within the session package and the local server, imports inside functions count too.
    graph = _import_graph(SOURCES)
    assert graph["rtnb.session.session"], "the graph was not read"
    cycle = find_cycle(graph)
    assert cycle is None, "import circle: " + " -> ".join(cycle or ())


def test_find_cycle_finds_a_circle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_realtime_session_is_composed_not_mixed_in() -> None:
    assert RealtimeSession.__mro__ == (RealtimeSession, object)
    for path in SOURCES:
        for node in ast.walk(_parse(path)):
            if isinstance(node, ast.ClassDef) and node.name == "RealtimeSession":
                assert not node.bases, f"{path.name}: RealtimeSession has base classes"


def test_no_mixin_classes_remain() -> None:
    mixin = re.compile(r"Mixin|Support$|Handlers$|^Muting$|Switching$|Editing$|Responding$")
    found = [
        f"{path.name}: {node.name}"
        for path in SOURCES
        for node in ast.walk(_parse(path))
        if isinstance(node, ast.ClassDef) and mixin.search(node.name)
    ]
    assert not found, f"mixin classes: {found}"


def _private_reach_ins(tree: ast.Module) -> list[str]:
    """``x._name`` where ``x`` is not ``self``/``cls`` or a module (``ruff`` rule SLF001)."""
    modules = {
        (alias.asname or alias.name).partition(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    found = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and node.attr.startswith("_")
            and not (node.attr.startswith("__") and node.attr.endswith("__"))
            and not (
                isinstance(node.value, ast.Name) and node.value.id in ("self", "cls", *modules)
            )
        ):
            found.append(f"line {node.lineno}: {ast.unparse(node)}")
    return found


def test_no_part_reads_another_objects_private_attributes() -> None:
    found = {path.name: hits for path in SOURCES if (hits := _private_reach_ins(_parse(path)))}
    assert not found, f"private attributes read across objects: {found}"
