"""A contract's terms: validated configuration carried whole in contract events."""

from __future__ import annotations

import calendar as gregorian
import zoneinfo
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import cached_property, lru_cache
from typing import Annotated, Any, ClassVar, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    ValidationInfo,
    field_validator,
    model_serializer,
    model_validator,
)

from ticketledger.domain.calendar import BusinessCalendar
from ticketledger.domain.copies import shared_when_copied
from ticketledger.domain.vocabulary import Agreement, Coverage, Language, Priority, WarrantyKind

MACHINE_DEPENDENT_ZONES = frozenset({"localtime", "posixrules", "Factory"})

DIVISORS_OF_AN_HOUR = tuple(n for n in range(1, 61) if 60 % n == 0)
STORED = "stored"


@lru_cache(maxsize=1)
def zones() -> list[str]:
    """The zones a contract may name, as its JSON schema lists them: read from
    the zone database only when a schema is built, not at every import."""
    return sorted(zoneinfo.available_timezones() - MACHINE_DEPENDENT_ZONES)


@lru_cache(maxsize=256)
def stored_terms(text: str) -> ContractTerms:
    """Terms kept as JSON by a read model: parsed once per distinct text; the
    cache holds nothing that could change what a projection writes."""
    return ContractTerms.model_validate_json(text, context={STORED: True})


def is_stored(info: ValidationInfo) -> bool:
    """Terms read back from a stored event were checked when signed; a later
    tzdata or holidays release must not make old events unreadable."""
    return bool(info.context and info.context.get(STORED))


# The ranges a contract's terms may take (README "Contract terms"). Bounds on
# durations and dates are checked when terms are signed, not when a stored event
# is read back: an event already in the log must stay readable whatever it holds
# (a projection that cannot apply it quarantines it instead).
EARLIEST_DAY = date(2000, 1, 1)
LATEST_DAY = date(2100, 12, 31)
SLA_TARGET_RANGE = (timedelta(minutes=1), timedelta(days=90))
CLOSURE_PERIOD_RANGE = (timedelta(minutes=1), timedelta(days=365))
CLOSURE_AGE_RANGE = (timedelta(0), timedelta(days=365))
# The longest SLA target must be reached within this much calendar time of the
# contract's start, so that every clock walk ends far inside the calendar's own
# ten-year search limit whatever the ticket.
SLA_REACH = timedelta(days=730)
MOST_WINDOWS_A_DAY = 12
MOST_EXTRA_HOLIDAYS = 1000
MOST_WARRANTIES = 100


def shown(value: object) -> str:
    """A bound or value as a client writes it: durations in ISO 8601."""
    if not isinstance(value, timedelta):
        return str(value)
    if value < timedelta(0):
        return f"-{shown(-value)}"
    hours, rest = divmod(value.seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    second_text = f"{seconds}.{value.microseconds:06d}".rstrip("0") if value.microseconds else ""
    clock = "".join(f"{n}{u}" for n, u in ((hours, "H"), (minutes, "M")) if n)
    clock += f"{second_text}S" if second_text else (f"{seconds}S" if seconds else "")
    text = (f"{value.days}D" if value.days else "") + (f"T{clock}" if clock else "")
    return f"P{text}" if text else "PT0S"


def _bounded(low: Any, high: Any, what: str) -> AfterValidator:
    def check(value: Any, info: ValidationInfo) -> Any:
        if not is_stored(info) and not low <= value <= high:
            raise ValueError(
                f"{what} must lie between {shown(low)} and {shown(high)}, got {shown(value)}"
            )
        return value

    return AfterValidator(check)


def _at_most(most: int, what: str) -> AfterValidator:
    def check(value: Any, info: ValidationInfo) -> Any:
        if not is_stored(info) and len(value) > most:
            raise ValueError(f"at most {most} {what}, got {len(value)}")
        return value

    return AfterValidator(check)


Day = Annotated[
    date,
    _bounded(EARLIEST_DAY, LATEST_DAY, "a date"),
    Field(description="a date from 2000-01-01 to 2100-12-31"),
]
SlaDuration = Annotated[
    timedelta,
    _bounded(*SLA_TARGET_RANGE, "an SLA target"),
    Field(description="business time, from PT1M to P90D, reached within 730 days of hours"),
]
ClosurePeriod = Annotated[
    timedelta,
    _bounded(*CLOSURE_PERIOD_RANGE, "a closure period"),
    Field(description="from PT1M to P365D"),
]
ClosureAge = Annotated[
    timedelta,
    _bounded(*CLOSURE_AGE_RANGE, "a closure age"),
    Field(description="from PT0S to P365D"),
]
Money = Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=4)]
WallClock = Annotated[str, Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$")]
HourAmount = Annotated[Decimal, Field(ge=0, max_digits=8, decimal_places=2)]


# Frozen terms are shared, with the calendars they built, by every copy of the
# contract or ticket that holds them.
@shared_when_copied
class Frozen(BaseModel):
    # Built on first use: a query such as `ticketledger show` validates no terms.
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    # Settings added after contracts were first stored. Each is written only when
    # it differs from its default, so terms signed before it existed, and terms
    # that leave it alone, encode byte for byte as they always did (the stored
    # events' hash chain and the golden fixtures depend on that).
    ADDED_LATER: ClassVar[frozenset[str]] = frozenset()

    @model_serializer(mode="wrap")
    def _omit_later_defaults(self, handler: SerializerFunctionWrapHandler) -> Any:
        data = handler(self)
        for name in self.ADDED_LATER:
            if (
                isinstance(data, dict)
                and getattr(self, name) == type(self).model_fields[name].default
            ):
                data.pop(name, None)
        return data


class OpeningHours(Frozen):
    """Opening hours: wall-clock windows per weekday (0 = Monday) plus public
    holidays of a country and region and extra closed dates."""

    windows: dict[
        Annotated[int, Field(ge=0, le=6)],
        Annotated[list[tuple[WallClock, WallClock]], _at_most(MOST_WINDOWS_A_DAY, "windows a day")],
    ]
    holidays_country: Annotated[str, Field(min_length=2, max_length=3)] | None = None
    holidays_subdivision: Annotated[str, Field(min_length=1, max_length=10)] | None = None
    extra_holidays: Annotated[list[Day], _at_most(MOST_EXTRA_HOLIDAYS, "extra holidays")] = []

    @field_validator("windows")
    @classmethod
    def _some_window(
        cls, value: dict[int, list[tuple[str, str]]]
    ) -> dict[int, list[tuple[str, str]]]:
        if not any(value.values()):
            raise ValueError("opening hours need at least one window, or SLA clocks never run")
        return value

    def calendar(self, timezone: str) -> BusinessCalendar:
        return BusinessCalendar(
            timezone=timezone,
            windows={day: [(s, e) for s, e in spans] for day, spans in self.windows.items()},
            holidays_country=self.holidays_country,
            holidays_subdivision=self.holidays_subdivision,
            extra_holidays=list(self.extra_holidays),
        )


class SlaTarget(Frozen):
    """Business durations, measured in the calendar that applies to the ticket."""

    first_response: SlaDuration
    resolution: SlaDuration

    @model_validator(mode="after")
    def _positive(self) -> Self:
        if self.first_response <= timedelta(0) or self.resolution <= timedelta(0):
            raise ValueError("SLA targets must be positive durations")
        if self.resolution < self.first_response:
            raise ValueError("the resolution target cannot be shorter than the first response")
        return self


class Warranty(Frozen):
    """Works: from the signed hand-over with technical acceptance. Material:
    from the invoice date (seed 000, sections 3 and 4)."""

    kind: WarrantyKind
    starts_on: Day
    months: Annotated[int, Field(gt=0, le=240)]
    scope: Annotated[str, _at_most(1000, "characters of scope")] = ""

    @property
    def ends_on(self) -> date:
        """The first day no longer covered."""
        month_index = self.starts_on.month - 1 + self.months
        year, month = self.starts_on.year + month_index // 12, month_index % 12 + 1
        day = min(self.starts_on.day, gregorian.monthrange(year, month)[1])
        return date(year, month, day)

    def covers(self, day: date) -> bool:
        return self.starts_on <= day < self.ends_on


class ClosurePeriods(Frozen):
    """How long the desk waits before closing a ticket by itself (seeds 000, 001,
    004): acceptance is deemed `acceptance` after resolution; a customer silent
    for `customer_silence` while the desk waits on them is told
    `customer_silence_notice` before the closure ("serán cerrados previo aviso");
    `failed_contact_attempts` failed contacts close a ticket once it is
    `contact_attempts_minimum_age` old."""

    ADDED_LATER: ClassVar[frozenset[str]] = frozenset({"customer_silence_notice"})

    acceptance: ClosurePeriod = timedelta(days=7)
    customer_silence: ClosurePeriod = timedelta(days=7)
    customer_silence_notice: ClosureAge = timedelta(days=2)
    failed_contact_attempts: Annotated[int, Field(gt=0, le=20)] = 3
    contact_attempts_minimum_age: ClosureAge = timedelta(hours=48)

    @model_validator(mode="after")
    def _sensible(self) -> Self:
        if min(self.acceptance, self.customer_silence) <= timedelta(0):
            raise ValueError("closure periods must be positive durations")
        if self.contact_attempts_minimum_age < timedelta(0):
            raise ValueError("the minimum age for closing on failed contacts cannot be negative")
        if not timedelta(0) <= self.customer_silence_notice <= self.customer_silence:
            raise ValueError(
                "the notice before closing a silent customer's ticket lies between zero "
                "and the silence period itself"
            )
        return self


class SlaAlerts(Frozen):
    """When the desk is warned about an SLA clock: at `at_risk_percent` of the
    target spent, and at the breach, which escalates the ticket one level when
    `escalate_on_breach` is set."""

    at_risk_percent: Annotated[int, Field(gt=0, lt=100)] = 80
    escalate_on_breach: bool = False


class ContractTerms(Frozen):
    ADDED_LATER: ClassVar[frozenset[str]] = frozenset({"sla_alerts", "language"})

    customer: Annotated[str, Field(min_length=1, max_length=200)]
    plan: Annotated[str, Field(min_length=1, max_length=100)]
    agreement: Agreement = Agreement.HELP_DESK
    timezone: Annotated[str, Field(json_schema_extra=lambda schema: schema.update(enum=zones()))]
    business_hours: OpeningHours
    coverage: Coverage = Coverage.STANDARD
    coverage_hours: OpeningHours | None = None
    sla: Annotated[
        dict[Priority, SlaTarget],
        Field(json_schema_extra={"required": [p.value for p in Priority]}),
    ]
    monthly_fee: Money = Decimal("0")
    monthly_hours: HourAmount = Decimal("0")
    hourly_rate: Money
    off_hours_multiplier: Annotated[Decimal, Field(ge=1, le=10)] = Decimal("1.5")
    off_hours_rate: Money | None = None
    rounding_minutes: Annotated[
        int, Field(ge=1, le=60, json_schema_extra={"enum": list(DIVISORS_OF_AN_HOUR)})
    ] = 1
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
    addon_24x7_share: Annotated[Decimal, Field(gt=0, le=1)] | None = None
    off_hours_exceptions: (
        Annotated[int, Field(ge=0), _bounded(0, 1000, "off-hours exceptions")] | None
    ) = 1
    warranties: Annotated[list[Warranty], _at_most(MOST_WARRANTIES, "warranties")] = []
    closure: ClosurePeriods = ClosurePeriods()
    sla_alerts: SlaAlerts = SlaAlerts()
    # The language its requesters are written to in (api/mail/notices.py).
    language: Language = Language.PT_BR
    starts_on: Day

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str, info: ValidationInfo) -> str:
        if is_stored(info):
            return value
        if value in MACHINE_DEPENDENT_ZONES:
            raise ValueError(f"{value!r} depends on the machine: name an IANA zone")
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @field_validator("rounding_minutes")
    @classmethod
    def _divides_hour(cls, value: int) -> int:
        if 60 % value:
            raise ValueError("rounding_minutes must divide an hour (1, 5, 6, 10, 15, 30, 60...)")
        return value

    @field_validator("sla")
    @classmethod
    def _every_priority(cls, value: dict[Priority, SlaTarget]) -> dict[Priority, SlaTarget]:
        missing = [p.value for p in Priority if p not in value]
        if missing:
            raise ValueError(f"SLA targets missing for priorities: {', '.join(missing)}")
        return value

    @model_validator(mode="after")
    def _consistent(self, info: ValidationInfo) -> Self:
        if self.coverage is Coverage.EXTENDED and self.coverage_hours is None:
            raise ValueError("extended coverage needs coverage_hours")
        if self.coverage is not Coverage.EXTENDED and self.coverage_hours is not None:
            raise ValueError("coverage_hours apply only to extended coverage")
        if self.addon_24x7_share is not None and self.coverage is not Coverage.ALWAYS:
            raise ValueError("the 24x7 add-on requires 24x7 coverage")
        if self.agreement is Agreement.PAY_PER_USE and (self.monthly_fee or self.monthly_hours):
            raise ValueError("a pay-per-use agreement has no monthly fee and no hour allowance")
        if not is_stored(info):
            # Building the calendars validates windows and holidays now, not at first use.
            _ = self.business_calendar, self.coverage_calendar
            self.check_sla_reachable()
        return self

    def check_sla_reachable(self) -> None:
        """Every SLA target fits in its calendar: a target of 90 days against
        one minute of business hours a week would need millennia to fall due."""
        start = datetime.combine(self.starts_on, time(), zoneinfo.ZoneInfo(self.timezone))
        longest = max(target.resolution for target in self.sla.values())
        for name, calendar in (
            ("business_hours", self.business_calendar),
            ("coverage", self.coverage_calendar),
        ):
            try:
                due = calendar.add_business_time(start, longest)
            except ValueError:
                due = None
            if due is None or due - start > SLA_REACH:
                raise ValueError(
                    f"an SLA target of {shown(longest)} is not reached within "
                    f"{SLA_REACH.days} days of {name} from the contract's start: "
                    "widen the hours or shorten the target"
                )

    @cached_property
    def business_calendar(self) -> BusinessCalendar:
        return self.business_hours.calendar(self.timezone)

    @cached_property
    def coverage_calendar(self) -> BusinessCalendar:
        """When the desk serves critical tickets outside business hours."""
        if self.coverage is Coverage.ALWAYS:
            return BusinessCalendar.always()
        if self.coverage is Coverage.EXTENDED and self.coverage_hours is not None:
            return self.coverage_hours.calendar(self.timezone)
        return self.business_calendar

    @property
    def has_24x7_addon(self) -> bool:
        return self.addon_24x7_share is not None

    @property
    def off_hours_exception_limit(self) -> int | None:
        """Seed 003: without around-the-clock service, off-hours service is an
        exception granted this many times. Pay-per-use customers are never
        refused (seed 000 section 9): every hour is billed instead."""
        if self.coverage is Coverage.ALWAYS or self.agreement is Agreement.PAY_PER_USE:
            return None
        return self.off_hours_exceptions

    @property
    def off_hours_hourly_rate(self) -> Decimal:
        if self.off_hours_rate is not None:
            return self.off_hours_rate
        return self.hourly_rate * self.off_hours_multiplier

    def warranty_for(self, kind: WarrantyKind, day: date) -> Warranty | None:
        return next((w for w in self.warranties if w.kind is kind and w.covers(day)), None)
