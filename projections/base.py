"""What every projection is: a name, its own tables, and how one event changes
them. A projection keeps no state between events outside its tables, so a
rolled-back page leaves nothing behind and a rebuild starts truly from zero."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from ticketledger.domain.contract import Contract, evolve
from ticketledger.domain.contract_state import ContractState
from ticketledger.projections.quarantine import ContractQuarantinedError
from ticketledger.projections.store import Rows, Table, contract_state_from, contract_state_text

Handler = Callable[[Any, Any, Rows, int], None]

CONTRACT_STATES = Table(
    "contract_states",
    (("contract_id", "TEXT"), ("state_json", "TEXT")),
    key=("contract_id",),
)


class Projection(ABC):
    name: ClassVar[str]
    tables: ClassVar[tuple[Table, ...]]

    @abstractmethod
    def apply(self, event: Any, rows: Rows, position: int) -> None:
        """Changes the rows for one event at this log position."""


class DispatchingProjection(Projection):
    """Calls the handler registered for the event's class; other events pass by.
    Handlers are registered with `handles(SomeEvent)` on methods."""

    handlers: ClassVar[dict[type, str]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.handlers = {}
        for klass in reversed(cls.__mro__):
            for attribute, value in vars(klass).items():
                for event_class in getattr(value, "handled_events", ()):
                    cls.handlers[event_class] = attribute

    def apply(self, event: Any, rows: Rows, position: int) -> None:
        for klass in type(event).__mro__:
            attribute = self.handlers.get(klass)
            if attribute is not None:
                getattr(self, attribute)(event, rows, position)
                return


def handles(*event_classes: type) -> Callable[[Any], Any]:
    def register(method: Any) -> Any:
        method.handled_events = (*getattr(method, "handled_events", ()), *event_classes)
        return method

    return register


@dataclass(frozen=True)
class ContractChange:
    """One contract event as a projection meets it: the contract's state
    before (None at the signing) and after, folded by the contract's `evolve`."""

    contract_id: str
    before: ContractState | None
    after: ContractState
    event: Any
    position: int


class KeepsContracts(DispatchingProjection):
    """A projection that keeps contracts reads them off the state the
    contract's events fold into (domain/contract.py's `evolve`), kept beside
    its rows as JSON in its `contract_states` table: it never interprets a
    contract event itself. A projection with rows of its own for contracts
    writes them in `contract_changed`."""

    @handles(Contract.Signed, Contract.Event)
    def contract_event(self, event: Any, rows: Rows, position: int) -> None:
        contract_id = str(event.originator_id)
        before: ContractState | None = None
        if not isinstance(event, Contract.Signed):
            before = stored_contract_state(rows, contract_id)
            if before is None:
                return  # tables built before the contract fold: rebuild them
        after = evolve(before, event)
        rows.put(
            "contract_states",
            {"contract_id": contract_id, "state_json": contract_state_text(after)},
        )
        self.contract_changed(ContractChange(contract_id, before, after, event, position), rows)

    def contract_changed(self, change: ContractChange, rows: Rows) -> None:
        """Brings this projection's own rows of the contract to `change.after`;
        the state kept is all that the SLA and deadline projections need."""


def stored_contract_state(rows: Rows, contract_id: str) -> ContractState | None:
    if contract_id in rows.held:
        raise ContractQuarantinedError(contract_id)
    stored = rows.get("contract_states", contract_id=contract_id)
    return None if stored is None else contract_state_from(str(stored["state_json"]))


def contract_state(rows: Rows, contract_id: str) -> ContractState:
    """The contract as this projection's events so far folded it."""
    state = stored_contract_state(rows, contract_id)
    if state is None:
        raise KeyError(f"no contract {contract_id}")
    return state
