"""kpy.storage's imports form no cycle and reach nothing of kpy outside storage and protocol.

Imports are read from the source with ``ast`` (every ``import`` statement, those under
``if TYPE_CHECKING:`` and inside functions included), so a cycle hidden behind a lazy import
fails here too. Storage is synchronous and sans-trio (STYLE.md: storage imports only
protocol), which is what lets it be unit-tested with plain files and threads.
"""

from __future__ import annotations

import ast
from pathlib import Path

import kpy.storage

STORAGE = Path(kpy.storage.__file__).parent


def imports_of(path: Path) -> set[str]:
    """Every module ``path`` imports (absolute names; ``from x import y`` gives x and x.y)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = "kpy.storage" if node.level == 1 else "kpy"
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            names.add(module)
            names.update(f"{module}.{a.name}" for a in node.names)
    return names


def storage_graph() -> dict[str, set[str]]:
    """kpy.storage module -> the kpy.storage modules it imports."""
    modules = {f"kpy.storage.{p.stem}": p for p in STORAGE.glob("*.py") if p.stem != "__init__"}
    return {name: imports_of(path) & modules.keys() for name, path in modules.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a path that ends where it starts, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_find_cycle_sees_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


def test_imports_of_reads_lazy_and_type_checking_imports(tmp_path):
    src = tmp_path / "m.py"
    src.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from kpy.storage.log import Log\n"
        "def f():\n    import trio\n    from . import cleaner\n"
    )
    assert {"kpy.storage.log", "trio", "kpy.storage.cleaner"} <= imports_of(src)


def test_storage_has_no_import_cycle():
    graph = storage_graph()
    assert len(graph) > 10
    assert find_cycle(graph) is None


def test_storage_imports_only_storage_and_protocol():
    wrong = {
        f"{path.name}: {name}"
        for path in STORAGE.glob("*.py")
        for name in imports_of(path)
        if name.split(".")[0] == "trio"
        or (
            name.split(".")[0] == "kpy"
            and not name.startswith(("kpy.storage", "kpy.protocol"))
            and name != "kpy"
        )
    }
    assert not wrong, sorted(wrong)
