"""The API server the HTTP figures load: the real app, as `ticketledger serve`
builds it, with one more route that answers a constant, the baseline of what
the same app, server and client cost before the ledger does anything."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from fastapi import FastAPI

from ticketledger.api.http import schemas
from ticketledger.api.http.app import app_from_settings

CONSTANT_PATH = "/bench/constant"
CONSTANT_COMMENT_PATH = "/bench/constant-comment"
ROOT = Path(__file__).resolve().parent.parent


def app_with_constant() -> FastAPI:
    app = app_from_settings()

    @app.get(CONSTANT_PATH, include_in_schema=False)
    def constant() -> dict[str, str]:
        return {"status": "ok"}

    @app.post(CONSTANT_COMMENT_PATH, include_in_schema=False)
    def constant_comment(body: schemas.Comment) -> dict[str, str]:
        return {"status": "ok"}

    return app


@contextmanager
def serving(database_url: str, port: int, workers: int = 1) -> Iterator[str]:
    """The app on `port`. Several workers serve as README "Scaling out" lays
    them out: without followers of their own, beside one `ticketledger project
    --follow` process that keeps every projection for all of them."""
    env = {
        **os.environ,
        "TICKETLEDGER_DATABASE_URL": database_url,
        "TICKETLEDGER_TICK_SECONDS": "0",
        "TICKETLEDGER_FOLLOWERS": str(workers == 1).lower(),
        "PYTHONPATH": str(ROOT),
    }
    run = (
        "import uvicorn; uvicorn.run('bench.server:app_with_constant', factory=True, "
        f"host='127.0.0.1', port={port}, workers={workers}, log_level='warning')"
    )
    processes = [subprocess.Popen([sys.executable, "-c", run], env=env, cwd=ROOT)]
    if workers > 1:
        follow = [str(Path(sys.executable).parent / "ticketledger"), "project", "--follow"]
        processes.append(subprocess.Popen(follow, env=env, cwd=ROOT, stdout=subprocess.DEVNULL))
    base = f"http://127.0.0.1:{port}"
    try:
        until_up(base)
        yield base
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=30)


def until_up(base: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + CONSTANT_PATH, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError("the benchmark's API server did not start")
