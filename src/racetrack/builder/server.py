"""A short-lived HTTP server on 127.0.0.1 for the duration of a build (builds use host networking).

It hands a build env (the host's pip settings, plus the secret build env for the job's pip step) to the
one RUN step that holds its random token, once, so the values live only in that step's process environment;
and it serves the host's local pip directories read-only.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import threading
from functools import partial
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from urllib.parse import unquote, urlsplit

ENV_PREFIX = "/env/"
FILES_PREFIX = "/files"


class BuildServer:
    """Serves `/env/<token>` (JSON, once per token) and `/files/<absolute path>` under `allowed_dirs`."""

    def __init__(self, allowed_dirs: tuple[Path, ...], port: int = 0):
        self.allowed_dirs = tuple(path.resolve() for path in allowed_dirs)
        self._offers: dict[str, dict[str, str]] = {}
        self._lock = threading.Lock()
        handler = partial(_Handler, self, directory="/")
        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name="racetrack-build-server", daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    @property
    def files_url(self) -> str:
        return self.url + FILES_PREFIX

    def offer(self, env: dict[str, str]) -> str:
        """A URL with a new random token that hands `env` to its first request only."""
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._offers[token] = dict(env)
        return f"{self.url}{ENV_PREFIX}{token}"

    def take(self, token: str) -> dict[str, str] | None:
        """The env offered under `token`, the first time only."""
        with self._lock:
            return self._offers.pop(token, None)

    def allows(self, path: Path) -> bool:
        return any(path == root or path.is_relative_to(root) for root in self.allowed_dirs)

    def __enter__(self) -> BuildServer:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()


def inputs_digest(*parts: object) -> str:
    """A digest that is the same for the same inputs (e.g. the pip settings and secret values, so the pip
    step's cache key follows them) and reveals nothing about them: an HMAC with a per-user random key kept
    in ~/.cache/racetrack."""
    payload = json.dumps(parts, default=repr, sort_keys=True).encode()
    return hmac.new(_user_key(), payload, hashlib.sha256).hexdigest()


def _user_key() -> bytes:
    path = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "racetrack" / "build-key"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as file:
            file.write(secrets.token_bytes(32))
    return path.read_bytes()


class _Handler(SimpleHTTPRequestHandler):
    def __init__(self, server_state: BuildServer, *args, **kwargs) -> None:
        self.state = server_state
        super().__init__(*args, **kwargs)

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        if path.startswith(ENV_PREFIX):
            self._send_env(path.removeprefix(ENV_PREFIX))
        elif self._allowed(path):
            super().do_GET()
        else:
            self.send_error(HTTPStatus.NOT_FOUND)

    def do_HEAD(self) -> None:
        if self._allowed(urlsplit(self.path).path):
            super().do_HEAD()
        else:
            self.send_error(HTTPStatus.NOT_FOUND)

    def translate_path(self, path: str) -> str:
        return super().translate_path(path.removeprefix(FILES_PREFIX))

    def _allowed(self, path: str) -> bool:
        if not path.startswith(FILES_PREFIX + "/"):
            return False
        target = Path(os.path.normpath(unquote(path.removeprefix(FILES_PREFIX)))).resolve()
        return self.state.allows(target)

    def _send_env(self, token: str) -> None:
        env = self.state.take(token)
        if env is None:
            self.send_error(HTTPStatus.NOT_FOUND)
            return
        body = json.dumps(env).encode()
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Silent: request lines would name the token."""
