"""Prometheus metrics of calls, plus the gauges returned by the entrypoint's `metrics()`."""

from __future__ import annotations

import logging
import numbers
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

logger = logging.getLogger(__name__)

_METRIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
DURATION_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
CONTENT_TYPE = b"text/plain; version=0.0.4; charset=utf-8"


@dataclass(frozen=True)
class EndpointMetrics:
    """Metric children of one endpoint, resolved once so a call does no label lookups."""

    calls: Counter
    client_errors: Counter
    server_errors: Counter
    duration: Histogram


class CallMetrics:
    """Counters, histogram and gauges about calls to perform and auxiliary endpoints."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.started = Counter(
            "fatman_calls_started", "Calls started (may not be finished yet)", registry=registry
        )
        self.finished = Counter(
            "fatman_calls_finished", "Calls finished, successfully or not", registry=registry
        )
        self._calls = Counter(
            "fatman_endpoint_calls", "Calls started per endpoint", ["endpoint"], registry=registry
        )
        self._errors = Counter(
            "fatman_endpoint_errors",
            "Failed calls per endpoint: client (4xx) or server (5xx)",
            ["endpoint", "kind"],
            registry=registry,
        )
        self._duration = Histogram(
            "fatman_call_duration_seconds",
            "Duration of calls in seconds",
            ["endpoint"],
            buckets=DURATION_BUCKETS,
            registry=registry,
        )
        self.in_progress = Gauge("fatman_calls_in_progress", "Calls being served now", registry=registry)
        self.last_call = Gauge(
            "fatman_last_call_timestamp_seconds", "Unix time of the last finished call", registry=registry
        )

    def for_endpoint(self, endpoint: str) -> EndpointMetrics:
        return EndpointMetrics(
            calls=self._calls.labels(endpoint),
            client_errors=self._errors.labels(endpoint, "client"),
            server_errors=self._errors.labels(endpoint, "server"),
            duration=self._duration.labels(endpoint),
        )

    def call_started(self, endpoint: EndpointMetrics) -> float:
        self.started.inc()
        endpoint.calls.inc()
        self.in_progress.inc()
        return time.perf_counter()

    def call_finished(self, endpoint: EndpointMetrics, started_at: float, status: int) -> None:
        endpoint.duration.observe(time.perf_counter() - started_at)
        if status >= 500:
            endpoint.server_errors.inc()
        elif status >= 400:
            endpoint.client_errors.inc()
        self.in_progress.dec()
        self.finished.inc()
        self.last_call.set(time.time())


class RacetrackNames(Collector):
    """Racetrack's job metric names and labels (requests_started_total, request_duration, ...), read from
    ours at scrape time so that dashboards built on Racetrack keep working at no cost per call.

    `request_internal_errors_total` counts calls answered 4xx or 5xx (Racetrack: any exception, 400s
    included); `request_duration` has our buckets.
    """

    def __init__(self, calls: CallMetrics) -> None:
        self.calls = calls

    def collect(self) -> Iterator[Metric]:
        calls = self.calls
        started = CounterMetricFamily("requests_started", "Total number of started requests calling the job")
        started.add_metric([], _value(calls.started))
        done = CounterMetricFamily("requests_done", "Total number of finished requests calling the job")
        done.add_metric([], _value(calls.finished))
        endpoint_started = CounterMetricFamily(
            "endpoint_requests_started", "Total number of started requests per endpoint", labels=["endpoint"]
        )
        errors = CounterMetricFamily(
            "request_internal_errors", "Failed calls per endpoint (answered 4xx or 5xx)", labels=["endpoint"]
        )
        failed: dict[str, float] = {}
        for sample in _samples(calls._errors, "_total"):
            endpoint = sample.labels["endpoint"]
            failed[endpoint] = failed.get(endpoint, 0.0) + sample.value
        for sample in _samples(calls._calls, "_total"):
            endpoint = sample.labels["endpoint"]
            endpoint_started.add_metric([endpoint], sample.value)
            errors.add_metric([endpoint], failed.get(endpoint, 0.0))
        duration = HistogramMetricFamily(
            "request_duration", "Duration of calls in seconds", labels=["endpoint"]
        )
        buckets: dict[str, list[tuple[str, float]]] = {}
        sums: dict[str, float] = {}
        for sample in _samples(calls._duration):
            endpoint = sample.labels["endpoint"]
            if sample.name.endswith("_bucket"):
                buckets.setdefault(endpoint, []).append((sample.labels["le"], sample.value))
            elif sample.name.endswith("_sum"):
                sums[endpoint] = sample.value
        for endpoint, endpoint_buckets in buckets.items():
            duration.add_metric([endpoint], endpoint_buckets, sums.get(endpoint, 0.0))
        last = GaugeMetricFamily(
            "last_call_timestamp", "Timestamp (in seconds) of the last request calling the job"
        )
        last.add_metric([], _value(calls.last_call))
        yield from (started, done, endpoint_started, errors, duration, last)


def _samples(metric: Any, suffix: str = "") -> Iterator[Any]:
    for family in metric.collect():
        for sample in family.samples:
            if sample.name.endswith(suffix):
                yield sample


def _value(metric: Any) -> float:
    return next((sample.value for sample in _samples(metric) if not sample.name.endswith("_created")), 0.0)


WAIT_BUCKETS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)


@dataclass(frozen=True)
class DispatchMetrics:
    """The call runtime's admission metrics (dispatch.Dispatcher)."""

    wait_seconds: Histogram
    rejected: Counter
    timeouts: Counter
    abandoned: Counter


def dispatch_metrics(
    registry: CollectorRegistry | None,
    prefix: str,
    executing: Callable[[], float],
    waiting: Callable[[], float],
) -> DispatchMetrics:
    """Register the dispatcher's gauges (read from `executing` and `waiting` at scrape time) and counters."""
    kw: dict[str, Any] = {"registry": registry}
    Gauge(
        f"{prefix}_calls_executing", "Calls executing now (max: jobtype_extra.max_concurrency)", **kw
    ).set_function(executing)
    Gauge(
        f"{prefix}_calls_waiting", "Calls waiting for a free slot (max: jobtype_extra.max_queue)", **kw
    ).set_function(waiting)
    return DispatchMetrics(
        wait_seconds=Histogram(
            f"{prefix}_call_wait_seconds",
            "Time calls spent waiting for a free slot",
            buckets=WAIT_BUCKETS,
            **kw,
        ),
        rejected=Counter(f"{prefix}_calls_rejected", "Calls refused with 429 (queue full)", **kw),
        timeouts=Counter(f"{prefix}_call_timeouts", "Calls answered 504 at their deadline", **kw),
        abandoned=Counter(
            f"{prefix}_abandoned_calls",
            "In-process sync calls whose caller timed out or left while their thread kept running",
            **kw,
        ),
    )


def worker_metrics(
    registry: CollectorRegistry | None, prefix: str, ready: Callable[[], float]
) -> dict[str, Counter]:
    """Register the worker pool's gauge (read from `ready`) and its restart counters, by reason."""
    restarts = Counter(
        f"{prefix}_worker_restarts",
        "Worker processes replaced, by reason: crash (died on its own) or timeout (killed at a deadline)",
        ["reason"],
        registry=registry,
    )
    Gauge(f"{prefix}_workers_ready", "Worker processes loaded and serving", registry=registry).set_function(
        ready
    )
    return {reason: restarts.labels(reason) for reason in ("crash", "timeout")}


def new_registry() -> CollectorRegistry:
    """A registry with the process, platform and GC collectors (one per app, so tests can run many)."""
    disable_created_metrics()  # `_created` series only add noise to every scrape
    registry = CollectorRegistry()
    for collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
        registry.register(collector)
    return registry


def render(registry: CollectorRegistry) -> bytes:
    return generate_latest(registry)


class EntrypointMetricsCollector(Collector):
    """Gauges from the entrypoint's `metrics()`; junk entries are logged and skipped, never fatal."""

    def __init__(self, metrics_function: Callable[[], Any], reserved_names: set[str]) -> None:
        self._metrics_function = metrics_function
        self._reserved = reserved_names

    def collect(self) -> Iterator[Metric]:
        try:
            returned = self._metrics_function()
            if isinstance(returned, dict | str | bytes):
                logger.warning(
                    "metrics() returned a %s; return a list of dicts such as "
                    "[{'name': 'job_positives', 'value': 5}]: its metrics are skipped",
                    type(returned).__name__,
                )
                return
            entries = list(returned)
        except Exception:
            logger.exception("metrics() of the entrypoint failed; its metrics are skipped in this scrape")
            return
        families: dict[str, GaugeMetricFamily] = {}
        for entry in entries:
            if isinstance(entry, dict) and "value" in entry and entry["value"] is None:
                continue  # no value yet: not exported, as in Racetrack
            problem = self._problem(entry)
            if problem:
                logger.warning("skipping metric %r returned by metrics(): %s", entry, problem)
                continue
            name = entry["name"]
            family = families.get(name)
            if family is None:
                description = str(entry.get("description") or f"{name} (from the job's metrics())")
                family = families[name] = GaugeMetricFamily(name, description)
            labels = {str(key): str(value) for key, value in (entry.get("labels") or {}).items()}
            family.add_sample(name, labels, float(entry["value"]))
        yield from families.values()

    def _problem(self, entry: object) -> str | None:
        if not isinstance(entry, dict):
            return "expected a dict with 'name' and 'value'"
        name = entry.get("name")
        if name is None:
            return "'name' is missing; give each metric a name such as 'job_positives'"
        if not isinstance(name, str) or not _METRIC_NAME.match(name):
            return "'name' must match [a-zA-Z_:][a-zA-Z0-9_:]*"
        if name in self._reserved:
            return f"{name!r} clashes with a built-in metric"
        if "value" not in entry:
            return "'value' is missing"
        value = entry["value"]
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            return "'value' must be a number"
        labels = entry.get("labels") or {}
        if not isinstance(labels, dict) or not all(
            isinstance(k, str) and _LABEL_NAME.match(k) for k in labels
        ):
            return "'labels' must be a dict with label names matching [a-zA-Z_][a-zA-Z0-9_]*"
        return None


def metric_names(registry: CollectorRegistry) -> set[str]:
    """Sample names already in the registry, which custom metrics must not reuse."""
    return {sample.name for family in registry.collect() for sample in family.samples} | {
        family.name for family in registry.collect()
    }
