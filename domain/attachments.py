"""A file that came with a requester's message: the events keep what it is
(name, type, size and SHA-256), the content is kept outside them, by its hash."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import Field

from ticketledger.domain.terms import Frozen

SHA256 = r"^[0-9a-f]{64}$"
NAME_LENGTH = 255
# No control characters in a name: it goes into headers and file systems.
CONTROL_CHARACTERS = r"\x00-\x1f\x7f"
CONTROL = re.compile(f"[{CONTROL_CHARACTERS}]")


class Attachment(Frozen):
    name: Annotated[
        str, Field(min_length=1, max_length=NAME_LENGTH, pattern=f"^[^{CONTROL_CHARACTERS}]+$")
    ]
    content_type: Annotated[str, Field(min_length=3, max_length=255, pattern=r"^[^/\s]+/[^/\s]+$")]
    size: Annotated[int, Field(ge=0)]
    sha256: Annotated[str, Field(pattern=SHA256)]


NONE: tuple[Attachment, ...] = ()


def name_of(written: str) -> str:
    """A file's name as its sender wrote it, made one an attachment may have:
    control characters become spaces, and it is cut to the longest kept."""
    return (CONTROL.sub(" ", written).strip() or "attachment")[:NAME_LENGTH]
