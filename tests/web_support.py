"""People signed in to the pages of a running app, through plain HTTP: a
client per person, keeping its cookies as a browser does."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.api_support import OTHER, OTHER_REQUESTER, OWN, OWN_REQUESTER, Api
from ticketledger.api.access import Role
from ticketledger.api.people import PeopleStore

PASSWORD = "pages-test-password"
PEOPLE: dict[str, tuple[Role, str | None, str | None]] = {
    "ana@desk.example": (Role.AGENT, None, None),
    "bruno@desk.example": (Role.AGENT, None, None),
    OWN_REQUESTER: (Role.REQUESTER, OWN, OWN_REQUESTER),
    OTHER_REQUESTER: (Role.REQUESTER, OTHER, OTHER_REQUESTER),
    "audit@desk.example": (Role.AUDITOR, None, None),
    "boss@desk.example": (Role.ADMIN, None, None),
    "money@desk.example": (Role.BILLING, None, None),
}
TOKEN = re.compile(r'name="csrf" value="([^"]+)"')
VERSION = re.compile(r'name="version" value="(\d+)"')


def create_people(people: PeopleStore) -> None:
    for login, (role, customer, requester) in PEOPLE.items():
        name = login.split("@")[0] if role is not Role.REQUESTER else None
        people.create(
            login,
            PASSWORD,
            role,
            name=name,
            customer=customer,
            requester=requester,
            language="en",
        )


@dataclass
class Person:
    """One person's browser, without JavaScript: cookies, forms, redirects."""

    base: str
    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=30))

    def get(self, path: str, **params: Any) -> httpx.Response:
        return self.http.get(self.base + path, params=params)

    def post(self, path: str, form: dict[str, Any], **headers: str) -> httpx.Response:
        return self.http.post(self.base + path, data=form, headers=headers)

    def sign_in(self, login: str, password: str = PASSWORD) -> httpx.Response:
        page = self.get("/sign-in")
        return self.post(
            "/sign-in", {"csrf": token_of(page.text), "login": login, "password": password}
        )

    def send(
        self, page: httpx.Response, path: str, form_key: str | None = None, **fields: Any
    ) -> httpx.Response:
        """Sends a form of the page as a browser would: its token, its version."""
        form = {"csrf": token_of(page.text), "form_key": form_key or uuid.uuid4().hex}
        version = VERSION.search(page.text)
        if version:
            form["version"] = version.group(1)
        return self.post(path, {**form, **fields})


def token_of(html: str) -> str:
    found = TOKEN.search(html)
    assert found, "the page holds no form token"
    return found.group(1)


def signed_in(api: Api, login: str) -> Person:
    person = Person(api.base)
    response = person.sign_in(login)
    assert response.status_code == 303, response.text
    return person
