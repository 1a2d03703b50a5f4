"""A small real control plane for gateway tests: can-call-job and validate_user_auth over HTTP, in a thread,
with jobs, tokens and grants the test changes while it runs."""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote

CAN_CALL = re.compile(r"^/lifecycle/api/v1/auth/can-call-job/([^/]+)/([^/]+)/?(.*)$")
OPEN_PATHS = ("/health", "/live", "/ready")


@dataclass
class Subject:
    caller: str  # "User alice"
    jobs: set[str]  # job names it may call ("*": all)
    admin: bool = False


@dataclass
class State:
    jobs: dict[str, dict[str, list[str]]] = field(default_factory=dict)  # name -> version -> replicas
    tokens: dict[str, Subject] = field(default_factory=dict)
    public: dict[tuple[str, str], list[str]] = field(default_factory=dict)  # (name, version) -> prefixes
    asked: int = 0  # can-call-job requests answered


def resolve(versions: list[str], wanted: str) -> str | None:
    def key(version: str) -> tuple[int, ...]:
        return tuple(int(p) for p in version.split("."))

    if wanted in versions:
        return wanted
    if wanted == "latest":
        return max(versions, key=key, default=None)
    if wanted.endswith(".x"):
        prefix = wanted[:-1]
        matching = [v for v in versions if v.startswith(prefix)]
        return max(matching, key=key, default=None)
    return None


class FakeControlPlane:
    def __init__(self) -> None:
        self.state = State()
        state = self.state

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def answer(self, status: int, payload: object) -> None:
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                token = self.headers.get("X-Racetrack-Auth", "")
                if self.path == "/lifecycle/api/v1/users/validate_user_auth":
                    subject = state.tokens.get(token)
                    if subject is None:
                        self.answer(401, {"error": "invalid token"})
                    else:
                        self.answer(
                            200, {"username": subject.caller, "token": token, "is_staff": subject.admin}
                        )
                    return
                match = CAN_CALL.match(self.path)
                if match is None:
                    self.answer(404, {"error": f"no route {self.path}"})
                    return
                state.asked += 1
                name, wanted, endpoint = (unquote(g) for g in match.groups())
                endpoint = "/" + endpoint
                version = resolve(list(state.jobs.get(name, {})), wanted)
                if version is None:
                    self.answer(404, {"error": f"job {name} {wanted} does not exist"})
                    return
                replicas = state.jobs[name][version]
                job = {
                    "name": name,
                    "version": version,
                    "status": "running",
                    "internal_name": None,
                    "replica_internal_names": replicas,
                    "infrastructure_target": "docker",
                }
                public = any(endpoint.startswith(p) for p in state.public.get((name, version), []))
                if endpoint in OPEN_PATHS or public:
                    self.answer(200, {"job": job, "caller": None})
                    return
                if not token:
                    self.answer(401, {"error": "missing auth token: send X-Racetrack-Auth"})
                    return
                subject = state.tokens.get(token)
                if subject is None:
                    self.answer(401, {"error": "wrong credentials: token is unknown"})
                elif "*" in subject.jobs or name in subject.jobs:
                    self.answer(200, {"job": job, "caller": subject.caller})
                else:
                    self.answer(
                        401,
                        {
                            "error": (
                                f'no permission to do this operation: auth subject "{subject.caller}" '
                                f"does not have "
                                f"permission to access endpoint {endpoint} "
                                f'at resource "{name} v{version}" with scope '
                                '"call_job"'
                            )
                        },
                    )

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeControlPlane:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
