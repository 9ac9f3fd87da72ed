"""The pages' words in the three languages the desk serves, and how dates,
numbers and money are written in each (babel).

Pages are written in English; `Words(language)("text")` gives the text in
that language, or the English when a sentence has no translation yet (so a
new sentence shows, untranslated, rather than break a page).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from babel.numbers import format_currency, format_decimal

from ticketledger.api.web.catalog import CATALOG

LANGUAGES = ("pt-BR", "es", "en")
LOCALES = {"pt-BR": "pt_BR", "es": "es", "en": "en"}
UTC = ZoneInfo("UTC")
# Shown for an instant or a duration that is not there.
NOTHING = "\N{EN DASH}"


def language_of(accept_language: str) -> str:
    """The first of the browser's languages the desk speaks; English if none."""
    for part in accept_language.split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("pt"):
            return "pt-BR"
        if tag.startswith("es"):
            return "es"
        if tag.startswith("en"):
            return "en"
    return "en"


@dataclass(frozen=True)
class Words:
    language: str

    def __call__(self, text: str, **values: object) -> str:
        said = CATALOG.get(self.language, {}).get(text, text)
        return said.format(**values) if values else said

    @property
    def locale(self) -> str:
        return LOCALES.get(self.language, "en")

    def when(self, instant: datetime | str | None, zone: str | None = None) -> str:
        """An instant in the given zone (the contract's), as people there write it."""
        if instant is None or instant == "":
            return NOTHING
        if isinstance(instant, str):
            instant = datetime.fromisoformat(instant)
        tz = ZoneInfo(zone) if zone else UTC
        shown = format_datetime(instant.astimezone(tz), "medium", tzinfo=tz, locale=self.locale)
        return f"{shown} ({tz.key})" if zone is None else shown

    def number(self, value: Decimal | float | int) -> str:
        return format_decimal(value, locale=self.locale)

    def money(self, value: Decimal | float, currency: str) -> str:
        return format_currency(value, currency, locale=self.locale)

    def label(self, value: object) -> str:
        """A value of the vocabulary (`waiting_on_customer`) as words."""
        text = str(getattr(value, "value", value))
        return self(text.replace("_", " ").capitalize())

    def seconds(self, value: float | str | None) -> str:
        return NOTHING if value is None else self.hours(timedelta(seconds=float(value)))

    def hours(self, duration: timedelta) -> str:
        """h:mm, as the desk counts time."""
        minutes = int(duration.total_seconds() // 60)
        sign = "-" if minutes < 0 else ""
        return f"{sign}{abs(minutes) // 60}:{abs(minutes) % 60:02d}"
