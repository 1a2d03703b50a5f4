"""Import the user's entrypoint module, find the entrypoint class and instantiate it."""

from __future__ import annotations

import importlib.util
import inspect
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType, TracebackType

from racetrack.wrapper.settings import setting_hint


@dataclass
class LoadError(Exception):
    """The job cannot be served: what is wrong, the exception type behind it and where (file:line)."""

    message: str
    exception_type: str = "LoadError"
    location: str | None = None
    traceback: str | None = None

    def __str__(self) -> str:
        where = f" ({self.location})" if self.location else ""
        return f"{self.message}{where}"


def load_entrypoint(entrypoint_file: Path, class_name: str | None, root: Path) -> object:
    """Import `entrypoint_file`, pick the entrypoint class and return an instance of it."""
    return instantiate(load_entrypoint_class(entrypoint_file, class_name, root), root)


def load_entrypoint_class(
    entrypoint_file: Path, class_name: str | None, root: Path, manifest_file: str = ""
) -> type:
    """Import `entrypoint_file` and pick the entrypoint class (without instantiating it); messages name
    the settings to fix as in `manifest_file`."""
    module = import_entrypoint_module(entrypoint_file, root, manifest_file)
    return find_entrypoint_class(module, class_name, entrypoint_file, manifest_file)


def instantiate(entrypoint_class: type, root: Path) -> object:
    """`entrypoint_class()`; an exception in its `__init__` becomes a LoadError."""
    try:
        return entrypoint_class()
    except Exception as exc:
        raise error_from_exception(f"{entrypoint_class.__name__}() failed in __init__", exc, root) from exc


def import_entrypoint_module(entrypoint_file: Path, root: Path, manifest_file: str = "") -> ModuleType:
    """Import the entrypoint file as a module, with the job root importable (as Racetrack does)."""
    if not entrypoint_file.is_file():
        raise LoadError(
            f"entrypoint file {entrypoint_file} does not exist: "
            f"fix {setting_hint(manifest_file, 'entrypoint_path')} (it is relative to the job root)",
            "FileNotFoundError",
        )
    for directory in (str(entrypoint_file.parent), str(root)):
        if directory not in sys.path:
            sys.path.insert(0, directory)
    module_name = entrypoint_file.stem
    spec = importlib.util.spec_from_file_location(module_name, entrypoint_file)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        raise LoadError(
            f"syntax error in {exc.filename}: {exc.msg}",
            "SyntaxError",
            f"{exc.filename}:{exc.lineno}",
            traceback.format_exc(),
        ) from exc
    except Exception as exc:
        hint = ""
        if isinstance(exc, ImportError):
            hint = (
                "; add the missing package to the requirements file named by "
                + setting_hint(manifest_file, "requirements_path")
            )
        raise error_from_exception(f"importing {entrypoint_file.name} failed{hint}", exc, root) from exc
    return module


def find_entrypoint_class(
    module: ModuleType, class_name: str | None, entrypoint_file: Path, manifest_file: str = ""
) -> type:
    """The named class, or else the one class defined in the module that has a `perform` method."""
    if class_name:
        found = getattr(module, class_name, None)
        if not inspect.isclass(found):
            raise LoadError(
                f"class {class_name!r} not found in {entrypoint_file.name}: "
                f"fix {setting_hint(manifest_file, 'entrypoint_class')}",
                "LookupError",
            )
        return _checked(found, entrypoint_file)
    defined = [
        obj for obj in vars(module).values() if inspect.isclass(obj) and obj.__module__ == module.__name__
    ]
    candidates = [cls for cls in defined if callable(getattr(cls, "perform", None))] or defined
    if len(candidates) != 1:
        names = ", ".join(cls.__name__ for cls in candidates) or "none"
        imported = sorted(
            name
            for name, obj in vars(module).items()
            if inspect.isclass(obj)
            and obj.__module__ != module.__name__
            and callable(getattr(obj, "perform", None))
        )
        also = (
            f" (imported classes are not considered: {', '.join(imported)}; name one in entrypoint_class)"
            if imported and not candidates
            else ""
        )
        raise LoadError(
            f"expected exactly one entrypoint class defined in {entrypoint_file.name}, found {names}{also}: "
            "define one class with a perform method or set "
            + setting_hint(manifest_file, "entrypoint_class"),
            "LookupError",
        )
    return _checked(candidates[0], entrypoint_file)


def _checked(cls: type, entrypoint_file: Path) -> type:
    if not callable(getattr(cls, "perform", None)):
        raise LoadError(
            f"entrypoint class {cls.__name__} in {entrypoint_file.name} has no perform method: "
            "add `def perform(self, ...)` returning the result",
            "AttributeError",
        )
    return cls


def error_from_exception(message: str, exc: BaseException, root: Path) -> LoadError:
    """A LoadError for an exception raised by user code, located at the deepest frame in the job."""
    return LoadError(
        f"{message}: {type(exc).__name__}: {exc}",
        type(exc).__name__,
        user_location(exc.__traceback__, root),
        "".join(traceback.format_exception(exc)),
    )


def user_location(tb: TracebackType | None, root: Path) -> str | None:
    """file:line of the innermost traceback frame inside the job root (else the innermost frame)."""
    frames = traceback.extract_tb(tb)
    root_str = str(root.resolve())
    in_job = [f for f in frames if f.filename.startswith(root_str) and "site-packages" not in f.filename]
    frame = (in_job or frames or [None])[-1]
    return f"{frame.filename}:{frame.lineno}" if frame else None
