"""The contract between a job and whatever runs or fronts it (deployers, control plane, gateway), named once.
The wrapper imports these names; so do deploy/, server/, gateway/ and the CLI."""

from __future__ import annotations

import hashlib
import hmac

JOB_PORT = 7000
API_PREFIX = "/api/v1"
PUB_PREFIXES = ("/pub/job", "/pub/fatman")  # a job answers under /pub/job/{name}/{version}/... too
# Open to anyone: never behind the gateway credential.
PROBE_PATHS = ("/live", "/ready", "/health", "/metrics")

# Environment the deployer sets for the job.
ENV_JOB_NAME = "JOB_NAME"
ENV_JOB_VERSION = "JOB_VERSION"
ENV_FATMAN_NAME = "FATMAN_NAME"  # Racetrack's fatman-era names, still set
ENV_FATMAN_VERSION = "FATMAN_VERSION"
ENV_GIT_VERSION = "GIT_VERSION"
ENV_DEPLOYMENT_TIMESTAMP = "DEPLOYMENT_TIMESTAMP"  # ISO 8601, UTC
ENV_JOB_DEPLOYMENT_TIMESTAMP = "JOB_DEPLOYMENT_TIMESTAMP"  # Racetrack's name: the same moment, Unix seconds
ENV_DEPLOYED_BY_RACETRACK_VERSION = "DEPLOYED_BY_RACETRACK_VERSION"  # the deploying racetrack's version
ENV_PUB_URL = "PUB_URL"  # the gateway's base URL (http://host:port/pub) for job-to-job calls, as in Racetrack
ENV_AUTH_TOKEN = "AUTH_TOKEN"  # the job family's token, for job-to-job calls through the gateway
# A file in Compose .env syntax that the wrapper loads into os.environ before the job is imported: how
# runtime secrets reach a job without showing in `docker inspect` or a Deployment's spec.
ENV_SECRET_ENV_FILE = "RACETRACK_SECRET_ENV_FILE"
# When set (delivered through the secret env file), every call except PROBE_PATHS must carry it in
# GATEWAY_TOKEN_HEADER: a job deployed by the control plane answers only its gateway.
ENV_GATEWAY_TOKEN = "RACETRACK_GATEWAY_TOKEN"

# Headers.
AUTH_HEADER = "X-Racetrack-Auth"  # also read from a cookie of the same name
GATEWAY_TOKEN_HEADER = "X-Racetrack-Gateway-Token"
TRACING_HEADER = "X-Request-Tracing-Id"
CALLER_HEADER = "X-Caller-Name"


def gateway_token(secret: bytes, name: str, version: str) -> str:
    """The per-job credential the gateway sends and the job checks: HMAC-SHA256 of name and version."""
    return hmac.new(secret, f"{name}\0{version}".encode(), hashlib.sha256).hexdigest()
