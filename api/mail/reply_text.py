"""What a person wrote in a reply, without the history their mail program
quoted below it or their signature, and whether it explicitly accepts or
rejects a resolution.

No kept trimmer serves Portuguese: mail-parser-reply knows English and, untested,
Spanish; quotequail English. These are the desk's own small rules, for the
reply headers Gmail, Outlook and Apple Mail write in Portuguese, Spanish and
English, tested on the corpus in tests/mail/.
"""

from __future__ import annotations

import re
import unicodedata
from enum import Enum

# A line that opens the quoted history: Gmail's and Apple Mail's attribution
# (it may wrap onto a second line), Outlook's separators.
ATTRIBUTION = re.compile(
    r"^(on|em|el|le|am)\b.{0,200}\b(wrote|escreveu|escribi[oó]|a écrit|schrieb)\s*:\s*$",
    re.IGNORECASE,
)
SEPARATOR = re.compile(
    r"^(-{2,}\s*(original message|mensagem original|mensaje original|forwarded message"
    r"|mensagem encaminhada|mensaje reenviado)\s*-{2,}|_{20,})\s*$",
    re.IGNORECASE,
)
# Outlook's header block: From/De, then within a few lines Sent/Enviado/Date/Data/Fecha.
HEADER_FROM = re.compile(r"^\*?(from|de)\s*:\*?\s", re.IGNORECASE)
HEADER_NEXT = re.compile(
    r"^\*?(sent|date|enviado|enviada|data|fecha|to|para|subject|assunto|asunto)\s*:\*?\s",
    re.IGNORECASE,
)
# What phones and webmail append under a reply.
SENT_FROM = re.compile(
    r"^(sent from my|enviado do meu|enviado desde mi|enviado de meu|get outlook for"
    r"|obter o outlook para|obtener outlook para)\b",
    re.IGNORECASE,
)
SIGNATURE = frozenset({"-- ", "--"})


def trimmed_reply(text: str) -> str:
    """The reply above the quoted history, without its signature."""
    lines = text.split("\n")
    cut = history_start(lines)
    kept = lines[:cut]
    for index, line in enumerate(kept):
        if line in SIGNATURE:
            kept = kept[:index]
            break
    while kept and (not kept[-1].strip() or SENT_FROM.match(kept[-1].strip())):
        kept.pop()
    return "\n".join(kept).strip()


def history_start(lines: list[str]) -> int:
    """Where the quoted history begins: at the first attribution or separator,
    at an Outlook header block, or at the block of `>` lines that ends it."""
    for index, line in enumerate(lines):
        stripped = line.strip()
        joined = f"{stripped} {lines[index + 1].strip()}" if index + 1 < len(lines) else stripped
        if ATTRIBUTION.match(stripped) or ATTRIBUTION.match(joined) or SEPARATOR.match(stripped):
            return index
        if HEADER_FROM.match(stripped) and any(
            HEADER_NEXT.match(following.strip()) for following in lines[index + 1 : index + 4]
        ):
            return index
    return quoted_tail(lines)


def quoted_tail(lines: list[str]) -> int:
    """The start of the trailing block of quoted (`>`) and blank lines."""
    start = len(lines)
    for index in range(len(lines) - 1, -1, -1):
        stripped = lines[index].strip()
        if stripped.startswith(">"):
            start = index
        elif stripped:
            break
    return start


# Acceptance and rejection.


class Verdict(Enum):
    ACCEPTED = "accepted"
    REJECTED = "rejected"


# Whole lines, compared without accents, case or closing punctuation.
ACCEPTING = frozenset(
    {
        "aceito",
        "aceito a solucao",
        "aceito a resolucao",
        "solucao aceita",
        "acepto",
        "acepto la solucion",
        "acepto la resolucion",
        "solucion aceptada",
        "accept",
        "accepted",
        "i accept",
        "i accept the solution",
        "i accept the resolution",
    }
)
REJECTING = frozenset(
    {
        "rejeito",
        "rejeito a solucao",
        "rejeito a resolucao",
        "nao aceito",
        "nao aceito a solucao",
        "rechazo",
        "rechazo la solucion",
        "rechazo la resolucion",
        "no acepto",
        "no acepto la solucion",
        "reject",
        "rejected",
        "i reject",
        "i reject the solution",
        "i do not accept",
        "i don't accept",
    }
)


def keyword(line: str) -> str:
    bare = unicodedata.normalize("NFKD", line).encode("ascii", "ignore").decode("ascii")
    return " ".join(bare.lower().strip(" \t.!;:,").split())


def verdict_of(reply: str) -> Verdict | None:
    """An explicit verdict: a line that is only an acceptance (or only a
    rejection) in Portuguese, Spanish or English, and no line of the other.
    Anything else, ambiguous or merely friendly, is a plain reply."""
    words = {keyword(line) for line in reply.split("\n")}
    accepts, rejects = bool(words & ACCEPTING), bool(words & REJECTING)
    if accepts == rejects:
        return None
    return Verdict.ACCEPTED if accepts else Verdict.REJECTED
