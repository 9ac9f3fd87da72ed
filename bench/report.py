"""The table a person reads, and the machine and versions the JSON records."""

from __future__ import annotations

import os
import platform
from importlib.metadata import version
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
