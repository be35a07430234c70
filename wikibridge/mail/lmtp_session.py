"""LMTP (RFC 2033) spoken over one connection: commands in, replies out.

A mail system hands over a message in a handful of commands: ``LHLO``, one
``MAIL FROM``, a ``RCPT TO`` per recipient, ``DATA`` and the message, then
``QUIT`` (or the next message).  After the message, LMTP answers once per
recipient.  This module knows the protocol and nothing of storing: the
listener (:mod:`wikibridge.mail.lmtp`) gives each session a
:class:`Delivering` that stores a message and says what to answer.

Written on :class:`asyncio.Protocol` rather than streams: a connection is a
few bytes of state and a buffer, a command is handled where its bytes arrive,
and the replies to commands that came together (PIPELINING) leave in one
write.  aiosmtpd, which this replaced, spent a third of the listener's time
on each message in per-command coroutines, stream objects and logging.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Protocol

log = logging.getLogger(__name__)

#: Longest command line read (RFC 5321 allows 512 octets; addresses in UTF-8
#: and parameters can make an honest one longer, never this long).
MAX_COMMAND_LINE = 64 * 1024
#: Most recipients of one message (RFC 5321, 4.5.3.1.8 asks for at least 100).
MAX_RECIPIENTS = 1000
#: Seconds a connection may say nothing before it is closed (RFC 5321,
#: 4.5.3.2.7, gives a server at least five minutes).
IDLE_SECONDS = 300.0

GREETING = "220 {hostname} wikibridge LMTP"
EXTENSIONS = ("PIPELINING", "ENHANCEDSTATUSCODES", "8BITMIME", "SMTPUTF8")
HELP = "214 2.0.0 Commands: LHLO MAIL RCPT DATA RSET NOOP QUIT VRFY HELP"
REPLY_OK = "250 2.0.0 OK"
REPLY_SENDER_OK = "250 2.1.0 OK"
REPLY_RECIPIENT_OK = "250 2.1.5 OK"
REPLY_START_DATA = "354 End data with <CR><LF>.<CR><LF>"
REPLY_BYE = "221 2.0.0 Bye"
REPLY_VRFY = "252 2.0.0 Cannot VRFY user, but will accept message and attempt delivery"
REPLY_IDLE = "421 4.4.2 Idle too long, closing connection"
REPLY_LINE_TOO_LONG = "500 5.5.2 Line too long"
REPLY_SHUTTING_DOWN = "421 4.3.2 Shutting down, try again later"

# A path in angle brackets (quoted local parts may hold ">"), then parameters.
_PATH = re.compile(r'<((?:"(?:[^"\\]|\\.)*"|[^<>"])*)>(.*)', re.DOTALL)
_PARAMETER = re.compile(r"([A-Za-z0-9][A-Za-z0-9-]*)(?:=(\S+))?")
# Parameters MAIL FROM may carry, for the extensions offered (SIZE and BODY
# are harmless to accept though SIZE is not offered: no limit is announced).
_MAIL_PARAMETERS = frozenset({"SIZE", "BODY", "SMTPUTF8"})
_BODY_TYPES = frozenset({"7BIT", "8BITMIME"})


class Delivering(Protocol):
    """What a session needs of the listener behind it."""

    #: A stop has begun: no new message is taken (421), those begun are finished.
    closing: bool

    def deliver(self, raw: bytes, sender: str, recipients: list[str]) -> Awaitable[list[str]]:
        """Store ``raw``; one reply line per recipient, given after the message is safe.

        Must not raise: a failure to store is a 4xx reply for each recipient.
        """
        ...


def _unstuffed(data: bytes) -> bytes:
    """The message without the dot a client adds before a line starting with one."""
    if data.startswith(b"."):
        data = data[1:]
    return data.replace(b"\r\n.", b"\r\n")


def parse_path(argument: str, keyword: str) -> tuple[str, list[str]] | None:
    """``FROM:<a@b> SIZE=1`` as ``("a@b", ["SIZE=1"])``; None when not of that form.

    ``keyword`` is ``FROM`` or ``TO``.  A space after the colon and an address
    without angle brackets are accepted: clients in the wild send both.
    """
    head, colon, rest = argument.partition(":")
    if not colon or head.strip().upper() != keyword:
        return None
    rest = rest.lstrip(" \t")
    found = _PATH.match(rest)
    if found is not None:
        address, tail = found.group(1), found.group(2)
        if tail and tail[0] not in " \t":
            return None
    else:
        address, _, tail = rest.partition(" ")
        if not address or "<" in address or ">" in address:
            return None
    # A source route ("<@relay:user@host>", RFC 5321 appendix C) names the user last.
    if address.startswith("@") and ":" in address:
        address = address.split(":", 1)[1]
    return address, tail.split()


def _bad_parameters(parameters: list[str], allowed: frozenset[str]) -> str | None:
    """Why ``parameters`` are refused, or None when all are understood."""
    for parameter in parameters:
        found = _PARAMETER.fullmatch(parameter)
        if found is None:
            return f"501 5.5.4 Bad parameter: {parameter[:40]}"
        name, value = found.group(1).upper(), found.group(2)
        if name not in allowed:
            return f"555 5.5.4 Parameter not supported: {name[:40]}"
        if name == "SIZE" and not (value or "").isdigit():
            return "501 5.5.4 Bad SIZE"
        if name == "BODY" and (value or "").upper() not in _BODY_TYPES:
            return "501 5.5.4 Bad BODY"
    return None


class LMTPSession(asyncio.Protocol):
    """One LMTP connection.

    Commands are handled as their lines arrive, in order; while a message is
    being stored, whatever the client sends next waits in the buffer (a
    pipelining client may send its next ``MAIL`` at once).  Every outcome of
    ``DATA`` is answered once per recipient, as an LMTP client waits for.
    """

    def __init__(
        self,
        delivering: Delivering,
        *,
        hostname: str,
        loop: asyncio.AbstractEventLoop,
        on_close: Callable[[LMTPSession], None] | None = None,
    ) -> None:
        self.delivering = delivering
        self.hostname = hostname
        self.loop = loop
        self.on_close = on_close
        self.transport: asyncio.Transport | None = None
        #: loop.time() of the last bytes received (the listener closes idle sessions).
        self.active_at = loop.time()
        self._buffer = bytearray()
        # Where the search for the end of the message resumes: the part
        # before it was searched already (less the 4 bytes a match may span).
        self._searched = 0
        self._greeted = False
        self._closed = False
        self._sender: str | None = None
        self._recipients: list[str] = []
        self._in_data = False
        #: The message's store under way (replies wait for it).
        self._storing: asyncio.Task[None] | None = None
        self._out: list[str] = []

    # -- asyncio.Protocol ------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(GREETING.format(hostname=self.hostname).encode() + b"\r\n")

    def data_received(self, data: bytes) -> None:
        self.active_at = self.loop.time()
        self._buffer += data
        if self._storing is None:
            self._handle_buffer()

    def connection_lost(self, exc: Exception | None) -> None:
        # A store under way goes on: its result is kept, and the client that
        # went away delivers again and hears the stored ticket.
        self.transport = None
        self._closed = True
        self._buffer.clear()
        if self.on_close is not None:
            self.on_close(self)

    # -- state the listener reads ---------------------------------------------

    @property
    def in_data(self) -> bool:
        """Whether a message is being received, stored or answered."""
        return self._in_data or self._storing is not None

    @property
    def storing(self) -> bool:
        """Whether a message is being stored (its client waits for the answer)."""
        return self._storing is not None

    def close_idle(self) -> None:
        """Say why and close (the listener's sweep, for a session silent too long)."""
        self._out.append(REPLY_IDLE)
        self._flush()
        self.close()

    def close(self) -> None:
        """Close the connection (replies already written are sent first)."""
        self._closed = True
        if self.transport is not None:
            self.transport.close()

    # -- reading ---------------------------------------------------------------

    def _handle_buffer(self) -> None:
        """Handle every complete command (and message) in the buffer, in order."""
        while not self._closed and self.transport is not None and self._storing is None:
            if self._in_data:
                if not self._take_message():
                    break
                continue
            end = self._buffer.find(b"\n")
            if end < 0:
                if len(self._buffer) > MAX_COMMAND_LINE:
                    self._out.append(REPLY_LINE_TOO_LONG)
                    self._flush()
                    self.close()
                break
            line = bytes(self._buffer[:end]).rstrip(b"\r")
            del self._buffer[: end + 1]
            if end > MAX_COMMAND_LINE:
                self._out.append(REPLY_LINE_TOO_LONG)
                continue
            self._command(line)
        self._flush()

    def _take_message(self) -> bool:
        """Whether the message is complete (then it is being stored)."""
        buffer = self._buffer
        if buffer.startswith(b".\r\n"):
            end = 0  # an empty message
        else:
            end = buffer.find(b"\r\n.\r\n", max(0, self._searched - 4))
            if end < 0:
                self._searched = len(buffer)
                return False
            end += 2  # the message keeps its last line's CRLF
        raw = _unstuffed(bytes(buffer[:end]))
        del buffer[: end + 3]
        self._searched = 0
        self._in_data = False
        self._storing = self.loop.create_task(self._store(raw))
        return True

    # -- commands --------------------------------------------------------------

    def _command(self, line: bytes) -> None:
        # Commands are ASCII; addresses may be UTF-8 (SMTPUTF8).  Bytes that are
        # neither still give a reply instead of an exception.
        text = line.decode("utf-8", "surrogateescape")
        verb, _, argument = text.partition(" ")
        verb = verb.upper()
        handler = _COMMANDS.get(verb)
        if handler is None:
            if not verb:
                self._out.append("500 5.5.2 Error: bad syntax")
            elif verb in ("HELO", "EHLO"):
                self._out.append("500 5.5.1 Error: this is LMTP, send LHLO")
            else:
                self._out.append(f'500 5.5.1 Error: command "{verb[:20]}" not recognized')
            return
        handler(self, argument.strip())

    def _lhlo(self, argument: str) -> None:
        if not argument:
            self._out.append("501 5.5.4 Syntax: LHLO hostname")
            return
        self._greeted = True
        self._reset()
        lines = [self.hostname, *EXTENSIONS]
        self._out.extend(f"250-{line}" for line in lines[:-1])
        self._out.append(f"250 {lines[-1]}")

    def _mail(self, argument: str) -> None:
        if not self._greeted:
            self._out.append("503 5.5.1 Error: send LHLO first")
            return
        if self._sender is not None:
            self._out.append("503 5.5.1 Error: nested MAIL command")
            return
        parsed = parse_path(argument, "FROM")
        if parsed is None:
            self._out.append("501 5.5.4 Syntax: MAIL FROM:<address>")
            return
        address, parameters = parsed
        refused = _bad_parameters(parameters, _MAIL_PARAMETERS)
        if refused is not None:
            self._out.append(refused)
            return
        self._sender = address  # "" for a bounce (the null sender)
        self._out.append(REPLY_SENDER_OK)

    def _rcpt(self, argument: str) -> None:
        if self._sender is None:
            self._out.append("503 5.5.1 Error: need MAIL command")
            return
        parsed = parse_path(argument, "TO")
        if parsed is None or not parsed[0]:
            self._out.append("501 5.5.4 Syntax: RCPT TO:<address>")
            return
        address, parameters = parsed
        if parameters:
            self._out.append(f"555 5.5.4 Parameter not supported: {parameters[0][:40]}")
            return
        if len(self._recipients) >= MAX_RECIPIENTS:
            self._out.append("452 4.5.3 Too many recipients")
            return
        self._recipients.append(address)
        self._out.append(REPLY_RECIPIENT_OK)

    def _data(self, argument: str) -> None:
        if self.delivering.closing:
            # A message begun before the stop is finished; none starts after it.
            self._out.append(REPLY_SHUTTING_DOWN)
            self._flush()
            self.close()
            return
        if argument:
            self._out.append("501 5.5.4 Syntax: DATA")
        elif not self._recipients:
            self._out.append("503 5.5.1 Error: need RCPT command")
        else:
            self._in_data = True
            self._out.append(REPLY_START_DATA)

    def _rset(self, argument: str) -> None:
        self._reset()
        self._out.append(REPLY_OK)

    def _noop(self, argument: str) -> None:
        self._out.append(REPLY_OK)

    def _vrfy(self, argument: str) -> None:
        self._out.append(REPLY_VRFY if argument else "501 5.5.4 Syntax: VRFY address")

    def _help(self, argument: str) -> None:
        self._out.append(HELP)

    def _quit(self, argument: str) -> None:
        self._out.append(REPLY_BYE)
        self._flush()
        self.close()

    # -- the message -----------------------------------------------------------

    async def _store(self, raw: bytes) -> None:
        recipients, sender = self._recipients, self._sender or ""
        self._reset()
        try:
            replies = await self.delivering.deliver(raw, sender, recipients)
        except Exception:  # a bug, not a failure to store: still never a bounce
            log.exception("LMTP delivery failed unexpectedly")
            replies = ["451 4.3.0 Message not stored, try again later"] * len(recipients)
        self._out.extend(replies)
        self._storing = None
        self._handle_buffer()

    def _reset(self) -> None:
        self._sender = None
        self._recipients = []

    def _flush(self) -> None:
        """Send the replies gathered so far, in one write."""
        if self._out:
            if self.transport is not None and not self.transport.is_closing():
                self.transport.write("\r\n".join(self._out).encode("utf-8", "replace") + b"\r\n")
            self._out = []


_COMMANDS: dict[str, Callable[[LMTPSession, str], None]] = {
    "LHLO": LMTPSession._lhlo,
    "MAIL": LMTPSession._mail,
    "RCPT": LMTPSession._rcpt,
    "DATA": LMTPSession._data,
    "RSET": LMTPSession._rset,
    "NOOP": LMTPSession._noop,
    "VRFY": LMTPSession._vrfy,
    "HELP": LMTPSession._help,
    "QUIT": LMTPSession._quit,
}
