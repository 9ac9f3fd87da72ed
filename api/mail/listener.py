"""The SMTP listener: each message a client hands over goes the one path every
message takes (api/mail/receive.py), in a worker thread, and the client hears
250 only once it is taken; a database that fails answers 451, so the sending
server keeps the message and tries again. The reply says nothing of what the
message did: a stranger learns nothing about any ticket."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from ticketledger.api.mail.receive import Received

log = logging.getLogger(__name__)
TAKEN = "250 2.0.0 Message accepted"
TRY_AGAIN = "451 4.3.0 Not taken now, try again later"


class Listener:
    """aiosmtpd's handler: `take` stores and acts on one message."""

    def __init__(self, take: Callable[[bytes], Received]) -> None:
        self.take = take

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        try:
            received = await asyncio.get_running_loop().run_in_executor(None, self.take, raw)
        except Exception:
            # Whatever failed, the message is not taken: the sender keeps it.
            log.exception("a message from %s was not taken", envelope.mail_from)
            return TRY_AGAIN
        log.info("%s: %s", received.message_key, received.outcome)
        return TAKEN
