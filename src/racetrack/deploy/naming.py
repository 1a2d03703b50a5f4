"""Object names for job versions on cluster engines: DNS labels (Swarm services, Kubernetes objects)."""

from __future__ import annotations

import hashlib
import re

DNS_LABEL_MAX = 63
_NOT_DNS = re.compile(r"[^a-z0-9-]+")


def dns_name(name: str, version: str) -> str:
    """`<name>-<version>` as a DNS label ('1.2.0' -> '1-2-0'), with a hash of both so that versions that
    read alike ('1.0.0-1.2' and '1.0.0-1-2') never share a name; lower-case, at most 63 characters."""
    digest = hashlib.sha256(f"{name}\0{version}".encode()).hexdigest()[:6]
    readable = _NOT_DNS.sub("-", f"{name}-{version}".lower()).strip("-")
    return f"{readable[: DNS_LABEL_MAX - 7].rstrip('-')}-{digest}"
