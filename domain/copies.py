"""`replace` for the domain's frozen dataclasses: a copy with some fields
changed, made without running `__init__` again.

The fold copies a ticket's state (thirty fields) at every event and its SLA
clocks several times per event; `dataclasses.replace` builds keyword
arguments for every field and runs the generated `__init__`, which sets each
one through `object.__setattr__`. That was about a tenth of a rebuild and a
quarter of a chronology. A frozen dataclass that runs no `__post_init__`,
keeps its fields in `__dict__`, has no field left out of `__init__` and no
cached property is fully described by its fields, so copying its `__dict__`
and setting the changed fields gives the same object `dataclasses.replace`
would. Any other class is copied by `dataclasses.replace` itself.

Type checkers see `dataclasses.replace`, so every call's field names and
types are checked as before."""

from __future__ import annotations

import dataclasses
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar

# Per class: its field names when it can be copied by its __dict__, else None.
_PLAIN: dict[type, frozenset[str] | None] = {}


def plain_fields(cls: type) -> frozenset[str] | None:
    """The field names of `cls` if a copy of its `__dict__` is a faithful
    copy of an instance, else None."""
    try:
        return _PLAIN[cls]
    except KeyError:
        pass
    params = getattr(cls, "__dataclass_params__", None)
    fields = dataclasses.fields(cls) if params is not None else ()
    plain = (
        params is not None
        and params.frozen
        and params.init
        and not hasattr(cls, "__post_init__")
        and not hasattr(cls, "__slots__")
        and all(f.init for f in fields)
        and not any(
            isinstance(member, cached_property) for k in cls.__mro__ for member in vars(k).values()
        )
    )
    names = frozenset(f.name for f in fields) if plain else None
    _PLAIN[cls] = names
    return names


def fast_replace(obj: Any, /, **changes: Any) -> Any:
    """`obj` with `changes`, as `dataclasses.replace` makes it."""
    names = plain_fields(type(obj))
    if names is None:
        return dataclasses.replace(obj, **changes)
    if not changes.keys() <= names:
        unknown = ", ".join(sorted(changes.keys() - names))
        raise TypeError(f"{type(obj).__qualname__} has no field {unknown}")
    copy = object.__new__(type(obj))
    state = copy.__dict__
    state.update(obj.__dict__)
    state.update(changes)
    return copy


if TYPE_CHECKING:
    from dataclasses import replace as replace
else:
    replace = fast_replace


T = TypeVar("T", bound=type)


def shared_when_copied(cls: T) -> T:
    """A value nothing changes in place is its own deep copy: the aggregates
    a command gets from a cache are deep-copied so that a refused command
    leaves nothing behind, and copying their states, clocks and terms field
    by field (a contract's calendars with all they remember) cost more than
    the read they saved."""
    cls.__deepcopy__ = _itself  # type: ignore[attr-defined]
    return cls


def _itself(value: Any, memo: Any = None) -> Any:
    return value


def copied_by_attributes(cls: T) -> T:
    """An aggregate whose attributes are values nothing changes in place (its
    id, version and timestamps, and a state `shared_when_copied`) is deep-
    copied by copying its attributes: only its list of pending events (of
    frozen events) is its own. `copy.deepcopy` walked every attribute and
    rebuilt each timestamp, a fifth of a reply's processor time."""
    cls.__deepcopy__ = _attributes_copied  # type: ignore[attr-defined]
    return cls


def _attributes_copied(aggregate: Any, memo: Any = None) -> Any:
    copy = object.__new__(type(aggregate))
    attributes = copy.__dict__
    attributes.update(aggregate.__dict__)
    attributes["_pending_events"] = list(attributes.get("_pending_events", ()))
    return copy
