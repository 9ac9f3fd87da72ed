"""One Settings per process: read from TICKETLEDGER_* variables, overridden by
the command line's options, refused with the reason when out of range, and
handed to uvicorn's workers as the same variables."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from ticketledger.api.cli.main import app
from ticketledger.api.cli.options import one_command
from ticketledger.api.http.app import build_services, create_app
from ticketledger.api.settings import Settings
from ticketledger.service.storage import persistence_env


def test_settings_come_from_the_environment_and_options_override_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TICKETLEDGER_DATABASE_URL", "sqlite:///from-env.db")
    monkeypatch.setenv("TICKETLEDGER_POOL_SIZE", "9")
    monkeypatch.setenv("TICKETLEDGER_TICK_SECONDS", "0")
    settings = Settings.load(database_url="sqlite:///from-option.db", port=None)
    assert settings.database_url == "sqlite:///from-option.db"
    assert (settings.pool_size, settings.port, settings.ticker_period) == (9, 8000, None)


def test_the_storage_settings_reach_the_librarys_postgres_environment() -> None:
    settings = Settings(
        database_url="postgresql://u@db.example:6543/desk?schema=s1",
        pool_size=7,
        pool_max_overflow=3,
        connect_timeout=4,
        lock_timeout=2.5,
    )
    env = persistence_env(settings.database_url, settings.storage)
    assert {k: env[k] for k in ("POSTGRES_POOL_SIZE", "POSTGRES_MAX_OVERFLOW")} == {
        "POSTGRES_POOL_SIZE": "7",
        "POSTGRES_MAX_OVERFLOW": "3",
    }
    assert (env["POSTGRES_CONNECT_TIMEOUT"], env["POSTGRES_LOCK_TIMEOUT"]) == ("4", "2.5")
    assert (env["POSTGRES_HOST"], env["POSTGRES_PORT"], env["POSTGRES_SCHEMA"]) == (
        "db.example",
        "6543",
        "s1",
    )


def test_a_command_of_the_command_line_opens_one_connection_and_keeps_the_ceiling() -> None:
    settings = Settings(pool_size=7, pool_max_overflow=3, connect_timeout=4, lock_timeout=2.5)
    storage = one_command(settings.storage)
    assert (storage.pool_size, storage.pool_max_overflow) == (1, 9)
    assert (storage.connect_timeout, storage.lock_timeout) == (4, 2.5)


def test_settings_handed_to_a_worker_as_variables_read_back_the_same(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    given = Settings(database_url="sqlite:///w.db", workers=1, followers=False, tick_seconds=5)
    for name, value in given.as_environment().items():
        monkeypatch.setenv(name, value)
    assert Settings() == given


def test_a_setting_out_of_range_is_refused_by_the_command_line_with_the_reason(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TICKETLEDGER_POOL_SIZE", "0")
    result = CliRunner().invoke(
        app, ["project", "--database-url", f"sqlite:///{tmp_path / 'x.db'}"]
    )
    assert result.exit_code == 1
    assert "invalid settings: pool_size" in result.output
    assert not (tmp_path / "x.db").exists()


def test_an_unknown_ticketledger_variable_is_not_silently_ignored_by_a_direct_build() -> None:
    with pytest.raises(ValueError, match="body_limit"):
        Settings(body_limit=10)  # type: ignore[call-arg]


def test_the_body_limit_setting_bounds_what_the_api_accepts(tmp_path: Path) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'limit.db'}",
        followers=False,
        tick_seconds=0,
        body_limit_bytes=2048,
    )
    services = build_services(settings)
    transport = httpx.ASGITransport(app=create_app(services))

    async def post(size: int) -> int:
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            body = b'{"message": "' + b"x" * size + b'"}'
            response = await client.post(
                "/tickets/2026-000001/replies",
                content=body,
                headers={"Content-Type": "application/json", "Authorization": "Bearer nope"},
            )
            return response.status_code

    try:
        assert asyncio.run(post(4096)) == 413
        assert asyncio.run(post(100)) == 401  # within the limit: on to authentication
    finally:
        services.ledger.close()
