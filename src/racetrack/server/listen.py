"""Where the server listens, and the address jobs reach its gateway at (their PUB_URL)."""

from __future__ import annotations

import dataclasses
import ipaddress
import logging
import socket

from racetrack.server.config import ServerConfig

logger = logging.getLogger("racetrack.server")
LOOPBACK = ("127.0.0.1", "localhost", "::1")
ANY = ("0.0.0.0", "::", "")


def bridge_address() -> str | None:
    """The host's address on Docker's default bridge, where containers reach the host; None if unknown."""
    from racetrack.builder import connect

    try:
        network = connect().networks.get("bridge")
    except Exception:  # noqa: BLE001 - no engine or no bridge: the caller says what that means
        return None
    for pool in (network.attrs.get("IPAM") or {}).get("Config") or []:
        if pool.get("Gateway"):
            return str(pool["Gateway"]).split("/")[0]
        subnet = ipaddress.ip_network(pool.get("Subnet") or "::/128", strict=False)
        if subnet.version == 4 and subnet.num_addresses > 2:
            return str(subnet.network_address + 1)  # Docker gives the bridge the subnet's first address
    return None


def plan(config: ServerConfig) -> tuple[ServerConfig, list[str]]:
    """`config` with `job_pub_url` filled in, and the addresses to listen on.

    Containers cannot reach the host's loopback: a server on 127.0.0.1 also listens on the Docker bridge
    address, and jobs call the gateway there. `--job-pub-url` (or a Kubernetes target) skips all this."""
    hosts = [config.host]
    if config.job_pub_url or config.infrastructure == "kubernetes":
        return config, hosts
    if config.host not in (*LOOPBACK, *ANY):
        return dataclasses.replace(config, job_pub_url=f"http://{config.host}:{config.port}/pub"), hosts
    bridge = bridge_address()
    if bridge is None:
        logger.warning(
            "cannot find Docker's bridge address: jobs get PUB_URL=%s, which containers may not reach; "
            "set --job-pub-url to an address of this server that jobs can reach",
            config.pub_url,
        )
        return config, hosts
    if config.host in LOOPBACK:
        hosts.append(bridge)
    return dataclasses.replace(config, job_pub_url=f"http://{bridge}:{config.port}/pub"), hosts


def bind(host: str, port: int) -> socket.socket:
    """A bound TCP socket on `host`:`port` (uvicorn listens on it)."""
    family, kind, proto, _, address = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM)[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as error:
        sock.close()
        raise OSError(f"cannot listen on {host}:{port}: {error.strerror}") from None
    return sock
