"""Reading an incoming message, tolerating anything the internet sends.

Parsing never raises: whatever cannot be read is left empty, and the raw bytes
are kept elsewhere, so nothing is lost even when this module understands little.
"""

from __future__ import annotations

import email
import email.policy
import email.utils
import re
from dataclasses import dataclass, field
from email.message import EmailMessage, Message

_TAG_RE = re.compile(r"\[Ticket#(\d{16})\]", re.IGNORECASE)
_MSGID_RE = re.compile(r"<[^<>\s]+>")
# NUL and other C0 controls: PostgreSQL text refuses NUL, and none of them
# mean anything in a header or a body we show (the raw bytes keep them).
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean(text: str) -> str:
    """``text`` without control characters that databases or browsers refuse."""
    return _CONTROL_RE.sub("", text)


@dataclass(frozen=True)
class ParsedMail:
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
    spam: bool = False
    problems: list[str] = field(default_factory=list)

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


def _header(msg: Message, name: str, problems: list[str]) -> str:
    try:
        value = msg.get(name)
        return "" if value is None else str(value)
    except Exception as exc:  # noqa: BLE001 - a lying header must not stop intake
        problems.append(f"unreadable {name} header: {exc.__class__.__name__}")
        return " ".join(_raw_values(msg, name))


def _addresses(msg: Message, name: str, problems: list[str]) -> list[str]:
    try:
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


def _body_text(msg: Message, problems: list[str]) -> str:
    """The first text/plain part (or, failing that, text/html) as a string."""
    if isinstance(msg, EmailMessage):
        try:
            part = msg.get_body(preferencelist=("plain", "html"))
        except Exception as exc:  # noqa: BLE001
            problems.append(f"unreadable structure: {exc.__class__.__name__}")
            part = None
        if part is not None:
            try:
                content = part.get_content()
                if isinstance(content, str):
                    return content
            except Exception as exc:  # noqa: BLE001 - unknown or lying charset
                problems.append(f"undecodable body: {exc.__class__.__name__}")
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                return payload.decode("utf-8", errors="replace")
    payload = msg.get_payload(decode=True)
    if isinstance(payload, bytes):
        return payload.decode("utf-8", errors="replace")
    return ""


def parse(raw: bytes) -> ParsedMail:
    """Read ``raw`` into a :class:`ParsedMail`; never raises."""
    problems: list[str] = []
    try:
        msg: Message = email.message_from_bytes(raw, policy=email.policy.default)
    except Exception as exc:  # noqa: BLE001 - keep going with nothing readable
        problems.append(f"unparseable message: {exc.__class__.__name__}")
        return ParsedMail(message_id=None, subject="", from_addr="", problems=problems)
    if msg.defects:
        problems.extend(d.__class__.__name__ for d in msg.defects)
    ids = _message_ids(_header(msg, "Message-ID", problems))
    spam_flag = _header(msg, "X-Spam-Flag", problems).strip().lower()
    spam_status = _header(msg, "X-Spam-Status", problems).strip().lower()
    return ParsedMail(
        message_id=clean(ids[0]) if ids else None,
        subject=clean(" ".join(_header(msg, "Subject", problems).split())),
        from_addr=clean(_header(msg, "From", problems)),
        to=[clean(a) for a in _addresses(msg, "To", problems)],
        cc=[clean(a) for a in _addresses(msg, "Cc", problems)],
        delivered_to=[clean(a) for a in _addresses(msg, "Delivered-To", problems)],
        in_reply_to=[clean(i) for i in _message_ids(_header(msg, "In-Reply-To", problems))],
        references=[clean(i) for i in _message_ids(_header(msg, "References", problems))],
        body=clean(_body_text(msg, problems)),
        spam=spam_flag == "yes" or spam_status.startswith("yes"),
        problems=problems,
    )
