"""What every projection is: a name, its own tables, and how one event changes
them. A projection keeps no state between events outside its tables, so a
rolled-back page leaves nothing behind and a rebuild starts truly from zero."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, ClassVar

from ticketledger.domain.contract import Contract
from ticketledger.domain.vocabulary import ContractState
from ticketledger.projections.store import Rows, Table

Handler = Callable[[Any, Any, Rows, int], None]

# What a contract's read models record of its state changes.
CONTRACT_STATE_ENTERED: dict[type, ContractState] = {
    Contract.Suspended: ContractState.SUSPENDED,
    Contract.Reinstated: ContractState.ACTIVE,
    Contract.Ended: ContractState.ENDED,
}


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
