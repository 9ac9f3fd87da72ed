"""The benchmark's smoke run (`python -m bench --quick`): it completes on both
databases and writes every figure beside its baseline. No figure is judged
here: what they must reach is the full run's business (README "Performance")."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIGURES = {
    "commands_per_second",
    "commands_per_second_16_callers",
    "reply_history",
    "open_ticket_history",
    "chronology_1000_events",
    "chronology_1000_events_first_read",
    "rebuild_events_per_second",
    "cli_show_start",
    "get_ticket_32",
    "get_ticket_32_p99",
    "post_comment_16_clients",
}


def test_the_quick_benchmark_writes_every_figure_with_its_baseline_on_both_databases(
    tmp_path: Path,
) -> None:
    out = tmp_path / "results.json"
    command = [sys.executable, "-m", "bench", "--quick", "--out", str(out)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(out.read_text())
    assert set(results["engines"]) == {"postgresql", "sqlite"}
    assert results["environment"]["packages"]["eventsourcing"].startswith("9.5")
    for engine, measured in results["engines"].items():
        assert measured["tickets"] > 0 and measured["events"] > measured["tickets"], engine
        assert {f["name"] for f in measured["figures"]} == FIGURES
        for figure in measured["figures"]:
            assert figure["ledger"]["median"] > 0 and figure["raw"]["median"] > 0, figure
            assert figure["ratio"] > 0 and isinstance(figure["met"], bool), figure
    assert "| figure |" in done.stdout


def test_the_scale_benchmark_at_a_tiny_scale_writes_its_figures_on_both_databases(
    tmp_path: Path,
) -> None:
    out = tmp_path / "scale.json"
    sizes = ["--events", "600", "--small-events", "120", "--openings", "150", "--reps", "2"]
    command = [sys.executable, "-m", "bench.scale", *sizes, "--engines", "postgresql,sqlite"]
    done = subprocess.run(
        [*command, "--out", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(out.read_text())
    for engine, measured in results["engines"].items():
        assert measured["events"] >= 600, engine
        names = [f["name"] for f in measured["figures"]]
        assert names == [
            "rebuild_small_log",
            "open_ticket_history",
            "rebuild_large_log",
            "rebuild_peak_memory",
        ], engine
        for figure in measured["figures"]:
            assert figure["ledger"]["median"] > 0 and figure["raw"]["median"] > 0, figure
