"""Who an e-mail address is: one normalisation, applied wherever the ledger
asks whether a sender may open a ticket, is authorised or revoked.

The same person can be written many ways: `João.Mendes@MoveisSerra.com.br`,
`joao.mendes+x@…` (a sub-address), `"joao.mendes"@…` (a quoted local part),
with a zero-width space or a soft hyphen in it, with fullwidth letters. All
name one mailbox, so all have one identity: Unicode NFKC, case-folded,
without invisible or format characters, unquoted, without the `+tag`, and the
domain in its IDNA (punycode) form. A local part mixing scripts (a Cyrillic
o, U+043E, among Latin letters) is refused, as is one holding characters no mail
system would accept.
"""

from __future__ import annotations

import re
import unicodedata

from ticketledger.domain.errors import InvalidCommandError

LOCAL_SYMBOLS = frozenset("!#$%&'*+-/=?^_`{|}~.")
DOMAIN_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
# Scripts that are written together in one name.
ONE_WRITING = (frozenset({"CJK", "HIRAGANA", "KATAKANA"}),)
MOST_CHARACTERS = 254


def address_identity(text: str) -> str:
    """The identity of an address (`ana@acme.com`) or a whole domain
    (`@acme.com`), refusing what no mail system would deliver."""
    return _identity(text, strict=True)


def stored_identity(text: str) -> str:
    """The identity of an address an event already holds: the same rules,
    never a refusal, so that an old event stays foldable."""
    try:
        return _identity(text, strict=False)
    except InvalidCommandError:
        return text.strip().casefold()


def _identity(text: str, *, strict: bool) -> str:
    value = unicodedata.normalize("NFKC", text)
    value = "".join(ch for ch in value if unicodedata.category(ch) != "Cf").strip().casefold()
    local, at, domain = value.rpartition("@")
    if not at or not domain or len(value) > MOST_CHARACTERS:
        raise InvalidCommandError(f"not an e-mail address or @domain: {text!r}")
    local = _unquoted(local)
    person = local.split("+", 1)[0]
    if strict:
        if local and not person:
            raise InvalidCommandError(f"no mailbox before the +tag in {text!r}")
        _check_local(person, text)
    return f"{person}@{_ascii_domain(domain, text)}"


def _unquoted(local: str) -> str:
    if len(local) >= 2 and local.startswith('"') and local.endswith('"'):
        return re.sub(r"\\(.)", r"\1", local[1:-1])
    return local


def _check_local(local: str, text: str) -> None:
    odd = [ch for ch in local if not (ch.isalnum() or ch in LOCAL_SYMBOLS)]
    if odd or local.startswith(".") or local.endswith(".") or ".." in local:
        shown = ", ".join(repr(ch) for ch in dict.fromkeys(odd)) or "its dots"
        raise InvalidCommandError(f"{text!r} holds what no mail system accepts: {shown}")
    scripts = {unicodedata.name(ch, "?").split(" ")[0] for ch in local if ch.isalpha()}
    if len(scripts) > 1 and not any(scripts <= writing for writing in ONE_WRITING):
        raise InvalidCommandError(
            f"{text!r} mixes scripts in its local part ({', '.join(sorted(scripts))}): "
            "a look-alike of another address"
        )


def _ascii_domain(domain: str, text: str) -> str:
    try:
        ascii_form = domain.rstrip(".").encode("idna").decode("ascii")
    except UnicodeError:
        raise InvalidCommandError(f"the domain of {text!r} is not a valid name") from None
    labels = ascii_form.split(".")
    if len(labels) < 2 or not all(DOMAIN_LABEL.match(label) for label in labels):
        raise InvalidCommandError(f"the domain of {text!r} is not a valid name")
    return ascii_form
