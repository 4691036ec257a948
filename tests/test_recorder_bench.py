"""``pipelint bench recorder``: a tiny run, its JSON shape; timings are never asserted."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from pipelint.bench.cli import bench
from pipelint.bench.recorder_bench import MODES, WORKLOADS
from pipelint.testing import hooks


def test_recorder_bench_json(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    result = CliRunner().invoke(
        bench, ["recorder", "--commands", "5", "--rounds", "2", "--json", str(out)],
        catch_exceptions=False,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "round-trip recorder overhead" in result.output
    data = json.loads(out.read_text())
    assert set(data["results"]) == set(WORKLOADS)
    for workload in WORKLOADS:
        row = data["results"][workload]
        assert set(row) == set(MODES)
        assert row["off"]["overhead_us"] == 0
        assert all(row[m]["us_per_command"] > 0 for m in MODES)
    assert data["env"]["commands"] == 5
    assert hooks.context_recorders() == ()  # every recorder of the run was stopped
