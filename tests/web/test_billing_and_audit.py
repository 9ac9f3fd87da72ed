"""Billing's statements and the auditors' pages, over HTTP on both engines."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal

import pytest

from tests.api_support import OWN, Api
from tests.web_support import Person, create_people, signed_in
from ticketledger.replay.bundle import verify_bundle

MONTH = "2026-09"  # ended at the test clock's 2026-10-05


@pytest.fixture
def desk(api: Api) -> Iterator[Api]:
    api.sign_contracts()
    create_people(api.app_services().people)
    yield api


def statement_page(person: Person, api: Api) -> str:
    page = person.get("/billing", contract=api.contracts[OWN], month=MONTH)
    assert page.status_code == 200, page.text
    return page.text


def rows_of(response_text: str, separator: str) -> list[list[str]]:
    assert response_text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(response_text[1:]), delimiter=separator))


def test_billing_sees_a_months_statement_and_downloads_it_for_a_spreadsheet(desk):
    money = signed_in(desk, "money@desk.example")
    text = statement_page(money, desk)
    assert f"{OWN} · {MONTH}" in text and "Not issued" in text
    download = money.get("/billing/statement.csv", contract=desk.contracts[OWN], month=MONTH)
    assert download.status_code == 200
    assert download.headers["content-disposition"].startswith("attachment; filename=")
    rows = rows_of(download.text, ",")
    assert rows[0] == ["item", "hours", "rate", "amount", "currency"]
    total = next(r for r in rows if r[0] == "total")
    assert Decimal(total[3]) > 0 and total[4] == "BRL"
    for row in rows[1:]:
        for cell in row[1:4]:
            assert cell == "" or Decimal(cell) >= 0  # numbers as numbers, no units
    comma = money.get(
        "/billing/statement.csv", contract=desk.contracts[OWN], month=MONTH, decimal="comma"
    )
    comma_total = next(r for r in rows_of(comma.text, ";") if r[0] == "total")
    assert comma_total[3] == total[3].replace(".", ",")


def test_issuing_a_month_asks_for_confirmation_then_freezes_it(desk):
    money = signed_in(desk, "money@desk.example")
    form = {"contract_id": desk.contracts[OWN], "month": MONTH}
    unconfirmed = money.send(
        money.get("/billing", contract=desk.contracts[OWN], month=MONTH), "/billing/issue", **form
    )
    assert unconfirmed.status_code == 422
    assert "Not issued" in unconfirmed.text
    issued = money.send(
        money.get("/billing", contract=desk.contracts[OWN], month=MONTH),
        "/billing/issue",
        confirm="on",
        **form,
    )
    assert issued.status_code == 303, issued.text
    after = statement_page(money, desk)
    assert "Issued by money" in after and "Issue this month" not in after
    again = money.send(
        money.get("/billing", contract=desk.contracts[OWN], month=MONTH),
        "/billing/issue",
        confirm="on",
        **form,
    )
    assert again.status_code == 409 and "was issued already" in again.text


def test_a_month_not_ended_cannot_be_issued(desk):
    money = signed_in(desk, "money@desk.example")
    refused = money.send(
        money.get("/billing"),
        "/billing/issue",
        contract_id=desk.contracts[OWN],
        month="2026-10",
        confirm="on",
    )
    assert refused.status_code == 409
    assert "not ended" in refused.text


def test_auditors_read_statements_but_issue_nothing_and_the_desk_sees_no_billing(desk):
    auditor = signed_in(desk, "audit@desk.example")
    assert "Issue this month" not in statement_page(auditor, desk)
    refused = auditor.send(
        auditor.get("/billing"),
        "/billing/issue",
        contract_id=desk.contracts[OWN],
        month=MONTH,
        confirm="on",
    )
    assert refused.status_code == 403
    assert signed_in(desk, "ana@desk.example").get("/billing").status_code == 403


def test_the_chronology_page_shows_every_step_as_the_api_replays_it(desk):
    number = desk.open()["number"]
    desk.clock.advance(timedelta(minutes=30))
    desk.ok(desk.post("agent", f"/tickets/{number}/replies", {"message": "On it."}))
    desk.ok(desk.post("agent", f"/tickets/{number}/comments", {"text": "internal note"}))
    auditor = signed_in(desk, "audit@desk.example")
    page = auditor.get(f"/audit/tickets/{number}")
    assert page.status_code == 200
    replayed = desk.ok(desk.get("auditor", f"/tickets/{number}/chronology"))
    for step in replayed["steps"]:
        assert f'<tr id="step-{step["version"]}">' in page.text
        assert step["summary"].replace('"', "&#34;") in page.text
    csv_text = auditor.get(f"/audit/tickets/{number}/chronology.csv").text
    api_csv = desk.http.get(
        f"{desk.base}/tickets/{number}/chronology",
        params={"format": "csv"},
        headers=desk.headers("auditor"),
    ).text
    assert csv_text == api_csv


def test_an_auditor_asks_the_state_as_of_a_version_and_gets_a_sentence_for_a_bad_instant(desk):
    number = desk.open()["number"]
    desk.ok(desk.post("agent", f"/tickets/{number}/replies", {"message": "On it."}))
    auditor = signed_in(desk, "audit@desk.example")
    asked = auditor.get(f"/audit/tickets/{number}", version=1)
    assert "As of version 1: version 1" in asked.text
    bad = auditor.get(f"/audit/tickets/{number}", occurred_by="last tuesday")
    assert bad.status_code == 422
    assert "is not a date and time" in bad.text


def test_the_log_verifies_and_a_ticket_bundle_verifies_offline(desk):
    number = desk.open()["number"]
    auditor = signed_in(desk, "audit@desk.example")
    verified = auditor.get("/audit/verify")
    assert verified.status_code == 200 and "Verified:" in verified.text
    bundle = auditor.get(f"/audit/tickets/{number}/bundle.json")
    assert bundle.headers["content-disposition"] == (f'attachment; filename="bundle-{number}.json"')
    assert verify_bundle(bundle.text).ok
    assert signed_in(desk, "ana@desk.example").get("/audit").status_code == 403


def test_an_auditor_downloads_a_months_bundle_that_verifies_offline(desk):
    desk.open()
    auditor = signed_in(desk, "audit@desk.example")
    assert "statement-bundle.json" in statement_page(auditor, desk)
    bundle = auditor.get("/audit/statement-bundle.json", contract=desk.contracts[OWN], month=MONTH)
    assert bundle.status_code == 200
    assert verify_bundle(bundle.text).ok
    money = signed_in(desk, "money@desk.example")
    assert "statement-bundle.json" not in statement_page(money, desk)
