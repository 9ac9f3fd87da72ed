"""Every value type the events carry survives a round trip through stored JSON exactly."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from eventsourcing.persistence import DatetimeAsISO, DecimalAsStr, JSONTranscoder, UUIDAsHex
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from tests.support import focco_terms
from ticketledger.domain.terms import ContractTerms
from ticketledger.domain.vocabulary import ALL_ENUMS
from ticketledger.service.transcodings import register_ledger_transcodings


def ledger_transcoder() -> JSONTranscoder:
    """As the application builds it: the library's own transcodings, then ours."""
    transcoder = JSONTranscoder()
    for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO()):
        transcoder.register(transcoding)
    register_ledger_transcodings(transcoder)
    return transcoder


TRANSCODER = ledger_transcoder()


def round_trip(value: Any) -> Any:
    return TRANSCODER.decode(TRANSCODER.encode({"value": value}))["value"]


@given(st.timedeltas(min_value=timedelta(days=-9999), max_value=timedelta(days=9999)))
def test_durations_round_trip_to_the_microsecond(value: timedelta) -> None:
    assert round_trip(value) == value


@given(st.decimals(allow_nan=False, allow_infinity=False, places=4))
def test_decimals_round_trip_digit_for_digit(value: Decimal) -> None:
    decoded = round_trip(value)
    assert decoded == value and str(decoded) == str(value)


@pytest.mark.parametrize(
    "value",
    [date(2026, 2, 28), time(13, 30), time(23, 59, 59, 999999)],
    ids=["date", "time", "time-with-microseconds"],
)
def test_dates_and_times_round_trip(value: Any) -> None:
    decoded = round_trip(value)
    assert decoded == value and type(decoded) is type(value)


def test_an_aware_datetime_keeps_its_offset() -> None:
    instant = datetime(2026, 10, 5, 9, 0, tzinfo=timezone(timedelta(hours=-3)))
    decoded = round_trip(instant)
    assert decoded == instant and decoded.utcoffset() == timedelta(hours=-3)
    assert round_trip(instant.astimezone(UTC)).tzinfo is not None


def test_every_enumeration_member_round_trips_as_itself() -> None:
    for enum_class in ALL_ENUMS:
        for member in enum_class:
            assert round_trip(member) is member


def test_contract_terms_round_trip_with_exact_decimals() -> None:
    terms = ContractTerms.model_validate(focco_terms(addon_24x7_share="0.30", coverage="24x7"))
    decoded = round_trip(terms)
    assert decoded == terms
    assert str(decoded.addon_24x7_share) == "0.30" and decoded.sla == terms.sla


def test_stored_terms_still_read_when_a_later_library_no_longer_knows_a_code() -> None:
    terms = ContractTerms.model_validate(focco_terms())
    stored = json.loads(TRANSCODER.encode({"value": terms}))
    stored["value"]["_data_"]["business_hours"]["holidays_subdivision"] = "XX"
    stored["value"]["_data_"]["timezone"] = "America/Retired_Zone"
    decoded = TRANSCODER.decode(json.dumps(stored).encode())["value"]
    assert decoded.business_hours.holidays_subdivision == "XX"
    with pytest.raises(ValidationError):
        ContractTerms.model_validate(decoded.model_dump(mode="json"))
