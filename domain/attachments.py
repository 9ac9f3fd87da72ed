"""A file that came with a requester's message: the events keep what it is
(name, type, size and SHA-256), the content is kept outside them, by its hash."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from ticketledger.domain.terms import Frozen

SHA256 = r"^[0-9a-f]{64}$"


class Attachment(Frozen):
    # No control characters: a name goes into headers and file systems.
    name: Annotated[str, Field(min_length=1, max_length=255, pattern=r"^[^\x00-\x1f\x7f]+$")]
    content_type: Annotated[str, Field(min_length=3, max_length=255, pattern=r"^[^/\s]+/[^/\s]+$")]
    size: Annotated[int, Field(ge=0)]
    sha256: Annotated[str, Field(pattern=SHA256)]


NONE: tuple[Attachment, ...] = ()
