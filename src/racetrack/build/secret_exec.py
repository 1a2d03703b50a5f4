"""Run a command with the job's secret build env added (inside the build container; stdlib only).

Usage: python secret_exec.py COMMAND [ARGS...]. With RACETRACK_SECRETS_URL set, the variables are fetched
from racetrack's build server and exist only in COMMAND's process environment.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.request


def secret_env(url: str) -> dict[str, str]:
    """The secret variables served at `url`."""
    with urllib.request.urlopen(url, timeout=30) as response:
        env = json.load(response)
    if not isinstance(env, dict) or not all(isinstance(v, str) for v in env.values()):
        raise ValueError("the build server answered something other than a mapping of variables")
    return env


def command_env(environ: dict[str, str]) -> dict[str, str]:
    """`environ` without the server URL, plus the secret variables when a URL is given."""
    env = dict(environ)
    url = env.pop("RACETRACK_SECRETS_URL", "")
    if url:
        env.update(secret_env(url))
    return env


def main(argv: list[str]) -> None:
    if not argv:
        sys.exit("usage: secret_exec.py COMMAND [ARGS...]")
    try:
        env = command_env(dict(os.environ))
    except (OSError, ValueError) as error:
        sys.exit(f"racetrack: cannot fetch the secret build env from the build server: {error}")
    os.execvpe(argv[0], argv, env)


if __name__ == "__main__":
    main(sys.argv[1:])
