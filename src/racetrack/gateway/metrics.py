"""The gateway's Prometheus metrics, in a registry of its own (the control plane may host it in-process).

Calls are counted in plain dictionaries, turned into metric families only when scraped: a call costs a few
dictionary updates, not prometheus_client's locked children."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterable

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric

BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
MAX_SERIES = 20_000  # label sets kept per metric; calls beyond it are counted under job="(other)"
OTHER = "(other)"
TASK_STATES = ("ongoing", "completed", "failed", "cancelled")


class GatewayMetrics:
    """Calls by job, version, endpoint and status; latency by job; auth denials; replicas; async tasks."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.calls: dict[tuple[str, str, str, int], int] = {}
        self.latency: dict[str, list[float]] = {}  # job -> per-bucket counts (+Inf last), then the sum
        self.denials: dict[tuple[str, str], int] = {}
        self.replicas: dict[tuple[str, str], int] = {}
        self.endpoints: dict[str, str] = {}  # job path -> its endpoint label
        self.count_by_state: Callable[[], dict[str, int]] | None = None
        self.registry.register(self)  # type: ignore[arg-type]

    def call(self, job: str, version: str, path: str, status: int, seconds: float) -> None:
        """Count a call to `path` of the job (labelled by `endpoint_label`)."""
        endpoint = self.endpoints.get(path)
        if endpoint is None:
            if len(self.endpoints) >= MAX_SERIES:
                self.endpoints.clear()
            endpoint = self.endpoints[path] = endpoint_label(path)
        calls = self.calls
        key = (job, version, endpoint, status)
        count = calls.get(key)
        if count is None and len(calls) >= MAX_SERIES:
            job, key = OTHER, (OTHER, "", "", status)
            count = calls.get(key)
        calls[key] = (count or 0) + 1
        row = self.latency.get(job)
        if row is None:
            if len(self.latency) >= MAX_SERIES:
                job = OTHER
            row = self.latency.setdefault(job, [0.0] * (len(BUCKETS) + 2))
        row[bisect_left(BUCKETS, seconds)] += 1
        row[-1] += seconds

    def denied(self, job: str, reason: str) -> None:
        key = (job, reason) if len(self.denials) < MAX_SERIES else (OTHER, reason)
        self.denials[key] = self.denials.get(key, 0) + 1

    def known_replicas(self, job: str, version: str, count: int) -> None:
        key = (job, version)
        known = self.replicas.get(key)
        if known != count and (known is not None or len(self.replicas) < MAX_SERIES):
            self.replicas[key] = count

    def watch_tasks(self, count_by_state: Callable[[], dict[str, int]]) -> None:
        self.count_by_state = count_by_state

    def collect(self) -> Iterable[Metric]:
        """The metric families at scrape time (prometheus_client's collector interface)."""
        calls = CounterMetricFamily(
            "racetrack_gateway_calls",
            "Calls forwarded (or refused) by the gateway",
            labels=["job", "version", "endpoint", "status"],
        )
        for (job, version, endpoint, status), count in list(self.calls.items()):
            calls.add_metric([job, version, endpoint, str(status)], count)
        yield calls
        latency = HistogramMetricFamily(
            "racetrack_gateway_call_duration_seconds",
            "Time from the call's arrival to the job's response head",
            labels=["job"],
        )
        for job, row in list(self.latency.items()):
            row = list(row)
            cumulative, buckets = 0.0, []
            for bound, count in zip((*BUCKETS, float("inf")), row[:-1], strict=True):
                cumulative += count
                buckets.append((_bound(bound), cumulative))
            latency.add_metric([job], buckets, row[-1])
        yield latency
        denials = CounterMetricFamily(
            "racetrack_gateway_auth_denials",
            "Calls refused by the control plane's authorization",
            labels=["job", "reason"],
        )
        for (job, reason), count in list(self.denials.items()):
            denials.add_metric([job, reason], count)
        yield denials
        replicas = GaugeMetricFamily(
            "racetrack_gateway_job_replicas",
            "Replicas the gateway knows per job version",
            labels=["job", "version"],
        )
        for (job, version), count in list(self.replicas.items()):
            replicas.add_metric([job, version], count)
        yield replicas
        if self.count_by_state is not None:
            yield self._task_states(self.count_by_state)

    @staticmethod
    def _task_states(count_by_state: Callable[[], dict[str, int]]) -> Metric:
        family = GaugeMetricFamily(
            "racetrack_gateway_async_tasks", "Async tasks kept by the gateway, by state", labels=["state"]
        )
        try:
            counts = count_by_state()
        except Exception:  # a database hiccup must not break the scrape
            counts = {}
        for state in TASK_STATES:
            family.add_metric([state], counts.get(state, 0))
        return family


def _bound(bound: float) -> str:
    """A bucket's `le` label as prometheus_client writes it ("0.5", "1.0", "+Inf")."""
    return "+Inf" if bound == float("inf") else repr(float(bound))


def endpoint_label(path: str) -> str:
    """A bounded label for a job path: its first three segments (`/api/v1/perform`, `/api/v1/webview`)."""
    parts = path.split("/", 4)
    return "/".join(parts[:4]) or "/"
