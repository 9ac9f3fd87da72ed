"""The desk and the portal in a real browser, over the demo ledger."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.conftest import People, shot

SERRA = "Móveis Serra Gaúcha"
SERRA_REQUESTER = "compras@moveisserra.com.br"
ANDINO_REQUESTER = "soporte@andino.com.ar"


def first_ticket_of(page: Page, customer: str) -> str:
    """Filters the queue to one customer and opens its first ticket."""
    page.get_by_label("Customer").select_option(customer)
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url(re.compile(r"customer="))
    link = page.locator("table.queue tbody a").first
    number = link.inner_text()
    link.click()
    page.wait_for_url(f"**/desk/tickets/{number}")
    return number


def test_an_agent_replies_from_the_queue_and_the_requester_reads_it_in_the_portal(
    people: People,
):
    agent = people.signed_in("diego.pereira@desk.example")
    expect(agent.get_by_role("heading", name="Queue")).to_be_visible()
    expect(agent.locator("table.queue tbody tr").first).to_be_visible()
    shot(agent, "desk-queue")
    number = first_ticket_of(agent, SERRA)
    expect(agent.get_by_role("heading", level=1)).to_contain_text(number)
    shot(agent, "desk-ticket")
    agent.get_by_label("Message").fill("We restarted the label service; please try again.")
    agent.get_by_role("button", name="Reply to the requester").click()
    expect(agent.get_by_role("status")).to_have_text("Your reply was sent.")
    requester = people.signed_in(SERRA_REQUESTER, language="pt-BR")
    expect(requester.get_by_role("heading", level=1)).to_contain_text(SERRA)
    shot(requester, "portal-list")
    requester.goto(f"/portal/tickets/{number}")
    expect(requester.locator(".thread")).to_contain_text("We restarted the label service")
    shot(requester, "portal-ticket")


def test_two_agents_on_one_ticket_the_second_is_shown_the_change_made_meanwhile(
    people: People,
):
    diego = people.signed_in("diego.pereira@desk.example")
    number = first_ticket_of(diego, SERRA)
    admin = people.signed_in("admin@desk.example")
    admin.goto(f"/desk/tickets/{number}")
    diego.get_by_label("Message").fill("Diego's answer")
    diego.get_by_role("button", name="Reply to the requester").click()
    expect(diego.get_by_role("status")).to_have_text("Your reply was sent.")
    admin.get_by_label("Message").fill("Admin's answer, written at the same time")
    admin.get_by_role("button", name="Reply to the requester").click()
    expect(admin.locator(".changed")).to_contain_text("Changed meanwhile")
    expect(admin.locator(".thread")).to_contain_text("Diego's answer")
    expect(admin.get_by_label("Message")).to_have_value("Admin's answer, written at the same time")
    shot(admin, "desk-changed-meanwhile")


def test_a_requester_never_sees_another_customers_ticket_nor_an_internal_comment(
    people: People,
):
    agent = people.signed_in("diego.pereira@desk.example")
    theirs = first_ticket_of(agent, SERRA)
    agent.locator("#do-comment summary").click()
    agent.get_by_label("Comment", exact=True).fill("Internal: the customer's DBA is on leave")
    agent.get_by_role("button", name="Comment").click()
    expect(agent.locator(".thread")).to_contain_text("DBA is on leave")
    andino = people.signed_in(ANDINO_REQUESTER, language="es")
    andino.goto(f"/portal/tickets/{theirs}")
    expect(andino.get_by_role("alert")).to_contain_text("no le corresponde verlo")
    expect(andino.locator("body")).not_to_contain_text(SERRA_REQUESTER)
    andino.goto("/portal")
    expect(andino.locator("body")).not_to_contain_text(theirs)
    shot(andino, "portal-list-es")
    serra = people.signed_in(SERRA_REQUESTER, language="pt-BR")
    serra.goto(f"/portal/tickets/{theirs}")
    expect(serra.locator(".thread")).to_be_visible()
    expect(serra.locator("body")).not_to_contain_text("DBA is on leave")


def test_a_post_without_the_form_token_is_refused(people: People):
    agent = people.signed_in("diego.pereira@desk.example")
    number = first_ticket_of(agent, SERRA)
    refused = agent.request.post(
        f"/desk/tickets/{number}/reply", form={"message": "forged", "version": "1"}
    )
    assert refused.status == 403
    agent.reload()
    expect(agent.locator(".thread")).not_to_contain_text("forged")


def test_the_queue_reads_on_a_phone_and_signing_out_ends_the_visit(people: People):
    agent = people.signed_in("carla.souza@desk.example", phone=True, language="pt-BR")
    expect(agent.get_by_role("heading", name="Fila", exact=True)).to_be_visible()
    shot(agent, "desk-queue-phone")
    agent.get_by_role("button", name="Sair").click()
    agent.wait_for_url("**/sign-in")
    agent.goto("/desk")
    expect(agent).to_have_url(re.compile(r"/sign-in\?next="))
