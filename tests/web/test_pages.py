"""The pages over a running app, through plain HTTP (no JavaScript): signing
in, the desk's forms and their versions, and what a requester may see."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.routing import APIRoute
from typer.testing import CliRunner

from tests.api_support import OTHER, OTHER_REQUESTER, OWN, OWN_REQUESTER, Api
from tests.web_support import PASSWORD, Person, create_people, signed_in, token_of
from ticketledger.api.access import Role
from ticketledger.api.cli.main import app as cli
from ticketledger.api.http import contracts
from ticketledger.api.people import PeopleStore
from ticketledger.api.web import desk as desk_pages
from ticketledger.api.web import portal


@pytest.fixture
def desk(api: Api) -> Iterator[Api]:
    api.sign_contracts()
    create_people(api.app_services().people)
    yield api


def ticket_events(api: Api, number: str) -> list[dict[str, Any]]:
    return list(api.ok(api.get("agent", f"/tickets/{number}/events")))


def test_a_visitor_is_sent_to_sign_in_and_back_to_the_page_asked_for(desk):
    person = Person(desk.base)
    page = person.get("/desk", status="open")
    assert page.status_code == 303
    assert page.headers["location"] == "/sign-in?next=%2Fdesk%3Fstatus%3Dopen"
    form = person.get("/sign-in", next="/desk?status=open")
    assert 'name="next" value="/desk?status=open"' in form.text


def test_signing_in_sets_an_http_only_same_site_cookie_and_lands_on_the_role_home(desk):
    person = Person(desk.base)
    response = person.sign_in("ana@desk.example")
    assert response.status_code == 303
    assert response.headers["location"] == "/desk"
    cookie = next(c for c in response.headers.get_list("set-cookie") if "tl_session=" in c)
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert person.get("/desk").status_code == 200


def test_a_wrong_password_is_a_sentence_on_the_sign_in_page(desk):
    response = Person(desk.base).sign_in("ana@desk.example", "wrong password!")
    assert response.status_code == 401
    assert "Wrong e-mail or password." in response.text


def test_a_sign_in_without_its_form_token_is_refused(desk):
    person = Person(desk.base)
    person.get("/sign-in")
    response = person.post(
        "/sign-in", {"csrf": "forged", "login": "ana@desk.example", "password": PASSWORD}
    )
    assert response.status_code == 403
    assert "did not come from this site" in response.text
    assert "tl_session" not in response.headers.get("set-cookie", "")


def test_a_sign_in_with_an_empty_token_and_no_form_cookie_is_refused(desk):
    person = Person(desk.base)
    response = person.post(
        "/sign-in", {"csrf": "", "login": "ana@desk.example", "password": PASSWORD}
    )
    assert response.status_code == 403
    assert "tl_session" not in response.headers.get("set-cookie", "")


def test_a_post_without_the_sessions_form_token_is_refused_and_writes_nothing(desk):
    number = desk.open()["number"]
    agent = signed_in(desk, "ana@desk.example")
    page = agent.get(f"/desk/tickets/{number}")
    before = ticket_events(desk, number)
    for forged in ({}, {"csrf": "not-the-token"}):
        response = agent.post(
            f"/desk/tickets/{number}/reply", {**forged, "version": "1", "message": "hi"}
        )
        assert response.status_code == 403, response.text
    other_site = agent.post(
        f"/desk/tickets/{number}/reply",
        {"csrf": page.text.split('name="csrf" value="')[1].split('"')[0], "message": "hi"},
        origin="https://evil.example",
    )
    assert other_site.status_code == 403
    assert ticket_events(desk, number) == before


def test_an_agent_replies_from_the_ticket_page_and_the_requester_reads_it_in_the_portal(desk):
    number = desk.open()["number"]
    agent = signed_in(desk, "ana@desk.example")
    page = agent.get(f"/desk/tickets/{number}")
    sent = agent.send(page, f"/desk/tickets/{number}/reply", message="Restarting the PLC now.")
    assert sent.status_code == 303
    assert "Your reply was sent." not in sent.text  # redirect first, then the page says it
    assert "Restarting the PLC now." in agent.get(f"/desk/tickets/{number}").text
    requester = signed_in(desk, OWN_REQUESTER)
    portal = requester.get(f"/portal/tickets/{number}")
    assert "Restarting the PLC now." in portal.text
    assert ticket_events(desk, number)[-1]["by"] == "ana"


def test_a_form_read_at_an_older_version_shows_the_change_made_meanwhile_and_writes_nothing(
    desk,
):
    number = desk.open()["number"]
    ana, bruno = signed_in(desk, "ana@desk.example"), signed_in(desk, "bruno@desk.example")
    seen_by_ana = ana.get(f"/desk/tickets/{number}")
    seen_by_bruno = bruno.get(f"/desk/tickets/{number}")
    assert bruno.send(seen_by_bruno, f"/desk/tickets/{number}/reply", message="Bruno's").is_redirect
    before = ticket_events(desk, number)
    late = ana.send(seen_by_ana, f"/desk/tickets/{number}/reply", message="Ana's answer")
    assert late.status_code == 412
    assert "Changed meanwhile" in late.text
    assert "Bruno&#39;s" in late.text or "Bruno's" in late.text
    assert ">Ana&#39;s answer</textarea>" in late.text or ">Ana's answer</textarea>" in late.text
    assert ticket_events(desk, number) == before


def test_a_form_sent_twice_is_applied_once(desk):
    number = desk.open()["number"]
    agent = signed_in(desk, "ana@desk.example")
    page = agent.get(f"/desk/tickets/{number}")
    for _ in range(2):
        response = agent.send(
            page, f"/desk/tickets/{number}/comment", form_key="double-click-1", text="Once"
        )
        assert response.status_code == 303
    comments = [e for e in ticket_events(desk, number) if e["type"] == "Ticket.Commented"]
    assert len(comments) == 1


def test_an_invalid_form_keeps_what_was_typed_and_says_which_field(desk):
    number = desk.open()["number"]
    agent = signed_in(desk, "ana@desk.example")
    page = agent.get(f"/desk/tickets/{number}")
    response = agent.send(
        page, f"/desk/tickets/{number}/work", started_at="2026-10-05T09:00", duration_minutes="x"
    )
    assert response.status_code == 422
    assert "duration_minutes" in response.text


def test_a_requester_never_sees_another_customers_ticket_by_link_list_or_number(desk):
    theirs = desk.open(who="other_requester", customer=OTHER)["number"]
    requester = signed_in(desk, OWN_REQUESTER)
    page = requester.get(f"/portal/tickets/{theirs}")
    assert page.status_code == 404
    assert "not yours to see" in page.text
    assert theirs not in requester.get("/portal").text
    assert f"/portal/tickets/{theirs}" not in requester.get("/portal", q=theirs).text
    assert "No ticket of yours matches." in requester.get("/portal", q=theirs).text
    own = desk.open()
    desk.ok(desk.get("agent", "/tickets", after=own["position"]))  # the list holds it now
    assert f"/portal/tickets/{own['number']}" in requester.get("/portal", q=own["number"][-6:]).text
    assert requester.get(f"/desk/tickets/{theirs}").status_code == 403
    reply = requester.send(requester.get("/portal"), f"/portal/tickets/{theirs}/reply", message="x")
    assert reply.status_code == 404
    assert OTHER_REQUESTER not in page.text


def test_a_requester_never_sees_an_internal_comment(desk):
    number = desk.open()["number"]
    desk.ok(desk.post("agent", f"/tickets/{number}/comments", {"text": "Customer's DBA is away"}))
    page = signed_in(desk, OWN_REQUESTER).get(f"/portal/tickets/{number}")
    assert page.status_code == 200
    assert "DBA is away" not in page.text
    assert "internal" not in page.text.lower()


def test_a_requester_opens_a_ticket_in_the_portal_as_themselves(desk):
    requester = signed_in(desk, OWN_REQUESTER)
    form = requester.get("/portal/new")
    opened = requester.send(
        form,
        "/portal/new",
        contract_id=desk.contracts[OWN],
        subject="Printer offline",
        description="The label printer does not answer.",
        kind="incident",
        priority="medium",
    )
    assert opened.status_code == 303, opened.text
    number = opened.headers["location"].split("/")[-1].split("?")[0]
    opening = ticket_events(desk, number)[0]
    assert opening["by"] == OWN_REQUESTER
    assert opening["data"]["requester"] == OWN_REQUESTER and opening["data"]["channel"] == "web"


def test_a_page_error_is_a_sentence_never_json(desk):
    agent = signed_in(desk, "ana@desk.example")
    missing = agent.get("/desk/tickets/2026-999999")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("text/html")
    assert "There is no such ticket" in missing.text
    assert agent.get("/desk/nowhere").headers["content-type"].startswith("text/html")


def test_signing_out_ends_the_session_on_the_server(desk):
    agent = signed_in(desk, "ana@desk.example")
    page = agent.get("/desk")
    cookie = agent.http.cookies["tl_session"]
    assert agent.send(page, "/sign-out").status_code == 303
    stale = Person(desk.base)
    stale.http.cookies.set("tl_session", cookie)
    assert stale.get("/desk").status_code == 303


def test_users_are_created_listed_and_disabled_from_the_command_line(tmp_path):
    url = f"sqlite:///{tmp_path / 'people.db'}"
    runner = CliRunner()
    created = runner.invoke(
        cli,
        [
            "users",
            "create",
            "maria@desk.example",
            "--role",
            "agent",
            "--name",
            "maria",
            "--password-stdin",
            "--database-url",
            url,
        ],
        input="a long enough password\n",
    )
    assert created.exit_code == 0, created.output
    short = runner.invoke(
        cli,
        [
            "users",
            "create",
            "joao@desk.example",
            "--role",
            "agent",
            "--password-stdin",
            "--database-url",
            url,
        ],
        input="short\n",
    )
    assert short.exit_code == 1 and "10 to 200 characters" in short.output
    listed = runner.invoke(cli, ["users", "list", "--database-url", url])
    assert "maria@desk.example" in listed.output and "active" in listed.output
    assert "joao" not in listed.output
    assert (
        runner.invoke(
            cli, ["users", "disable", "maria@desk.example", "--database-url", url]
        ).exit_code
        == 0
    )
    assert "disabled" in runner.invoke(cli, ["users", "list", "--database-url", url]).output


def test_people_are_apart_from_api_keys(desk):
    """A person's password is no API key, and an API key opens no page."""
    assert desk.get(None, "/tickets").status_code == 401
    http = Person(desk.base).http
    page = http.get(
        desk.base + "/desk", headers={"Authorization": f"Bearer {desk.tokens['agent']}"}
    )
    assert page.status_code == 303
    assert isinstance(desk.app_services().people, PeopleStore)


def admitted_roles(dependant: Any) -> set[Role]:
    """The roles an API route's `admit` dependency lets in."""
    found: set[Role] = set()
    for inner in dependant.dependencies:
        if getattr(inner.call, "__name__", None) == "admitted":
            found |= set(inspect.getclosurevars(inner.call).nonlocals["roles"])
        found |= admitted_roles(inner)
    return found


def test_each_form_admits_no_role_its_api_route_refuses():
    """A form calls the route's function directly, past the API's role check:
    the form's own list of roles must be the route's."""
    routes = {r.endpoint: r for r in create_app_routes() if isinstance(r, APIRoute)}
    forms = {**desk_pages.ACTIONS, **portal.ACTIONS}
    for name, action in forms.items():
        route = routes[action.route]
        assert set(action.roles) <= admitted_roles(route.dependant), name
    for name, action in desk_pages.TRIAGE.items():
        if action.route is desk_pages.release:
            route = routes[contracts.release_held]
        else:
            route = routes[action.route]
        assert set(action.roles) <= admitted_roles(route.dependant), name


def create_app_routes() -> list[Any]:
    from ticketledger.api.http.app import api_routes

    return list(api_routes())


def test_a_requester_opens_a_ticket_with_files_that_the_desk_downloads(desk):
    requester = signed_in(desk, OWN_REQUESTER)
    form = requester.get("/portal/new")
    fields = {
        "csrf": form.text.split('name="csrf" value="')[1].split('"')[0],
        "form_key": "with-files-1",
        "contract_id": desk.contracts[OWN],
        "subject": "Label printer photo",
        "description": "See the photo.",
        "kind": "incident",
        "priority": "medium",
    }
    photo = b"\x89PNG\r\n\x1a\n" + b"x" * 2000
    opened = requester.http.post(
        desk.base + "/portal/new",
        data=fields,
        files=[
            ("files", ("printer ção.png", photo, "image/png")),
            ("files", ("notes.txt", b"line 2", "text/plain")),
        ],
    )
    assert opened.status_code == 303, opened.text
    number = opened.headers["location"].split("/")[-1].split("?")[0]
    page = requester.get(f"/portal/tickets/{number}")
    link = page.text.split('href="/portal/tickets/')[1].split('"')[0]
    assert "printer ção.png" in page.text and "notes.txt" in page.text
    download = requester.get(f"/portal/tickets/{link}")
    assert download.status_code == 200 and download.content == photo
    assert download.headers["content-disposition"].startswith("attachment;")
    agent = signed_in(desk, "ana@desk.example")
    sha = link.split("/files/")[1]
    assert agent.get(f"/desk/tickets/{number}/files/{sha}").content == photo
    other = signed_in(desk, OTHER_REQUESTER)
    assert other.get(f"/portal/tickets/{number}/files/{sha}").status_code == 404


def test_a_refusal_speaks_the_signed_in_persons_language(desk):
    people = desk.app_services().people
    people.create(
        "pilar@andino.com.ar",
        PASSWORD,
        Role.REQUESTER,
        customer=OTHER,
        requester="pilar@andino.com.ar",
        language="es",
    )
    pilar = signed_in(desk, "pilar@andino.com.ar")
    refused = pilar.get("/desk")
    assert refused.status_code == 403 and "Su cuenta no puede ver ni hacer esto." in refused.text
    missing = pilar.get("/portal/tickets/2026-999999")
    assert missing.status_code == 404 and "no le corresponde verlo" in missing.text


def test_a_form_posted_after_the_session_ended_returns_to_its_page_after_signing_in(desk):
    number = desk.open()["number"]
    late = Person(desk.base).post(f"/desk/tickets/{number}/reply", {"message": "late"})
    assert late.status_code == 303
    assert late.headers["location"] == f"/sign-in?next=%2Fdesk%2Ftickets%2F{number}"
    fragment = Person(desk.base).get("/desk", part="table", status="open")
    assert fragment.headers["location"] == "/sign-in?next=%2Fdesk"


def test_a_requester_opening_on_another_customers_contract_is_told_there_is_none(desk):
    requester = signed_in(desk, OWN_REQUESTER)
    refused = requester.send(
        requester.get("/portal/new"),
        "/portal/new",
        contract_id=desk.contracts[OTHER],
        subject="Not mine",
        description="x",
        kind="question",
        priority="low",
    )
    assert refused.status_code == 404


def test_a_post_from_the_configured_public_address_is_this_sites(desk):
    services = desk.app_services()
    services.public_url = "https://desk.example.com"
    number = desk.open()["number"]
    agent = signed_in(desk, "ana@desk.example")
    page = agent.get(f"/desk/tickets/{number}")
    sent = agent.http.post(
        f"{desk.base}/desk/tickets/{number}/comment",
        data={"csrf": token_of(page.text), "text": "through the proxy", "form_key": "proxy-1"},
        headers={"Origin": "https://desk.example.com"},
    )
    assert sent.status_code == 303, sent.text


def test_the_portal_lists_the_newest_tickets_first(desk, monkeypatch):
    monkeypatch.setattr(portal, "PORTAL_PAGE", 2)
    opened = [desk.open()["number"] for _ in range(3)]
    last = desk.open()
    desk.ok(desk.get("agent", "/tickets", after=last["position"]))
    listed = signed_in(desk, OWN_REQUESTER).get("/portal").text
    assert f"/portal/tickets/{last['number']}" in listed
    assert f"/portal/tickets/{opened[2]}" in listed
    assert f"/portal/tickets/{opened[0]}" not in listed
