"""The gateway's Prometheus metrics, in a registry of its own (the control plane may host it in-process)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric

BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


class TaskStates:
    """A collector reading async task counts by state at scrape time."""

    def __init__(self, count_by_state: Callable[[], dict[str, int]]) -> None:
        self.count_by_state = count_by_state

    def collect(self) -> Iterable[Metric]:
        family = GaugeMetricFamily(
            "racetrack_gateway_async_tasks", "Async tasks kept by the gateway, by state", labels=["state"]
        )
        try:
            counts = self.count_by_state()
        except Exception:  # a database hiccup must not break the scrape
            counts = {}
        for state in ("ongoing", "completed", "failed", "cancelled"):
            family.add_metric([state], counts.get(state, 0))
        yield family


class GatewayMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.calls = Counter(
            "racetrack_gateway_calls",
            "Calls forwarded (or refused) by the gateway",
            ["job", "version", "endpoint", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "racetrack_gateway_call_duration_seconds",
            "Time from the call's arrival to the job's response head",
            ["job"],
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.denials = Counter(
            "racetrack_gateway_auth_denials",
            "Calls refused by the control plane's authorization",
            ["job", "reason"],
            registry=self.registry,
        )
        self.replicas = Gauge(
            "racetrack_gateway_job_replicas",
            "Replicas the gateway knows per job version",
            ["job", "version"],
            registry=self.registry,
        )
        self._calls: dict[tuple[str, str, str, int], Counter] = {}
        self._latency: dict[str, Histogram] = {}
        self._replicas: dict[tuple[str, str], int] = {}

    def call(self, job: str, version: str, endpoint: str, status: int, seconds: float | None) -> None:
        key = (job, version, endpoint, status)
        child = self._calls.get(key)
        if child is None:
            if len(self._calls) > 20_000:
                self._calls.clear()
            child = self._calls[key] = self.calls.labels(job, version, endpoint, str(status))
        child.inc()
        if seconds is not None:
            histogram = self._latency.get(job)
            if histogram is None:
                histogram = self._latency[job] = self.latency.labels(job)
            histogram.observe(seconds)

    def known_replicas(self, job: str, version: str, count: int) -> None:
        if self._replicas.get((job, version)) != count:
            self._replicas[(job, version)] = count
            self.replicas.labels(job, version).set(count)

    def watch_tasks(self, count_by_state: Callable[[], dict[str, int]]) -> None:
        self.registry.register(TaskStates(count_by_state))  # type: ignore[arg-type]


def endpoint_label(path: str) -> str:
    """A bounded label for a job path: its first three segments (`/api/v1/perform`, `/api/v1/webview`)."""
    parts = path.split("/", 4)
    return "/".join(parts[:4]) or "/"
