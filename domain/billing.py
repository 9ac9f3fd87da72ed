"""Contract hours and billing (DESIGN: "Contract hours and billing"): how one
posted work entry splits into buckets, and what a month's statement charges.

Everything here is a pure function of its arguments, so a projection that
feeds it the same events in the same order gets the same statement, and an
issued statement can be recomputed and compared by digest.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from ticketledger.domain.errors import InvalidCommandError
from ticketledger.domain.terms import ContractTerms
from ticketledger.domain.vocabulary import Agreement, Kind

ZERO = timedelta(0)
MICROSECONDS_PER_HOUR = Decimal(3_600_000_000)
CENT = Decimal("0.01")
# Seed 003: work on a problem the customer caused is billed "tempo mínimo de 1h".
CUSTOMER_CAUSED_MINIMUM = timedelta(hours=1)
MONTH_PATTERN = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


# Months, always in the contract's local time.


def check_month(month: str) -> str:
    if not MONTH_PATTERN.match(month):
        raise InvalidCommandError(f"a month is written YYYY-MM, not {month!r}")
    return month


def month_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def local_month(instant: datetime, timezone: str) -> str:
    return month_of(instant.astimezone(ZoneInfo(timezone)).date())


def first_day(month: str) -> date:
    year, number = check_month(month).split("-")
    return date(int(year), int(number), 1)


def next_month(month: str) -> str:
    day = first_day(month)
    return month_of(date(day.year + day.month // 12, day.month % 12 + 1, 1))


# One entry's buckets.


def round_up(duration: timedelta, minutes: int) -> timedelta:
    """Every entry is rounded up to the contract's increment (seed 003: 15 min)."""
    step = timedelta(minutes=minutes)
    return step * -(-duration // step)


@dataclass(frozen=True)
class Buckets:
    """Where the time of posted work goes. Adjustments carry signed deltas."""

    consumed: timedelta = ZERO  # in-hours time, taken from the monthly allowance
    off_hours: timedelta = ZERO  # billable off-hours time, at the off-hours rate
    customer_in: timedelta = ZERO  # customer-caused, in hours: at the hourly rate
    customer_off: timedelta = ZERO  # customer-caused, off hours: at the off-hours rate
    warranty: timedelta = ZERO  # warranty work in scope: no charge, no allowance

    def __add__(self, other: Buckets) -> Buckets:
        return Buckets(*(a + b for a, b in zip(self.values(), other.values(), strict=True)))

    def __sub__(self, other: Buckets) -> Buckets:
        return Buckets(*(a - b for a, b in zip(self.values(), other.values(), strict=True)))

    def values(self) -> tuple[timedelta, ...]:
        return tuple(getattr(self, f.name) for f in fields(self))

    @property
    def customer_caused(self) -> timedelta:
        return self.customer_in + self.customer_off


def warranty_covers(terms: ContractTerms, kind: Kind, day: date) -> bool:
    warranty_kind = kind.warranty
    return warranty_kind is not None and terms.warranty_for(warranty_kind, day) is not None


def split_entry(
    *,
    duration: timedelta,
    off_hours: timedelta,
    off_hours_covered: timedelta,
    customer_caused: bool,
    under_warranty: bool,
    rounding_minutes: int,
) -> Buckets:
    """Off-hours time the contract covers (a critical emergency under extended or
    24x7 coverage) costs nothing extra, so it counts as in-hours time. Customer-
    caused work is billed on top of the fee even on a warranty ticket (seed 003)."""
    rounded = round_up(duration, rounding_minutes)
    billable_off = min(round_up(off_hours - off_hours_covered, rounding_minutes), rounded)
    in_hours = rounded - billable_off
    if customer_caused:
        return Buckets(customer_in=in_hours, customer_off=billable_off)
    if under_warranty:
        return Buckets(warranty=rounded)
    # Seed 002: support, training and meetings alike consume the allowance.
    return Buckets(consumed=in_hours, off_hours=billable_off)


# Amounts.


def hours(duration: timedelta) -> Decimal:
    microseconds = (duration.days * 86_400 + duration.seconds) * 1_000_000 + duration.microseconds
    return Decimal(microseconds) / MICROSECONDS_PER_HOUR


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def hours_2dp(duration: timedelta) -> Decimal:
    return cents(hours(duration))


@dataclass(frozen=True)
class PostedHours:
    """What a statement needs from one posted row: its ticket and its buckets."""

    ticket_id: str
    buckets: Buckets


def customer_caused_top_up(posted: Iterable[PostedHours]) -> timedelta:
    """Seed 003's 1 h minimum applies per ticket: a 20-minute job is billed as 1 h."""
    per_ticket: dict[str, timedelta] = defaultdict(lambda: ZERO)
    for row in posted:
        per_ticket[row.ticket_id] += row.buckets.customer_caused
    short = [CUSTOMER_CAUSED_MINIMUM - t for t in per_ticket.values() if t > ZERO]
    return sum((s for s in short if s > ZERO), ZERO)


# The statement.


@dataclass(frozen=True)
class Adjustment:
    """A correction of an entry posted in an issued month: the difference it
    makes to that month's statement, billed in a later one."""

    reference: str  # the posting id of the original posted entry
    correction: str  # the WorkCorrected event: ticket id and version
    correction_position: int
    origin_month: str
    ticket_number: str
    consumed_hours: Decimal
    off_hours_hours: Decimal
    customer_caused_hours: Decimal
    warranty_hours: Decimal
    amount: Decimal

    def to_json(self) -> dict[str, Any]:
        return {f.name: _plain(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Adjustment:
        return cls(**_typed(cls, data))


@dataclass(frozen=True)
class Statement:
    contract_id: str
    customer: str
    month: str
    currency: str
    agreement: str
    monthly_fee: Decimal
    addon_24x7: Decimal
    fees: Decimal
    allowance_hours: Decimal
    consumed_hours: Decimal
    covered_by_allowance_hours: Decimal
    overage_hours: Decimal
    hourly_rate: Decimal
    overage_amount: Decimal
    off_hours_hours: Decimal
    off_hours_rate: Decimal
    off_hours_amount: Decimal
    customer_caused_hours: Decimal
    customer_caused_minimum_top_up_hours: Decimal
    customer_caused_amount: Decimal
    warranty_hours: Decimal
    adjustments: tuple[Adjustment, ...]
    adjustments_amount: Decimal
    total: Decimal

    def to_json(self) -> dict[str, Any]:
        """Field order is the key order; amounts and hours are decimal strings."""
        data = {f.name: _plain(getattr(self, f.name)) for f in fields(self)}
        data["adjustments"] = [a.to_json() for a in self.adjustments]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Statement:
        typed = _typed(cls, data)
        typed["adjustments"] = tuple(Adjustment.from_json(a) for a in data["adjustments"])
        return cls(**typed)

    def canonical_json(self) -> str:
        return canonical_json(self.to_json())

    def digest(self) -> str:
        return hashlib.sha256(self.canonical_json().encode("utf-8")).hexdigest()

    def lines(self) -> list[tuple[str, str, str, str]]:
        """(item, hours, rate, amount) as printed on the invoice."""
        c = self.currency
        lines = [
            ("monthly fee", "", "", f"{self.monthly_fee} {c}"),
            ("24x7 add-on", "", "", f"{self.addon_24x7} {c}"),
            ("allowance", f"{self.allowance_hours}", "", ""),
            ("consumed", f"{self.consumed_hours}", "", ""),
            ("covered by allowance", f"{self.covered_by_allowance_hours}", "", ""),
            ("overage", f"{self.overage_hours}", f"{self.hourly_rate}", f"{self.overage_amount}"),
            (
                "off-hours",
                f"{self.off_hours_hours}",
                f"{self.off_hours_rate}",
                f"{self.off_hours_amount}",
            ),
            (
                "customer-caused",
                f"{self.customer_caused_hours}",
                "",
                f"{self.customer_caused_amount}",
            ),
            ("warranty (no charge)", f"{self.warranty_hours}", "", "0.00"),
        ]
        for a in self.adjustments:
            charged = a.consumed_hours + a.off_hours_hours + a.customer_caused_hours
            item = f"adjustment {a.origin_month} {a.ticket_number}"
            lines.append((item, f"{charged}", "", f"{a.amount}"))
        lines.append(("total", "", "", f"{self.total} {c}"))
        return lines

    def to_csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(("item", "hours", "rate", "amount"))
        writer.writerows(self.lines())
        return out.getvalue()

    def render_table(self) -> str:
        title = f"{self.customer} - {self.month} ({self.currency})"
        rows = [("item", "hours", "rate", "amount"), *self.lines()]
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        body = [
            "  ".join(
                cell.ljust(w) if i == 0 else cell.rjust(w)
                for i, (cell, w) in enumerate(zip(row, widths, strict=True))
            ).rstrip()
            for row in rows
        ]
        return "\n".join([title, *body]) + "\n"


def canonical_json(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _plain(value: Any) -> Any:
    return str(value) if isinstance(value, Decimal) else value


def _typed(cls: type, data: dict[str, Any]) -> dict[str, Any]:
    """Annotations are strings here (postponed evaluation), so "Decimal" names
    the fields read back from their decimal strings."""
    return {
        f.name: Decimal(data[f.name]) if f.type == "Decimal" else data[f.name] for f in fields(cls)
    }


def compute_statement(
    *,
    contract_id: str,
    month: str,
    terms: ContractTerms,
    posted: Sequence[PostedHours],
    adjustments: Sequence[Adjustment] = (),
) -> Statement:
    """Terms are those in force on the month's first day. Consumed hours come
    from the allowance first; the rest is overage at the hourly rate. Pay-per-
    use has no fee and no allowance, so every in-hours hour is overage."""
    totals = sum((p.buckets for p in posted), Buckets())
    top_up = customer_caused_top_up(posted)
    pay_per_use = terms.agreement is Agreement.PAY_PER_USE
    fee = Decimal(0) if pay_per_use else cents(terms.monthly_fee)
    addon = cents(fee * terms.addon_24x7_share) if terms.addon_24x7_share else Decimal("0.00")
    allowance = Decimal(0) if pay_per_use else terms.monthly_hours
    consumed = hours(totals.consumed)
    covered = min(consumed, allowance)
    rate, off_rate = terms.hourly_rate, terms.off_hours_hourly_rate
    overage_amount = cents((consumed - covered) * rate)
    off_amount = cents(hours(totals.off_hours) * off_rate)
    customer_amount = cents(
        hours(totals.customer_in + top_up) * rate + hours(totals.customer_off) * off_rate
    )
    adjustments_amount = cents(sum((a.amount for a in adjustments), Decimal(0)))
    fees = cents(fee + addon)
    return Statement(
        contract_id=contract_id,
        customer=terms.customer,
        month=month,
        currency=terms.currency,
        agreement=terms.agreement.value,
        monthly_fee=fee,
        addon_24x7=addon,
        fees=fees,
        allowance_hours=cents(allowance),
        consumed_hours=cents(consumed),
        covered_by_allowance_hours=cents(covered),
        overage_hours=cents(consumed - covered),
        hourly_rate=cents(rate),
        overage_amount=overage_amount,
        off_hours_hours=hours_2dp(totals.off_hours),
        off_hours_rate=cents(off_rate),
        off_hours_amount=off_amount,
        customer_caused_hours=hours_2dp(totals.customer_caused + top_up),
        customer_caused_minimum_top_up_hours=hours_2dp(top_up),
        customer_caused_amount=customer_amount,
        warranty_hours=hours_2dp(totals.warranty),
        adjustments=tuple(adjustments),
        adjustments_amount=adjustments_amount,
        total=cents(fees + overage_amount + off_amount + customer_amount + adjustments_amount),
    )
