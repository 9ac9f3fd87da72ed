"""A requester signs in through a one-time link sent by e-mail, over a real
SMTP sink on 127.0.0.1, on both engines."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.api_support import OWN_REQUESTER, Api
from tests.mail.test_outbound import Sink, serving
from tests.web_support import Person, create_people, token_of
from ticketledger.api.mail.notices import Sender
from ticketledger.api.mail.outbound import Relay
from ticketledger.api.mail.sign_in import LinkMail
from ticketledger.api.people import LINKS_PER_WINDOW

PUBLIC = "https://desk.example.com"
FORM_TOKEN = re.compile(r'name="csrf" value="[^"]*"')
LINK = re.compile(r"https://desk\.example\.com/sign-in/link/(\S+)")


@pytest.fixture
def desk(api: Api) -> Iterator[tuple[Api, Sink]]:
    api.sign_contracts()
    create_people(api.app_services().people)
    kept = Sink()
    with serving(kept) as port:
        relay = Relay.from_url(f"smtp://127.0.0.1:{port}")
        sender = Sender(address="suporte@desk.example", domain="desk.example", name="Suporte")
        api.app_services().link_mail = LinkMail(relay.send, sender, PUBLIC)
        yield api, kept


def ask(api: Api, login: str, **headers: str) -> str:
    person = Person(api.base)
    form = person.get("/sign-in/link")
    answer = person.post("/sign-in/link", {"csrf": token_of(form.text), "login": login}, **headers)
    assert answer.status_code == 200
    return answer.text


def token_mailed(kept: Sink, to: str) -> str:
    mailed = arrived(lambda: kept.to(to))
    assert mailed, f"nothing mailed to {to}"
    body = mailed[-1].get_content()
    found = LINK.search(body)
    assert found, body
    return found.group(1)


def test_a_requester_signs_in_once_with_the_link_mailed_to_them(desk):
    api, kept = desk
    said = ask(api, OWN_REQUESTER)
    assert "a link to sign in is on its way" in said
    token = token_mailed(kept, OWN_REQUESTER)
    assert kept.to(OWN_REQUESTER)[-1]["Auto-Submitted"] == "auto-generated"
    person = Person(api.base)
    button = person.get(f"/sign-in/link/{token}")
    assert button.status_code == 200 and "tl_session" not in str(person.http.cookies)
    signed = person.post(f"/sign-in/link/{token}", {"csrf": token_of(button.text)})
    assert signed.status_code == 303 and signed.headers["location"] == "/portal"
    assert person.get("/portal").status_code == 200
    again = Person(api.base)
    used = again.post(
        f"/sign-in/link/{token}", {"csrf": token_of(again.get(f"/sign-in/link/{token}").text)}
    )
    assert used.status_code == 410 and "used already or has expired" in used.text


def arrived(mailed: Callable[[], list[Any]], count: int = 1) -> list[Any]:
    """What was mailed, once `count` messages are there (the mail leaves after
    the page answers) or a few seconds have passed."""
    deadline = time.monotonic() + 10
    while len(mailed()) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return mailed()


def test_the_answer_reveals_no_account_and_only_requesters_get_links(desk):
    api, kept = desk
    logins = ("nobody@serra.com.br", "ana@desk.example", OWN_REQUESTER)
    pages = {FORM_TOKEN.sub("", ask(api, login).replace(login, "")) for login in logins}
    assert len(pages) == 1 and "a link to sign in is on its way" in pages.pop()
    arrived(lambda: kept.messages)
    time.sleep(0.5)  # what else would have been sent by now
    assert [m["To"] for m in kept.messages] == [OWN_REQUESTER]


def test_the_link_points_at_the_configured_site_whatever_host_the_request_named(desk):
    api, kept = desk
    ask(api, OWN_REQUESTER, host="evil.example")
    assert token_mailed(kept, OWN_REQUESTER)
    assert "evil.example" not in kept.to(OWN_REQUESTER)[-1].get_content()


def test_a_person_is_sent_a_few_links_a_window_and_no_more(desk):
    api, kept = desk
    for _ in range(LINKS_PER_WINDOW + 2):
        ask(api, OWN_REQUESTER)
    arrived(lambda: kept.to(OWN_REQUESTER), LINKS_PER_WINDOW)
    time.sleep(0.5)  # what else would have been sent by now
    assert len(kept.to(OWN_REQUESTER)) == LINKS_PER_WINDOW


def test_a_forged_token_opens_nothing(desk):
    api, _ = desk
    person = Person(api.base)
    page = person.get("/sign-in/link/not-a-token")
    refused = person.post("/sign-in/link/not-a-token", {"csrf": token_of(page.text)})
    assert refused.status_code == 410
    assert person.get("/portal").status_code == 303
