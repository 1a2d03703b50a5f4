"""A short-lived HTTP server on 127.0.0.1 for the duration of a build (builds use host networking).

It hands the secret build env to the one RUN step that holds the token, once, so the values live only
in that step's process environment; and it serves the host's local pip directories read-only.
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

SECRETS_PREFIX = "/secrets/"
FILES_PREFIX = "/files"


class BuildServer:
    """Serves `/secrets/<token>` (JSON, one time) and `/files/<absolute path>` under `allowed_dirs`."""

    def __init__(self, secret_env: dict[str, str], token: str, allowed_dirs: tuple[Path, ...], port: int = 0):
        self.secret_env = dict(secret_env)
        self.token = token
        self.allowed_dirs = tuple(path.resolve() for path in allowed_dirs)
        self.secret_requests = 0
        self._lock = threading.Lock()
        handler = partial(_Handler, self, directory="/")
        try:
            self._httpd = ThreadingHTTPServer(("127.0.0.1", port), handler)
            self.got_preferred_port = True
        except OSError:
            # Taken, e.g. by a concurrent build: any port works, but cache keys naming the URL change.
            self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
            self.got_preferred_port = False
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

    @property
    def secrets_url(self) -> str:
        """Where the pip step fetches the secret env; empty when there are no secrets."""
        return f"{self.url}{SECRETS_PREFIX}{self.token}" if self.secret_env else ""

    def take_secrets(self, token: str) -> dict[str, str] | None:
        """The secret env for the right token, the first time only."""
        with self._lock:
            if not self.secret_env or not hmac.compare_digest(token, self.token) or self.secret_requests:
                return None
            self.secret_requests += 1
            return self.secret_env

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


def stable_token(job_name: str, secret_env: dict[str, str]) -> str:
    """A token that is the same for the same job and secrets (so the pip step's build cache holds) and that
    reveals nothing about them: an HMAC with a per-user random key kept in ~/.cache/racetrack."""
    payload = json.dumps([job_name, sorted(secret_env.items())]).encode()
    return hmac.new(_user_key(), payload, hashlib.sha256).hexdigest()


def preferred_port(job_name: str) -> int:
    """A port per user and job, the same on every build of the job so the pip.conf and step cache keys stay
    stable, and rarely the one of another job being built at the same time."""
    seed = hashlib.sha256(f"racetrack-build-{os.getuid()}-{job_name}".encode()).digest()
    return 20000 + int.from_bytes(seed[:2], "big") % 20000


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
        if path.startswith(SECRETS_PREFIX):
            self._send_secrets(path.removeprefix(SECRETS_PREFIX))
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

    def _send_secrets(self, token: str) -> None:
        env = self.state.take_secrets(token)
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
