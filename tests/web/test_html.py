"""The pages' HTML holds up: every control labelled, every post carrying its
form token, no script of the page's own, the person's language declared, and
the live queue's stream announcing changes."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any

import httpx
import pytest

from tests.api_support import OWN, OWN_REQUESTER, Api
from tests.web_support import Person, create_people, signed_in
from ticketledger.api.access import Role


@pytest.fixture
def desk(api: Api) -> Iterator[Api]:
    api.sign_contracts()
    create_people(api.app_services().people)
    yield api


class Page(HTMLParser):
    """What a page declares: its language, controls, labels, forms, scripts."""

    def __init__(self) -> None:
        super().__init__()
        self.lang: str | None = None
        self.controls: list[dict[str, Any]] = []
        self.labelled: set[str] = set()
        self.forms: list[dict[str, Any]] = []
        self.scripts: list[dict[str, Any]] = []
        self.inline_handlers: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        self.inline_handlers += [name for name in found if name.startswith("on")]
        if tag == "html":
            self.lang = found.get("lang")
        elif tag in ("input", "select", "textarea"):
            if found.get("type") not in ("hidden", "submit"):
                self.controls.append(found)
            if found.get("type") == "hidden" and found.get("name") == "csrf" and self.forms:
                self.forms[-1]["csrf"] = True
        elif tag == "label" and found.get("for"):
            self.labelled.add(str(found["for"]))
        elif tag == "form":
            self.forms.append({**found, "csrf": False})
        elif tag == "script":
            self.scripts.append(found)


def parsed(text: str) -> Page:
    page = Page()
    page.feed(text)
    return page


def check(response: httpx.Response, language: str) -> None:
    assert response.status_code == 200, response.text
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page = parsed(response.text)
    assert page.lang == language
    unlabelled = [
        c for c in page.controls if c.get("id") not in page.labelled and not c.get("aria-label")
    ]
    assert unlabelled == [], unlabelled
    posts = [f for f in page.forms if (f.get("method") or "get").lower() == "post"]
    assert all(f["csrf"] for f in posts), posts
    assert all(s.get("src", "").startswith("/static/") for s in page.scripts)
    assert page.inline_handlers == []


def test_the_desks_pages_hold_up(desk):
    number = desk.open()["number"]
    agent = signed_in(desk, "ana@desk.example")
    for path in ("/desk", "/desk/off-hours", "/desk/triage", f"/desk/tickets/{number}"):
        check(agent.get(path), "en")


def test_the_portals_pages_hold_up_in_the_persons_language(desk):
    number = desk.open()["number"]
    people = desk.app_services().people
    people.create(
        "marta@serra.com.br",
        "pages-test-password",
        Role.REQUESTER,
        customer=OWN,
        requester="marta@serra.com.br",
        language="pt-BR",
    )
    desk.ok(
        desk.post(
            "admin",
            f"/contracts/{desk.contracts[OWN]}/authorised-requesters",
            {"requester": "marta@serra.com.br"},
        )
    )
    marta = signed_in(desk, "marta@serra.com.br")
    for path in ("/portal", "/portal/new", f"/portal/tickets/{number}"):
        response = marta.get(path)
        check(response, "pt-BR")
    assert "Meus chamados" in marta.get("/portal").text
    check(signed_in(desk, OWN_REQUESTER).get("/portal"), "en")


def test_billing_and_audit_pages_hold_up(desk):
    number = desk.open()["number"]
    money = signed_in(desk, "money@desk.example")
    check(money.get("/billing"), "en")
    auditor = signed_in(desk, "audit@desk.example")
    for path in ("/audit", "/audit/verify", f"/audit/tickets/{number}"):
        check(auditor.get(path), "en")


def test_the_sign_in_page_answers_in_the_browsers_language(desk):
    person = Person(desk.base)
    spanish = person.http.get(desk.base + "/sign-in", headers={"Accept-Language": "es-AR,es"})
    check(spanish, "es")
    assert "Contraseña" in spanish.text


def test_the_live_queue_announces_a_change(desk):
    agent = signed_in(desk, "ana@desk.example")
    heard: list[str] = []
    ready = threading.Event()

    def listen() -> None:
        with agent.http.stream("GET", desk.base + "/desk/changes", timeout=30) as stream:
            ready.set()
            for line in stream.iter_lines():
                if line.startswith("event:"):
                    heard.append(line)
                    return

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    assert ready.wait(10)
    desk.open()
    listener.join(timeout=20)
    assert heard == ["event: changed"]
