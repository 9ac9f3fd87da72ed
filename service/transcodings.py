"""How domain values are written into stored events, and read back exactly.

Each transcoding has a stable name: renaming a Python class must not change
how its stored values decode."""

from __future__ import annotations

from datetime import date, time, timedelta
from enum import Enum
from typing import Any
from uuid import UUID

from eventsourcing.persistence import (
    DatetimeAsISO,
    DecimalAsStr,
    JSONTranscoder,
    Mapper,
    Transcoding,
    UUIDAsHex,
)
from pydantic import BaseModel

from ticketledger.domain.attachments import Attachment
from ticketledger.domain.terms import (
    STORED,
    ClosurePeriods,
    ContractTerms,
    OpeningHours,
    SlaAlerts,
    SlaTarget,
    Warranty,
)
from ticketledger.domain.vocabulary import ALL_ENUMS


class DateAsISO(Transcoding):
    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


class TimeAsISO(Transcoding):
    type = time
    name = "time_iso"

    def encode(self, obj: time) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> time:
        return time.fromisoformat(data)


class TimedeltaAsMicroseconds(Transcoding):
    """Whole microseconds, so durations add up exactly after a round trip."""

    type = timedelta
    name = "timedelta_us"

    def encode(self, obj: timedelta) -> int:
        return (obj.days * 86_400 + obj.seconds) * 1_000_000 + obj.microseconds

    def decode(self, data: int) -> timedelta:
        return timedelta(microseconds=data)


class EnumByValue(Transcoding):
    def __init__(self, enum_class: type[Enum]) -> None:
        self.type = enum_class
        self.name = f"enum:{enum_class.__name__}"

    def encode(self, obj: Enum) -> Any:
        return obj.value

    def decode(self, data: Any) -> Enum:
        enum_class: type[Enum] = self.type
        return enum_class(data)


class PydanticModel(Transcoding):
    """A model is stored as its JSON form and validated again when read."""

    def __init__(self, model_class: type[BaseModel]) -> None:
        self.type = model_class
        self.name = f"model:{model_class.__name__}"

    def encode(self, obj: BaseModel) -> Any:
        return obj.model_dump(mode="json")

    def decode(self, data: Any) -> BaseModel:
        model_class: type[BaseModel] = self.type
        return model_class.model_validate(data, context={STORED: True})


MODELS: tuple[type[BaseModel], ...] = (
    Attachment,
    ContractTerms,
    OpeningHours,
    SlaTarget,
    Warranty,
    ClosurePeriods,
    SlaAlerts,
)


def register_ledger_transcodings(transcoder: JSONTranscoder) -> None:
    for transcoding in (DateAsISO(), TimeAsISO(), TimedeltaAsMicroseconds()):
        transcoder.register(transcoding)
    for enum_class in ALL_ENUMS:
        transcoder.register(EnumByValue(enum_class))
    for model_class in MODELS:
        transcoder.register(PydanticModel(model_class))


def offline_mapper() -> Mapper[UUID]:
    """The ledger's mapper without a ledger: the library's default transcodings
    and ours, as `TicketLedger.register_transcodings` sets them. An auditor's
    bundle decodes with it, with no database."""
    transcoder = JSONTranscoder()
    for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO()):
        transcoder.register(transcoding)
    register_ledger_transcodings(transcoder)
    return Mapper(transcoder=transcoder)
