"""The gateway's Prometheus metrics, in a registry of its own (the control plane may host it in-process).

Calls are counted in plain dictionaries, turned into metric families only when scraped: a call costs a few
dictionary updates, not prometheus_client's locked children. The same counts are also exported under the
names of Racetrack's Pub (`pub_*`), so dashboards built on Pub keep working."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterable

from prometheus_client import CollectorRegistry
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
    UnknownMetricFamily,
)

BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
PUB_BUCKETS = tuple(0.001 * 2**power for power in range(21))  # Pub's: 1 ms doubling up to about 17 min
ALL_BUCKETS = tuple(sorted(set(BUCKETS) | set(PUB_BUCKETS)))  # what a call is counted in; both derive
PUB_JOB = ("job_name", "job_version")
MAX_SERIES = 20_000  # label sets kept per metric; calls beyond it are counted under job="(other)"
OTHER = "(other)"
TASK_STATES = ("ongoing", "completed", "failed", "cancelled")


class GatewayMetrics:
    """Calls by job, version, endpoint and status; latency by job; auth denials; replicas; async tasks."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.calls: dict[tuple[str, str, str, int], int] = {}
        # (job, version) -> per-bucket counts of ALL_BUCKETS (+Inf last), then the sum of seconds
        self.latency: dict[tuple[str, str], list[float]] = {}
        self.denials: dict[tuple[str, str], int] = {}
        self.replicas: dict[tuple[str, str], int] = {}
        self.allowed = 0  # calls the control plane authorized (Pub's pub_auth_successful)
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
        where = (job, version)
        row = self.latency.get(where)
        if row is None:
            if len(self.latency) >= MAX_SERIES:
                where = (OTHER, "")
            row = self.latency.setdefault(where, [0.0] * (len(ALL_BUCKETS) + 2))
        row[bisect_left(ALL_BUCKETS, seconds)] += 1
        row[-1] += seconds

    def denied(self, job: str, reason: str) -> None:
        key = (job, reason) if len(self.denials) < MAX_SERIES else (OTHER, reason)
        self.denials[key] = self.denials.get(key, 0) + 1

    def authorized(self, job: str, version: str, replicas: int) -> None:
        """A call to the job version, which has `replicas` replicas, was authorized."""
        self.allowed += 1
        key = (job, version)
        count = replicas
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
        rows = list(self.latency.items())
        by_job: dict[str, list[float]] = {}
        for (job, _), row in rows:
            total = by_job.setdefault(job, [0.0] * len(row))
            for index, value in enumerate(row):
                total[index] += value
        latency = HistogramMetricFamily(
            "racetrack_gateway_call_duration_seconds",
            "Time from the call's arrival to the job's response head",
            labels=["job"],
        )
        for job, row in by_job.items():
            latency.add_metric([job], _cumulative(row, BUCKETS), row[-1])
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
        yield from self._pub_families(rows)

    def _pub_families(self, rows: list[tuple[tuple[str, str], list[float]]]) -> Iterable[Metric]:
        """The same counts under Pub's names and labels (untyped, as Pub's Go counters have no _total)."""
        requests: dict[tuple[str, ...], float] = {}
        codes: dict[tuple[str, ...], float] = {}
        for (job, version, _, status), count in list(self.calls.items()):
            requests[(job, version)] = requests.get((job, version), 0) + count
            codes[(job, version, str(status))] = codes.get((job, version, str(status)), 0) + count
        yield _untyped("pub_job_proxy_requests", "Calls to jobs through the gateway", PUB_JOB, requests)
        yield _untyped(
            "pub_job_proxy_response_codes",
            "Gateway answers to job calls by HTTP status code",
            (*PUB_JOB, "status_code"),
            codes,
        )
        seconds: dict[tuple[str, ...], float] = {}
        histogram = HistogramMetricFamily(
            "pub_job_call_response_time_histogram",
            "Time from a call's arrival to the job's response head",
            labels=list(PUB_JOB),
        )
        for (job, version), row in rows:
            seconds[(job, version)] = row[-1]
            histogram.add_metric([job, version], _cumulative(row, PUB_BUCKETS), row[-1])
        yield _untyped(
            "pub_job_call_response_time", "Seconds spent until jobs started answering calls", PUB_JOB, seconds
        )
        yield histogram
        yield _untyped("pub_auth_successful", "Calls the control plane authorized", (), {(): self.allowed})
        denied = sum(list(self.denials.values()))
        yield _untyped("pub_auth_failed", "Calls the control plane refused", (), {(): denied})

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


def _untyped(
    name: str, help_text: str, labels: tuple[str, ...], values: dict[tuple[str, ...], float]
) -> Metric:
    family = UnknownMetricFamily(name, help_text, labels=list(labels))
    for label_values, value in values.items():
        family.add_metric(list(label_values), value)
    return family


def _cumulative(row: list[float], bounds: tuple[float, ...]) -> list[tuple[str, float]]:
    """The (le, cumulative count) buckets at `bounds` (a subset of ALL_BUCKETS) of a latency row."""
    buckets: list[tuple[str, float]] = []
    cumulative, wanted = 0.0, set(bounds)
    for limit, count in zip((*ALL_BUCKETS, float("inf")), row[:-1], strict=True):
        cumulative += count
        if limit in wanted or limit == float("inf"):
            buckets.append((_bound(limit), cumulative))
    return buckets


def _bound(bound: float) -> str:
    """A bucket's `le` label as prometheus_client writes it ("0.5", "1.0", "+Inf")."""
    return "+Inf" if bound == float("inf") else repr(float(bound))


def endpoint_label(path: str) -> str:
    """A bounded label for a job path: its first three segments (`/api/v1/perform`, `/api/v1/webview`)."""
    parts = path.split("/", 4)
    return "/".join(parts[:4]) or "/"
