"""Every setting of a ticketledger process, in one place.

Built once at each entry point (`ticketledger serve`, each command of the
command line, each uvicorn worker), from the environment (`TICKETLEDGER_*`)
and the command line's options, then passed down as values: nothing below the
entry points reads the environment.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from ticketledger.service.storage import StorageOptions

if TYPE_CHECKING:
    from ticketledger.api.mail.outbound import Outgoing, Relay
    from ticketledger.api.mail.sign_in import LinkMail

Seconds = Annotated[float, Field(gt=0, le=3600)]


class Settings(BaseSettings):
    """README's configuration table lists every field, its variable and default."""

    model_config = SettingsConfigDict(env_prefix="TICKETLEDGER_", extra="forbid", frozen=True)

    database_url: str = Field(
        "sqlite:///ticketledger.db",
        description="postgresql://user:password@host:5432/db?schema=name or sqlite:///file.db",
    )
    read_database_url: str | None = Field(
        None,
        pattern=r"^postgres(ql)?://",
        description="a PostgreSQL streaming replica of database_url that queries read from",
    )
    pool_size: Annotated[int, Field(ge=1, le=100)] = 5
    pool_max_overflow: Annotated[int, Field(ge=0, le=100)] = 10
    connect_timeout: Seconds = 2
    lock_timeout: Seconds = 10
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] = 8000
    workers: Annotated[int, Field(ge=1, le=64)] = 1
    followers: bool = True
    # Seconds between ticks of the background ticker; 0 runs none.
    tick_seconds: Annotated[float, Field(ge=0, le=86400)] = 60
    wait_seconds: Seconds = 5
    body_limit_bytes: Annotated[int, Field(ge=1024, le=64 * 1024 * 1024)] = 1024 * 1024
    # How long an unanswered Idempotency-Key claim holds before a retry may take it over.
    idempotency_lease_seconds: Seconds = 30
    # The desk's mail domain: its own Message-IDs, and senders that are the desk itself.
    mail_domain: str = Field("desk.example", min_length=1, pattern=r"^[A-Za-z0-9.-]+$")
    # The largest attachment a received message may bring; a larger one is refused by name.
    mail_attachment_bytes: Annotated[int, Field(ge=1024, le=100 * 1024 * 1024)] = 10 * 1024 * 1024
    smtp_relay: str | None = Field(
        None,
        pattern=r"^smtps?://",
        description="smtp://[user:password@]host:port[?starttls=true], or smtps://: "
        "where notices are sent; none sends nothing",
    )
    # A certificate file to trust for the relay's TLS, besides the system's.
    smtp_ca_file: str | None = None
    # Who notices come from; desk@<mail_domain> when not given.
    mail_from: str | None = Field(None, pattern=r"^[^@\s]+@[A-Za-z0-9.-]+$")
    mail_from_name: str = Field("", max_length=100)
    # Seconds between rounds of `serve`'s sender.
    mail_send_seconds: Annotated[float, Field(gt=0, le=86400)] = 30
    # A notice whose event is older than this when first seen is not sent.
    mail_notice_max_age_hours: Annotated[float, Field(gt=0, le=24 * 365)] = 48
    # At most this many notices to one address an hour: the rest are withheld.
    mail_answers_per_hour: Annotated[int, Field(ge=1, le=10_000)] = 30
    # How long a sender holds a notice it is sending before another may take it.
    mail_claim_seconds: Seconds = 120
    # Where people reach the pages: the links mailed to requesters point here.
    public_url: str = Field("http://127.0.0.1:8000", pattern=r"^https?://[^\s/]+(/\S*)?$")

    @classmethod
    def load(cls, **given: Any) -> Settings:
        """The environment's settings, with the options given on the command line
        (those left None keep the environment's or the default)."""
        return cls(**{name: value for name, value in given.items() if value is not None})

    def as_environment(self) -> dict[str, str]:
        """These settings as the variables that give them back, for a process
        started with them (each uvicorn worker)."""
        return {
            f"TICKETLEDGER_{name.upper()}": str(value)
            for name, value in self.model_dump(mode="json").items()
            if value is not None
        }

    @property
    def storage(self) -> StorageOptions:
        return StorageOptions(
            pool_size=self.pool_size,
            pool_max_overflow=self.pool_max_overflow,
            connect_timeout=self.connect_timeout,
            lock_timeout=self.lock_timeout,
        )

    @property
    def relay(self) -> Relay | None:
        from ticketledger.api.mail.outbound import Relay

        if self.smtp_relay is None:
            return None
        return Relay.from_url(self.smtp_relay, cafile=self.smtp_ca_file)

    @property
    def outgoing(self) -> Outgoing:
        # Imported here: most commands send no mail, and start faster without it.
        from ticketledger.api.mail.notices import Sender
        from ticketledger.api.mail.outbound import Outgoing

        return Outgoing(
            sender=Sender(
                address=self.mail_from or f"desk@{self.mail_domain}",
                domain=self.mail_domain,
                name=self.mail_from_name,
            ),
            max_age=timedelta(hours=self.mail_notice_max_age_hours),
            per_recipient_hour=self.mail_answers_per_hour,
            claim=timedelta(seconds=self.mail_claim_seconds),
        )

    @property
    def link_mail(self) -> LinkMail | None:
        """How requesters' one-time sign-in links are mailed: through the
        relay, when one is set."""
        from ticketledger.api.mail.sign_in import LinkMail

        relay = self.relay
        if relay is None:
            return None
        return LinkMail(relay.send, self.outgoing.sender, self.public_url)

    @property
    def ticker_period(self) -> float | None:
        return self.tick_seconds or None
