"""The help desk's words, as enumerations stored by name in events."""

from __future__ import annotations

from enum import Enum


class Kind(Enum):
    QUESTION = "question"
    SERVICE_REQUEST = "service_request"
    PROJECT = "project"
    INCIDENT = "incident"
    CRITICAL_INCIDENT = "critical_incident"
    NEW_REQUIREMENT = "new_requirement"
    NEW_FEATURE = "new_feature"
    WARRANTY_OF_WORKS = "warranty_of_works"
    WARRANTY_OF_MATERIAL = "warranty_of_material"

    @property
    def warranty(self) -> WarrantyKind | None:
        return _WARRANTY_OF_KIND.get(self)


class WarrantyKind(Enum):
    WORKS = "works"
    MATERIAL = "material"


_WARRANTY_OF_KIND = {
    Kind.WARRANTY_OF_WORKS: WarrantyKind.WORKS,
    Kind.WARRANTY_OF_MATERIAL: WarrantyKind.MATERIAL,
}


class Priority(Enum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"

    @property
    def rank(self) -> int:
        """0 is the most urgent; queues sort by it."""
        return list(Priority).index(self)


class Status(Enum):
    NEW = "new"
    OPEN = "open"
    WAITING_ON_CUSTOMER = "waiting_on_customer"
    WAITING_ON_THIRD_PARTY = "waiting_on_third_party"
    RESOLVED = "resolved"
    CLOSED = "closed"
    CANCELLED = "cancelled"

    @property
    def is_final(self) -> bool:
        return self in (Status.CLOSED, Status.CANCELLED)

    @property
    def is_waiting(self) -> bool:
        return self in (Status.WAITING_ON_CUSTOMER, Status.WAITING_ON_THIRD_PARTY)

    @property
    def is_active(self) -> bool:
        """Being worked on: the SLA clock may run."""
        return self in (Status.NEW, Status.OPEN) or self.is_waiting


class Channel(Enum):
    EMAIL = "email"
    WEB = "web"
    PHONE = "phone"
    CHAT = "chat"


class Coverage(Enum):
    """When the desk serves a contract: business hours only, an extended
    calendar, or around the clock (seed 004)."""

    STANDARD = "standard"
    EXTENDED = "extended"
    ALWAYS = "24x7"


class Agreement(Enum):
    """A help-desk contract, or the pay-per-use terms a customer without one
    is served under (seed 000 section 9)."""

    HELP_DESK = "help_desk"
    PAY_PER_USE = "pay_per_use"


class WorkCategory(Enum):
    SUPPORT = "support"
    TRAINING = "training"
    MEETING = "meeting"
    DEVELOPMENT = "development"
    TRAVEL = "travel"


class ClosureReason(Enum):
    ACCEPTED = "accepted"
    ACCEPTANCE_DEEMED = "acceptance_deemed"
    CUSTOMER_UNRESPONSIVE = "customer_unresponsive"
    CONTACT_ATTEMPTS_EXHAUSTED = "contact_attempts_exhausted"
    THIRD_PARTY = "third_party"


class CancellationReason(Enum):
    DUPLICATE = "duplicate"
    OPENED_BY_MISTAKE = "opened_by_mistake"


class LinkKind(Enum):
    RELATES_TO = "relates_to"
    FOLLOWS_UP = "follows_up"
    DUPLICATES = "duplicates"


class Visibility(Enum):
    PUBLIC = "public"
    INTERNAL = "internal"


class ContractStanding(Enum):
    """Whether the desk serves the contract: not while suspended, not after its end."""

    ACTIVE = "active"
    SUSPENDED = "suspended"
    ENDED = "ended"


class SlaClockName(Enum):
    FIRST_RESPONSE = "first_response"
    RESOLUTION = "resolution"


class SlaThreshold(Enum):
    """How far an SLA clock has gone: the contract's at-risk share, or past the target."""

    AT_RISK = "at_risk"
    BREACHED = "breached"


class Notice(Enum):
    """What the desk tells a requester before it acts on its own."""

    CLOSURE_PENDING = "closure_pending"


class MailNotice(Enum):
    """What an e-mail notice told the requester (api/mail/notices.py)."""

    OPENED = "opened"
    REPLY = "reply"
    WAITING_ON_YOU = "waiting_on_you"
    RESOLVED = "resolved"
    CLOSURE_PENDING = "closure_pending"
    CLOSED = "closed"
    RATING_INVITATION = "rating_invitation"


class Language(Enum):
    """The language a contract's requesters are written to in."""

    PT_BR = "pt-BR"
    ES = "es"
    EN = "en"


ALL_ENUMS: tuple[type[Enum], ...] = (
    Kind,
    WarrantyKind,
    Priority,
    Status,
    Channel,
    Coverage,
    Agreement,
    WorkCategory,
    ClosureReason,
    CancellationReason,
    LinkKind,
    Visibility,
    ContractStanding,
    SlaClockName,
    MailNotice,
    Language,
    SlaThreshold,
    Notice,
)
