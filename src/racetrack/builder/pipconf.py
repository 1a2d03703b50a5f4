"""The host's pip settings (index, extra indexes, find-links, CA bundle), forwarded to builds in containers.

Local directories (file:// indexes, find-links paths) do not exist in a container, so the build server
serves them over 127.0.0.1 and the container's pip settings point there. The settings reach the pip step as
PIP_* variables handed out by the build server, never as a file in a layer.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlparse
from urllib.request import url2pathname

import certifi

SYSTEM_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
_SECTIONS = ("global", "install", ":env:")


@dataclass(frozen=True)
class PipSettings:
    """The subset of pip's configuration that decides where packages come from."""

    index_url: str | None = None
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    trusted_hosts: tuple[str, ...] = ()
    timeout: str | None = None
    cert: Path = Path(certifi.where())

    def local_dirs(self) -> tuple[Path, ...]:
        """Host directories the container's pip needs served: each index's parent (its files sit beside
        it), each find-links directory itself."""
        indexes = [self.index_url, *self.extra_index_urls] if self.index_url else list(self.extra_index_urls)
        dirs = [path.parent for path in map(local_path, indexes) if path]
        dirs += [path for path in map(local_path, self.find_links) if path]
        return tuple(dict.fromkeys(dirs))

    def container_env(self, server_url: str, cert_path: str) -> dict[str, str]:
        """pip's settings for the container as PIP_* variables: URLs kept, existing local directories
        served by `server_url`."""

        def forward(location: str) -> str | None:
            path = local_path(location)
            if path is None:
                return None if _is_local(location) else location
            return server_url + quote(str(path)) + "/"

        env = {"PIP_CERT": cert_path, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
        if self.index_url and (index := forward(self.index_url)):
            env["PIP_INDEX_URL"] = index
        lists = (("PIP_EXTRA_INDEX_URL", self.extra_index_urls), ("PIP_FIND_LINKS", self.find_links))
        for name, values in lists:
            kept = [v for v in map(forward, values) if v]
            if kept:
                env[name] = " ".join(kept)
        if self.trusted_hosts:
            env["PIP_TRUSTED_HOST"] = " ".join(self.trusted_hosts)
        if self.timeout:
            env["PIP_TIMEOUT"] = self.timeout
        return env


def host_pip_settings(python: str = sys.executable) -> PipSettings:
    """pip's effective settings on this host (config files and PIP_* variables), as `pip config list`
    resolves them."""
    try:
        listing = subprocess.run(
            [python, "-m", "pip", "config", "list"], capture_output=True, text=True, timeout=60, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError):
        listing = ""
    return parse_pip_config_list(listing)


def parse_pip_config_list(listing: str) -> PipSettings:
    """Settings from `pip config list` output; later lines (higher priority) win."""
    values: dict[str, str] = {}
    for line in listing.splitlines():
        name, _, raw = line.partition("=")
        section, _, key = name.rpartition(".")
        if section not in _SECTIONS or not raw:
            continue
        try:
            values[key] = ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            continue
    cert = values.get("cert")
    cert_path = Path(cert) if cert and Path(cert).is_file() else None
    return PipSettings(
        index_url=values.get("index-url") or None,
        extra_index_urls=tuple(values.get("extra-index-url", "").split()),
        find_links=tuple(values.get("find-links", "").split()),
        trusted_hosts=tuple(values.get("trusted-host", "").split()),
        timeout=values.get("timeout") or values.get("default-timeout"),
        cert=cert_path or (SYSTEM_CA_BUNDLE if SYSTEM_CA_BUNDLE.is_file() else Path(certifi.where())),
    )


def local_path(location: str) -> Path | None:
    """The existing host directory a pip location names (file:// URL or plain path), else None."""
    if not _is_local(location):
        return None
    path = Path(url2pathname(urlparse(location).path)) if location.startswith("file:") else Path(location)
    path = path.expanduser()
    return path.resolve() if path.is_dir() else None


def _is_local(location: str) -> bool:
    return location.startswith("file:") or "://" not in location
