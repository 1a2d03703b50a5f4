"""The harness's pure parts: per-round ratios, verdicts, document update, profile parsing."""

from __future__ import annotations

from pathlib import Path

import pytest
from bench.build import JOB_NAME, BuildResults, BuildStep, ImageInfo, pip_reran, render_build
from bench.profile import parse_collapsed
from bench.report import RunReport, render_run, target_rows, update_document
from bench.runner import LoadSample, Measurements, ServerSample, Settings, round_order
from bench.servers import COMPARISONS, SERVERS
from bench.stats import delta, paired, ratio, spread
from bench.workloads import WORKLOADS


def test_ratios_pair_rounds_and_ignore_unmatched_ones() -> None:
    values = paired({0: 10.0, 1: 30.0, 2: 5.0}, {0: 5.0, 1: 10.0}, ratio)
    assert values == [2.0, 3.0]
    s = spread(values)
    assert s is not None and (s.minimum, s.median, s.maximum, s.count) == (2.0, 2.5, 3.0, 2)
    assert paired({0: 3.0}, {0: 1.0}, delta) == [2.0]
    assert spread([]) is None


def test_rounds_alternate_order() -> None:
    specs = [SERVERS["wrapper-sync"], SERVERS["fastapi-sync"]]
    assert round_order(specs, 0) == specs
    assert round_order(specs, 1) == specs[::-1]


def test_workload_answers_are_checked() -> None:
    assert WORKLOADS["multiply"].is_correct(b"100.0")
    assert WORKLOADS["multiply"].is_correct(b"100")
    assert not WORKLOADS["multiply"].is_correct(b"99.0")
    assert not WORKLOADS["multiply"].is_correct(b'{"error": "x"}')
    assert 90_000 < len(WORKLOADS["sum"].body) < 110_000


def synthetic_report(wrapper_calls: float) -> RunReport:
    settings = Settings(rounds=2, duration_s=1, warmup_s=0, connections=(16,))
    m = Measurements()
    for r in range(2):
        for server, calls, rss, cold in (
            ("wrapper-sync", wrapper_calls, 60.0, 0.5),
            ("fastapi-sync", 1000.0, 50.0, 0.4),
        ):
            m.load.append(LoadSample(server, r, 16, calls, 1.0, 2.0, 100.0, int(calls), 0.0))
            m.servers.append(ServerSample(server, r, cold, rss))
    return RunReport(
        command="python -m bench",
        settings=settings,
        specs=[SERVERS["wrapper-sync"], SERVERS["fastapi-sync"]],
        skipped={},
        comparisons=COMPARISONS[:1],
        measurements=m,
        machine={"CPU": "test"},
        started="now",
        elapsed_s=1.0,
        load_before="0",
        load_after="0",
    )


def test_targets_report_met_and_missed() -> None:
    met = "\n".join(target_rows(synthetic_report(1500.0)))
    assert "| **1.50x** (1.50–1.50) | yes | **1.00x** (1.00–1.00) |" in met
    assert "| **+0.10 s** (+0.10 to +0.10) | yes |" in met
    assert "| **+10.0 MB** (+10.0 to +10.0) | yes |" in met
    missed = "\n".join(target_rows(synthetic_report(900.0)))
    assert "| **0.90x** (0.90–0.90) | **NO** |" in missed
    assert "1,500" in render_run(synthetic_report(1500.0))


def test_update_document_replaces_only_its_section(tmp_path: Path) -> None:
    doc = tmp_path / "benchmarks.md"
    update_document(doc, "run", "first")
    update_document(doc, "build", "builder")
    text = doc.read_text().replace("first", "first\n") + "\nnotes after\n"
    doc.write_text(text)
    update_document(doc, "run", "second")
    result = doc.read_text()
    assert "second" in result and "first" not in result
    assert "builder" in result and result.endswith("notes after\n")
    assert result.startswith("# Benchmarks")


def test_output_dash_writes_no_document(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert update_document(Path("-"), "run", "figures") is False
    assert list(tmp_path.iterdir()) == []
    assert update_document(tmp_path / "doc.md", "run", "figures") is True


def test_profile_counts_self_and_inclusive_time_per_function() -> None:
    raw = (
        'process 1:"python -m x";main (a.py:1);handle (b.py:10);send (c.py:5) 3\n'
        'process 1:"python -m x";main (a.py:1);handle (b.py:12) 1\n'
    )
    total, own, inclusive = parse_collapsed(raw)
    assert total == 4
    assert own["send (c.py)"] == 3 and own["handle (b.py)"] == 1
    assert inclusive["handle (b.py)"] == 4 and inclusive["main (a.py)"] == 4
    assert not any(frame.startswith("process") for frame in inclusive)


def test_build_report_flags_a_pip_rerun_and_missed_targets(tmp_path: Path) -> None:
    logs = tmp_path / "racetrack" / "build-logs" / JOB_NAME
    logs.mkdir(parents=True)
    (logs / "1.log").write_text(
        "Step 8/17 : RUN python -m venv v && pip install -r r.txt\n ---> Using cache\n"
    )
    assert pip_reran({"XDG_STATE_HOME": str(tmp_path)}) is False
    (logs / "2.log").write_text(
        "Step 8/17 : RUN python -m venv v && pip install -r r.txt\n ---> Running in 1\n"
    )
    assert pip_reran({"XDG_STATE_HOME": str(tmp_path)}) is True

    image = ImageInfo("sha256:" + "a" * 64, ["job:1"], 260.0, ["l1", "l2", "l3"], 0.0)
    wrapper = ImageInfo("sha256:" + "b" * 64, ["wrapper:1"], 238.0, ["l1", "l2"], 0.0)
    base = ImageInfo("sha256:" + "c" * 64, ["base:1"], 155.0, ["l1"], 0.0)
    results = BuildResults(
        "python-class", [BuildStep("no-op rebuild", [2.5, 1.0, 3.0], [False] * 3, [False] * 3, 2.0)]
    )
    results.job, results.bases = image, [wrapper, base]
    text = render_build(results, "python -m bench build", {"CPU": "test"}, "now")
    assert "| no-op rebuild | **2.5** (2.5, 1.0, 3.0) | no, no, no | no, no, no | < 2 s | **NO** |" in text
    assert "| 22.0 MB |" in text and "| 83.0 MB |" in text
    assert "Wrapper layers over the Python base image: **83.0 MB** (target < 60 MB: **NO**)." in text
