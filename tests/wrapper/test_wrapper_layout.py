"""The wrapper's layout rules: outside itself it imports only racetrack.manifest, racetrack.protocol and
racetrack.cors (what a job shares with what runs and fronts it; it runs in the job image without the
build/deploy side), and its modules import one another without cycles."""

from __future__ import annotations

import ast
from pathlib import Path

import racetrack.wrapper

ROOT = Path(racetrack.wrapper.__file__).parent
ALLOWED_OUTSIDE = ("racetrack.manifest", "racetrack.protocol", "racetrack.cors")


def module_imports() -> dict[str, set[str]]:
    """Each wrapper module's name and the racetrack modules (or names in them) it imports, anywhere."""
    found: dict[str, set[str]] = {}
    for path in sorted(ROOT.rglob("*.py")):
        name = ".".join(("racetrack", "wrapper", *path.relative_to(ROOT).with_suffix("").parts))
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        imports: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                module = _absolute(node, package)
                if module.startswith("racetrack"):
                    imports.add(module)
                    imports.update(f"{module}.{alias.name}" for alias in node.names)
            elif isinstance(node, ast.Import):
                imports.update(alias.name for alias in node.names if alias.name.startswith("racetrack"))
        found[name.removesuffix(".__init__")] = imports
    return found


def _absolute(node: ast.ImportFrom, package: str) -> str:
    """The module a `from ... import` names, relative imports (`from ..http import x`) resolved."""
    if not node.level:
        return node.module or ""
    base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
    return f"{base}.{node.module}" if node.module else base


def test_the_wrapper_imports_only_the_manifest_protocol_and_cors_from_racetrack():
    outside = {
        (module, imported)
        for module, imports in module_imports().items()
        for imported in imports
        if not imported.startswith(("racetrack.wrapper", *ALLOWED_OUTSIDE))
    }
    assert outside == set()


def test_wrapper_modules_import_one_another_without_cycles():
    imports = module_imports()
    graph = {
        module: {other for other in found if other in imports and other != module}
        for module, found in imports.items()
    }
    done: set[str] = set()

    def visit(module: str, path: tuple[str, ...]) -> None:
        assert module not in path, "import cycle: " + " -> ".join((*path[path.index(module) :], module))
        if module not in done:
            for other in sorted(graph[module]):
                visit(other, (*path, module))
            done.add(module)

    for module in sorted(graph):
        visit(module, ())
    assert "racetrack.wrapper.http.app" in graph and len(graph) > 25  # the walk saw the subpackages


def test_the_job_contract_imports_neither_the_http_edge_nor_the_call_runtime():
    """contract/ is what a job declares; http/ and runtime/ use it, never the other way round."""
    layers = ("racetrack.wrapper.http", "racetrack.wrapper.runtime")
    contract = {module: found for module, found in module_imports().items() if _within(module, "contract")}
    upward = {
        (module, imported)
        for module, imports in contract.items()
        for imported in imports
        if any(imported == layer or imported.startswith(layer + ".") for layer in layers)
    }
    assert upward == set()
    assert {"racetrack.wrapper.contract", "racetrack.wrapper.contract.job"} <= set(contract)


def _within(module: str, subpackage: str) -> bool:
    prefix = f"racetrack.wrapper.{subpackage}"
    return module == prefix or module.startswith(prefix + ".")


def test_405_is_decided_by_the_route_table_only():
    """Only routing.py answers "wrong method"; the handlers behind it never see a method they do not take."""
    users = {
        module
        for module, imports in module_imports().items()
        if "racetrack.wrapper.http.responses.method_not_allowed" in imports
    }
    assert users == {"racetrack.wrapper.http.routing"}
