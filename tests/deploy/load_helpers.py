"""A steady, bounded load over a job's replicas, calling as the gateway does: spread over the replicas the
target lists now, and a call that got no answer (connect error, connection dropped before any response, or
503 from a replica that is shutting down) retried once on another replica."""

from __future__ import annotations

import itertools
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

RETRYABLE_TYPES = ("shutting_down", "not_ready")
MAX_SECONDS = 240  # a load never outlives this, whatever the test does


@dataclass
class Load:
    """Call `path` with `payload` from `threads` threads, pausing `pause` s between calls, until stop()."""

    replicas: Callable[[], tuple[str, ...]]
    path: str = "/api/v1/perform"
    payload: dict = field(default_factory=lambda: {"x": 6, "y": 7})
    expected: object = 42.0
    threads: int = 2
    pause: float = 0.01
    served: Counter = field(default_factory=Counter)  # successful calls by replica URL
    failures: list[str] = field(default_factory=list)
    retried: Counter = field(default_factory=Counter)  # first attempts retried, by what went wrong

    def __post_init__(self) -> None:
        self._urls: tuple[str, ...] = self.replicas()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._counter = itertools.count()
        self._workers = [threading.Thread(target=self._run, daemon=True) for _ in range(self.threads)]
        self._refresher = threading.Thread(target=self._refresh, daemon=True)

    def __enter__(self) -> Load:
        self._refresher.start()
        for worker in self._workers:
            worker.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        for thread in (*self._workers, self._refresher):
            thread.join(30)

    @property
    def calls(self) -> int:
        return sum(self.served.values()) + len(self.failures)

    def wait_for_calls(self, count: int, timeout: float = 60) -> None:
        """Block until `count` more calls were made (so a test knows load was on while it acted)."""
        target = self.calls + count
        deadline = time.monotonic() + timeout
        while self.calls < target:
            assert time.monotonic() < deadline, f"the load made no progress: {self.failures[-3:]}"
            time.sleep(0.05)

    def _refresh(self) -> None:
        while not self._stop.wait(0.2):
            try:
                urls = self.replicas()
            except Exception as error:  # noqa: BLE001 - an engine hiccup must not end the load
                urls = ()
                self.failures.append(f"listing replicas failed: {error!r}")
            if urls:
                self._urls = urls

    def _run(self) -> None:
        started = time.monotonic()
        with httpx.Client(timeout=10, limits=httpx.Limits(max_keepalive_connections=0)) as http:
            while not self._stop.is_set() and time.monotonic() - started < MAX_SECONDS:
                self._call(http)
                time.sleep(self.pause)

    def _note_retry(self, attempt: int, why: str) -> None:
        if attempt == 0:
            with self._lock:
                self.retried[why] += 1

    def _call(self, http: httpx.Client) -> None:
        urls = self._urls
        first = next(self._counter) % len(urls)
        problem = ""
        for attempt in range(2):
            url = urls[(first + attempt) % len(urls)]
            try:
                response = http.post(url + self.path, json=self.payload)
            except (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError) as error:
                problem = f"{url}: {error!r}"
                self._note_retry(attempt, type(error).__name__)
                continue
            if response.status_code == 503 and _error_type(response) in RETRYABLE_TYPES:
                problem = f"{url}: 503 {response.text[:200]}"
                self._note_retry(attempt, f"503 {_error_type(response)}")
                continue
            if response.status_code == 200 and response.json() == self.expected:
                with self._lock:
                    self.served[url] += 1
                return
            problem = f"{url}: {response.status_code} {response.text[:200]}"
            break
        with self._lock:
            self.failures.append(problem)


def _error_type(response: httpx.Response) -> str:
    try:
        return str(response.json().get("type"))
    except (ValueError, AttributeError):
        return ""
