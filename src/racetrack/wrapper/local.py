"""`racetrack run-local`: the job's runtime environment and URLs when serving it without Docker."""

from __future__ import annotations

from racetrack.manifest import Manifest, secret_runtime_env
from racetrack.protocol import API_PREFIX, ENV_FATMAN_NAME, ENV_FATMAN_VERSION


def local_env(manifest: Manifest) -> dict[str, str]:
    """runtime_env, then the secret runtime env file (secrets win), then the job's identity."""
    return {
        **manifest.runtime_env,
        **secret_runtime_env(manifest),
        ENV_FATMAN_NAME: manifest.name,
        ENV_FATMAN_VERSION: manifest.version,
    }


def job_urls(host: str, port: int) -> dict[str, str]:
    """Where to reach the served job from this machine."""
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    base = f"http://{shown}:{port}"
    return {
        "perform": f"{base}{API_PREFIX}/perform",
        "Swagger UI": f"{base}/docs",
        "metrics": f"{base}/metrics",
    }
