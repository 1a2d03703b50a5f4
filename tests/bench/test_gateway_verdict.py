"""The gateway benchmark's verdict lines: targets checked at 16 connections, other counts for orientation."""

from __future__ import annotations

from bench.gateway import Summary, verdict


def summary(calls_per_s: float, p50_ms: float) -> Summary:
    return Summary(calls_per_s, p50_ms, p50_ms * 2, 100.0, 120.0, 0.0)


def test_targets_met_at_16_connections():
    line = verdict(16, summary(8000, 2.0), summary(6800, 2.4))
    assert "**0.85x**" in line and "target ≥ 0.50x: met" in line and "stretch ≥ 0.75x: met" in line
    assert "p50 **+0.40 ms** (target ≤ +0.5 ms: met)" in line


def test_targets_missed_at_16_connections_say_so():
    line = verdict(16, summary(8000, 2.0), summary(3000, 5.3))
    assert "target ≥ 0.50x: **NOT met**" in line and "stretch ≥ 0.75x: not met" in line
    assert "(target ≤ +0.5 ms: **NOT met**)" in line


def test_other_connection_counts_carry_no_verdict():
    line = verdict(1, summary(4000, 0.2), summary(1800, 0.5))
    assert "**0.45x**" in line and "for orientation" in line
    assert "NOT met" not in line and "target ≥" not in line
