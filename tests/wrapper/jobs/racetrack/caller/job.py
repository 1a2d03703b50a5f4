"""Calls another job through the gateway with racetrack_job_wrapper.call_job; `seen` reports what a call
brought (its auth, tracing and caller headers)."""

from racetrack_job_wrapper import call_job


class Job:
    def perform(self, job: str, x: float, y: float) -> float:
        return call_job(self, job, "/api/v1/perform", {"x": x, "y": y}, version="1.2.3")

    def auxiliary_endpoints(self):
        return {"/relay": self.relay, "/seen": self.seen}

    def relay(self, job: str) -> dict:
        return call_job(self, job, "/api/v1/seen", {"job": job})

    def seen(self, job: str = "") -> dict:
        headers = self.request_context.get().headers
        names = ("x-racetrack-auth", "x-request-tracing-id", "x-caller-name")
        return {name: headers.get(name) for name in names}
