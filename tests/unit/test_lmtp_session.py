"""The LMTP protocol of the listener, spoken to a fake connection (no database, no socket)."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from wikibridge.mail.lmtp_session import (
    MAX_COMMAND_LINE,
    LMTPSession,
    parse_path,
)

MESSAGE = (
    b"From: a@example.org\r\nTo: info@wikimedia.org\r\nSubject: hi\r\n\r\n"
    b"..a dotted line\r\nbare\n.\r\nlast line.\r\n"
)
STUFFED_END = b".\r\n"


class FakeTransport(asyncio.Transport):
    """Collects what the session writes; closing is noted, not done."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: Any) -> None:
        self.writes.append(bytes(data))

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def lines(self) -> list[str]:
        return b"".join(self.writes).decode().split("\r\n")[:-1]


class Desk:
    """Stores into a list; answers each recipient with the message's number."""

    def __init__(self, *, fail: bool = False) -> None:
        self.closing = False
        self.fail = fail
        self.stored: list[tuple[bytes, str, list[str]]] = []
        self.gate: asyncio.Event | None = None

    async def deliver(self, raw: bytes, sender: str, recipients: list[str]) -> list[str]:
        if self.gate is not None:
            await self.gate.wait()
        if self.fail:
            raise RuntimeError("a bug")
        self.stored.append((raw, sender, recipients))
        number = len(self.stored)
        return [f"250 2.0.0 {number} stored for {r}" for r in recipients]


def session(desk: Desk) -> tuple[LMTPSession, FakeTransport]:
    loop = asyncio.get_running_loop()
    lmtp = LMTPSession(desk, hostname="desk.example.org", loop=loop)
    transport = FakeTransport()
    lmtp.connection_made(transport)
    return lmtp, transport


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def run(coro: Any) -> Any:
    """``asyncio.run`` on a thread of its own: a browser test earlier in the same
    session may leave an event loop running on this one (Playwright's sync API)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result(timeout=60)


def envelope(*recipients: str) -> bytes:
    lines = [b"LHLO mta.example.org", b"MAIL FROM:<a@example.org> SIZE=100 BODY=8BITMIME"]
    lines += [f"RCPT TO:<{r}>".encode() for r in recipients]
    lines.append(b"DATA")
    return b"\r\n".join(lines) + b"\r\n"


def test_greeting_and_lhlo_offer_pipelining():
    async def go() -> list[str]:
        lmtp, transport = session(Desk())
        lmtp.data_received(b"LHLO mta.example.org\r\n")
        return transport.lines()

    lines = run(go())
    assert lines[0] == "220 desk.example.org wikibridge LMTP"
    assert lines[1] == "250-desk.example.org"
    assert "250-PIPELINING" in lines and "250-ENHANCEDSTATUSCODES" in lines
    assert lines[-1].startswith("250 ")


def test_a_pipelined_delivery_in_one_write_each_way():
    # Postfix sends LHLO, then MAIL, RCPT... and DATA together, then the message and QUIT.
    async def go() -> tuple[Desk, FakeTransport]:
        desk = Desk()
        lmtp, transport = session(desk)
        lmtp.data_received(envelope("info@wikimedia.org", "press@wikimedia.org"))
        lmtp.data_received(MESSAGE + STUFFED_END + b"QUIT\r\n")
        await settle()
        return desk, transport

    desk, transport = run(go())
    [(raw, sender, recipients)] = desk.stored
    assert raw == MESSAGE.replace(b"\r\n..", b"\r\n.")
    assert sender == "a@example.org"
    assert recipients == ["info@wikimedia.org", "press@wikimedia.org"]
    lines = transport.lines()
    assert lines[-7:-1] == [
        "250 2.1.0 OK",
        "250 2.1.5 OK",
        "250 2.1.5 OK",
        "354 End data with <CR><LF>.<CR><LF>",
        "250 2.0.0 1 stored for info@wikimedia.org",
        "250 2.0.0 1 stored for press@wikimedia.org",
    ]
    assert lines[-1] == "221 2.0.0 Bye" and transport.closed
    # The greeting; every reply up to DATA's; those to the message and QUIT.
    assert len(transport.writes) == 3


@pytest.mark.parametrize("step", [1, 2, 3, 5, 7])
def test_a_message_split_anywhere_arrives_whole(step):
    data = MESSAGE + STUFFED_END

    async def go() -> Desk:
        desk = Desk()
        lmtp, _ = session(desk)
        lmtp.data_received(envelope("info@wikimedia.org"))
        for start in range(0, len(data), step):
            lmtp.data_received(data[start : start + step])
        await settle()
        return desk

    [(raw, _, _)] = run(go()).stored
    assert raw == MESSAGE.replace(b"\r\n..", b"\r\n.")


def test_an_empty_message_and_a_dot_only_after_crlf_ends_it():
    async def go() -> Desk:
        desk = Desk()
        lmtp, _ = session(desk)
        lmtp.data_received(envelope("info@wikimedia.org") + b".\r\n")
        await settle()
        lmtp.data_received(b"MAIL FROM:<>\r\nRCPT TO:<info@wikimedia.org>\r\nDATA\r\n")
        lmtp.data_received(b"x\n.\r\ny.\r\n.\r\n")
        await settle()
        return desk

    desk = run(go())
    assert [raw for raw, _, _ in desk.stored] == [b"", b"x\n.\r\ny.\r\n"]
    assert desk.stored[1][1] == ""  # the null sender of a bounce


def test_the_next_message_waits_while_one_is_stored():
    async def go() -> tuple[Desk, FakeTransport, list[str]]:
        desk = Desk()
        desk.gate = asyncio.Event()
        lmtp, transport = session(desk)
        lmtp.data_received(envelope("info@wikimedia.org") + b"one\r\n.\r\n")
        lmtp.data_received(b"MAIL FROM:<b@example.org>\r\nRCPT TO:<info@wikimedia.org>\r\n")
        await settle()
        before = transport.lines()
        assert lmtp.in_data
        desk.gate.set()
        await settle()
        return desk, transport, before

    _desk, transport, before = run(go())
    assert before[-1].startswith("354")  # nothing answered past the message yet
    assert transport.lines()[-3:] == [
        "250 2.0.0 1 stored for info@wikimedia.org",
        "250 2.1.0 OK",
        "250 2.1.5 OK",
    ]


def test_a_failure_is_a_451_for_every_recipient():
    async def go() -> list[str]:
        lmtp, transport = session(Desk(fail=True))
        lmtp.data_received(envelope("a@wikimedia.org", "b@wikimedia.org") + b"x\r\n.\r\n")
        await settle()
        return transport.lines()

    lines = run(go())
    assert lines[-2:] == ["451 4.3.0 Message not stored, try again later"] * 2


@pytest.mark.parametrize(
    ("commands", "reply"),
    [
        (b"MAIL FROM:<a@b>", "503 5.5.1 Error: send LHLO first"),
        (b"LHLO x\r\nRCPT TO:<a@b>", "503 5.5.1 Error: need MAIL command"),
        (b"LHLO x\r\nMAIL FROM:<a@b>\r\nDATA", "503 5.5.1 Error: need RCPT command"),
        (b"LHLO x\r\nMAIL FROM:<a@b>\r\nMAIL FROM:<a@b>", "503 5.5.1 Error: nested MAIL command"),
        (b"LHLO x\r\nMAIL FROM:<a@b> RET=FULL", "555 5.5.4 Parameter not supported: RET"),
        (b"LHLO x\r\nMAIL FROM:<a@b> SIZE=big", "501 5.5.4 Bad SIZE"),
        (b"LHLO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d> NOTIFY=NEVER", "555 5.5.4 Parameter"),
        (b"LHLO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<>", "501 5.5.4 Syntax: RCPT TO:<address>"),
        (b"LHLO x\r\nMAIL TO:<a@b>", "501 5.5.4 Syntax: MAIL FROM:<address>"),
        (b"LHLO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA now", "501 5.5.4 Syntax: DATA"),
        (b"LHLO", "501 5.5.4 Syntax: LHLO hostname"),
        (b"EHLO x", "500 5.5.1 Error: this is LMTP, send LHLO"),
        (b"STARTTLS", '500 5.5.1 Error: command "STARTTLS" not recognized'),
        (b"", "500 5.5.2 Error: bad syntax"),
        (b"NOOP", "250 2.0.0 OK"),
        (b"RSET", "250 2.0.0 OK"),
        (
            b"VRFY someone",
            "252 2.0.0 Cannot VRFY user, but will accept message and attempt delivery",
        ),
        (b"HELP", "214 2.0.0 Commands: LHLO MAIL RCPT DATA RSET NOOP QUIT VRFY HELP"),
        (b"noop", "250 2.0.0 OK"),
        (b"LHLO x\nMAIL FROM:<a@b>\n", "250 2.1.0 OK"),  # bare LF line ends
    ],
)
def test_replies(commands, reply):
    async def go() -> list[str]:
        lmtp, transport = session(Desk())
        lmtp.data_received(commands if commands.endswith(b"\n") else commands + b"\r\n")
        return transport.lines()

    assert run(go())[-1].startswith(reply)


def test_rset_forgets_the_envelope():
    async def go() -> list[str]:
        lmtp, transport = session(Desk())
        lmtp.data_received(b"LHLO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nRSET\r\nDATA\r\n")
        return transport.lines()

    assert run(go())[-1] == "503 5.5.1 Error: need RCPT command"


def test_a_command_line_without_end_is_refused_and_the_connection_closed():
    async def go() -> tuple[list[str], bool]:
        lmtp, transport = session(Desk())
        lmtp.data_received(b"LHLO " + b"x" * (MAX_COMMAND_LINE + 10))
        return transport.lines(), transport.closed

    lines, closed = run(go())
    assert lines[-1] == "500 5.5.2 Line too long" and closed


def test_a_stop_refuses_new_messages_with_421():
    async def go() -> tuple[list[str], bool, Desk]:
        desk = Desk()
        lmtp, transport = session(desk)
        desk.closing = True
        lmtp.data_received(envelope("info@wikimedia.org") + b"x\r\n.\r\n")
        await settle()
        return transport.lines(), transport.closed, desk

    lines, closed, desk = run(go())
    assert lines[-1] == "421 4.3.2 Shutting down, try again later" and closed
    assert desk.stored == []


def test_nothing_after_quit_is_read():
    async def go() -> tuple[list[str], Desk]:
        desk = Desk()
        lmtp, transport = session(desk)
        lmtp.data_received(b"LHLO x\r\nQUIT\r\nMAIL FROM:<a@b>\r\n")
        return transport.lines(), desk

    lines, _ = run(go())
    assert lines[-1] == "221 2.0.0 Bye"


def test_idle_sessions_are_told_before_they_are_closed():
    async def go() -> tuple[list[str], bool]:
        lmtp, transport = session(Desk())
        lmtp.close_idle()
        return transport.lines(), transport.closed

    lines, closed = run(go())
    assert lines[-1].startswith("421 4.4.2") and closed


@pytest.mark.parametrize(
    ("argument", "keyword", "expected"),
    [
        ("FROM:<a@example.org>", "FROM", ("a@example.org", [])),
        (
            "from: <a@example.org> SIZE=12 BODY=8BITMIME",
            "FROM",
            ("a@example.org", ["SIZE=12", "BODY=8BITMIME"]),
        ),
        ("FROM:<>", "FROM", ("", [])),
        ('TO:<"two words"@example.org>', "TO", ('"two words"@example.org', [])),
        ('TO:<"a>b"@example.org>', "TO", ('"a>b"@example.org', [])),
        ("TO:<@relay.example:user@example.org>", "TO", ("user@example.org", [])),
        ("TO:user@example.org", "TO", ("user@example.org", [])),
        ("TO:<ünï@example.org>", "TO", ("ünï@example.org", [])),
        ("TO<a@example.org>", "TO", None),
        ("FROM:<a@example.org>", "TO", None),
        ("TO:<a@example.org>junk", "TO", None),
        ("TO:<a@example.org", "TO", None),
    ],
)
def test_parse_path(argument, keyword, expected):
    assert parse_path(argument, keyword) == expected
