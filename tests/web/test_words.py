"""What a requester reads is in their language: every sentence of the portal's
pages, of the sign-in pages and of the problems they may meet has its
Portuguese and its Spanish."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ticketledger.api.web import render, ticket_page
from ticketledger.api.web.catalog import CATALOG
from ticketledger.api.web.words import Words
from ticketledger.domain.vocabulary import Kind, Priority, Status

TEMPLATES = Path(render.HERE) / "templates"
REQUESTER_PAGES = (
    "base.html",
    "sign_in.html",
    "sign_in_link.html",
    "sign_in_with_link.html",
    "error.html",
    "ticket_base.html",
    "portal_list.html",
    "portal_new.html",
    "portal_ticket.html",
    "_thread.html",
    "_history.html",
    "_ticket_side.html",
    "_notice.html",
)
SAID = re.compile(r"""_\((["'])(.+?)\1""")
LABELLED = re.compile(r"""f\.(?:command|line|textarea|choice)\([^)]*?["']([A-Z][^"']+)["']""")
SHOWN_TO_REQUESTERS = (
    "reply",
    "opened",
    "accept",
    "reject",
    "rate",
)
PROBLEMS = (
    "version_mismatch",
    "form_expired",
    "forbidden_for_role",
    "ticket_not_found",
    "not_found",
    "malformed_form",
    "invalid_form",
    "database_unavailable",
    "kept_changing",
    "server_error",
    "link_used",
    "body_too_large",
)


def sentences() -> set[str]:
    found: set[str] = set()
    for name in REQUESTER_PAGES:
        text = (TEMPLATES / name).read_text("utf-8")
        found |= {m.group(2) for m in SAID.finditer(text)}
        found |= {m.group(1) for m in LABELLED.finditer(text)}
    found |= {render.DONE[a] for a in SHOWN_TO_REQUESTERS}
    found |= set(ticket_page.STEP_WORDS.values())
    found |= {render.SENTENCES[code] for code in PROBLEMS}
    words = Words("en")
    found |= {words.label(v) for v in (*Status, *Kind, *Priority)}
    found |= {words.label(v) for v in ("met", "breached", "at_risk", "on_track", "paused")}
    return found


@pytest.mark.parametrize("language", ["pt-BR", "es"])
def test_every_sentence_a_requester_reads_has_its_translation(language: str) -> None:
    missing = sorted(s for s in sentences() if s not in CATALOG[language])
    assert missing == []


def test_a_translation_names_the_same_values_as_its_english() -> None:
    for language, said in CATALOG.items():
        for english, translated in said.items():
            named = set(re.findall(r"\{(\w+)\}", english))
            assert set(re.findall(r"\{(\w+)\}", translated)) == named, (language, english)


def test_every_step_of_a_tickets_history_has_words_for_its_requester() -> None:
    from ticketledger.domain.ticket import Ticket

    events = {
        f"Ticket.{name}"
        for name, value in vars(Ticket).items()
        if isinstance(value, type) and str(getattr(value, "TOPIC", "")).startswith("ticketledger:")
    }
    assert events - {"Ticket.Created", "Ticket.Event"} <= set(ticket_page.STEP_WORDS)
    assert len(events) > 20
