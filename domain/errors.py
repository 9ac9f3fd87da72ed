"""Domain errors. Each has a stable machine-readable code the API maps to HTTP."""

from __future__ import annotations


class DomainError(Exception):
    code = "domain_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidCommandError(DomainError):
    code = "invalid_command"


class NaiveDatetimeError(InvalidCommandError, ValueError):
    code = "naive_datetime"


class OccurredInFutureError(InvalidCommandError):
    code = "occurred_in_future"


class OccurredOutOfOrderError(InvalidCommandError):
    code = "occurred_out_of_order"


class InvalidContractTermsError(InvalidCommandError):
    code = "invalid_contract_terms"


class NotFoundError(DomainError):
    code = "not_found"


class TicketNotFoundError(NotFoundError):
    code = "ticket_not_found"


class ContractNotFoundError(NotFoundError):
    code = "contract_not_found"


class HeldRequestNotFoundError(NotFoundError):
    code = "held_request_not_found"


class ConflictError(DomainError):
    code = "conflict"


class VersionMismatchError(ConflictError):
    code = "version_mismatch"


class KeptChangingError(ConflictError):
    """Concurrent writers kept changing the aggregate while the command was
    decided again and again: nothing was written, and a retry may succeed."""

    code = "kept_changing"


class SlaTargetUnreachableError(ConflictError):
    """The contract's business hours cannot bring an SLA clock to its target:
    terms stored before their ranges were checked (domain/terms.py)."""

    code = "sla_target_unreachable"


class InvalidTransitionError(ConflictError):
    code = "invalid_transition"


class TicketClosedError(InvalidTransitionError):
    code = "ticket_closed"


class TicketCancelledError(InvalidTransitionError):
    code = "ticket_cancelled"


class TicketNotResolvedError(InvalidTransitionError):
    code = "ticket_not_resolved"


class TicketNotWaitingError(InvalidTransitionError):
    code = "ticket_not_waiting"


class AlreadyWaitingError(InvalidTransitionError):
    code = "already_waiting"


class ClosureNotDueError(InvalidTransitionError):
    code = "closure_not_due"


class AlreadyRatedError(InvalidTransitionError):
    code = "already_rated"


class NotRateableError(InvalidTransitionError):
    code = "not_rateable"


class HighestLevelError(InvalidTransitionError):
    code = "highest_level"


class NothingChangedError(InvalidTransitionError):
    code = "nothing_changed"


class DuplicateWorkEntryError(ConflictError):
    code = "duplicate_work_entry"


class WorkEntryNotFoundError(NotFoundError):
    code = "work_entry_not_found"


class InvalidLinkError(InvalidCommandError):
    code = "invalid_link"


class ContractError(ConflictError):
    code = "contract_error"


class ContractSuspendedError(ContractError):
    code = "contract_suspended"


class ContractEndedError(ContractError):
    code = "contract_ended"


class ContractNotStartedError(ContractError):
    code = "contract_not_started"


class RequesterNotAuthorisedError(ContractError):
    code = "requester_not_authorised"


class AuthorisationNotFoundError(ContractError):
    code = "authorisation_not_found"


class WarrantyNotCoveredError(ContractError):
    code = "warranty_not_covered"


class OffHoursNotAuthorisedError(ContractError):
    code = "off_hours_not_authorised"


class OffHoursExceptionUsedError(ContractError):
    code = "off_hours_exception_used"


class HeldRequestDecidedError(InvalidTransitionError):
    code = "held_request_decided"


class StatementAlreadyIssuedError(ContractError):
    code = "statement_already_issued"


class MonthNotEndedError(ContractError):
    code = "month_not_ended"


class UnknownEventError(TypeError):
    """An event class the fold gives no meaning to: a defect in the code, never
    the client's fault, so it is no DomainError."""
