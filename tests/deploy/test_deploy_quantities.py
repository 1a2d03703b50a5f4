"""Kubernetes quantities in `resources` -> Docker limits and reservations."""

from __future__ import annotations

from decimal import Decimal

import pytest

from racetrack.deploy.quantities import QuantityError, cpu_cores, docker_resources, memory_bytes
from racetrack.manifest import Resources


@pytest.mark.parametrize(
    ("quantity", "cores"),
    [("1", "1"), ("0.5", "0.5"), ("500m", "0.5"), ("1500m", "1.5"), ("250m", "0.25"), ("1.25", "1.25")],
)
def test_cpu_cores(quantity: str, cores: str) -> None:
    assert cpu_cores(quantity) == Decimal(cores)


@pytest.mark.parametrize(
    ("quantity", "size"),
    [
        ("512Mi", 512 * 2**20),
        ("1Gi", 2**30),
        ("1.5Gi", 3 * 2**29),
        ("500M", 500 * 10**6),
        ("1G", 10**9),
        ("128974848", 128974848),
        ("129e6", 129 * 10**6),
        ("100Ki", 102400),
        ("1k", 1000),
        ("2Ti", 2 * 2**40),
    ],
)
def test_memory_bytes(quantity: str, size: int) -> None:
    assert memory_bytes(quantity) == size


@pytest.mark.parametrize("quantity", ["", "1.5.2", "500 m", "-1", "2cores", "1mi"])
def test_cpu_rejects_junk(quantity: str) -> None:
    with pytest.raises(QuantityError, match="is not a CPU quantity"):
        cpu_cores(quantity)


@pytest.mark.parametrize("quantity", ["", "512MB", "1gi", "-5Mi", "12m"])
def test_memory_rejects_junk(quantity: str) -> None:
    with pytest.raises(QuantityError, match="is not a memory quantity"):
        memory_bytes(quantity)


def test_maxima_are_limits_and_minima_reservations() -> None:
    resources = Resources(cpu_min="250m", cpu_max="1500m", memory_min="256Mi", memory_max="1Gi")
    options = docker_resources(resources)
    assert options == {
        "nano_cpus": 1_500_000_000,
        "cpu_shares": 256,
        "mem_limit": 2**30,
        "memswap_limit": 2**30,
        "mem_reservation": 256 * 2**20,
    }


def test_no_resources_no_options() -> None:
    assert docker_resources(Resources()) == {}


def test_minimum_above_maximum_names_both_fields() -> None:
    expected = r"resources.memory_min \(2Gi\) is more than resources.memory_max \(1Gi\)"
    with pytest.raises(QuantityError, match=expected):
        docker_resources(Resources(memory_min="2Gi", memory_max="1Gi"))
    with pytest.raises(QuantityError, match="resources.cpu_min"):
        docker_resources(Resources(cpu_min="2", cpu_max="500m"))


def test_errors_name_the_field() -> None:
    with pytest.raises(QuantityError, match="resources.memory_max: 'lots' is not a memory quantity"):
        docker_resources(Resources(memory_max="lots"))
    with pytest.raises(QuantityError, match="resources.cpu_max must be more than 0"):
        docker_resources(Resources(cpu_max="0m"))
    with pytest.raises(QuantityError, match="Docker needs at least 6Mi"):
        docker_resources(Resources(memory_max="1Mi"))
