"""The server's Prometheus metrics: API requests, deployments by outcome, phase durations, builds now."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "racetrack_server_requests",
            "API requests by route and status",
            ["route", "status"],
            registry=self.registry,
        )
        self.deployments = Counter(
            "racetrack_server_deployments",
            "Finished deployments by outcome",
            ["outcome"],
            registry=self.registry,
        )
        self.phases = Histogram(
            "racetrack_server_phase_seconds",
            "Time spent in each deployment phase",
            ["phase"],
            buckets=(0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600),
            registry=self.registry,
        )
        self.in_progress = Gauge(
            "racetrack_server_deployments_in_progress",
            "Deployments being built or started now",
            registry=self.registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
