"""One handler per command: get what the command is about, let the aggregates
decide, and hand the ledger what to save (`TicketLedger.run`, `on_ticket`,
`on_contract`). Handlers hold no rules of their own; where a decision needs
two aggregates, each decides its part.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import uuid4

from eventsourcing.domain import Aggregate

from ticketledger.domain import sla
from ticketledger.domain.contract import Contract
from ticketledger.domain.coverage import split_work
from ticketledger.domain.numbering import TicketNumbering
from ticketledger.domain.ticket import Ticket
from ticketledger.domain.triage import HeldRequest
from ticketledger.service import commands as c
from ticketledger.service.outcomes import CommandResult, Decision

if TYPE_CHECKING:
    from ticketledger.service.ledger import TicketLedger

Handler = Callable[["TicketLedger", Any], CommandResult]
COMMAND_HANDLERS: dict[type[c.Command], Handler] = {}
NOTHING_ELSE: tuple[Aggregate, ...] = ()


def handles(command: type[c.Command]) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        COMMAND_HANDLERS[command] = handler
        return handler

    return register


# Contracts.


@handles(c.SignContract)
def sign_contract(ledger: TicketLedger, cmd: c.SignContract) -> CommandResult:
    terms = ledger.validate_terms(cmd.terms)

    def decide() -> Decision:
        contract = Contract.sign(terms, cmd.by, ledger.now(cmd.occurred_at))
        return Decision(contract, (contract,))

    return ledger.run(decide)


def on_contract(act: Callable[[Contract, Any, datetime], None]) -> Handler:
    """A handler for a command on one contract, at the command's instant."""

    def handler(ledger: TicketLedger, cmd: Any) -> CommandResult:
        return ledger.on_contract(
            cmd.contract_id, cmd.expected_version, cmd.occurred_at, lambda k, at: act(k, cmd, at)
        )

    return handler


handles(c.AuthoriseRequester)(
    on_contract(lambda k, cmd, at: k.authorise_requester(cmd.requester, cmd.by, at))
)
handles(c.RevokeRequester)(
    on_contract(lambda k, cmd, at: k.revoke_requester(cmd.requester, cmd.reason, cmd.by, at))
)
handles(c.SuspendContract)(on_contract(lambda k, cmd, at: k.suspend(cmd.reason, cmd.by, at)))
handles(c.ReinstateContract)(on_contract(lambda k, cmd, at: k.reinstate(cmd.reason, cmd.by, at)))
handles(c.EndContract)(on_contract(lambda k, cmd, at: k.end(cmd.reason, cmd.by, at)))


@handles(c.ChangePlan)
def change_plan(ledger: TicketLedger, cmd: c.ChangePlan) -> CommandResult:
    terms = ledger.validate_terms(cmd.terms)
    return ledger.on_contract(
        cmd.contract_id,
        cmd.expected_version,
        cmd.occurred_at,
        lambda k, at: k.change_plan(terms, cmd.effective_on, cmd.reason, cmd.by, at),
    )


@handles(c.IssueStatement)
def issue_statement(ledger: TicketLedger, cmd: c.IssueStatement) -> CommandResult:
    return ledger.on_contract(
        cmd.contract_id,
        cmd.expected_version,
        cmd.occurred_at,
        lambda k, at: k.issue_statement(
            month=cmd.month,
            through_position=cmd.through_position,
            total=cmd.total,
            currency=cmd.currency,
            digest=cmd.digest,
            by=cmd.by,
            occurred_at=at,
        ),
    )


# Opening tickets, and requests held for triage.


@handles(c.OpenTicket)
def open_ticket(ledger: TicketLedger, cmd: c.OpenTicket) -> CommandResult:
    """An authorised requester's ticket opens; anyone else's is held."""
    by = cmd.by or cmd.requester

    def decide() -> Decision:
        # Read, then "now": nothing read was written after the opening's instant.
        contract = ledger.contract(cmd.contract_id)
        numbering, at = numbering_then_now(ledger, cmd.occurred_at, by)
        contract.check_serves(at)
        if contract.state.is_authorised(cmd.requester):
            ticket = opened(contract, request_of(cmd), by, at, numbering)
            return Decision(ticket, (numbering, ticket), number=ticket.state.number)
        held = HeldRequest.hold(
            contract_id=cmd.contract_id,
            reason=f"{cmd.requester} is not authorised by {contract.state.customer}",
            by=by,
            occurred_at=at,
            **request_of(cmd),
        )
        return Decision(held, (held,), held=True)

    return ledger.run(decide, issues_number=True)


@handles(c.HoldForTriage)
def hold_for_triage(ledger: TicketLedger, cmd: c.HoldForTriage) -> CommandResult:
    def decide() -> Decision:
        held = HeldRequest.hold(
            contract_id=None,
            reason=cmd.reason,
            by=cmd.by or cmd.requester,
            occurred_at=ledger.now(cmd.occurred_at),
            **request_of(cmd),
        )
        return Decision(held, (held,), held=True)

    return ledger.run(decide)


def request_of(request: c.OpenTicket | c.HoldForTriage | HeldRequest) -> dict[str, Any]:
    return dict(
        requester=request.requester,
        channel=request.channel,
        kind=request.kind,
        priority=request.priority,
        subject=request.subject,
        description=request.description,
        attachments=tuple(request.attachments),
    )


def numbering_then_now(
    ledger: TicketLedger, occurred_at: datetime | None, by: str
) -> tuple[TicketNumbering, datetime]:
    """The numbering of the year (UTC) the ledger records the opening in, started
    with the year's first ticket, and the opening's instant, taken after it."""
    year, numbering, at = ledger.numbering_then_now(occurred_at)
    return numbering or TicketNumbering.start(year, by, at), at


def opened(
    contract: Contract, request: dict[str, Any], by: str, at: datetime, numbering: TicketNumbering
) -> Ticket:
    """The ticket, numbered by `numbering`."""
    contract.check_warranty(request["kind"], at)
    sla.check_clocks_can_run(contract.state.terms_at(at), request["priority"], at)
    number, ticket_id = numbering.issue(by, at)
    ticket = Ticket.open(
        ticket_id=ticket_id,
        number=number,
        contract_id=contract.id,
        customer=contract.state.customer,
        by=by,
        occurred_at=at,
        **request,
    )
    return ticket


@handles(c.ReleaseHeldRequest)
def release_held_request(ledger: TicketLedger, cmd: c.ReleaseHeldRequest) -> CommandResult:
    """Opens the held request once its sender has been authorised."""

    def decide() -> Decision:
        held = ledger.held_request(cmd.held_id)
        ledger.check_version(held, cmd.expected_version)
        held.check_undecided()
        contract = ledger.contract(held.contract_to_open_on(cmd.contract_id))
        numbering, at = numbering_then_now(ledger, cmd.occurred_at, cmd.by)
        contract.check_serves(at)
        contract.check_authorised(held.requester)
        ticket = opened(contract, request_of(held), cmd.by, at, numbering)
        held.release(ticket.id, ticket.state.number, cmd.by, at)
        return Decision(ticket, (numbering, ticket, held), number=ticket.state.number)

    return ledger.run(decide, issues_number=True)


@handles(c.DiscardHeldRequest)
def discard_held_request(ledger: TicketLedger, cmd: c.DiscardHeldRequest) -> CommandResult:
    def decide() -> Decision:
        held = ledger.held_request(cmd.held_id)
        ledger.check_version(held, cmd.expected_version)
        held.discard(cmd.reason, cmd.by, ledger.now(cmd.occurred_at))
        return Decision(held, (held,), held=True)

    return ledger.run(decide)


# Commands on a ticket.

TicketAct = Callable[["TicketLedger", Ticket, Any, datetime], tuple[Aggregate, ...] | None]


def on_ticket(act: TicketAct) -> Handler:
    """A handler for a command on one ticket, run after the rules due by then."""

    def handler(ledger: TicketLedger, cmd: Any) -> CommandResult:
        def acted(ticket: Ticket, at: datetime) -> tuple[Aggregate, ...]:
            return act(ledger, ticket, cmd, at) or NOTHING_ELSE

        return ledger.on_ticket(cmd.ticket, cmd.expected_version, cmd.occurred_at, acted)

    return handler


def ticket_command(command: type[c.TicketCommand]) -> Callable[[TicketAct], TicketAct]:
    def register(act: TicketAct) -> TicketAct:
        COMMAND_HANDLERS[command] = on_ticket(act)
        return act

    return register


@ticket_command(c.Reclassify)
def reclassify(ledger: TicketLedger, t: Ticket, cmd: c.Reclassify, at: datetime) -> None:
    if cmd.kind is not None:
        ledger.contract_of(t).check_warranty(cmd.kind, t.state.opened_at)
    t.reclassify(
        kind=cmd.kind,
        priority=cmd.priority,
        level=cmd.level,
        reason=cmd.reason,
        by=cmd.by,
        occurred_at=at,
    )


@ticket_command(c.Assign)
def assign(ledger: TicketLedger, t: Ticket, cmd: c.Assign, at: datetime) -> None:
    t.assign(cmd.assignee, cmd.by, at)


@ticket_command(c.Escalate)
def escalate(ledger: TicketLedger, t: Ticket, cmd: c.Escalate, at: datetime) -> None:
    t.escalate(cmd.reason, cmd.by, at)


@ticket_command(c.ReplyAsAgent)
def reply_as_agent(ledger: TicketLedger, t: Ticket, cmd: c.ReplyAsAgent, at: datetime) -> None:
    t.reply_as_agent(cmd.message, cmd.by, at)


@ticket_command(c.ReplyAsRequester)
def reply_as_requester(
    ledger: TicketLedger, t: Ticket, cmd: c.ReplyAsRequester, at: datetime
) -> None:
    t.reply_as_requester(cmd.message, cmd.by, at, cmd.attachments)


@ticket_command(c.Comment)
def comment(ledger: TicketLedger, t: Ticket, cmd: c.Comment, at: datetime) -> None:
    t.comment(cmd.text, cmd.visibility, cmd.by, at)


@ticket_command(c.WaitOnCustomer)
def wait_on_customer(ledger: TicketLedger, t: Ticket, cmd: c.WaitOnCustomer, at: datetime) -> None:
    t.wait_on_customer(cmd.reason, cmd.by, at)


@ticket_command(c.WaitOnThirdParty)
def wait_on_third_party(
    ledger: TicketLedger, t: Ticket, cmd: c.WaitOnThirdParty, at: datetime
) -> None:
    t.wait_on_third_party(cmd.third_party, cmd.reason, cmd.by, at)


@ticket_command(c.Resume)
def resume(ledger: TicketLedger, t: Ticket, cmd: c.Resume, at: datetime) -> None:
    t.resume(cmd.reason, cmd.by, at)


@ticket_command(c.RecordFailedContact)
def record_failed_contact(
    ledger: TicketLedger, t: Ticket, cmd: c.RecordFailedContact, at: datetime
) -> None:
    t.record_failed_contact(cmd.channel, cmd.note, cmd.by, at)


@ticket_command(c.LogWork)
def log_work(ledger: TicketLedger, t: Ticket, cmd: c.LogWork, at: datetime) -> None:
    contract = ledger.contract_of(t)
    contract.check_serves(cmd.started_at)
    terms = contract.state.terms_at(cmd.started_at)
    t.log_work(
        entry_id=cmd.entry_id or uuid4(),
        agent=cmd.agent,
        started_at=cmd.started_at,
        duration=cmd.duration,
        category=cmd.category,
        customer_caused=cmd.customer_caused,
        split=split_work(terms, t.state.priority, cmd.started_at, cmd.duration),
        note=cmd.note,
        by=cmd.by or cmd.agent,
        occurred_at=at,
    )


@ticket_command(c.CorrectWork)
def correct_work(ledger: TicketLedger, t: Ticket, cmd: c.CorrectWork, at: datetime) -> None:
    entry = t.entry(cmd.entry_id)
    terms = ledger.contract_of(t).state.terms_at(entry.started_at)
    caused = entry.customer_caused if cmd.customer_caused is None else cmd.customer_caused
    t.correct_work(
        entry_id=cmd.entry_id,
        duration=cmd.duration,
        category=cmd.category or entry.category,
        customer_caused=caused,
        # Priced at the priority the work was done under, not today's.
        split=split_work(terms, entry.priority, entry.started_at, cmd.duration),
        reason=cmd.reason,
        by=cmd.by,
        occurred_at=at,
    )


@ticket_command(c.AuthoriseOffHoursWork)
def authorise_off_hours_work(
    ledger: TicketLedger, t: Ticket, cmd: c.AuthoriseOffHoursWork, at: datetime
) -> tuple[Aggregate, ...]:
    """The customer's go-ahead for off-hours work; the contract says whether it
    spends its one off-hours exception (seed 003)."""
    t.check_not_final()
    contract = ledger.contract_of(t)
    as_exception = contract.allow_off_hours(t.id, t.state.number, cmd.by, at)
    t.authorise_off_hours_work(
        authorisation_id=uuid4(),
        authorised_by=cmd.authorised_by,
        note=cmd.note,
        as_exception=as_exception,
        by=cmd.by,
        occurred_at=at,
    )
    return (contract,)


@ticket_command(c.ResolveTicket)
def resolve_ticket(ledger: TicketLedger, t: Ticket, cmd: c.ResolveTicket, at: datetime) -> None:
    t.resolve(cmd.resolution, cmd.by, at)


@ticket_command(c.AcceptResolution)
def accept_resolution(
    ledger: TicketLedger, t: Ticket, cmd: c.AcceptResolution, at: datetime
) -> None:
    t.accept(cmd.comment, cmd.by, at)


@ticket_command(c.RejectResolution)
def reject_resolution(
    ledger: TicketLedger, t: Ticket, cmd: c.RejectResolution, at: datetime
) -> None:
    ledger.contract_of(t).check_serves(at)
    t.reject(cmd.reason, cmd.by, at)


@ticket_command(c.ReopenTicket)
def reopen_ticket(ledger: TicketLedger, t: Ticket, cmd: c.ReopenTicket, at: datetime) -> None:
    ledger.contract_of(t).check_serves(at)
    t.reopen_ticket(cmd.reason, cmd.by, at)


@ticket_command(c.CloseTicket)
def close_ticket(ledger: TicketLedger, t: Ticket, cmd: c.CloseTicket, at: datetime) -> None:
    t.close(cmd.reason, ledger.governing_terms(t).closure, cmd.note, cmd.by, at)


@ticket_command(c.CancelTicket)
def cancel_ticket(ledger: TicketLedger, t: Ticket, cmd: c.CancelTicket, at: datetime) -> None:
    original = None if cmd.duplicate_of is None else ledger.ticket(cmd.duplicate_of)
    t.cancel(cmd.reason, original, cmd.note, cmd.by, at)


@ticket_command(c.RateTicket)
def rate_ticket(ledger: TicketLedger, t: Ticket, cmd: c.RateTicket, at: datetime) -> None:
    t.rate(cmd.score, cmd.comment, cmd.by, at)


@ticket_command(c.LinkTickets)
def link_tickets(ledger: TicketLedger, t: Ticket, cmd: c.LinkTickets, at: datetime) -> None:
    t.link(ledger.ticket(cmd.other), cmd.link_kind, cmd.by, at)


@ticket_command(c.RecordNoticeMailed)
def record_notice_mailed(
    ledger: TicketLedger, t: Ticket, cmd: c.RecordNoticeMailed, at: datetime
) -> None:
    t.record_notice_mailed(
        notice=cmd.notice,
        about_version=cmd.about_version,
        recipient=cmd.recipient,
        message_id=cmd.message_id,
        by=cmd.by,
        occurred_at=at,
    )
