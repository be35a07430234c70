"""Who an answer goes to: the customer's Reply-To, and the checks of the address fields.

A person writing through a web form or a mailing list sends a mail whose
``From`` is the form's or the list's address; they are named in
``Reply-To``. Answers go there, as every mail program does, with ``From``
as the fallback.

The Reply-To is read from the stored raw message, not from a column: only
the start of each message is read (its compressed head, through one query
for all the mails of a ticket), which holds the headers, so an attachment of
many megabytes costs nothing here, and mail stored before this was written
counts too.
"""

from __future__ import annotations

import email.header
import email.parser
import email.policy
import email.utils
import re
import zlib
from collections.abc import Iterable
from enum import Enum

from sqlalchemy import LargeBinary, func, select
from sqlalchemy.orm import Session

from tickets.models import Article, RawMessage

#: Compressed bytes read of each message: headers run to a few kilobytes.
HEAD_BYTES = 16384
_HEAD_END = re.compile(rb"\r?\n\r?\n")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_LINE_BREAK = re.compile(r"[\r\n]")


class FieldProblem(Enum):
    """What is wrong with a header field of an answer (the web layer words each)."""

    LINE_BREAK = "line break"
    CONTROL_CHARACTER = "control character"
    EMPTY = "empty"
    NOT_AN_ADDRESS = "not an address"


def _head(compression: str, start: bytes) -> bytes | None:
    """The header block of a message from the start of its stored bytes (None: not all there)."""
    if compression == "zlib":
        try:
            text = zlib.decompressobj().decompress(start)
        except zlib.error:
            return None
    else:
        text = start
    end = _HEAD_END.search(text)
    if end is None:
        return None if len(start) >= HEAD_BYTES else text
    return text[: end.start()]


def _reply_to(head: bytes) -> str:
    """The ``Reply-To`` of a header block, one line, "" if none."""
    parser = email.parser.BytesHeaderParser(policy=email.policy.default)
    try:
        values = parser.parsebytes(head + b"\r\n\r\n").get_all("Reply-To", [])
        text = ", ".join(str(v) for v in values)
    except Exception:  # noqa: BLE001 - e.g. a name whose encoded words hold a line break
        # The strict parser refuses such a header whole; the address in it still
        # names where the customer wants answers, so read it as written.
        raw = email.parser.BytesHeaderParser(policy=email.policy.compat32)
        try:
            values = raw.parsebytes(head + b"\r\n\r\n").get_all("Reply-To", [])
        except Exception:  # noqa: BLE001 - a header nobody can read names nobody
            return ""
        return one_line_addresses(", ".join(str(v) for v in values))
    return " ".join(_CONTROL.sub(" ", text).split())


def display_name(name: str) -> str:
    """A display name as people read it: encoded words decoded, on one line.

    A sender may encode a line break into their name (``=?utf-8?b?…?=``); it
    becomes a space here, so the name can go into a header field or a form
    without ending the line.
    """
    try:
        text = str(email.header.make_header(email.header.decode_header(name)))
    except Exception:  # noqa: BLE001 - an unknown charset or broken encoding: as written
        text = name
    return " ".join(_CONTROL.sub(" ", text).split())


def _quoted(name: str) -> str:
    if re.fullmatch(r"[\w .'-]*", name):
        return name
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def one_line_addresses(text: str) -> str:
    """An address list as a one-line To or Cc field: names decoded and quoted, no line breaks.

    Addresses the list does not hold (a name alone) are left out.
    """
    parts = []
    for name, addr in email.utils.getaddresses([text]):
        addr = "".join(_CONTROL.sub(" ", addr).split())
        if not addr:
            continue
        shown = display_name(name)
        parts.append(f"{_quoted(shown)} <{addr}>" if shown else addr)
    return ", ".join(parts)


def reply_to_addresses(session: Session, articles: Iterable[Article]) -> dict[int, str]:
    """``Reply-To`` of each of ``articles`` that has one, by article id."""
    wanted = [a.id for a in articles if a.raw_id is not None and a.channel == "email"]
    if not wanted:
        return {}
    rows = session.execute(
        select(
            Article.id,
            RawMessage.id,
            RawMessage.compression,
            func.substr(RawMessage.data, 1, HEAD_BYTES, type_=LargeBinary),
        )
        .join(RawMessage, Article.raw_id == RawMessage.id)
        .where(Article.id.in_(wanted))
    ).all()
    found: dict[int, str] = {}
    for article_id, raw_id, compression, start in rows:
        head = _head(compression, bytes(start))
        if head is None:  # headers longer than the start read: read the whole message
            raw = session.get(RawMessage, raw_id)
            assert raw is not None
            data = zlib.decompress(raw.data) if raw.compression == "zlib" else raw.data
            end = _HEAD_END.search(data)
            head = data[: end.start()] if end else data
        reply_to = _reply_to(head)
        if reply_to:
            found[article_id] = reply_to
    return found


def answer_recipient(article: Article | None, reply_to: str, fallback: str) -> str:
    """Where an answer to ``article`` goes by default: its Reply-To, else its From.

    :param reply_to: the article's Reply-To ("" if none).
    :param fallback: the ticket's customer, when there is no customer mail.
    """
    written = reply_to or (article.from_addr if article is not None else fallback)
    # What the customer wrote may hold encoded line breaks in a name (the
    # stored header keeps them encoded): the form gets a field it accepts.
    if _CONTROL.search(written) or "=?" in written:
        return one_line_addresses(written) or " ".join(_CONTROL.sub(" ", written).split())
    return written


def same_addresses(one: str, other: str) -> bool:
    """Whether two address lists name the same mailboxes (names and case aside)."""

    def boxes(text: str) -> set[str]:
        return {addr.lower() for _, addr in email.utils.getaddresses([text]) if addr}

    return boxes(one) == boxes(other)


def field_problem(value: str, *, addresses: bool, required: bool) -> FieldProblem | None:
    """What is wrong with a header field the volunteer filled in, if anything.

    A line break would end the header and start another (``Bcc:``…), so it is
    refused, never cleaned away: the volunteer sees what they sent.

    :param addresses: the field holds addresses (To, Cc), each must be one.
    :param required: the field may not be empty.
    """
    if _LINE_BREAK.search(value):
        return FieldProblem.LINE_BREAK
    if _CONTROL.search(value):
        return FieldProblem.CONTROL_CHARACTER
    if not value.strip():
        return FieldProblem.EMPTY if required else None
    if addresses:
        # The parser the message is built with: what it finds fault with would
        # be sent mangled (or part of it dropped without a word).
        try:
            header = email.policy.default.header_factory("To", value)
        except Exception:  # noqa: BLE001 - unreadable is not an address
            return FieldProblem.NOT_AN_ADDRESS
        found = [a.addr_spec for a in getattr(header, "addresses", ())]
        if header.defects or not found or any(not _is_mailbox(a) for a in found):
            return FieldProblem.NOT_AN_ADDRESS
    return None


def _is_mailbox(addr_spec: str) -> bool:
    local, at, domain = addr_spec.rpartition("@")
    return bool(at and local and domain)
