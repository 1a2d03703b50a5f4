"""schemathesis against the OpenAPI document of every sample, served by a real server process: a fixed
seed, a few examples per operation; no server error, and every response as the document declares it."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, seed, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from wrapper_helpers import SAMPLES, sample_server

CHECKS = (not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance)
SAMPLE_NAMES = sorted(path.name for path in SAMPLES.iterdir() if (path / "fatman.yaml").is_file())
EXAMPLES = 6
NON_FINITE = "is a non-finite float (inf or NaN), which JSON cannot represent"


@pytest.mark.timeout(120)
@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_generated_requests_get_answers_the_document_declares(name: str):
    with sample_server(name) as server:
        schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
        operations = [result.ok() for result in schema.get_all_operations()]
        assert operations, "the document lists no operations"
        failures = []
        for operation in operations:
            if "/webview" in operation.path or operation.path == "/metrics":
                continue  # a user web app's own pages / Prometheus text: not described by the document

            @seed(20261202)
            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                database=None,
                derandomize=True,
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy())
            def check(case: schemathesis.Case) -> None:
                response = case.call(base_url=server.url, timeout=30)
                if response.status_code == 500 and NON_FINITE in response.json().get("error", ""):
                    # two finite floats whose product or sum overflows (1e308 * 10): a result JSON cannot
                    # carry is the job's 500 by design, in the declared shape
                    case.validate_response(response, checks=CHECKS[1:])
                    return
                case.validate_response(response, checks=CHECKS)

            try:
                check()
            except Exception as exc:  # every failing operation is listed, not just the first
                failures.append(f"{operation.method.upper()} {operation.path}: {exc}")
        assert not failures, "\n\n".join(failures)
        server.client.get("/live").raise_for_status()
