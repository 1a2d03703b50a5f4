"""The deploy request body (Racetrack's client payload), checked field by field."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from racetrack.server.errors import BadRequest

_FIELDS = {"manifest", "git_credentials", "secret_vars", "build_context", "force", "build_flags"}


@dataclass(frozen=True)
class DeployRequest:
    manifest: dict[str, Any]
    build_env: dict[str, str] = field(default_factory=dict)
    runtime_env: dict[str, str] = field(default_factory=dict)
    git_username: str | None = None
    git_password: str | None = None
    build_context: str | None = None
    force: bool = False
    build_flags: tuple[str, ...] = ()


def parse_deploy(body: Any) -> DeployRequest:
    """A DeployRequest from the JSON body; BadRequest naming the field and what it must be."""
    if not isinstance(body, dict):
        raise BadRequest("the deploy request must be a JSON object with a `manifest` field")
    unknown = sorted(set(body) - _FIELDS)
    if unknown:
        raise BadRequest(
            f"unknown field(s) in the deploy request: {', '.join(unknown)}; "
            f"known: {', '.join(sorted(_FIELDS))}"
        )
    manifest = body.get("manifest")
    if not isinstance(manifest, dict):
        raise BadRequest("`manifest` must be a JSON object: the job's manifest")
    secret_vars = body.get("secret_vars") or {}
    if not isinstance(secret_vars, dict) or set(secret_vars) - {"build_env", "runtime_env"}:
        raise BadRequest("`secret_vars` must be an object with `build_env` and `runtime_env` mappings")
    build_env = _string_map(secret_vars.get("build_env"), "secret_vars.build_env")
    runtime_env = _string_map(secret_vars.get("runtime_env"), "secret_vars.runtime_env")
    credentials = body.get("git_credentials")
    username = password = None
    if credentials is not None:
        if not isinstance(credentials, dict) or not all(
            isinstance(credentials.get(key), str) for key in ("username", "password")
        ):
            raise BadRequest(
                "`git_credentials` must be null or an object with text `username` and `password`"
            )
        username, password = credentials["username"], credentials["password"]
    context = body.get("build_context")
    if context is not None and not isinstance(context, str):
        raise BadRequest("`build_context` must be null or a base64 string of a tar.gz archive")
    force = body.get("force", False)
    if not isinstance(force, bool):
        raise BadRequest("`force` must be true or false")
    flags = body.get("build_flags") or []
    if not isinstance(flags, list) or not all(isinstance(flag, str) for flag in flags):
        raise BadRequest('`build_flags` must be a list of strings such as ["--no-cache"]')
    unsupported = sorted(set(flags) - {"--no-cache"})
    if unsupported:
        raise BadRequest(f"unsupported build flag(s): {', '.join(unsupported)}; only --no-cache is known")
    return DeployRequest(
        manifest, build_env, runtime_env, username, password, context or None, force, tuple(flags)
    )


def _string_map(value: Any, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(
        isinstance(key, str) and isinstance(item, str) for key, item in value.items()
    ):
        raise BadRequest(f"`{where}` must map variable names to text values")
    return dict(value)
