"""Reading an incoming message, tolerating anything the internet sends.

Parsing never raises: whatever cannot be read is left empty, and the raw bytes
are kept elsewhere, so nothing is lost even when this module understands little.
"""

from __future__ import annotations

import email
import email.utils
import re
from email._policybase import Policy
from email.contentmanager import raw_data_manager
from email.message import EmailMessage, Message

from tickets import mail_headers
from tickets.digests import sha256_hex
from tickets.html import escape_stray_brackets
from tickets.records import Record, field
from tickets.text import html_to_text

# Not typing itself at run time: ``mail deliver`` imports this module (see tickets.records).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_TAG_RE = re.compile(r"\[Ticket#(\d{16})\]", re.IGNORECASE)
_MSGID_RE = re.compile(r"<[^<>\s]+>")
# NUL and other C0 controls: PostgreSQL text refuses NUL, and none of them
# mean anything in a header or a body we show (the raw bytes keep them).
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# The email package keeps undecodable bytes as lone surrogates, which no
# database driver can encode.
_SURROGATE_RE = re.compile(r"[\ud800-\udfff]")


_TOKEN = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-")


def _registry() -> Any:
    """``email.policy.default``, imported when a header needs its registry.

    Importing it (the header registry and its parser) was a twentieth of
    ``mail deliver``'s time (a process per message), and mail of plain
    headers never needs it.
    """
    import email.policy

    return email.policy.default


class _PlainHeadersFirst(Policy):
    """``email.policy.default`` for reading a message, parsing each header once, if at all.

    The same settings, message class and content manager as the default
    policy; every header read is what the default policy's registry returns,
    or, for a plain value, a string equal to it (:mod:`tickets.mail_headers`):
    the email package reads Content-Type, Content-Disposition,
    Content-Transfer-Encoding and Content-ID only as strings (and a
    disposition's type).  Anything else is handed to the registry, imported
    then.  Writing headers (never done here) is the default policy's too.

    The email package parses a header again every time it is read, and a
    message reads Content-Type and Content-Disposition a dozen times while
    its parts are sorted: that was two fifths of the time spent preparing a
    short message.  Header objects are immutable, and the same values come
    again and again (``text/plain; charset="utf-8"``), so one parse per
    distinct value serves every message of the process.
    """

    # As email.policy.EmailPolicy sets them.
    message_factory = EmailMessage
    utf8 = False
    refold_source = "long"
    content_manager = raw_data_manager

    def header_source_parse(self, sourcelines: list[str]) -> tuple[str, str]:
        """The name up to the colon; the value unfolded, without leading blanks or a line end.

        (What every policy of the email package does.)
        """
        name, value = sourcelines[0].split(":", 1)
        value = value.lstrip(" \t") + "".join(sourcelines[1:])
        return name, value.rstrip("\r\n")

    def _writer(self) -> Any:
        return _registry().clone(
            raise_on_defect=self.raise_on_defect,
            linesep=self.linesep,
            cte_type=self.cte_type,
            max_line_length=self.max_line_length,
            mangle_from_=self.mangle_from_,
            utf8=self.utf8,
            refold_source=self.refold_source,
        )

    def header_max_count(self, name: str) -> int | None:
        """As the default policy (only setting a header asks)."""
        return self._writer().header_max_count(name)

    def header_store_parse(self, name: str, value: Any) -> tuple[str, Any]:
        """As the default policy (only setting a header asks)."""
        return self._writer().header_store_parse(name, value)

    def fold(self, name: str, value: Any) -> str:
        """As the default policy (only writing a message asks)."""
        return self._writer().fold(name, value)

    def fold_binary(self, name: str, value: Any) -> bytes:
        """As the default policy (only writing a message asks)."""
        return self._writer().fold_binary(name, value)

    def header_fetch_parse(self, name: str, value: Any) -> Any:
        """The default policy's header for ``name: value``, parsed once per distinct value."""
        if hasattr(value, "name"):
            return value
        key = (name.lower(), value)
        header = _HEADERS.get(key)
        if header is None:
            # Every use of a Content-Type (finding parts, boundaries, charsets)
            # reads it as a string, and of a Content-Disposition its string
            # and its type: a plain one needs no parse tree.
            if key[0] == "content-type":
                header = mail_headers.content_type(value)
            elif key[0] == "content-disposition":
                header = mail_headers.content_disposition(value)
            elif key[0] == "content-transfer-encoding":
                # A bare token reads as itself.
                if isinstance(value, str) and value and _TOKEN.issuperset(value):
                    header = value
            elif key[0] == "content-id":
                header = mail_headers.unstructured(value)
            if header is None:
                header = _registry().header_fetch_parse(name, value)
            if len(_HEADERS) >= _MAX_HEADERS:
                _HEADERS.clear()  # bounded memory; most values recur within minutes
            _HEADERS[key] = header
        return header


_HEADERS: dict[tuple[str, str], Any] = {}
_MAX_HEADERS = 20_000
#: What every message is parsed with: the standard library's default policy, in effect.
POLICY = _PlainHeadersFirst()


def clean(text: str) -> str:
    """``text`` without control characters or lone surrogates that databases refuse."""
    return _SURROGATE_RE.sub("\ufffd", _CONTROL_RE.sub("", text))


class ParsedAttachment(Record):
    """A file carried by a message (or an inline image)."""

    filename: str
    content_type: str
    disposition: str
    content_id: str
    data: bytes = field(repr=False)


class ParsedMail(Record):
    """What the help desk reads from a message."""

    message_id: str | None
    subject: str
    from_addr: str
    to: list[str] = field(default_factory=list)
    cc: list[str] = field(default_factory=list)
    delivered_to: list[str] = field(default_factory=list)
    in_reply_to: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    body: str = ""
    html: str | None = None
    attachments: list[ParsedAttachment] = field(default_factory=list)
    spam: bool = False
    problems: list[str] = field(default_factory=list)
    #: SHA-256 of the raw bytes.
    sha256: str = ""
    #: SHA-256 of the content without transport headers (:func:`content_digest`).
    content_sha256: str = ""

    @property
    def key(self) -> str | None:
        """What makes a second delivery a duplicate: the Message-ID, or else the bytes.

        A message without a Message-ID gets one made from its content hash, so
        a redelivery after a dropped connection is still recognised, by the
        same unique index.
        """
        if self.message_id:
            return self.message_id
        return f"<sha256.{self.sha256}@wikibridge.invalid>" if self.sha256 else None

    @property
    def ticket_tags(self) -> list[str]:
        """Ticket numbers named in the subject as ``[Ticket#N]``."""
        return _TAG_RE.findall(self.subject)

    @property
    def sender_address(self) -> str:
        """The bare address of the sender, lower-cased ("" when unreadable)."""
        return email.utils.parseaddr(self.from_addr)[1].lower()


def _raw_values(msg: Message, name: str) -> list[str]:
    """The header's values as they came, without the policy's parsing."""
    wanted = name.lower()
    return [str(v) for k, v in msg.raw_items() if k.lower() == wanted]


class _RawHeaders:
    """A message's header values as they came, by lower-case name (read in one pass)."""

    def __init__(self, msg: Message) -> None:
        self.msg = msg
        self.by_name: dict[str, list[object]] = {}
        for key, value in msg.raw_items():
            self.by_name.setdefault(key.lower(), []).append(value)

    def all(self, name: str) -> list[object]:
        return self.by_name.get(name.lower(), [])


# How the registry reads each header we read (any other: as unstructured text).
_READERS = {
    "from": mail_headers.addresses,
    "to": mail_headers.addresses,
    "cc": mail_headers.addresses,
    "message-id": mail_headers.message_id,
}


def _quick(name: str, raw: object) -> str | None:
    """``str()`` of the registry's header for ``name: raw``, when that needs no parser."""
    return _READERS.get(name.lower(), mail_headers.unstructured)(raw)


def _header(headers: _RawHeaders, name: str, problems: list[str]) -> str:
    values = headers.all(name)
    if not values:
        return ""
    msg = headers.msg
    quick = _quick(name, values[0])
    if quick is not None:
        return quick
    try:
        value = msg.get(name)
        return "" if value is None else str(value)
    except Exception as exc:  # noqa: BLE001 - a lying header must not stop intake
        problems.append(f"unreadable {name} header: {exc.__class__.__name__}")
        return " ".join(_raw_values(msg, name))


def _addresses(headers: _RawHeaders, name: str, problems: list[str]) -> list[str]:
    msg = headers.msg
    raw = headers.all(name)
    plain = [mail_headers.address_specs(v) for v in raw]
    if all(specs is not None for specs in plain):
        # What getaddresses finds in the registry's value of plain mailboxes
        # (and in the unstructured Delivered-To, which is the value itself).
        return [addr.lower() for specs in plain if specs for addr in specs]
    quick = [_quick(name, v) for v in raw]
    try:
        if all(v is not None for v in quick):
            values = [v for v in quick if v is not None]
        else:
            values = [str(v) for v in msg.get_all(name, failobj=[])]
    except Exception as exc:  # noqa: BLE001
        problems.append(f"unreadable {name} header: {exc.__class__.__name__}")
        values = _raw_values(msg, name)
    try:
        pairs = email.utils.getaddresses(values)
    except Exception:  # noqa: BLE001 - nothing readable: route by the rest
        return []
    return [addr.lower() for _, addr in pairs if addr]


def _message_ids(value: str) -> list[str]:
    return _MSGID_RE.findall(value)


def _text_of(part: Message, problems: list[str]) -> str:
    """Decode a text part, falling back to UTF-8 with replacement for lying charsets."""
    if isinstance(part, EmailMessage):
        try:
            content = part.get_content()
            if isinstance(content, str):
                return content
        except Exception as exc:  # noqa: BLE001 - unknown or lying charset
            problems.append(f"undecodable text part: {exc.__class__.__name__}")
    try:
        payload = part.get_payload(decode=True)
    except Exception:  # noqa: BLE001
        payload = None
    if isinstance(payload, bytes):
        return payload.decode("utf-8", errors="replace")
    raw = part.get_payload()
    return raw if isinstance(raw, str) else ""


def _bytes_of(part: Message) -> bytes:
    try:
        payload = part.get_payload(decode=True)
    except Exception:  # noqa: BLE001 - broken transfer encoding: keep what is there
        payload = None
    if isinstance(payload, bytes):
        return payload
    raw = part.get_payload()
    return raw.encode("utf-8", errors="replace") if isinstance(raw, str) else b""


def _bodies(msg: Message, problems: list[str]) -> tuple[Message | None, Message | None]:
    """The message's plain-text and HTML body parts, where it has them."""
    if not isinstance(msg, EmailMessage):
        return None, None
    try:
        plain = msg.get_body(preferencelist=("plain",))
        html = msg.get_body(preferencelist=("html",))
    except Exception as exc:  # noqa: BLE001
        problems.append(f"unreadable structure: {exc.__class__.__name__}")
        return None, None
    return plain, html


def _attachments(
    msg: Message, skip: list[Message | None], problems: list[str]
) -> list[ParsedAttachment]:
    found = []
    try:
        parts = [p for p in msg.walk() if not p.is_multipart()]
    except Exception as exc:  # noqa: BLE001 - a cyclic or broken tree
        problems.append(f"unreadable parts: {exc.__class__.__name__}")
        return []
    for part in parts:
        if any(part is s for s in skip):
            continue
        try:
            filename = part.get_filename() or ""
        except Exception:  # noqa: BLE001
            filename = ""
        try:
            content_type = part.get_content_type()
            disposition = (part.get_content_disposition() or "attachment").lower()
        except Exception:  # noqa: BLE001 - a malformed header: still keep the bytes
            content_type, disposition = "application/octet-stream", "attachment"
        found.append(
            ParsedAttachment(
                filename=clean(str(filename))[:500],
                content_type=clean(content_type)[:255],
                disposition=clean(disposition)[:20],
                content_id=clean(str(part.get("Content-ID", "") or ""))[:500],
                data=_bytes_of(part),
            )
        )
    return found


#: The most of a header section read from a message too large to read whole.
MAX_HEADER_BYTES = 256 * 1024
_END_OF_HEADERS = re.compile(rb"\r?\n\r?\n")


def parse_headers(raw: bytes) -> ParsedMail:
    """Only the header section of ``raw`` (its first :data:`MAX_HEADER_BYTES`); never raises.

    For a message too large to read whole: the headers route, thread and
    identify it; the body is left empty.  ``sha256`` is still that of all of ``raw``.
    """
    end = _END_OF_HEADERS.search(raw, 0, MAX_HEADER_BYTES)
    if end is not None:
        head = raw[: end.end()]
    else:
        head = raw[:MAX_HEADER_BYTES]
        head = head[: head.rfind(b"\n") + 1] or head
        head += b"\n"
    parsed = parse(head)
    return parsed.replace(
        body="",
        html=None,
        attachments=[],
        # The structure's defects are those of the cut, not of the message.
        problems=[p for p in parsed.problems if not p.endswith("Defect")],
        sha256=sha256_hex(raw),
        content_sha256=content_digest(raw),
    )


#: Header fields the mail system adds on the way (routing rule 2): two
#: deliveries of one message may differ in these and nothing else.
TRANSPORT_HEADERS = (b"received", b"return-path", b"delivered-to", b"x-original-to")
_LINE_END_RE = re.compile(rb"\r\n?")


def content_digest(raw: bytes) -> str:
    """SHA-256 of ``raw`` as the sender wrote it: what makes a redelivery a duplicate.

    Left out: the transport's header fields (:data:`TRANSPORT_HEADERS`, with
    their continuation lines) and what MTAs change in passing (CRLF or LF
    line ends, trailing newlines added).  Any other difference, one byte of
    the body or a header, makes another message.  Never raises.
    """
    text = _LINE_END_RE.sub(b"\n", raw)
    end = text.find(b"\n\n")
    head, body = (text, b"") if end < 0 else (text[: end + 1], text[end + 1 :])
    kept: list[bytes] = []
    dropping = False
    for line in head.split(b"\n"):
        if line[:1] in (b" ", b"\t"):
            if not dropping:
                kept.append(line)
            continue
        name = line.split(b":", 1)[0].strip().lower() if b":" in line else None
        dropping = name in TRANSPORT_HEADERS
        if not dropping:
            kept.append(line)
    return sha256_hex(b"\n".join(kept) + body.rstrip(b"\n"))


def parse(raw: bytes) -> ParsedMail:
    """Read ``raw`` into a :class:`ParsedMail`; never raises."""
    problems: list[str] = []
    digest = sha256_hex(raw)
    content = content_digest(raw)
    try:
        msg: Message = email.message_from_bytes(raw, policy=POLICY)
    except Exception as exc:  # noqa: BLE001 - keep going with nothing readable
        problems.append(f"unparseable message: {exc.__class__.__name__}")
        return ParsedMail(
            message_id=None,
            subject="",
            from_addr="",
            problems=problems,
            sha256=digest,
            content_sha256=content,
        )
    if msg.defects:
        problems.extend(d.__class__.__name__ for d in msg.defects)
    headers = _RawHeaders(msg)
    ids = _message_ids(_header(headers, "Message-ID", problems))
    plain_part, html_part = _bodies(msg, problems)
    html = _text_of(html_part, problems) if html_part is not None else None
    if plain_part is not None:
        body = _text_of(plain_part, problems)
    elif html is not None:
        # Unterminated tags make html.parser rescan the rest for each.
        body = html_to_text(escape_stray_brackets(html))
    elif not msg.is_multipart() and msg.get_content_maintype() == "text":
        body = _text_of(msg, problems)
    else:
        body = ""
    attachments = _attachments(msg, [plain_part, html_part], problems)
    spam_flag = _header(headers, "X-Spam-Flag", problems).strip().lower()
    spam_status = _header(headers, "X-Spam-Status", problems).strip().lower()
    return ParsedMail(
        message_id=clean(ids[0]) if ids else None,
        subject=clean(" ".join(_header(headers, "Subject", problems).split())),
        from_addr=clean(_header(headers, "From", problems)),
        to=[clean(a) for a in _addresses(headers, "To", problems)],
        cc=[clean(a) for a in _addresses(headers, "Cc", problems)],
        delivered_to=[clean(a) for a in _addresses(headers, "Delivered-To", problems)],
        in_reply_to=[clean(i) for i in _message_ids(_header(headers, "In-Reply-To", problems))],
        references=[clean(i) for i in _message_ids(_header(headers, "References", problems))],
        body=clean(body),
        html=clean(html) if html is not None else None,
        attachments=attachments,
        spam=spam_flag == "yes" or spam_status.startswith("yes"),
        problems=problems,
        sha256=digest,
        content_sha256=content,
    )
