"""The fast path of ``wikibridge mail deliver``: one process per message.

The mail system starts a process for every message, so this path reads the
settings and opens the database without importing Flask, click, SQLAlchemy,
the web blueprints or the job queue: sqlite3 or libpq alone
(:mod:`wikibridge.libpq`), set up as the engines are
(:func:`wikibridge.engine.connect_driver`), runs intake's statements
(:mod:`tickets.intake_rows`); the language model loads only for mail that
needs it.
"""

from __future__ import annotations

import gc
import sys
from types import ModuleType

# Not typing itself at run time: ``mail deliver`` imports this module (see tickets.records).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from tickets.intake import Delivery

EX_TEMPFAIL = 75  # sysexits.h: the mail system keeps the message and retries
_NO_KEYS = {"SECRET_KEY": "unused by mail deliver", "TOKEN_ENCRYPTION_KEY": "unused"}
USAGE = "usage: wikibridge mail deliver [--queue QUEUE] < message"

#: Standard modules the email package imports for what intake never asks of
#: it: making Message-IDs (socket, random) and turning dates into timestamps
#: (calendar, which imports locale).  A fifteenth of this process's time.
DEFERRED = ("socket", "random", "calendar")


class _DeferredModule(ModuleType):
    """Stands for a module in ``sys.modules`` until one of its attributes is read.

    Then the module is imported for real (it replaces this one in
    ``sys.modules``) and every later read is passed on to it, so a module
    that bound this one behaves exactly as with the real one.  An ``import``
    statement reads only ``__spec__``, which is set, so it imports nothing.
    """

    def __getattr__(self, attribute: str) -> object:
        name = self.__name__
        if sys.modules.get(name) is self:
            del sys.modules[name]
        return getattr(__import__(name), attribute)


def defer_unused_imports() -> None:
    """Let :data:`DEFERRED` modules load on first use, not when the email package imports them.

    For this one-shot process only: a long-running one pays their import once.
    """
    for name in DEFERRED:
        if name not in sys.modules:
            sys.modules[name] = _DeferredModule(name)


def first_line(exc: BaseException) -> str:
    """The first line of an error (driver messages are long; passwords are never in it)."""
    return (str(exc).strip().splitlines() or [""])[0][:300]


def parse_args(args: list[str]) -> str | None:
    """The ``--queue`` value, if given.

    :raises ValueError: on anything else, so the caller can fall back to click.
    """
    queue = None
    rest = list(args)
    while rest:
        arg = rest.pop(0)
        if arg == "--queue" and rest:
            queue = rest.pop(0)
        elif arg.startswith("--queue="):
            queue = arg.split("=", 1)[1]
        else:
            raise ValueError(arg)
    return queue


def deliver(raw: bytes, queue: str | None) -> int:
    """Store one message with the settings of the environment; return the exit code.

    Where ``wikibridge mail lmtp`` runs for the same instance, the message is
    handed to it (:mod:`wikibridge.mail.handoff`): same exit codes, same
    printed number, without parsing it or opening the database here.
    Otherwise it is stored by this process (:func:`store`).
    """
    from wikibridge.mail.handoff import hand_off, pipe_socket

    answer = hand_off(pipe_socket(), raw, queue)
    if answer is not None:
        if not answer.stored:
            sys.stderr.write(
                f"wikibridge: message not stored, deliver it again later ({answer.text})\n"
            )
            return EX_TEMPFAIL
        if answer.unread:
            sys.stderr.write(
                f"wikibridge: message of {len(raw)} bytes is too large (over MAIL_MAX_BYTES); "
                f"kept unread as received in ticket {answer.text}\n"
            )
        sys.stdout.write(answer.text + "\n")
        return 0
    try:
        from wikibridge.config import default_instance_path, read_settings

        # Storing mail needs none of the web's keys; reading them would make
        # the mail system's pipe user need access to the key files (and would
        # create them, owned by that user, where they are missing).
        settings = read_settings(default_instance_path(), _NO_KEYS)
        result = store(settings, raw, queue)
    except Exception as exc:  # noqa: BLE001 - any failure to store is temporary for the MTA
        sys.stderr.write(
            "wikibridge: message not stored, deliver it again later "
            f"({exc.__class__.__name__}: {first_line(exc)})\n"
        )
        return EX_TEMPFAIL
    if result.too_large:
        # Stored all the same (exit 0): retrying or bouncing would not make it
        # smaller, and the raw bytes are kept for a volunteer to download.
        sys.stderr.write(
            f"wikibridge: message of {len(raw)} bytes is too large (over MAIL_MAX_BYTES "
            f"{settings['MAIL_MAX_BYTES']}); kept unread as received in ticket {result.number}\n"
        )
    sys.stdout.write(result.number + "\n")
    return 0


def store(settings: dict[str, Any], raw: bytes, queue: str | None) -> Delivery:
    """Store ``raw`` in the database of ``settings``, through its driver alone.

    sqlite3 or libpq, set up as SQLAlchemy's engines are (durable commits,
    the SQLite writer's lock): importing SQLAlchemy would cost this process
    more than everything else it does.  A database URL only SQLAlchemy reads
    (options, other drivers) is opened with SQLAlchemy; the statements are
    the same either way.
    """
    from wikibridge.engine import connect_driver, writer_lock
    from wikibridge.mail.store import store_on

    gc.enable()  # see main(): from here on objects die (a large message's parts)
    direct = connect_driver(settings["DATABASE_URL"])
    if direct is None:
        return _store_with_sqlalchemy(settings, raw, queue)
    try:
        return store_on(direct.db, lambda: writer_lock(direct.database), settings, raw, queue)
    finally:
        direct.close()


def _store_with_sqlalchemy(settings: dict[str, Any], raw: bytes, queue: str | None) -> Delivery:
    from tickets.sql import Db
    from wikibridge.engine import make_engine, writer_turn
    from wikibridge.mail.store import store_on

    engine = make_engine(settings["DATABASE_URL"])
    try:
        with engine.connect() as conn:
            return store_on(Db.over(conn), lambda: writer_turn(engine), settings, raw, queue)
    finally:
        engine.dispose()


def main(args: list[str]) -> int | None:
    """Run ``mail deliver`` with ``args``; ``None`` when click should handle them (``--help``)."""
    try:
        queue = parse_args(args)
    except ValueError:
        return None
    # Importing intake makes tens of thousands of objects and none of them
    # is garbage: the collector's passes over them took a twentieth of this
    # process's time.  Enabled again once intake is imported (:func:`store`).
    gc.disable()
    defer_unused_imports()
    try:
        return deliver(sys.stdin.buffer.read(), queue)
    finally:
        gc.enable()
