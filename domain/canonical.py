"""Sets written the same way by every process.

A frozenset iterates in an order that depends on the process's string hash
seed, so two processes folding the same events would write the same state as
different JSON, and a projection rebuilt elsewhere would differ from the live
one row for row. A set kept as JSON is written in the order of its members'
own JSON."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from pydantic import PlainSerializer
from pydantic_core import to_json

T = TypeVar("T")


def in_order(members: frozenset[Any]) -> list[Any]:
    return sorted(members, key=to_json)


CanonicalSet = Annotated[frozenset[T], PlainSerializer(in_order)]
