"""The wrapper's layout rules: outside itself it imports only racetrack.manifest and racetrack.protocol (it
runs in the job image without the build/deploy side), and its modules import one another without cycles."""

from __future__ import annotations

import ast
from pathlib import Path

import racetrack.wrapper

ROOT = Path(racetrack.wrapper.__file__).parent
ALLOWED_OUTSIDE = ("racetrack.manifest", "racetrack.protocol")


def module_imports() -> dict[str, set[str]]:
    """Each wrapper module's name and the racetrack modules (or names in them) it imports, anywhere."""
    found: dict[str, set[str]] = {}
    for path in sorted(ROOT.rglob("*.py")):
        name = ".".join(("racetrack", "wrapper", *path.relative_to(ROOT).with_suffix("").parts))
        imports: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("racetrack"):
                imports.add(node.module)
                imports.update(f"{node.module}.{alias.name}" for alias in node.names)
            elif isinstance(node, ast.Import):
                imports.update(alias.name for alias in node.names if alias.name.startswith("racetrack"))
        found[name.removesuffix(".__init__")] = imports
    return found


def test_the_wrapper_imports_only_the_manifest_and_protocol_from_racetrack():
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
