"""The package's layers: dependencies point one way along the pipeline, and no imports form a cycle.

Every module of ``assistant/`` is parsed (not imported); every ``import`` and ``from ... import``
counts, including those inside functions, since a lazy import is still a dependency.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "assistant"

# Lower stages may not import higher ones. Same stage: allowed (but no cycles).
STAGES = ["base", "ingest", "index", "answer", "check", "facade", "eval", "serve"]
BASE_MODULES = {"assistant", "assistant.models", "assistant.settings", "assistant.errors", "assistant.lexical",
                "assistant.patterns"}
TOP_LEVEL = {"assistant.service": "facade", "assistant.__main__": "serve"}


@dataclass(frozen=True)
class Import:
    source: str  # importing module
    target: str  # imported module of this package
    path: Path
    line: int

    def where(self) -> str:
        return f"{self.path.relative_to(PACKAGE.parent)}:{self.line}"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def all_modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def stage_of(module: str) -> str:
    if module in BASE_MODULES:
        return "base"
    if module in TOP_LEVEL:
        return TOP_LEVEL[module]
    parts = module.split(".")
    if len(parts) >= 2 and parts[1] in STAGES:
        return parts[1]
    raise AssertionError(f"{module} belongs to no stage: put it in a stage's subpackage, or add it to "
                         "BASE_MODULES / TOP_LEVEL in tests/test_layers.py")


def package_of(module: str, path: Path) -> str:
    return module if path.name == "__init__.py" else module.rpartition(".")[0]


def imports_of(module: str, path: Path, modules: dict[str, Path]) -> list[Import]:
    """Every import of a module of this package by ``module``, at any depth of the file."""
    found = []

    def add(target: str, node: ast.stmt) -> None:
        if target.split(".")[0] != "assistant":
            return
        while target not in modules and "." in target:  # `from assistant.x import name`: the module is x
            target = target.rpartition(".")[0]
        found.append(Import(module, target, path, node.lineno))
        # importing a module of another package first runs that package's __init__
        package = target.rpartition(".")[0]
        if package not in ("", "assistant") and package != package_of(module, path) and package in modules:
            found.append(Import(module, package, path, node.lineno))

    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name, node)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package_of(module, path).split(".")
                base = base[: len(base) - node.level + 1]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            for alias in node.names:
                candidate = f"{prefix}.{alias.name}"
                add(candidate if candidate in modules else prefix, node)
    return [i for i in found if i.target != module]


def import_graph() -> dict[str, list[Import]]:
    modules = all_modules()
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def find_cycle(graph: dict[str, list[Import]]) -> list[Import] | None:
    """One import cycle as the chain of imports that closes it, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[Import] = []

    def visit(module: str) -> list[Import] | None:
        state[module] = 1
        for edge in graph.get(module, []):
            if state.get(edge.target) == 1:
                start = next((i for i, e in enumerate(path) if e.source == edge.target), len(path))
                return path[start:] + [edge]
            if edge.target not in state:
                path.append(edge)
                cycle = visit(edge.target)
                if cycle:
                    return cycle
                path.pop()
        state[module] = 2
        return None

    for module in sorted(graph):
        if module not in state:
            cycle = visit(module)
            if cycle:
                return cycle
    return None


def test_every_module_belongs_to_a_stage() -> None:
    for module in all_modules():
        stage_of(module)


def test_no_import_cycles() -> None:
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle:\n" + "\n".join(
        f"  {e.source} imports {e.target} ({e.where()})" for e in cycle)


def test_lower_stages_never_import_higher_ones() -> None:
    order = {stage: rank for rank, stage in enumerate(STAGES)}
    problems = []
    for module, edges in import_graph().items():
        for edge in edges:
            mine, theirs = stage_of(module), stage_of(edge.target)
            if order[theirs] > order[mine]:
                problems.append(f"  {edge.where()}: {module} ({mine}) imports {edge.target} ({theirs}); "
                                f"the order is {' < '.join(STAGES)}")
    assert not problems, "imports against the pipeline's direction:\n" + "\n".join(problems)


def test_the_layer_test_sees_lazy_imports_and_cycles() -> None:
    """The checks themselves: a function-level import counts, and a two-module cycle is found."""
    modules = all_modules()
    service = imports_of("assistant.service", modules["assistant.service"], modules)
    assert "assistant.check.checking" in {e.target for e in service}  # imported inside a method
    a = Import("a", "b", PACKAGE / "a.py", 1)
    b = Import("b", "a", PACKAGE / "b.py", 2)
    assert find_cycle({"a": [a], "b": [b]}) == [a, b]
    assert find_cycle({"a": [a], "b": []}) is None


def test_ray_is_imported_lazily_and_only_by_its_module() -> None:
    """Ray (the [scale] extra) is imported only inside functions of ``index/ray_embedding.py``, so that
    ``import assistant`` and every path that does not embed with Ray never load it."""
    problems = []
    for module, path in all_modules().items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        top_level = {id(node) for node in tree.body}
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module or ""]
            else:
                continue
            if not any(name.split(".")[0] == "ray" for name in names):
                continue
            if module != "assistant.index.ray_embedding":
                problems.append(f"  {module}:{node.lineno} imports ray; only assistant.index.ray_embedding may")
            elif id(node) in top_level:
                problems.append(f"  {module}:{node.lineno} imports ray at module level")
    assert not problems, "ray imported eagerly or elsewhere:\n" + "\n".join(problems)


@pytest.mark.process
def test_the_default_index_path_never_imports_ray() -> None:
    """In a fresh interpreter: importing the package and the CLI, building and answering load no Ray."""
    code = ("import sys, tempfile, pathlib; sys.path.insert(0, 'tests'); import assistant, assistant.serve.cli; "
            "from conftest import make_assistant, CORPUS; "
            "a = make_assistant(CORPUS, pathlib.Path(tempfile.mkdtemp()) / 'i'); a.build(); "
            "a.ask('What is gene therapy?'); "
            "assert 'ray' not in sys.modules, 'ray imported'")
    result = subprocess.run([sys.executable, "-c", code], cwd=PACKAGE.parent, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
