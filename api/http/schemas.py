"""The HTTP API's request and response bodies, with the examples /docs shows."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from ticketledger.domain.deadlines import Rule
from ticketledger.domain.terms import ContractTerms
from ticketledger.domain.vocabulary import (
    CancellationReason,
    Channel,
    ClosureReason,
    Kind,
    LinkKind,
    Priority,
    Visibility,
    WorkCategory,
)

NUMBER_PATTERN = r"^[0-9]{4}-[0-9]{6}$"
MONTH_PATTERN = r"^2[0-9]{3}-(0[1-9]|1[0-2])$"
EARLIEST_YEAR, LATEST_YEAR = 2000, 2999
# What the OpenAPI document states of every instant: its written year is in range.
INSTANT_PATTERN = r"^2[0-9]{3}-"
ALLOWED_CONTROLS = frozenset("\n\r\t")


def in_ledger_range(value: datetime) -> datetime:
    # Instants far outside the ledger's life overflow once moved to UTC. The
    # year is read as written, so that the rule is the pattern clients are shown.
    if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        raise ValueError("instants lie between the years 2000 and 2999")
    return value


Instant = Annotated[
    AwareDatetime,
    AfterValidator(in_ledger_range),
    Field(
        examples=["2026-10-05T09:30:00-03:00"],
        json_schema_extra={"pattern": INSTANT_PATTERN},
    ),
]
Name = Annotated[str, Field(min_length=1, max_length=200)]
Reason = Annotated[str, Field(min_length=1, max_length=2000)]
Note = Annotated[str, Field(max_length=10000)]
TicketNumber = Annotated[str, Field(pattern=NUMBER_PATTERN, examples=["2026-000123"])]
# What a query may search for: printable text, as stored.
SearchText = Annotated[str, Field(max_length=200, pattern=r"^[^\x00-\x1f\x7f]*$")]
Minutes = Annotated[int, Field(ge=1, le=24 * 60, description="whole minutes, at most a day")]


def unprintable(value: Any) -> str | None:
    """The first string in `value` holding a control character or a lone
    surrogate, which no database column should be asked to keep."""
    if isinstance(value, str):
        for char in value:
            if (ord(char) < 32 and char not in ALLOWED_CONTROLS) or 0xD800 <= ord(char) < 0xE000:
                return value
        return None
    if isinstance(value, dict):
        items: list[Any] = [*value.keys(), *value.values()]
    elif isinstance(value, list | tuple):
        items = list(value)
    else:
        return None
    return next((found for item in items if (found := unprintable(item)) is not None), None)


class Body(BaseModel):
    """A request body: unknown fields are refused, text must be printable."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _printable(cls, data: Any) -> Any:
        if unprintable(data) is not None:
            raise ValueError("text may not hold control characters or lone surrogates")
        return data


def example(**values: Any) -> ConfigDict:
    return ConfigDict(extra="forbid", json_schema_extra={"examples": [values]})


class Timed(Body):
    occurred_at: Instant | None = Field(
        default=None,
        description="when it happened, if earlier than now (a call logged late); "
        "aware ISO 8601. Requesters cannot set it.",
    )


# Contracts.

TERMS_EXAMPLE: dict[str, Any] = {
    "customer": "Metalúrgica Serra",
    "plan": "GLT",
    "timezone": "America/Sao_Paulo",
    "business_hours": {
        "windows": {str(d): [["08:00", "12:00"], ["13:30", "18:00"]] for d in range(5)},
        "holidays_country": "BR",
        "holidays_subdivision": "RS",
    },
    "sla": {
        "critical": {"first_response": "PT2H", "resolution": "PT8H"},
        "high": {"first_response": "PT4H", "resolution": "PT16H"},
        "medium": {"first_response": "PT24H", "resolution": "PT72H"},
        "low": {"first_response": "P4D", "resolution": "P8D"},
    },
    "monthly_fee": "5000.00",
    "monthly_hours": "20",
    "hourly_rate": "180.00",
    "rounding_minutes": 15,
    "currency": "BRL",
    "starts_on": "2026-07-01",
}


class SignContract(Timed):
    model_config = example(terms=TERMS_EXAMPLE)
    terms: ContractTerms


class AuthoriseRequester(Timed):
    model_config = example(requester="marta@metalurgica.example")
    requester: Name


class RevokeRequester(Timed):
    model_config = example(requester="marta@metalurgica.example", reason="left the company")
    requester: Name
    reason: Reason


class ChangePlan(Timed):
    model_config = example(
        terms=TERMS_EXAMPLE, effective_on="2026-12-01", reason="renewed with more hours"
    )
    terms: ContractTerms
    effective_on: date
    reason: Reason


class ContractDecision(Timed):
    model_config = example(reason="invoice 2026-09 unpaid")
    reason: Reason


# Tickets.


class OpenTicket(Timed):
    model_config = example(
        contract_id="0b6f8a8e-3c55-4f2e-9a43-5d8f8a1e2c10",
        requester="marta@metalurgica.example",
        channel="phone",
        kind="critical_incident",
        priority="critical",
        subject="Press line 2 stopped: ERP does not release orders",
        description="Factory stopped since 07:40.",
    )
    contract_id: UUID
    requester: Name | None = Field(
        default=None, description="who asks; a requester's key always asks as its own person"
    )
    channel: Channel = Channel.WEB
    kind: Kind
    priority: Priority
    subject: Annotated[str, Field(min_length=1, max_length=300)]
    description: Note = ""


class Reclassify(Timed):
    model_config = example(priority="high", reason="one workstation only, the line runs")
    kind: Kind | None = None
    priority: Priority | None = None
    level: Annotated[int, Field(ge=1, le=9)] | None = None
    reason: Reason


class Assign(Timed):
    model_config = example(assignee="ana")
    assignee: Name


class Escalate(Timed):
    model_config = example(reason="needs a database specialist")
    reason: Reason


class Reply(Timed):
    model_config = example(message="We are connecting to the server now.")
    message: Annotated[str, Field(min_length=1, max_length=10000)]


class Comment(Timed):
    model_config = example(text="Customer's DBA is on holiday until Monday.", visibility="internal")
    text: Annotated[str, Field(min_length=1, max_length=10000)]
    visibility: Visibility = Visibility.INTERNAL


class WaitOnCustomer(Timed):
    model_config = example(reason="asked for the error log")
    reason: Reason


class WaitOnThirdParty(Timed):
    model_config = example(third_party="bank", reason="bank must renew the certificate")
    third_party: Name
    reason: Reason


class Resume(Timed):
    model_config = example(reason="log received")
    reason: Reason


class FailedContact(Timed):
    model_config = example(channel="phone", note="no answer at the number given")
    channel: Channel
    note: Note = ""


class WorkTime(Timed):
    duration_minutes: Minutes

    @property
    def duration(self) -> timedelta:
        return timedelta(minutes=self.duration_minutes)


class LogWork(WorkTime):
    model_config = example(
        started_at="2026-10-05T09:00:00-03:00",
        duration_minutes=90,
        category="support",
        customer_caused=False,
        note="restored the order release job",
    )
    agent: Name | None = Field(default=None, description="who worked (default: the caller)")
    started_at: Instant
    category: WorkCategory = WorkCategory.SUPPORT
    customer_caused: bool = False
    note: Note = ""
    entry_id: UUID | None = Field(default=None, description="to choose the entry's id")


class CorrectWork(WorkTime):
    model_config = example(duration_minutes=60, reason="the call ended at 10:00, not 10:30")
    category: WorkCategory | None = None
    customer_caused: bool | None = None
    reason: Reason


class AuthoriseOffHours(Timed):
    model_config = example(authorised_by="marta@metalurgica.example", note="go ahead tonight")
    authorised_by: Name
    note: Note = ""


class Resolve(Timed):
    model_config = example(resolution="Order release job restarted; root cause was a full disk.")
    resolution: Annotated[str, Field(min_length=1, max_length=10000)]


class Accept(Timed):
    model_config = example(comment="Working again, thanks.")
    comment: Note = ""


class Reject(Timed):
    model_config = example(reason="Orders still stuck on line 3.")
    reason: Reason


class Reopen(Timed):
    model_config = example(reason="the fault came back the same day")
    reason: Reason


class Close(Timed):
    model_config = example(reason="acceptance_deemed", note="7 days without an answer")
    reason: ClosureReason
    note: Note = ""


class Cancel(Timed):
    model_config = example(reason="duplicate", duplicate_of="2026-000122")
    reason: CancellationReason
    duplicate_of: TicketNumber | None = None
    note: Note = ""


class Rate(Timed):
    model_config = example(score=5, comment="Fast and clear.")
    score: Annotated[int, Field(ge=1, le=5)]
    comment: Note = ""


class Link(Timed):
    model_config = example(other="2026-000122", link_kind="relates_to")
    other: TicketNumber
    link_kind: LinkKind = LinkKind.RELATES_TO


class DiscardHeld(Timed):
    model_config = example(reason="spam")
    reason: Reason


# Responses.


class Accepted(BaseModel):
    """What a command wrote: the aggregate's new version (also the ETag) and
    the log position to pass as `after=` to read it back."""

    id: UUID
    number: str | None = Field(default=None, examples=["2026-000123"])
    version: int = Field(examples=[4])
    position: int = Field(examples=[2675])
    held: bool = Field(
        default=False, description="the request was held for triage: the sender is not authorised"
    )


class TicketView(BaseModel):
    ticket_id: UUID
    number: str
    contract_id: UUID
    customer: str
    requester: str
    channel: str
    subject: str
    status: str
    kind: str
    priority: str
    level: int
    assignee: str | None
    opened_at: datetime
    first_response_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    closure_reason: str | None
    waiting_since: datetime | None
    agent_replies: int
    requester_replies: int
    comments: int | None = Field(description="hidden from requesters: it counts internal notes")
    failed_contact_attempts: int
    reopen_count: int
    work_entries: int
    work_minutes: float
    rating: int | None
    rating_out_of: int | None = Field(description="the scale the rating was given on")
    links: int
    last_activity_at: datetime
    last_activity_by: str
    version: int
    position: int


class TicketPage(BaseModel):
    tickets: list[TicketView]
    next_cursor: str | None = Field(description="pass as `after_number` for the next page")


class EventView(BaseModel):
    version: int
    type: str = Field(examples=["Ticket.Opened"])
    recorded_at: datetime
    occurred_at: datetime | None
    by: str | None
    data: dict[str, Any]


class ClockView(BaseModel):
    target_seconds: float
    elapsed_seconds: float
    paused_seconds: float
    calendar: str
    state: str
    due_at: str | None
    at_risk_at: str | None
    stopped_at: str | None
    status: str = Field(examples=["on_track"])


class TicketSla(BaseModel):
    ticket_id: UUID
    number: str
    customer: str
    priority: str
    first_response: ClockView
    resolution: ClockView


class QueueEntry(BaseModel):
    number: str
    customer: str
    status: str
    kind: str
    priority: str
    level: int
    assignee: str | None
    sla_due_at: str | None
    contract_id: UUID
    subject: str
    opened_at: str
    contract_service: bool


class DeadlineEntry(BaseModel):
    """A time-driven rule due on a ticket: an SLA warning, a notice to the
    requester or an automatic closure. Past ones stay listed until applied."""

    number: str
    ticket_id: UUID
    customer: str
    assignee: str | None
    rule: Rule
    due_at: str


class ContractSummary(BaseModel):
    contract_id: UUID
    customer: str
    state: str


class PlanPeriod(BaseModel):
    effective_on: date
    plan: str


class ContractView(BaseModel):
    contract_id: UUID
    customer: str
    state: str
    version: int
    terms: ContractTerms
    plan_history: list[PlanPeriod]
    authorised_requesters: list[str]
    issued_months: list[str]


class PendingHours(BaseModel):
    """Work logged but not yet posted: it posts on acceptance or closure."""

    entry_id: str
    started_at: datetime
    minutes: float
    category: str
    customer_caused: bool
    off_hours_minutes: float


class HourEntry(BaseModel):
    """A posted entry of the hour ledger, hours per bucket as decimal strings."""

    ticket: str
    kind: str
    origin_month: str
    started_at: str
    category: str
    consumed_hours: str
    off_hours_hours: str
    customer_caused_hours: str
    warranty_hours: str
    amount: str | None
    reference: str | None
    entry_id: str
    sources: int


class KeyInfo(BaseModel):
    key_id: str
    role: str
    name: str
    customer: str | None
    requester: str | None


class HeldRequestView(BaseModel):
    held_id: UUID
    contract_id: UUID | None = Field(description="none when no contract could take it")
    requester: str
    channel: str
    kind: str
    priority: str
    subject: str
    reason: str
    held_at: datetime | None
    ticket_id: UUID | None = Field(description="the ticket it was released as")
    discarded: bool
    version: int


class HeldRequestEntry(BaseModel):
    """A held request as the triage list shows it, with what became of it."""

    held_id: UUID
    contract_id: UUID | None
    customer: str | None = Field(description="the contract's customer, when it names one")
    requester: str
    channel: str
    kind: str
    priority: str
    subject: str
    description: str
    reason: str = Field(description="why it was held")
    held_at: str
    state: Literal["held", "released", "discarded"]
    ticket_number: str | None = Field(description="the ticket it was released as")
    discard_reason: str | None
    decided_at: str | None
    decided_by: str | None
    version: int


class ClockFigures(BaseModel):
    completed: int
    met: int
    breached: int
    compliance_percent: str | None = Field(examples=["87.5"])
    median_seconds: float | None
    p90_seconds: float | None
    running_breached: int


class PriorityFigures(BaseModel):
    priority: str
    first_response: ClockFigures
    resolution: ClockFigures


class SlaReport(BaseModel):
    contract_id: UUID
    customer: str
    month: str
    timezone: str
    percentiles: str
    priorities: list[PriorityFigures]


# The auditors' replay: durations are exact seconds as decimal text, instants
# ISO 8601 in UTC, as replay/chronology.py writes them.

Seconds = Annotated[str, Field(examples=["5400"], description="exact seconds, decimal text")]


class ClockAt(BaseModel):
    """One SLA clock at an instant."""

    state: str = Field(examples=["running"], description="running, paused or stopped")
    calendar: str = Field(examples=["business"])
    target_seconds: Seconds
    elapsed_seconds: Seconds
    paused_seconds: Seconds
    remaining_seconds: Seconds
    due_at: str | None = Field(description="while running: when the target is reached")
    status: str = Field(examples=["on_track"])


class SlaAt(BaseModel):
    evaluated_at: str = Field(examples=["2026-10-05T13:00:00+00:00"])
    first_response: ClockAt
    resolution: ClockAt


class HoursAt(BaseModel):
    """Work pending until acceptance, closure or cancellation posts it."""

    pending_seconds: Seconds
    posted_seconds: Seconds
    posted_buckets_seconds: dict[str, str]


class FieldChange(BaseModel):
    field: str = Field(examples=["priority"])
    before: str | int | None = Field(examples=["high"])
    after: str | int | None = Field(examples=["critical"])


class ChronologyStep(BaseModel):
    version: int
    position: int | None = Field(description="the event's position in the log")
    recorded_at: str
    occurred_at: str
    by: str
    event: str = Field(examples=["Ticket.Reclassified"])
    summary: str
    changes: list[FieldChange]
    sla: SlaAt
    hours: HoursAt


CONTRACT_VERSION = (
    "the contract's version logged before the ticket's opening: the terms its SLA clocks run "
    "under; work is priced under the contract as logged before the event that posted it"
)


class ChronologyView(BaseModel):
    ticket_id: UUID
    number: str
    customer: str
    contract_id: UUID
    contract_version: int = Field(description=CONTRACT_VERSION)
    steps: list[ChronologyStep]


class TicketAsOf(BaseModel):
    question: str = Field(examples=["occurred_by"])
    asked: str = Field(examples=["2026-10-05T12:00:00+00:00"])
    ticket_id: UUID
    number: str
    customer: str
    version: int = Field(description="the last event included")
    last_recorded_at: str
    last_occurred_at: str
    contract_version: int = Field(description=CONTRACT_VERSION)
    state: dict[str, str | int | None]
    sla: SlaAt
    hours: HoursAt


class QuarantinedItem(BaseModel):
    """An aggregate a projection stopped following at an event it could not apply."""

    projection: str
    aggregate_id: str
    contract_id: str | None
    position: int
    last_position: int
    skipped_events: int
    topic: str
    error: str
    quarantined_at: datetime


class ProjectionHealth(BaseModel):
    name: str
    position: int
    lag: int = Field(description="log positions written that this projection has not applied")
    quarantined: int = Field(description="aggregates held in quarantine")
    items: list[QuarantinedItem] | None = Field(
        description="the quarantined aggregates: shown to admin, agent and auditor keys only"
    )


class Health(BaseModel):
    status: Literal["ok", "degraded", "unavailable"]
    database_reachable: bool
    head: int | None = Field(description="the log's last position")
    projections: list[ProjectionHealth]
