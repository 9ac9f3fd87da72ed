"""The table a person reads, and the machine and versions the JSON records."""

from __future__ import annotations

import json
import os
import platform
import tempfile
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any

from bench.measure import Figure, Spread, in_unit

PACKAGES = ("eventsourcing", "psycopg", "pydantic", "fastapi", "uvicorn")


def table(engine: str, found: list[Figure]) -> str:
    lines = [
        f"## {engine}",
        "| figure | ledger (median, range) | raw baseline, same run | ratio | target | met |",
        "|---|---|---|---|---|---|",
    ]
    for figure in found:
        bound = "≤" if figure.at_most else "≥"
        lines.append(
            f"| {figure.what} | {cell(figure, figure.ours)} | "
            f"{figure.baseline}: {cell(figure, figure.theirs)} | "
            f"{figure.ratio:.2f} | {bound} {figure.target} | {'yes' if figure.met else 'NO'} |"
        )
    return "\n".join(lines)


def cell(figure: Figure, spread: Spread) -> str:
    shown = sorted(in_unit(r, figure.unit) for r in spread.rounds)
    median = in_unit(spread.median, figure.unit)
    return f"{median:g} {figure.unit} ({shown[0]:g} to {shown[-1]:g})"


def environment() -> dict[str, Any]:
    return {
        "machine": platform.machine(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "system": platform.platform(),
        "python": platform.python_version(),
        "packages": {name: version(name) for name in PACKAGES},
    }


def run_and_write(
    heading: dict[str, Any],
    engines: str,
    measure: Callable[[str, Path], dict[str, Any]],
    out: Path,
) -> None:
    """Measures on each engine (its throwaway files in one temporary folder),
    then writes the JSON: `heading`, the environment and every engine's figures."""
    results: dict[str, Any] = {**heading, "environment": environment()}
    with tempfile.TemporaryDirectory(prefix="tl-bench-") as place:
        results["engines"] = {engine: measure(engine, Path(place)) for engine in engines.split(",")}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written {out}")


def engine_result(
    engine: str, server: str, tickets: int, events: int, found: list[Figure], **more: Any
) -> dict[str, Any]:
    """Prints the engine's table and returns its part of the JSON."""
    print(table(engine, found))
    figures = [f.to_json() for f in found]
    return {"server": server, "tickets": tickets, "events": events, **more, "figures": figures}
