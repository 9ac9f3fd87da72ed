"""A throwaway PostgreSQL cluster of the test's own, on a free port: stopped
and started by the test as an outage would, removed afterwards. The machine's
cluster on 5432 is never touched."""

from __future__ import annotations

import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg


def postgres_version() -> str:
    versions = sorted(p.name for p in Path("/etc/postgresql").iterdir() if p.name.isdigit())
    if not versions:
        raise RuntimeError("no PostgreSQL installation under /etc/postgresql")
    return versions[-1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run(*command: str) -> None:
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)}: {done.stderr.strip()}")


@dataclass
class Cluster:
    version: str
    name: str
    port: int

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        run("pg_ctlcluster", self.version, self.name, "stop", "-m", "immediate")

    def start(self) -> None:
        run("pg_ctlcluster", self.version, self.name, "start")
        deadline = time.monotonic() + 60
        while True:
            try:
                with psycopg.connect(self.url, connect_timeout=2):
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)


@contextmanager
def throwaway_cluster() -> Iterator[Cluster]:
    cluster = Cluster(postgres_version(), f"tl{uuid.uuid4().hex[:10]}", free_port())
    run(
        "pg_createcluster",
        cluster.version,
        cluster.name,
        "--port",
        str(cluster.port),
        "--",
        "--auth=trust",
    )
    try:
        cluster.start()
        yield cluster
    finally:
        run("pg_dropcluster", cluster.version, cluster.name, "--stop")


@contextmanager
def throwaway_replica(primary: Cluster) -> Iterator[Cluster]:
    """A streaming replica of `primary`: a cluster of its own on a free port,
    its data copied by pg_basebackup, which writes the standby's settings
    (-R); it then replays what the primary writes, read-only."""
    replica = Cluster(primary.version, f"tl{uuid.uuid4().hex[:10]}", free_port())
    port = str(replica.port)
    run("pg_createcluster", replica.version, replica.name, "--port", port, "--", "--auth=trust")
    try:
        data = Path(f"/var/lib/postgresql/{replica.version}/{replica.name}")
        run("find", str(data), "-mindepth", "1", "-delete")  # pg_basebackup fills it
        run(
            "runuser", "-u", "postgres", "--",
            "pg_basebackup", "-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres",
            "-D", str(data), "-R", "-X", "stream", "-c", "fast",
        )  # fmt: skip
        replica.start()
        yield replica
    finally:
        run("pg_dropcluster", replica.version, replica.name, "--stop")
