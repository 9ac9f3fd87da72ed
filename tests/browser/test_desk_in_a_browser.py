"""The desk and the portal in a real browser, over the demo ledger."""

from __future__ import annotations

import csv
import io
import json
import re
from decimal import Decimal
from pathlib import Path

from playwright.sync_api import Page, expect
from typer.testing import CliRunner

from tests.browser.conftest import People, Site, shot
from ticketledger.api.cli.main import app as cli

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


def test_triage_releases_one_request_and_discards_another(people: People):
    admin = people.signed_in("admin@desk.example")
    admin.get_by_role("link", name="Triage").click()
    admin.wait_for_url("**/desk/triage")
    held = admin.locator("ol.held > li")
    expect(held.first).to_be_visible()
    shot(admin, "desk-triage")
    first = held.first
    sender = first.locator(".meta strong").inner_text()
    first.get_by_label("Authorise the sender on the contract first").check()
    first.get_by_role("button", name="Release as a ticket").click()
    expect(admin.get_by_role("status")).to_contain_text("Released")
    admin.goto("/desk/triage?state=released")
    released = admin.locator("ol.held > li", has_text=sender)
    expect(released.locator(".done")).to_contain_text("Released as")
    admin.goto("/desk/triage?state=held")
    before = admin.locator("ol.held > li.message").count()
    assert before >= 1, "the demo keeps more than one request held"
    other = admin.locator("ol.held > li").first
    other.get_by_label("Reason to discard").fill("not one of the customer's people")
    other.get_by_role("button", name="Discard").click()
    expect(admin.get_by_role("status")).to_contain_text("Discarded")
    assert admin.locator("ol.held > li.message").count() == before - 1


def test_a_statement_downloads_as_csv_and_parses(people: People, tmp_path: Path):
    money = people.signed_in("billing@desk.example")
    expect(money.get_by_role("heading", name="Statements")).to_be_visible()
    andino = money.locator("#b-contract option", has_text="Contact Center Andino")
    money.get_by_label("Contract").select_option(andino.get_attribute("value"))
    money.get_by_role("button", name="Show").click()
    expect(money.locator("table.statement")).to_be_visible()
    shot(money, "billing-statement")
    with money.expect_download() as caught:
        money.get_by_role("link", name="statement, decimal comma (CSV)").click()
    saved = tmp_path / caught.value.suggested_filename
    caught.value.save_as(saved)
    rows = list(csv.reader(io.StringIO(saved.read_text("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["item", "hours", "rate", "amount", "currency"]
    total = next(r for r in rows if r[0] == "total")
    assert Decimal(total[3].replace(",", ".")) > 0 and total[4] == "ARS"


def test_the_chronology_page_of_a_demo_ticket_matches_ticketledger_replay(
    people: People, site: Site
):
    # The ticket the demo's summary suggests trying.
    found = re.search(r"Try: ticketledger show (\d{4}-\d{6})", site.demo_output)
    assert found, site.demo_output
    number = found.group(1)
    auditor = people.signed_in("auditor@desk.example")
    auditor.get_by_label("Ticket number").fill(number)
    auditor.get_by_role("button", name="Open its chronology").click()
    auditor.wait_for_url(f"**/audit/tickets/{number}")
    shot(auditor, "audit-chronology")
    replayed = CliRunner().invoke(
        cli, ["replay", number, "--format", "json", "--database-url", site.database_url]
    )
    assert replayed.exit_code == 0, replayed.output
    steps = json.loads(replayed.output)["steps"]
    rows = auditor.locator("table.chronology tbody tr")
    expect(rows).to_have_count(len(steps))
    for row, step in zip(rows.all(), steps, strict=True):
        cells = row.locator("td")
        assert cells.nth(0).inner_text() == str(step["version"])
        assert cells.nth(4).inner_text() == step["by"]
        assert cells.nth(5).inner_text() == step["event"]
        assert row.locator(".summary").inner_text() == step["summary"]
        changes = row.locator(".changes li").all_inner_texts()
        assert changes == [
            f"{c['field']}: {shown(c['before'])} -> {shown(c['after'])}" for c in step["changes"]
        ]


def shown(value: object) -> str:
    return "-" if value is None else str(value)


def test_a_person_signs_in_and_replies_with_the_keyboard_alone(people: People, site: Site):
    context = people.browser.new_context(base_url=site.base, locale="en-GB")
    people.contexts.append(context)
    page = context.new_page()
    page.goto("/sign-in")
    expect(page.locator("#login")).to_be_focused()  # autofocus: typing starts at once
    page.keyboard.type("diego.pereira@desk.example")
    page.keyboard.press("Tab")
    page.keyboard.type("ticketledger-demo")
    page.keyboard.press("Enter")
    page.wait_for_url("**/desk")
    page.locator("table.queue tbody a").first.focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**/desk/tickets/*")
    page.locator("#reply-message").focus()
    page.keyboard.type("Typed without a mouse.")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_have_text("Your reply was sent.")
    expect(page.locator(".thread")).to_contain_text("Typed without a mouse.")


def test_a_ticket_prints_without_its_forms_and_menus(people: People):
    agent = people.signed_in("diego.pereira@desk.example")
    first_ticket_of(agent, SERRA)
    agent.emulate_media(media="print")
    expect(agent.locator(".commands")).to_be_hidden()
    expect(agent.locator("header.top")).to_be_hidden()
    expect(agent.locator(".thread")).to_be_visible()
    shot(agent, "desk-ticket-print")
