"""Module boundaries the import contracts (`make lint`) cannot express: a module reaches
another only through what it offers (its service, the shapes of its schemas, the FastAPI
dependencies other routes reuse), and the learning workflow is entered from POST handlers only.
docs/architecture.md explains both."""

from __future__ import annotations

import ast
from pathlib import Path

from app.settings import ROOT

OFFERED = {"service", "schemas", "dependencies"}
# reports reads other modules' tables, read-only, for set-based SQL (the written exception)
MAY_READ_TABLES = {"reports"}


def _imports(path: Path) -> list[tuple[str, list[str]]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.append((node.module, [a.name for a in node.names]))
        elif isinstance(node, ast.Import):
            found += [(a.name, []) for a in node.names]
    return found


def test_modules_reach_each_other_only_through_what_they_offer() -> None:
    crossings = []
    for path in sorted((ROOT / "modules").rglob("*.py")):
        own = path.relative_to(ROOT / "modules").parts[0]
        for module, names in _imports(path):
            parts = module.split(".")
            if parts[0] != "modules" or len(parts) < 2 or parts[1] == own:
                continue
            reached = [parts[2]] if len(parts) > 2 else names
            for part in reached:
                allowed = OFFERED | ({"models"} if own in MAY_READ_TABLES else set())
                if part not in allowed:
                    crossings.append(f"{path.relative_to(ROOT)}: {module} {names}")
    assert crossings == []


def _route_methods(function: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    methods = set()
    for decorator in function.decorator_list:
        if (
            isinstance(decorator, ast.Call)
            and isinstance(decorator.func, ast.Attribute)
            and isinstance(decorator.func.value, ast.Name)
            and decorator.func.value.id == "router"
        ):
            methods.add(decorator.func.attr.upper())
    return methods


def test_the_workflow_is_called_from_post_handlers_only() -> None:
    """Every route that names the workflow is a POST; the import contract already allows only
    the learning router, its command line and its jobs to import it."""
    source = ROOT / "modules" / "learning" / "router.py"
    tree = ast.parse(source.read_text())
    callers = {}
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        methods = _route_methods(function)
        if not methods:
            continue
        names = {n.id for n in ast.walk(function) if isinstance(n, ast.Name)}
        if "workflow" in names:
            callers[function.name] = methods
    assert callers and all(methods == {"POST"} for methods in callers.values()), callers


def test_the_platform_knows_no_module_but_at_its_composition_roots() -> None:
    roots = {"main.py", "cli.py", "models_registry.py"}
    for path in sorted((ROOT / "app").glob("*.py")):
        if path.name in roots:
            continue
        assert not [m for m, _n in _imports(path) if m.startswith("modules")], path.name


def test_the_import_contracts_hold() -> None:
    """The contracts of pyproject.toml (layers, no cycles, certificates/courses/quizzes never
    importing progress, the platform and the workflow protected), run in the suite too."""
    from importlinter.cli import lint_imports

    assert lint_imports(no_cache=True, no_logo=True) == 0
