"""A real headless browser over the demo ledger: Debian's Chromium
(/usr/bin/chromium, which `.ci/run` installs when missing) driven by
Playwright. A machine without it fails these tests, never skips them.

Screenshots of the main pages are kept as artefacts in
$TICKETLEDGER_SCREENSHOTS (default build/screenshots)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, ViewportSize, sync_playwright

from tests.api_support import running
from tests.conftest import LoadedDemo
from ticketledger.api.http.app import build_services, create_app
from ticketledger.api.settings import Settings

CHROMIUM = os.environ.get("TICKETLEDGER_CHROMIUM", "/usr/bin/chromium")
SHOTS = Path(os.environ.get("TICKETLEDGER_SCREENSHOTS", "build/screenshots"))


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Module-scoped: Playwright's synchronous API keeps an event loop running
    in this thread while it lives, which a later test's asyncio.run refuses."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: apt-get install -y chromium (.ci/run does)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


@dataclass(frozen=True)
class Site:
    base: str
    database_url: str
    # What `ticketledger demo` printed when it loaded.
    demo_output: str


@pytest.fixture
def site(loaded_demos: dict[str, LoadedDemo], tmp_path: Path) -> Iterator[Site]:
    """`ticketledger serve` as `scripts/demo` runs it, on a copy of the demo's
    SQLite ledger of this test's own (the pages' PostgreSQL runs are the HTTP
    page tests'; a browser adds nothing there but time)."""
    copy = tmp_path / "demo.db"
    shutil.copyfile(loaded_demos["sqlite"].place, copy)
    settings = Settings(database_url=f"sqlite:///{copy}", tick_seconds=0)
    with running(create_app(build_services(settings))) as base:
        yield Site(base, settings.database_url, loaded_demos["sqlite"].output)


class People:
    """A browser context per person: their own cookies, their own page."""

    def __init__(self, browser: Browser, base: str) -> None:
        self.browser, self.base = browser, base
        self.contexts: list[BrowserContext] = []

    def signed_in(self, login: str, *, phone: bool = False, language: str = "en-GB") -> Page:
        viewport: ViewportSize = (
            {"width": 390, "height": 844} if phone else {"width": 1280, "height": 900}
        )
        context = self.browser.new_context(base_url=self.base, viewport=viewport, locale=language)
        self.contexts.append(context)
        page = context.new_page()
        page.goto("/")
        page.locator("#login").fill(login)
        page.locator("#password").fill("ticketledger-demo")
        page.locator("#password").press("Enter")
        page.wait_for_load_state("networkidle")
        return page

    def close(self) -> None:
        for context in self.contexts:
            context.close()


@pytest.fixture
def people(browser: Browser, site: Site) -> Iterator[People]:
    found = People(browser, site.base)
    yield found
    found.close()


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
