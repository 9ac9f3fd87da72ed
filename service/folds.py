"""Tickets folded on from where the ledger last read them.

A command needs the ticket as all its stored events leave it, and what the
time-driven rules know of it (its watch). Folding the whole history for every
command makes a reply on a ticket of a thousand events a hundred times dearer
than on one of ten; instead, the ledger keeps the fold of each ticket it read
recently, at the version it read, and reads only the events stored since (by
any process: the log is the truth, the fold only where to continue from)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from copy import deepcopy
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.application import LRUCache, project_aggregate

from ticketledger.domain.deadlines import Watch, watch_of
from ticketledger.domain.terms import ContractTerms
from ticketledger.domain.ticket import Ticket

# About 5.6 KiB each: a desk process working on more tickets than this in
# rotation folds the least recent from their whole history again.
TICKETS_FOLDED = 512

ReadEvents = Callable[[UUID, int | None], Iterable[Any]]
TermsOf = Callable[[Ticket], ContractTerms]


@dataclass(frozen=True)
class Folded:
    """A ticket at one version, and the rules' watch of it then."""

    ticket: Ticket
    watch: Watch


class TicketFolds:
    def __init__(self, read_events: ReadEvents, terms_of: TermsOf) -> None:
        self._read_events, self._terms_of = read_events, terms_of
        self._folded: LRUCache[UUID, Folded] = LRUCache(TICKETS_FOLDED)

    def read(self, ticket_id: UUID) -> tuple[Ticket, Watch, ContractTerms] | None:
        """The ticket (the caller's own to change), its watch and its terms;
        None when no ticket has that id."""
        known = self._known(ticket_id)
        newer = list(self._read_events(ticket_id, None if known is None else known.ticket.version))
        if not newer:
            if known is None:
                return None
            return deepcopy(known.ticket), known.watch, self._terms_of(known.ticket)
        ticket = project_aggregate(None if known is None else deepcopy(known.ticket), newer)
        if not isinstance(ticket, Ticket):
            return None
        terms = self._terms_of(ticket)
        if known is None:
            watch = watch_of(newer, terms)
        else:
            watch = known.watch
            for event in newer:
                watch = watch.after(event, terms)
        self._remember(ticket_id, Folded(ticket, watch))
        return deepcopy(ticket), watch, terms

    def _known(self, ticket_id: UUID) -> Folded | None:
        try:
            return self._folded.get(ticket_id)
        except KeyError:
            return None

    def _remember(self, ticket_id: UUID, folded: Folded) -> None:
        """Keeps the newer of two folds read at once by two threads."""
        known = self._known(ticket_id)
        if known is None or known.ticket.version < folded.ticket.version:
            self._folded.put(ticket_id, folded)
