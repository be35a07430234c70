"""The pipe's short cut: ``mail deliver`` hands its message to a running LMTP listener.

A ``mail deliver`` process that stores a message itself pays for reading
the settings, parsing and routing, opening the database and loading the
language model, every time.  Where ``wikibridge mail lmtp`` runs, it
listens on a Unix socket in the instance folder too (:data:`SOCKET_NAME`);
``mail deliver`` finds it there, sends the bytes and waits for the answer,
importing nothing but :mod:`socket` (and that only when the socket is
there).  The listener stores the message exactly as it stores LMTP mail
(group commit, answer after the commit) and the pipe exits as it would
have: 0 and the ticket number once stored, 75 when not.

The framing keeps the bytes exact (SMTP's DATA would not: line ends,
dot-stuffing): ``DELIVER <length> [<queue>]\\n`` then the bytes; the answer
is one line, ``250 <number>``, ``250 <number> unread`` or ``451 <reason>``.
This module is imported by the pipe: standard library only, at module level.
"""

from __future__ import annotations

import os

# Not typing itself at run time: ``mail deliver`` imports this module (see tickets.records).
TYPE_CHECKING = False
if TYPE_CHECKING:
    import socket
    from pathlib import Path

#: The listener's socket, in the instance folder.
SOCKET_NAME = "lmtp-handoff.sock"
#: Longest first line the listener reads.
MAX_REQUEST_LINE = 1024


class Answer:
    """What the listener said about a handed-off message.

    A plain class: :mod:`dataclasses` costs the pipe 6 ms to import.
    """

    __slots__ = ("stored", "text", "unread")

    def __init__(self, stored: bool, text: str, unread: bool = False) -> None:
        self.stored = stored
        #: The ticket number when stored, else why not.
        self.text = text
        #: Stored unread: over MAIL_MAX_BYTES.
        self.unread = unread


def socket_path(instance: Path) -> Path:
    """Where the listener of ``instance`` listens for hand-offs."""
    return instance / SOCKET_NAME


def pipe_socket() -> str:
    """The hand-off socket of this environment's instance, as cheaply as it can be found.

    ``WIKIBRIDGE_INSTANCE_PATH`` (as a mail system's pipe usually sets it)
    needs no import; otherwise the settings module says where the instance is.
    """
    configured = os.environ.get("WIKIBRIDGE_INSTANCE_PATH")
    if configured:
        return os.path.join(configured, SOCKET_NAME)
    from wikibridge.config import default_instance_path

    return os.fspath(socket_path(default_instance_path()))


def hand_off(path: str | Path, raw: bytes, queue: str | None = None) -> Answer | None:
    """Give ``raw`` to the listener at ``path``; None when no listener is there.

    None means nothing was sent: the caller stores the message itself.  Once
    the bytes have gone, a broken connection is a ``451`` (the listener may
    or may not have stored it; the redelivery finds out).
    """
    if not os.path.exists(path):
        return None
    import socket  # not before: a pipe with no listener to hand to never needs it

    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        try:
            sock.settimeout(2.0)
            sock.connect(os.fspath(path))
        except OSError:  # a listener that died left its socket behind
            return None
        sock.settimeout(None)  # the store takes what it takes; the MTA bounds it
        head = f"DELIVER {len(raw)}" + (f" {queue}" if queue else "") + "\n"
        try:
            sock.sendall(head.encode() + raw)
            sock.shutdown(socket.SHUT_WR)
            reply = _read_line(sock)
        except OSError as exc:
            return Answer(False, f"connection to the listener broken: {exc.strerror or exc}")
    finally:
        sock.close()
    return parse_answer(reply)


def _read_line(sock: socket.socket) -> bytes:
    data = b""
    while b"\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data.split(b"\n", 1)[0]


def parse_answer(line: bytes) -> Answer:
    """The listener's one-line answer."""
    text = line.decode("utf-8", "replace").strip()
    code, _, rest = text.partition(" ")
    if code == "250" and rest:
        number, _, flag = rest.partition(" ")
        return Answer(True, number, unread=flag == "unread")
    return Answer(False, rest or "the listener gave no answer")


def parse_request(line: bytes) -> tuple[int, str | None]:
    """``DELIVER <length> [<queue>]`` as (length, queue).

    :raises ValueError: when it is not of that form.
    """
    words = line.decode("utf-8").split(" ", 2)
    if len(words) < 2 or words[0] != "DELIVER" or not words[1].isdigit():
        raise ValueError("expected DELIVER <length> [<queue>]")
    queue = words[2].strip() if len(words) == 3 and words[2].strip() else None
    return int(words[1]), queue
