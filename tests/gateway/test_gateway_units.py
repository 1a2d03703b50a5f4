"""Unit tests of the gateway's pure parts: headers, Location rewriting, the authorization cache."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from racetrack.gateway import metrics as metrics_module
from racetrack.gateway.auth import Authorizer
from racetrack.gateway.config import GatewayConfig
from racetrack.gateway.errors import ControlPlaneUnavailable, JobNotFound, Unauthenticated
from racetrack.gateway.headers import caller_token, job_request_headers, rewrite_location, tracing_id
from racetrack.gateway.metrics import GatewayMetrics
from racetrack.gateway.upstream import HeadTimeout, Pool

REPLICA = "http://10.0.0.5:7000"
BASE = "/pub/job/adder/1.2.0"


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        ("/docs", f"{BASE}/docs"),
        (f"{REPLICA}/pub/job/adder/1.2.0/docs?a=1", "/pub/job/adder/1.2.0/docs?a=1"),
        (f"{REPLICA}/docs", f"{BASE}/docs"),
        ("https://example.com/x", "https://example.com/x"),
        ("docs", "docs"),
        ("/pub/job/adder/1.2.0/", "/pub/job/adder/1.2.0/"),
    ],
)
def test_location_stays_under_pub(location: str, expected: str) -> None:
    replicas = ("http://10.0.0.9:7000", REPLICA)
    assert rewrite_location(location.encode(), replicas, BASE, "/pub").decode() == expected


def test_token_from_header_then_cookie() -> None:
    assert caller_token([(b"x-racetrack-auth", b"t1"), (b"cookie", b"X-Racetrack-Auth=t2")]) == "t1"
    assert caller_token([(b"cookie", b"a=b; X-Racetrack-Auth=t%3D2")]) == "t=2"
    assert caller_token([(b"x-racetrack-esc-auth", b"legacy")]) == "legacy"
    assert caller_token([(b"cookie", b"a=b")]) == ""


def test_tracing_id_kept_when_sane() -> None:
    assert tracing_id([(b"x-request-tracing-id", b"abc")]) == "abc"
    assert len(tracing_id([(b"x-request-tracing-id", b"x" * 500)])) == 32
    assert len(tracing_id([])) == 32


def test_job_headers_drop_credentials_and_forgeries() -> None:
    incoming = [
        (b"host", b"gw.example:443"),
        (b"x-racetrack-auth", b"secret"),
        (b"cookie", b"X-Racetrack-Auth=secret; theme=dark"),
        (b"x-caller-name", b"User root"),
        (b"x-racetrack-gateway-token", b"forged"),
        (b"x-forwarded-for", b"1.2.3.4"),
        (b"connection", b"keep-alive"),
        (b"accept", b"application/json"),
    ]
    out = dict(job_request_headers(incoming, "rid", "User alice", b"good", "5.6.7.8", "https"))
    assert out[b"cookie"] == b"theme=dark" and b"x-racetrack-auth" not in out and b"connection" not in out
    assert out[b"x-caller-name"] == b"User alice" and out[b"x-racetrack-gateway-token"] == b"good"
    assert out[b"x-forwarded-for"] == b"1.2.3.4, 5.6.7.8" and out[b"x-forwarded-host"] == b"gw.example:443"
    assert out[b"x-forwarded-proto"] == b"https" and out[b"x-request-tracing-id"] == b"rid"
    assert b"secret" not in b"".join(v for _, v in out.items())


def decision_body(version: str = "1.2.0") -> dict:
    return {
        "job": {
            "name": "adder",
            "version": version,
            "status": "running",
            "replica_internal_names": [REPLICA],
        },
        "caller": "User alice",
    }


def authorizer(handler, **config: float) -> Authorizer:  # noqa: ANN001 - an httpx handler
    settings = GatewayConfig(server_url="http://cp", gateway_secret=b"s", **config)
    return Authorizer(settings, httpx.AsyncClient(transport=httpx.MockTransport(handler)))


def test_concurrent_misses_share_one_question_and_tokens_never_share() -> None:
    asked: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        asked.append(request.headers.get("x-racetrack-auth", ""))
        if request.headers.get("x-racetrack-auth") == "good":
            return httpx.Response(200, json=decision_body())
        return httpx.Response(401, json={"error": "token is unknown"})

    async def scenario() -> None:
        auth = authorizer(handler)
        decisions = await asyncio.gather(
            *(auth.check("adder", "latest", "/api/v1/perform", "good") for _ in range(10))
        )
        assert {d.job.version for d in decisions} == {"1.2.0"} and asked == ["good"]
        with pytest.raises(Unauthenticated, match="token is unknown"):
            await auth.check("adder", "latest", "/api/v1/perform", "bad")
        with pytest.raises(Unauthenticated):
            await auth.check("adder", "latest", "/api/v1/perform", "bad")  # cached denial
        assert asked == ["good", "bad"]

    asyncio.run(scenario())


def test_not_found_and_control_plane_down() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if "missing" in request.url.path:
            return httpx.Response(404, content=json.dumps({"error": "job missing latest does not exist"}))
        raise httpx.ConnectError("refused")

    async def scenario() -> None:
        auth = authorizer(handler)
        with pytest.raises(JobNotFound, match="Job was not found: job missing latest does not exist"):
            await auth.check("missing", "latest", "/", "t")
        with pytest.raises(ControlPlaneUnavailable, match="cannot be reached"):
            await auth.check("adder", "latest", "/", "t")

    asyncio.run(scenario())


def test_recent_allow_survives_a_control_plane_outage_for_stale_ttl_only() -> None:
    up = {"yes": True}

    def handler(request: httpx.Request) -> httpx.Response:
        if up["yes"]:
            return httpx.Response(200, json=decision_body())
        raise httpx.ConnectError("refused")

    async def scenario() -> None:
        auth = authorizer(handler, auth_cache_ttl=0.0001, auth_stale_ttl=3600)
        await auth.check("adder", "latest", "/", "t")
        up["yes"] = False
        await asyncio.sleep(0.01)
        assert (await auth.check("adder", "latest", "/", "t")).caller == "User alice"
        with pytest.raises(ControlPlaneUnavailable):
            await auth.check("adder", "latest", "/", "other-token")  # never seen: no decision to reuse

    asyncio.run(scenario())


def test_a_pooled_connection_closed_under_the_pool_is_replaced_by_a_fresh_one() -> None:
    """uvloop refuses a write on a handle the job closed before connection_lost arrived: the call goes out
    on a new connection instead of failing (seen when a Swarm replica was killed under load)."""
    from racetrack.gateway.upstream import Pool

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await reader.readuntil(b"\r\n\r\n"):
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")

    async def main() -> None:
        server = await asyncio.start_server(answer, "127.0.0.1", 0)
        url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
        pool = Pool()
        first = await pool.request(url, "GET", b"/", [], b"", 5)
        assert first.complete_body() == b"ok"
        [idle] = next(iter(pool.idle.values()))

        def closed_handle(data: bytes) -> None:
            raise RuntimeError("unable to perform operation on <TCPTransport closed=True>")

        idle.transport.write = closed_handle  # type: ignore[method-assign, union-attr]
        second = await pool.request(url, "GET", b"/", [], b"", 5)
        assert second.complete_body() == b"ok" and idle.closed
        pool.close()
        server.close()

    asyncio.run(main())


def scraped(metrics: GatewayMetrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a scrape, parsed by prometheus_client's own text parser."""
    text = generate_latest(metrics.registry).decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_metrics_count_calls_and_latency_buckets() -> None:
    metrics = GatewayMetrics()
    for seconds in (0.0004, 0.0005, 0.003, 100.0):
        metrics.call("adder", "1.2.0", "/api/v1/perform", 200, seconds)
    metrics.call("adder", "1.2.0", "/api/v1/perform", 502, 0.2)
    metrics.denied("adder", "unauthenticated")
    metrics.authorized("adder", "1.2.0", 3)
    samples = scraped(metrics)
    labels = (("endpoint", "/api/v1/perform"), ("job", "adder"), ("status", "200"), ("version", "1.2.0"))
    assert samples[("racetrack_gateway_calls_total", labels)] == 4
    bucket = "racetrack_gateway_call_duration_seconds_bucket"
    assert samples[(bucket, (("job", "adder"), ("le", "0.0005")))] == 2  # `le` is inclusive
    assert samples[(bucket, (("job", "adder"), ("le", "0.005")))] == 3
    assert samples[(bucket, (("job", "adder"), ("le", "0.25")))] == 4
    assert samples[(bucket, (("job", "adder"), ("le", "60.0")))] == 4
    assert samples[(bucket, (("job", "adder"), ("le", "+Inf")))] == 5
    assert samples[("racetrack_gateway_call_duration_seconds_count", (("job", "adder"),))] == 5
    assert samples[("racetrack_gateway_call_duration_seconds_sum", (("job", "adder"),))] == pytest.approx(
        100.2039
    )
    denied = (("job", "adder"), ("reason", "unauthenticated"))
    assert samples[("racetrack_gateway_auth_denials_total", denied)] == 1
    assert samples[("racetrack_gateway_job_replicas", (("job", "adder"), ("version", "1.2.0")))] == 3



def test_metrics_also_carry_pubs_names_for_its_dashboards() -> None:
    metrics = GatewayMetrics()
    for version, seconds in (("1.2.0", 0.0015), ("1.2.0", 0.003), ("1.3.0", 3.0)):
        metrics.authorized("adder", version, 1)
        metrics.call("adder", version, "/api/v1/perform", 200, seconds)
    metrics.call("adder", "1.3.0", "/api/v1/explain", 504, 0.5)
    metrics.denied("adder", "unauthenticated")
    samples = scraped(metrics)
    old = (("job_name", "adder"), ("job_version", "1.2.0"))
    new = (("job_name", "adder"), ("job_version", "1.3.0"))
    assert samples[("pub_job_proxy_requests", old)] == 2 and samples[("pub_job_proxy_requests", new)] == 2
    assert samples[("pub_job_proxy_response_codes", (*new, ("status_code", "504")))] == 1
    assert samples[("pub_job_call_response_time", new)] == pytest.approx(3.5)
    bucket = "pub_job_call_response_time_histogram_bucket"
    assert samples[(bucket, (*old, ("le", "0.001")))] == 0
    assert samples[(bucket, (*old, ("le", "0.002")))] == 1
    assert samples[(bucket, (*old, ("le", "0.004")))] == 2
    assert samples[(bucket, (*new, ("le", "0.512")))] == 1
    assert samples[(bucket, (*new, ("le", "1048.576")))] == 2
    assert samples[(bucket, (*new, ("le", "+Inf")))] == 2
    assert samples[("pub_job_call_response_time_histogram_count", old)] == 2
    assert samples[("pub_auth_successful", ())] == 3 and samples[("pub_auth_failed", ())] == 1
    # the gateway's own histogram still adds the versions up, in its own buckets
    ours = "racetrack_gateway_call_duration_seconds_bucket"
    assert samples[(ours, (("job", "adder"), ("le", "0.0025")))] == 1
    assert samples[(ours, (("job", "adder"), ("le", "0.5")))] == 3
    assert samples[("racetrack_gateway_call_duration_seconds_count", (("job", "adder"),))] == 4


def test_metrics_label_sets_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """Job names come from the caller's URL: past the cap, new ones are counted as job="(other)"."""
    monkeypatch.setattr(metrics_module, "MAX_SERIES", 3)
    metrics = GatewayMetrics()
    for index in range(10):
        metrics.call(f"no-such-job-{index}", "latest", "/x", 404, 0.001)
        metrics.denied(f"no-such-job-{index}", "not_found")
    assert len(metrics.calls) == 4 and len(metrics.latency) == 4 and len(metrics.denials) == 4
    for index in range(4):
        metrics.authorized(f"job-{index}", "1.0.0", 1)
    metrics.authorized("job-0", "1.0.0", 2)  # a version already kept is still updated at the cap
    assert metrics.replicas == {(f"job-{index}", "1.0.0"): 2 if index == 0 else 1 for index in range(3)}
    samples = scraped(metrics)
    other = (("endpoint", ""), ("job", "(other)"), ("status", "404"), ("version", ""))
    assert samples[("racetrack_gateway_calls_total", other)] == 7
    assert samples[("racetrack_gateway_call_duration_seconds_count", (("job", "(other)"),))] == 7
    denied = (("job", "(other)"), ("reason", "not_found"))
    assert samples[("racetrack_gateway_auth_denials_total", denied)] == 7


def test_head_timeout_fires_on_every_event_loop() -> None:
    """One sweeper timer per pool serves all calls; a pool used again on a new loop re-arms it there."""
    pool = Pool()

    async def call_silent_job() -> None:
        async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.read(65536)
            await asyncio.sleep(5)

        server = await asyncio.start_server(never_answer, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        started = asyncio.get_running_loop().time()
        with pytest.raises(HeadTimeout, match="did not answer within 0.3 s"):
            await pool.request(f"http://127.0.0.1:{port}", "GET", b"/", [], b"", 0.3)
        assert 0.3 <= asyncio.get_running_loop().time() - started < 2
        assert not pool.waiting
        server.close()

    asyncio.run(call_silent_job())
    asyncio.run(call_silent_job())
    pool.close()
