"""Kubernetes resource quantities ('500m' CPU, '512Mi' memory) -> Docker's limits and reservations."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from racetrack.manifest import Resources

DECIMAL_SUFFIXES = {"k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18}
BINARY_SUFFIXES = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
MEMORY = re.compile(r"^(?P<number>[0-9]+(\.[0-9]+)?([eE][0-9]+)?)(?P<suffix>[KMGTPE]i|[kMGTPE])?$")
CPU = re.compile(r"^(?P<number>[0-9]+(\.[0-9]+)?)(?P<milli>m)?$")
DOCKER_MIN_MEMORY = 6 * 2**20  # the engine refuses smaller memory limits
SHARES_PER_CORE = 1024  # Docker's default CPU weight stands for one core, as in Kubernetes


class QuantityError(ValueError):
    """A resource quantity that cannot be used; the message names the manifest field and a fix."""


def cpu_cores(quantity: str) -> Decimal:
    """Cores in a CPU quantity: '2' -> 2, '0.5' -> 0.5, '500m' -> 0.5."""
    match = CPU.match(str(quantity).strip())
    if not match:
        raise QuantityError(f"{quantity!r} is not a CPU quantity: use cores such as '1' or '0.5', or '500m'")
    cores = Decimal(match["number"])
    return cores / 1000 if match["milli"] else cores


def memory_bytes(quantity: str) -> int:
    """Bytes in a memory quantity: '512Mi' -> 536870912, '1G' -> 10**9, '129e6' -> 129000000."""
    match = MEMORY.match(str(quantity).strip())
    if not match:
        raise QuantityError(f"{quantity!r} is not a memory quantity: use bytes such as '512Mi' or '1G'")
    number = Decimal(match["number"])
    suffix = match["suffix"] or ""
    return int(number * (BINARY_SUFFIXES.get(suffix) or DECIMAL_SUFFIXES.get(suffix) or 1))


def docker_resources(resources: Resources) -> dict[str, Any]:
    """Host-config options for `resources`: maxima as hard limits, minima as reservation and CPU weight."""
    options: dict[str, Any] = {}
    cpu_min = _field(cpu_cores, resources.cpu_min, "cpu_min")
    cpu_max = _field(cpu_cores, resources.cpu_max, "cpu_max")
    memory_min = _field(memory_bytes, resources.memory_min, "memory_min")
    memory_max = _field(memory_bytes, resources.memory_max, "memory_max")
    for value, field in ((cpu_min, "cpu_min"), (cpu_max, "cpu_max"), (memory_min, "memory_min"),
                         (memory_max, "memory_max")):
        if value is not None and value <= 0:
            raise QuantityError(f"resources.{field} must be more than 0")
    if cpu_max is not None:
        options["nano_cpus"] = int(cpu_max * 10**9)
    if cpu_min is not None:
        options["cpu_shares"] = max(2, int(cpu_min * SHARES_PER_CORE))
    if memory_max is not None:
        if memory_max < DOCKER_MIN_MEMORY:
            raise QuantityError(f"resources.memory_max is {memory_max} bytes; Docker needs at least 6Mi")
        options["mem_limit"] = memory_max
        options["memswap_limit"] = memory_max  # no swap beyond the limit, as on Kubernetes
    if memory_min is not None:
        options["mem_reservation"] = memory_min
    for low, high, name in ((cpu_min, cpu_max, "cpu"), (memory_min, memory_max, "memory")):
        if low is not None and high is not None and low > high:
            raise QuantityError(
                f"resources.{name}_min ({_shown(resources, name, 'min')}) is more than resources.{name}_max "
                f"({_shown(resources, name, 'max')}); raise the maximum or lower the minimum"
            )
    return options


def _field(parse: Any, value: str | None, field: str) -> Any:
    if value is None:
        return None
    try:
        return parse(value)
    except QuantityError as error:
        raise QuantityError(f"resources.{field}: {error}") from None


def _shown(resources: Resources, name: str, end: str) -> str:
    return str(getattr(resources, f"{name}_{end}"))
