"""An auditor's bundle: one ticket, or one contract's month, in a self-contained
file that `ticketledger verify --bundle FILE` checks with no database.

The file holds the stored events of every aggregate it needs (complete chains
from version 1), each with its chain link and its inclusion path to a digest of
the whole log; the chronologies and the statement derived from those events;
and a seal over all of it. Verifying recomputes every part: the chains from the
stored bytes, the digest's root from each path, and the chronologies and the
statement by replaying the decoded events through the same code the ledger uses.
The file is canonical JSON, so no byte of it goes unchecked. Whether the digest
is one the auditor trusts is for them to say: compare its root with a kept copy
(`--digests FILE`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any
from uuid import UUID

from ticketledger.domain.contract import Contract
from ticketledger.domain.ticket import Ticket
from ticketledger.replay.chronology import LoggedContract, chronology
from ticketledger.replay.integrity import Digest, LogStore, scan_and_digest
from ticketledger.replay.merkle import Tree, root_from_path
from ticketledger.replay.statements import Positioned, decode, replay_statement
from ticketledger.service.chain import GENESIS, canonical_id, link_hash
from ticketledger.service.ledger import TicketLedger
from ticketledger.service.transcodings import offline_mapper

FORMAT = "ticketledger-bundle/1"


def bundle_text(document: dict[str, Any]) -> str:
    return json.dumps(document, ensure_ascii=False, sort_keys=True, indent=1) + "\n"


def seal_of(document: dict[str, Any]) -> str:
    content = {key: value for key, value in document.items() if key != "seal"}
    return hashlib.sha256(bundle_text(content).encode("utf-8")).hexdigest()


# What a bundle says, derived from its events alone: the exporter and the
# verifier both call this.


def contract_of(events: Sequence[Positioned], contract_id: str) -> LoggedContract:
    """The contract's events in the bundle, folded up to each version as asked:
    a ticket's events are read under the contract logged before them."""
    own = sorted(
        ((e.originator_version, p, e) for p, e in events if str(e.originator_id) == contract_id),
        key=lambda row: row[0],
    )
    if not own or not isinstance(own[0][2], Contract.Signed):
        raise ValueError(f"the bundle holds no events of contract {contract_id}")

    @cache
    def at_version(version: int) -> Contract:
        contract: Any = None
        for _, _, event in own[:version]:
            contract = event.mutate(contract)
        assert isinstance(contract, Contract)
        return contract

    return LoggedContract(tuple(p for _, p, _ in own), at_version)


def chronology_of(events: Sequence[Positioned], ticket_id: str) -> dict[str, Any]:
    own = [(p, e) for p, e in events if str(e.originator_id) == ticket_id]
    if not own or not isinstance(own[0][1], Ticket.Opened):
        raise ValueError(f"the bundle holds no opening of ticket {ticket_id}")
    contract = contract_of(events, str(own[0][1].contract_id))
    positions = {e.originator_version: p for p, e in own}
    return chronology([e for _, e in own], contract, positions=positions).to_json()


def derived(events: Sequence[Positioned], subject: dict[str, Any]) -> dict[str, Any]:
    if "ticket" in subject:
        ticket_id = next(
            str(e.originator_id)
            for _, e in events
            if isinstance(e, Ticket.Opened) and e.number == subject["ticket"]
        )
        return {"chronologies": [chronology_of(events, ticket_id)], "statement": None}
    contract_id, month = subject["contract_id"], subject["month"]
    replay = replay_statement(list(events), contract_id, month)
    return {
        "chronologies": [chronology_of(events, t) for t in replay.tickets],
        "statement": replay.to_json(),
    }


# Exporting.


def collect(
    ledger: TicketLedger, aggregates: frozenset[str], by: str, at: datetime
) -> tuple[Digest, list[dict[str, Any]]]:
    """A digest over the log as it stands, and the wanted aggregates' stored
    events up to it, each with its link and inclusion path."""
    digest, state = scan_and_digest(LogStore(ledger), by, at, wanted=aggregates)
    assert state.leaves is not None
    tree = Tree(state.leaves)
    rows = [
        {
            "position": event.id,
            "originator_id": canonical_id(event.originator_id),
            "version": event.originator_version,
            "topic": event.topic,
            "state": event.state.decode("utf-8"),
            "link": link,
            "leaf_index": index,
            "path": tree.path(index),
        }
        for event, index, link in state.collected
    ]
    return digest, rows


def export(
    ledger: TicketLedger, aggregates: frozenset[str], subject: dict[str, Any], by: str
) -> str:
    digest, rows = collect(ledger, aggregates, by, ledger.clock())
    events = decode(offline_mapper(), rows)
    document = {
        "format": FORMAT,
        "subject": subject,
        "digest": digest.to_json(),
        "events": rows,
        **derived(events, subject),
    }
    return bundle_text({**document, "seal": seal_of(document)})


def export_ticket(ledger: TicketLedger, number: str, by: str) -> str:
    ticket = ledger.ticket(number)
    aggregates = frozenset({str(ticket.id), str(ticket.state.contract_id)})
    return export(ledger, aggregates, {"ticket": ticket.state.number}, by)


def tickets_of(ledger: TicketLedger, contract_id: UUID) -> set[str]:
    """Every ticket opened under the contract, read from the log's openings."""
    found = set()
    for notification in LogStore(ledger).events(topics=[Ticket.Opened.TOPIC]):
        opened: Any = ledger.mapper.to_domain_event(notification)
        if opened.contract_id == contract_id:
            found.add(str(opened.originator_id))
    return found


def export_statement(ledger: TicketLedger, contract_id: UUID, month: str, by: str) -> str:
    contract = ledger.contract(contract_id)
    aggregates = frozenset({str(contract_id), *tickets_of(ledger, contract_id)})
    subject = {"contract_id": str(contract_id), "customer": contract.state.customer, "month": month}
    return export(ledger, aggregates, subject, by)


# Verifying, offline.


@dataclass
class BundleReport:
    findings: list[str] = field(default_factory=list)
    subject: dict[str, Any] = field(default_factory=dict)
    digest: Digest | None = None
    events: int = 0

    @property
    def ok(self) -> bool:
        return not self.findings


def check_chains(rows: Sequence[dict[str, Any]], report: BundleReport) -> None:
    heads: dict[str, tuple[int, str]] = {}
    previous_position = 0
    for row in rows:
        key, version, position = row["originator_id"], row["version"], row["position"]
        if position <= previous_position:
            report.findings.append(f"position {position}: events are out of log order")
        last_version, prior = heads.get(key, (0, GENESIS))
        if version != last_version + 1:
            report.findings.append(
                f"position {position}: {key} version {version} follows version {last_version}"
            )
        state = str(row["state"]).encode("utf-8")
        link = link_hash(prior, position, key, version, row["topic"], state)
        if link != row["link"]:
            report.findings.append(
                f"position {position}: {key} version {version} does not match its chain link"
            )
        heads[key], previous_position = (version, link), position


def check_paths(rows: Sequence[dict[str, Any]], digest: Digest, report: BundleReport) -> None:
    for row in rows:
        root = root_from_path(row["link"], row["leaf_index"], digest.leaves, row["path"])
        if root != digest.root or row["position"] > digest.position:
            report.findings.append(
                f"position {row['position']}: {row['originator_id']} version {row['version']} "
                f"is not in the log the digest at position {digest.position} covers"
            )


def check_derived(document: dict[str, Any], report: BundleReport) -> None:
    events = decode(offline_mapper(), document["events"])
    recomputed = derived(events, document["subject"])
    for part, value in recomputed.items():
        if document.get(part) != value:
            report.findings.append(f"{part}: not what the events give when replayed")
    statement = recomputed["statement"]
    if statement and statement["issued"] and statement["issued"]["digest"] != statement["sha256"]:
        report.findings.append("the recomputed statement differs from the one issued")


def verify_bundle(text: str) -> BundleReport:
    report = BundleReport()
    try:
        document = json.loads(text)
        report.subject, report.events = document["subject"], len(document["events"])
        report.digest = Digest.from_json(document["digest"])
    except (ValueError, KeyError, TypeError) as error:
        report.findings.append(f"not a ticketledger bundle: {error}")
        return report
    if document.get("format") != FORMAT or bundle_text(document) != text:
        report.findings.append(f"not a canonical {FORMAT} file: it was edited after export")
    if document.get("seal") != seal_of(document):
        report.findings.append("the seal does not match the contents")
    try:
        check_chains(document["events"], report)
        check_paths(document["events"], report.digest, report)
        check_derived(document, report)
    except Exception as error:  # an edited file must fail verification, never crash it
        report.findings.append(f"the events do not check: {type(error).__name__}: {error}")
    return report
