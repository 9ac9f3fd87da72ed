"""A ticket's chronology: every event in order, what it changed in words an
auditor reads, and the SLA clocks and pending hours after each step.

The core, `chronology(events, contract, positions=...)`, is a pure function of
the ticket's decoded events and its contract as the log held it at each of
their positions: no database, no clock. It keeps the clocks with domain/sla.py
and prices posted work with domain/billing.py, exactly as the SLA and hours
projections do in log order, so the auditor's figures are billing's, and an
auditor holding a bundle file and no database recomputes the same figures. Its JSON
holds only plain types in a fixed key order: instants as ISO 8601 UTC text,
durations as exact seconds in decimal text ("5400", "0.25").
"""

from __future__ import annotations

import csv
import io
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator, Mapping
from copy import deepcopy
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any
from uuid import UUID

from ticketledger.domain import sla
from ticketledger.domain.billing import Buckets
from ticketledger.domain.contract import Contract
from ticketledger.domain.copies import replace
from ticketledger.domain.errors import TicketNotFoundError
from ticketledger.domain.numbering import ticket_id_for
from ticketledger.domain.sla import SlaClock, TicketClocks
from ticketledger.domain.terms import ContractTerms
from ticketledger.domain.ticket import Ticket, is_internal, public_events, public_history
from ticketledger.domain.ticket_state import TicketState, WorkEntry
from ticketledger.domain.vocabulary import Kind

if TYPE_CHECKING:
    from eventsourcing.application import LRUCache

    from ticketledger.service.ledger import TicketLedger

Plain = str | int | None
ZERO = timedelta(0)
# projections/hours.py posts a ticket's work at the first of these.
POSTING_EVENTS = (Ticket.AcceptanceGiven, Ticket.Closed, Ticket.Cancelled)
COUNTERS = (
    "work_entries",
    "work_corrections",
    "off_hours_authorisations",
    "agent_replies",
    "requester_replies",
    "comments",
    "failed_contact_attempts",
    "reopen_count",
)
# What an opening is compared with: no fields yet, every counter at zero.
BEFORE_OPENING: dict[str, Plain] = {**dict.fromkeys(COUNTERS, 0), "work_seconds": "0"}
# Chronologies a ledger keeps to continue: a step takes about 1.4 kB, so at
# most 32 x 5 000 steps (about 220 MB); a longer chronology is folded whole.
CHRONOLOGIES_KEPT = 32
STEPS_KEPT = 5_000
# A requester never learns how many internal notes a ticket holds.
HIDDEN = frozenset({"comments"})


# Plain values.


def instant_text(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat()


def seconds_text(duration: timedelta) -> str:
    """Exact: whole seconds, and the microseconds only when there are some."""
    micros = duration // timedelta(microseconds=1)
    whole, fraction = divmod(abs(micros), 1_000_000)
    tail = f".{fraction:06d}".rstrip("0") if fraction else ""
    return f"{'-' if micros < 0 else ''}{whole}{tail}"


def clock_text(duration: timedelta) -> str:
    """h:mm for people reading a table (the JSON keeps the exact seconds)."""
    minutes = abs(duration) // timedelta(minutes=1)
    return f"{'-' if duration < ZERO else ''}{minutes // 60}:{minutes % 60:02d}"


def ticket_fields(ticket: TicketState) -> dict[str, Plain]:
    """A ticket's auditor-relevant fields, flat and plain: what a step's
    changes compare before and after. Voided work entries (zero time) do not
    count as entries, as in the ticket_state projection."""
    worked = [w for w in ticket.work.values() if w.duration > ZERO]
    links = ", ".join(f"{number} ({kind.value})" for number, kind in ticket.links.values())
    return {
        "status": ticket.status.value,
        "kind": ticket.kind.value,
        "priority": ticket.priority.value,
        "level": ticket.level,
        "assignee": ticket.assignee,
        "waiting_since": instant_text(ticket.waiting_since),
        "first_response_at": instant_text(ticket.first_response_at),
        "resolved_at": instant_text(ticket.resolved_at),
        "closed_at": instant_text(ticket.closed_at),
        "closure_reason": ticket.closure_reason.value if ticket.closure_reason else None,
        "work_entries": len(worked),
        "work_seconds": seconds_text(sum((w.duration for w in worked), ZERO)),
        "work_corrections": sum(w.corrections for w in ticket.work.values()),
        "off_hours_authorisations": len(ticket.off_hours_authorisations),
        "rating": f"{ticket.rating.score}/{ticket.rating.out_of}" if ticket.rating else None,
        "links": links or None,
        "agent_replies": ticket.agent_replies,
        "requester_replies": ticket.requester_replies,
        "comments": ticket.comments,
        "failed_contact_attempts": ticket.failed_contact_attempts,
        "reopen_count": ticket.reopen_count,
    }


# Figures after a step.


@dataclass(frozen=True)
class ClockFigures:
    """One SLA clock as it stands at an instant, as the SLA projection's
    ticket view reads it: elapsed and paused business time counted up to the
    instant, the due instant while the clock runs, and met, breached, at risk,
    on track, paused or cancelled at that instant."""

    state: str
    calendar: str
    target: timedelta
    elapsed: timedelta
    paused: timedelta
    due_at: datetime | None
    status: str

    @property
    def remaining(self) -> timedelta:
        return self.target - self.elapsed

    @classmethod
    def of(cls, clock: SlaClock, terms: ContractTerms, at: datetime) -> ClockFigures:
        moved = sla.advance(clock, terms, at)
        running = clock.state is sla.ClockState.RUNNING
        return cls(
            state=clock.state.value,
            calendar=clock.calendar.value,
            target=clock.target,
            elapsed=moved.elapsed,
            paused=moved.paused,
            due_at=clock.due_at if running else None,
            # The clock advanced to `at` stands as the clock would at `at`.
            status=sla.status_at(moved, terms, at).value,
        )

    def to_json(self) -> dict[str, Plain]:
        return {
            "state": self.state,
            "calendar": self.calendar,
            "target_seconds": seconds_text(self.target),
            "elapsed_seconds": seconds_text(self.elapsed),
            "paused_seconds": seconds_text(self.paused),
            "remaining_seconds": seconds_text(self.remaining),
            "due_at": instant_text(self.due_at),
            "status": self.status,
        }

    def cell(self) -> str:
        return f"{self.state} {clock_text(self.elapsed)}/{clock_text(self.target)} {self.status}"


@dataclass(frozen=True)
class SlaFigures:
    evaluated_at: datetime
    first_response: ClockFigures
    resolution: ClockFigures

    @classmethod
    def of(cls, clocks: TicketClocks, terms: ContractTerms, at: datetime) -> SlaFigures:
        return cls(
            at,
            ClockFigures.of(clocks.first_response, terms, at),
            ClockFigures.of(clocks.resolution, terms, at),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "evaluated_at": instant_text(self.evaluated_at),
            "first_response": self.first_response.to_json(),
            "resolution": self.resolution.to_json(),
        }


@dataclass(frozen=True)
class Hours:
    """The ticket's work as the hour ledger holds it: pending until the
    acceptance, closure or cancellation posts it; then posted as each entry
    stands after its corrections, in the buckets billing splits it into."""

    pending: timedelta
    posted: timedelta
    posted_buckets: Buckets

    def cell(self) -> str:
        return f"{clock_text(self.pending)} pending, {clock_text(self.posted)} posted"

    def to_json(self) -> dict[str, Any]:
        return {
            "pending_seconds": seconds_text(self.pending),
            "posted_seconds": seconds_text(self.posted),
            "posted_buckets_seconds": {
                f.name: seconds_text(getattr(self.posted_buckets, f.name))
                for f in fields(self.posted_buckets)
            },
        }


def entry_buckets(entry: WorkEntry, kind: Kind, contract: Contract) -> Buckets:
    """As projections/hours.py classifies an entry: the terms in force on the
    contract-local day the work started, and the ticket's kind at posting."""
    return contract.state.work_buckets(
        started_at=entry.started_at,
        duration=entry.duration,
        off_hours=entry.off_hours,
        off_hours_covered=entry.off_hours_covered,
        customer_caused=entry.customer_caused,
        kind=kind,
    )


# The contract in log order.


@dataclass(frozen=True)
class LoggedContract:
    """A contract as the log held it at each position. An event of a ticket
    is read under the contract's events logged before it, as the SLA and hours
    projections meet them in log order: a ticket's clocks run under the terms
    of the contract before its opening (as TicketLedger.governing_terms gives
    the ledger's own rules), and work is priced under the contract before the
    event that posts or corrects it. A plan change recorded later, even one
    effective from an earlier day, moves no step already taken: the figures of
    a step, once written, are billing's and stay so."""

    positions: tuple[int, ...]  # the log position of each version, in order
    at_version: Callable[[int], Contract]

    @classmethod
    def fixed(cls, contract: Contract) -> LoggedContract:
        """One contract for every event: for events whose positions are unknown."""
        return cls((), lambda _: contract)

    @property
    def version(self) -> int:
        return len(self.positions)

    def before(self, position: int | None) -> Contract:
        """The contract as its events logged before `position` leave it; the
        latest known for an event whose position is unknown."""
        logged = self.version if position is None else bisect_left(self.positions, position)
        return self.at_version(max(logged, 1))


def logged(contract: Contract | LoggedContract) -> LoggedContract:
    return contract if isinstance(contract, LoggedContract) else LoggedContract.fixed(contract)


# Replaying.


@dataclass
class Replay:
    """A ticket replayed one event at a time, with what the SLA and hours
    projections keep beside it: the terms its clocks run under (and the
    contract version they come from), the clocks, and its posted work. The
    ticket's state is the one fold's (domain/ticket.py's `evolve`)."""

    terms: ContractTerms
    contract_version: int
    ticket: Ticket
    clocks: TicketClocks
    posted_kind: Kind | None = None
    posted: Buckets = field(default_factory=Buckets)

    @classmethod
    def opened(cls, event: Any, contract: Contract) -> Replay:
        """`contract`: as the log held it before the opening."""
        if not isinstance(event, Ticket.Opened):
            raise TicketNotFoundError("a ticket's events begin with its opening")
        # Like projections/sla.py: the terms in force when the ticket opened.
        terms = contract.state.terms_at(event.occurred_at)
        ticket = event.mutate(None)
        assert isinstance(ticket, Ticket)
        clocks = sla.open_clocks(terms, event.priority, event.occurred_at)
        return cls(terms, contract.version, ticket, clocks)

    @property
    def state(self) -> TicketState:
        return self.ticket.state

    def copy(self) -> Replay:
        """Another replay at the same step, to go on from without changing this one."""
        return replace(self, ticket=deepcopy(self.ticket))

    def apply(self, event: Any, contracts: LoggedContract, position: int | None) -> None:
        work_before = self.state.work
        # mutate refuses an event that is not the next version of this ticket.
        event.mutate(self.ticket)
        self.clocks = sla.on_event(self.clocks, self.terms, event)
        if self.posted_kind is None and isinstance(event, POSTING_EVENTS):
            self.post(contracts.before(position))
        elif self.posted_kind is not None and isinstance(event, Ticket.WorkCorrected):
            self.adjust(work_before[event.corrects], contracts.before(position))

    def post(self, contract: Contract) -> None:
        """As projections/hours.py posts: every entry as it stands, in the
        ticket's kind then, under the contract the log held then."""
        kind = self.posted_kind = self.state.kind
        work = self.state.work.values()
        self.posted = sum((entry_buckets(w, kind, contract) for w in work), Buckets())

    def adjust(self, before: WorkEntry, contract: Contract) -> None:
        """A correction of posted work adds what it changes, priced under the
        contract the log held at the correction (the hours projection's
        adjustment): what was posted stays as it was priced."""
        assert self.posted_kind is not None
        after = self.state.work[before.entry_id]
        kind = self.posted_kind
        change = entry_buckets(after, kind, contract) - entry_buckets(before, kind, contract)
        self.posted += change

    def sla_at(self, at: datetime) -> SlaFigures:
        return SlaFigures.of(self.clocks, self.terms, at)

    def hours(self) -> Hours:
        worked = sum((w.duration for w in self.state.work.values()), ZERO)
        if self.posted_kind is None:
            return Hours(worked, ZERO, Buckets())
        return Hours(ZERO, worked, self.posted)


def replay_step(
    replay: Replay | None, event: Any, contracts: LoggedContract, position: int | None
) -> Replay:
    """The replay after `event` (logged at `position`), from the one before it."""
    if replay is None:
        return Replay.opened(event, contracts.before(position))
    replay.apply(event, contracts, position)
    return replay


def replayed(
    events: Iterable[Any],
    contract: Contract | LoggedContract,
    positions: Mapping[int, int] | None = None,
) -> Iterator[tuple[Any, Replay]]:
    """Each event with the replay just after it."""
    contracts, at = logged(contract), positions or {}
    replay: Replay | None = None
    for event in events:
        replay = replay_step(replay, event, contracts, at.get(event.originator_version))
        yield event, replay


# The chronology.


@dataclass(frozen=True)
class Change:
    field: str
    before: Plain
    after: Plain

    def text(self) -> str:
        return f"{self.field}: {shown(self.before)} -> {shown(self.after)}"


def shown(value: Plain) -> str:
    return "-" if value is None else str(value)


def changes(before: Mapping[str, Plain], after: Mapping[str, Plain]) -> tuple[Change, ...]:
    return tuple(
        Change(name, before.get(name, BEFORE_OPENING.get(name)), value)
        for name, value in after.items()
        if before.get(name, BEFORE_OPENING.get(name)) != value
    )


@dataclass(frozen=True)
class Step:
    version: int
    position: int | None
    recorded_at: datetime
    occurred_at: datetime
    by: str
    event: str
    summary: str
    changes: tuple[Change, ...]
    sla: SlaFigures
    hours: Hours
    internal: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "position": self.position,
            "recorded_at": instant_text(self.recorded_at),
            "occurred_at": instant_text(self.occurred_at),
            "by": self.by,
            "event": self.event,
            "summary": self.summary,
            "changes": [
                {"field": c.field, "before": c.before, "after": c.after} for c in self.changes
            ],
            "sla": self.sla.to_json(),
            "hours": self.hours.to_json(),
        }

    def csv_row(self) -> dict[str, Plain]:
        row: dict[str, Plain] = {
            name: value for name, value in self.to_json().items() if not isinstance(value, dict)
        }
        row["changes"] = "; ".join(c.text() for c in self.changes)
        row["sla_evaluated_at"] = instant_text(self.sla.evaluated_at)
        for prefix, clock in (("fr", self.sla.first_response), ("res", self.sla.resolution)):
            row.update({f"{prefix}_{k}": v for k, v in clock.to_json().items()})
        row["pending_seconds"] = seconds_text(self.hours.pending)
        row["posted_seconds"] = seconds_text(self.hours.posted)
        return row


@dataclass(frozen=True)
class Chronology:
    ticket_id: UUID
    number: str
    customer: str
    contract_id: UUID
    contract_version: int
    steps: tuple[Step, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "ticket_id": str(self.ticket_id),
            "number": self.number,
            "customer": self.customer,
            "contract_id": str(self.contract_id),
            "contract_version": self.contract_version,
            "steps": [step.to_json() for step in self.steps],
        }

    def as_seen_by_requester(self) -> Chronology:
        """Without internal comments, nor the count of comments that betrays them."""
        return replace(
            self,
            steps=tuple(
                replace(s, changes=tuple(c for c in s.changes if c.field not in HIDDEN))
                for s in self.steps
                if not s.internal
            ),
        )

    def to_csv(self) -> str:
        """One row per step; changes as `field: before -> after; ...`, empty
        cells for None, durations in exact seconds."""
        out = io.StringIO()
        rows = [step.csv_row() for step in self.steps]
        columns = list(rows[0]) if rows else ["version"]
        writer = csv.DictWriter(out, columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return out.getvalue()

    def render_table(self) -> str:
        title = (
            f"Ticket {self.number} of {self.customer} (contract {self.contract_id}, opened "
            f"under its version {self.contract_version}); times UTC; SLA clocks after each "
            "step, evaluated at its occurred time, elapsed/target in business h:mm; each "
            "step under the contract as logged before it"
        )
        header = (
            *("v", "position", "occurred", "recorded", "by", "event"),
            *("first response", "resolution", "hours"),
        )
        rows = [header, *(table_row(step) for step in self.steps)]
        widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
        lines = [title, line(rows[0], widths)]
        for step, row in zip(self.steps, rows[1:], strict=True):
            lines.append(line(row, widths))
            lines.extend(
                f"      {text}" for text in (step.summary, *map(Change.text, step.changes))
            )
        return "\n".join(lines) + "\n"


def table_row(step: Step) -> tuple[str, ...]:
    return (
        str(step.version),
        shown(step.position),
        minute(step.occurred_at),
        minute(step.recorded_at),
        step.by,
        step.event,
        step.sla.first_response.cell(),
        step.sla.resolution.cell(),
        step.hours.cell(),
    )


def minute(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%d %H:%M")


def line(cells: tuple[str, ...], widths: list[int]) -> str:
    return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()


@dataclass(frozen=True)
class ChronologyFold:
    """A chronology folded up to some version of its ticket: the replay just
    after it, the steps so far, and the fields the next step compares with.
    `extend` continues it with later events and leaves it as it was, so a
    reader can keep one and continue it from where it stopped: in log order no
    later event, of the ticket or of its contract, changes a step taken."""

    contracts: LoggedContract
    replay: Replay | None = None
    steps: tuple[Step, ...] = ()
    fields_now: Mapping[str, Plain] = field(default_factory=dict)

    @property
    def version(self) -> int | None:
        return None if self.replay is None else self.replay.ticket.version

    def extend(
        self,
        events: Iterable[Any],
        positions: Mapping[int, int],
        contracts: LoggedContract | None = None,
    ) -> ChronologyFold:
        """The fold continued with `events`, their contract read from
        `contracts` (the contract's log as now known) or else as before."""
        contracts = contracts or self.contracts
        replay = None if self.replay is None else self.replay.copy()
        steps, before = list(self.steps), self.fields_now
        for event in events:
            replay = replay_step(replay, event, contracts, positions.get(event.originator_version))
            after = ticket_fields(replay.state)
            steps.append(step_of(event, replay, changes(before, after), positions))
            before = after
        return ChronologyFold(contracts, replay, tuple(steps), before)

    def result(self) -> Chronology:
        if self.replay is None:
            raise TicketNotFoundError("no events: no ticket to replay")
        state = self.replay.state
        return Chronology(
            self.replay.ticket.id,
            state.number,
            state.customer,
            state.contract_id,
            self.replay.contract_version,
            self.steps,
        )


def chronology(
    events: Iterable[Any],
    contract: Contract | LoggedContract,
    *,
    positions: Mapping[int, int] | None = None,
) -> Chronology:
    """Every event of one ticket (decoded, in version order) with its changes,
    and the SLA clocks, evaluated at its occurred time, and hours after it.
    `positions` maps versions to log positions (notification ids), when known;
    `contract` is the contract as logged at each (a plain contract reads every
    event under that one contract)."""
    return ChronologyFold(logged(contract)).extend(events, positions or {}).result()


def step_of(
    event: Any, replay: Replay, changed: tuple[Change, ...], positions: Mapping[int, int]
) -> Step:
    internal = is_internal(event)
    return Step(
        version=event.originator_version,
        position=positions.get(event.originator_version),
        recorded_at=event.timestamp,
        occurred_at=event.occurred_at,
        by=event.by,
        event=type(event).__qualname__,
        summary=summary(event),
        changes=changed,
        sla=replay.sla_at(event.occurred_at),
        hours=replay.hours(),
        internal=internal,
    )


# Sentences.


def quoted(text: str, limit: int = 160) -> str:
    flat = " ".join(text.split())
    return f'"{flat if len(flat) <= limit else flat[: limit - 1] + "…"}"'


def with_note(sentence: str, note: str) -> str:
    return f"{sentence}: {quoted(note)}" if note.strip() else sentence


def reclassified(e: Ticket.Reclassified) -> str:
    moves = [
        f"{name} {old} -> {new}"
        for name, old, new in (
            ("kind", e.previous_kind.value, e.kind.value),
            ("priority", e.previous_priority.value, e.priority.value),
            ("level", e.previous_level, e.level),
        )
        if old != new
    ]
    kept = "; SLA time already spent is kept" if e.keeps_sla_clock else ""
    return f"{e.by} reclassified it ({', '.join(moves)}) because {quoted(e.reason)}{kept}"


def agent_replied(e: Ticket.AgentReplied) -> str:
    first = " (the first response)" if e.first_response else ""
    return f"{e.by} replied to the requester{first}: {quoted(e.message)}"


def requester_replied(e: Ticket.RequesterReplied) -> str:
    effects = ["the wait on the customer ends"] * e.resumes
    effects += ["the resolution is contested and the ticket reopens"] * e.reopens
    return "; ".join([f"{e.by} replied: {quoted(e.message)}", *effects])


def work_logged(e: Ticket.WorkLogged) -> str:
    extras = [f"{clock_text(e.off_hours)} off hours"] * (e.off_hours > ZERO)
    extras += ["caused by the customer"] * e.customer_caused
    started = minute(e.started_at)
    text = f"{e.agent} logged {clock_text(e.duration)} h of {e.category.value} from {started} UTC"
    return with_note(", ".join([text, *extras]), e.note)


def work_corrected(e: Ticket.WorkCorrected) -> str:
    change = f"{clock_text(e.previous_duration)} -> {clock_text(e.duration)} h"
    voided = " (voided)" if e.duration == ZERO else ""
    return f"{e.by} corrected work entry {e.corrects}: {change}{voided}: {quoted(e.reason)}"


def closed(e: Ticket.Closed) -> str:
    return with_note(f"{e.by} closed it ({e.reason.value}); its hours are posted", e.note)


def cancelled(e: Ticket.Cancelled) -> str:
    duplicate = f" of ticket {e.duplicate_of}" if e.duplicate_of else ""
    sentence = f"{e.by} cancelled it ({e.reason.value}{duplicate}); its hours are posted"
    return with_note(sentence, e.note)


SENTENCES: dict[type, Callable[[Any], str]] = {
    Ticket.Opened: lambda e: (
        f"{e.by} opened it for {e.requester} by {e.channel.value}: {e.kind.value}, "
        f"{e.priority.value} priority, {quoted(e.subject)}"
    ),
    Ticket.Reclassified: reclassified,
    Ticket.Assigned: lambda e: (
        f"{e.by} assigned it to {e.assignee}"
        + (f" (was {e.previous_assignee})" if e.previous_assignee else "")
    ),
    Ticket.Escalated: lambda e: (
        f"{e.by} escalated it from level {e.from_level} to {e.to_level}: {quoted(e.reason)}"
    ),
    Ticket.AgentReplied: agent_replied,
    Ticket.RequesterReplied: requester_replied,
    Ticket.Commented: lambda e: f"{e.by} commented ({e.visibility.value}): {quoted(e.text)}",
    Ticket.WaitingOnCustomer: lambda e: (
        f"{e.by} set it waiting on the customer: {quoted(e.reason)}; the SLA clocks pause"
    ),
    Ticket.WaitingOnThirdParty: lambda e: (
        f"{e.by} set it waiting on {e.third_party}: {quoted(e.reason)}; the SLA clocks pause"
    ),
    Ticket.Resumed: lambda e: f"{e.by} resumed it: {quoted(e.reason)}; the SLA clocks run again",
    Ticket.ContactAttemptFailed: lambda e: with_note(
        f"{e.by} could not reach the requester by {e.channel.value} (attempt {e.attempt})",
        e.note,
    ),
    Ticket.WorkLogged: work_logged,
    Ticket.WorkCorrected: work_corrected,
    Ticket.OffHoursWorkAuthorised: lambda e: with_note(
        f"{e.authorised_by} authorised off-hours work"
        + (" (the contract's off-hours exception)" if e.as_exception else ""),
        e.note,
    ),
    Ticket.Resolved: lambda e: (
        f"{e.by} resolved it and asked {e.acceptance_requested_from} for acceptance: "
        f"{quoted(e.resolution)}"
    ),
    Ticket.AcceptanceGiven: lambda e: with_note(
        f"{e.by} accepted the resolution; the ticket is closed and its hours are posted",
        e.comment,
    ),
    Ticket.AcceptanceRejected: lambda e: (
        f"{e.by} rejected the resolution: {quoted(e.reason)}; the ticket reopens"
    ),
    Ticket.Reopened: lambda e: f"{e.by} reopened it: {quoted(e.reason)}",
    Ticket.Closed: closed,
    Ticket.Cancelled: cancelled,
    Ticket.Rated: lambda e: with_note(f"{e.by} rated the service {e.score}/{e.out_of}", e.comment),
    Ticket.Linked: lambda e: f"{e.by} linked it to {e.other_number} ({e.link_kind.value})",
    Ticket.RequesterNoticeSent: lambda e: (
        f"{e.by} told {e.requester} ({e.notice.value}): {quoted(e.reason)}"
    ),
    Ticket.NoticeMailed: lambda e: (
        f"{e.by} e-mailed {e.recipient} the {e.notice.value.replace('_', ' ')} notice "
        f"of version {e.about_version} (Message-ID <{e.message_id}>)"
    ),
    Ticket.SlaWarningSent: lambda e: (
        f"{e.by} warned {e.recipient or 'the unassigned queue'}: {quoted(e.reason)}"
    ),
}


def summary(event: Any) -> str:
    sentence = SENTENCES.get(type(event))
    return sentence(event) if sentence else f"{event.by}: {type(event).__qualname__}"


# Loading from the ledger.


def ticket_events(ledger: TicketLedger, number: str) -> list[Any]:
    events = list(ledger.events_of(ticket_id_for(number)))
    if not events:
        raise TicketNotFoundError(f"no ticket {number}")
    return events


def ticket_chronology(ledger: TicketLedger, number: str, *, public: bool = False) -> Chronology:
    """The chronology of ticket `number`, under its contract as the log held
    it at each event; `public`: of its public history, as its requester sees it."""
    if public:
        return public_chronology(ledger, number)
    return kept_chronology(ledger, number).result()


def logged_contract(ledger: TicketLedger, contract_id: UUID) -> LoggedContract:
    """The contract's versions by their log positions, as the ledger holds them now."""
    positions = ledger.log_positions(contract_id)
    in_order = tuple(positions[version] for version in sorted(positions))
    return LoggedContract(in_order, partial(ledger.contract_at, contract_id))


def public_positioned(
    events: list[Any], positions: Mapping[int, int]
) -> tuple[list[Any], dict[int, int]]:
    """The public history (numbered 1, 2, 3...) and each of its events' log
    position by that number."""
    shown = [e.originator_version for e in public_events(events)]
    by_number = {n: positions[v] for n, v in enumerate(shown, start=1) if v in positions}
    return public_history(events), by_number


def public_chronology(ledger: TicketLedger, number: str) -> Chronology:
    events = ticket_events(ledger, number)
    contracts = logged_contract(ledger, events[0].contract_id)
    history, positions = public_positioned(events, ledger.log_positions(events[0].originator_id))
    return chronology(history, contracts, positions=positions)


def kept_chronology(ledger: TicketLedger, number: str) -> ChronologyFold:
    """The ticket's chronology continued from the one the ledger last folded,
    with only the events stored since (by any process: the log is the truth,
    the kept fold only where to continue from). Its steps so far stand
    whatever the contract did since; the events after them are read under the
    contract's log as it is now."""
    ticket_id = ticket_id_for(number)
    kept = ledger.kept_reads("chronologies", CHRONOLOGIES_KEPT)
    known = kept_fold(kept, ticket_id)
    newer = ledger.events_after(ticket_id, None if known is None else known.version)
    if known is not None and not newer:
        return known
    # The opening names the contract, and the kept state keeps it.
    source = known.replay.state if known and known.replay else next(iter(newer), None)
    contract_id = getattr(source, "contract_id", None)
    if not isinstance(contract_id, UUID):
        raise TicketNotFoundError(f"no ticket {number}")
    contracts = logged_contract(ledger, contract_id)
    after = None if known is None else known.version
    fold = (known or ChronologyFold(contracts)).extend(
        newer, ledger.log_positions(ticket_id, after), contracts
    )
    current = kept_fold(kept, ticket_id)
    newer_here = current is None or (current.version or 0) < (fold.version or 0)
    if newer_here and len(fold.steps) <= STEPS_KEPT:
        kept.put(ticket_id, fold)
    return fold


def kept_fold(kept: LRUCache[UUID, ChronologyFold], ticket_id: UUID) -> ChronologyFold | None:
    try:
        return kept.get(ticket_id)
    except KeyError:
        return None
