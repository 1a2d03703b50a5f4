"""The paths a job's contract reserves under the API prefix, and how declared paths are normalized."""

from __future__ import annotations

WEBVIEW_PATH = "/webview"
BUILTIN_API_PATHS = ("/perform", "/parameters", WEBVIEW_PATH)


def normalize_path(path: str) -> str:
    """'/xrai', 'xrai' and 'xrai/' all become '/xrai'."""
    return "/" + path.strip("/")
