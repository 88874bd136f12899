"""The import structure of the package: layered floors, no import circles.

The graph is read from the source (``ast``): every ``import`` and ``from ... import``, relative or
absolute, at module level or inside a function, and every string that is a whole dotted path
into the package (the study's model table names its classes that way).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import sklearn_bsym

PACKAGE = Path(sklearn_bsym.__file__).parent

#: The floors, lowest first: a module may import its own floor and the floors below it.
FLOORS = {
    "__init__": 0,
    "_random": 0,
    "_files": 0,
    "_threads": 0,
    "kinematics": 0,
    "symmetries": 0,
    "events": 0,
    "datasets": 1,
    "preprocessing": 2,
    "nn": 3,
    "optimal": 3,
    "studies": 4,
    "deploy": 4,
    "__main__": 5,
    "cli": 5,
    # imports every public module (importlib), to list the estimators
    "_discovery": 5,
}

_DOTTED = re.compile(r"sklearn_bsym(\.\w+)+")


def _modules() -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its own name)."""
    modules = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def _resolve(name: str, modules) -> str | None:
    """The module a dotted name imports: itself, else its longest prefix that is a module."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def import_graph() -> dict[str, set[str]]:
    """module -> the modules of the package it imports."""
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        targets = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                # ``from pkg import name`` imports the submodule pkg.name when there is one.
                names = [f"{base}.{alias.name}" for alias in node.names]
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                if _DOTTED.fullmatch(node.value):
                    names = [node.value]
            for name in names:
                target = _resolve(name, modules) if name.startswith("sklearn_bsym") else None
                if target is not None and target != module:
                    targets.add(target)
        graph[module] = targets
    return graph


def _floor(module: str) -> int:
    parts = module.split(".")
    return FLOORS[parts[1] if len(parts) > 1 else "__init__"]


def test_every_module_has_a_floor():
    unknown = sorted(m for m in import_graph() if m.count(".") and m.split(".")[1] not in FLOORS)
    assert not unknown, f"modules outside the floors of the layering: {unknown}"


def test_no_module_imports_a_higher_floor():
    upward = sorted(
        f"{module} -> {target}"
        for module, targets in import_graph().items()
        for target in targets
        if _floor(target) > _floor(module)
    )
    assert not upward, "imports that run upward:\n" + "\n".join(upward)


def test_no_import_circles():
    graph = import_graph()
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    circles = []

    def visit(module, path):
        state[module] = 1
        for target in sorted(graph[module]):
            if state.get(target) == 1:
                circles.append(" -> ".join([*path[path.index(target):], target]))
            elif target not in state:
                visit(target, [*path, target])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert not circles, "import circles:\n" + "\n".join(circles)


def test_the_graph_sees_local_relative_and_dotted_path_imports():
    graph = import_graph()
    # a function-local relative import (the protocol imports preprocessing inside functions)
    assert "sklearn_bsym.preprocessing" in graph["sklearn_bsym.studies._protocol"]
    # the model table names its classes by dotted path
    assert "sklearn_bsym.nn" in graph["sklearn_bsym.studies._models"]
    # ``from .. import kinematics`` is the module kinematics, not the package
    assert "sklearn_bsym.kinematics" in graph["sklearn_bsym.preprocessing._smearing"]
