"""The tree is the map: packages by pipeline stage, no import cycles (type-only imports included), the
application reaching the library only through its declared API, and no folder crowded past a dozen modules."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("index", "bot")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for package in PACKAGES for p in (ROOT / package).rglob("*.py")}


def imports_of(path: Path, known: set[str]) -> set[str]:
    """Every project module a file imports, at any depth of the file (lazy and TYPE_CHECKING imports too)."""
    found: set[str] = set()
    this = module_name(path)
    package = this if path.name == "__init__.py" else this.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        for name in names:
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name and name != this:
                found.add(name)
    return found


def graph() -> dict[str, set[str]]:
    mods = modules()
    known = set(mods)
    edges = {name: imports_of(path, known) for name, path in mods.items()}
    # `from index import X` names the package facade, which loads X lazily from its own module: the edge that
    # matters is the application's, and index/__init__ importing its submodules under TYPE_CHECKING is the
    # declaration itself, not a dependency of theirs.
    edges["index"] = set()
    return edges


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_no_import_cycles():
    cycle = find_cycle(graph())
    assert cycle is None, " -> ".join(cycle or [])


def test_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_library_never_imports_the_application():
    edges = graph()
    offenders = [
        f"{m} -> {d}" for m, deps in edges.items() if m.startswith("index") for d in deps if d.startswith("bot")
    ]
    assert offenders == []


def test_application_uses_only_the_declared_api():
    offenders = [
        f"{m} -> {d}" for m, deps in graph().items() if m.startswith("bot") for d in deps if d.startswith("index.")
    ]
    assert offenders == [], "bot/ imports index only as `from index import …`"


def test_every_public_name_resolves():
    import index

    assert index.__all__ == sorted(index.__all__) or len(set(index.__all__)) == len(index.__all__)
    for name in index.__all__:
        assert getattr(index, name) is not None, name
    with pytest.raises(AttributeError):
        index.no_such_name  # noqa: B018


@pytest.mark.parametrize("package", PACKAGES)
def test_no_folder_holds_more_than_twelve_modules(package):
    for folder in [ROOT / package, *(p for p in (ROOT / package).rglob("*") if p.is_dir())]:
        count = len([p for p in folder.glob("*.py") if p.name != "__init__.py"])
        assert count <= 12, f"{folder.relative_to(ROOT)} holds {count} modules"
