"""The contract between a job and what runs it is named once, in racetrack.protocol: no module that talks to
jobs spells its paths, headers, variable names or port as literals of its own."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from racetrack import protocol

SRC = Path(__file__).resolve().parents[2] / "src"
# What talks to jobs. The control plane's own Lifecycle API (/lifecycle/api/v1/...) is another contract.
SCANNED = (
    "racetrack/wrapper",
    "racetrack/deploy",
    "racetrack/gateway",
    "racetrack/builder",
    "racetrack/cli.py",
    "racetrack/terminal.py",
    "racetrack_job_wrapper",
)
HEADERS = {
    protocol.AUTH_HEADER,
    protocol.GATEWAY_TOKEN_HEADER,
    protocol.TRACING_HEADER,
    protocol.CALLER_HEADER,
}
VARIABLES = {value for name, value in vars(protocol).items() if name.startswith("ENV_")}
PREFIXES = (protocol.API_PREFIX, *protocol.PUB_PREFIXES)


def literals(path: Path) -> Iterator[tuple[int, object]]:
    """The constants of a module that are not docstrings: (line, value)."""
    tree = ast.parse(path.read_text(), str(path))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and ast.get_docstring(node, clean=False) is not None
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and id(node) not in docstrings:
            yield node.lineno, node.value


def contract_literal(value: object) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return value == protocol.JOB_PORT
    if not isinstance(value, str):
        return False
    return (
        value in VARIABLES
        or value.lower() in {header.lower() for header in HEADERS}
        or any(value == prefix or value.startswith(prefix + "/") for prefix in PREFIXES)
        or value == f"{protocol.JOB_PORT}/tcp"
    )


def test_modules_that_talk_to_jobs_use_the_protocol_names() -> None:
    files = [
        p for part in SCANNED for p in ((SRC / part).rglob("*.py") if (SRC / part).is_dir() else [SRC / part])
    ]
    assert len(files) > 50
    found = [
        f"{path.relative_to(SRC)}:{line}: {value!r}"
        for path in files
        for line, value in literals(path)
        if contract_literal(value)
    ]
    assert found == [], "use the names in racetrack/protocol.py instead:\n" + "\n".join(found)


def test_the_check_sees_a_literal() -> None:
    assert contract_literal("/api/v1/perform") and contract_literal("x-racetrack-auth")
    assert contract_literal(7000) and contract_literal("PUB_URL") and contract_literal("/pub/job/")
    assert not contract_literal("/api/v2") and not contract_literal("job_name") and not contract_literal(True)
