"""Finding tickets: by number, by sender, or by the words of their articles.

The full-text indexes are made by migrations, not by the models: on SQLite
FTS5 tables kept by triggers (0007; a ticket matches when one article, or its
title, holds every word); on PostgreSQL ``ticket_search`` (0022), one row per
ticket with the words of its title and all its articles under a GIN index (a
ticket matches when it holds every word, in whichever of them).
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import (
    ColumnElement,
    DateTime,
    Integer,
    Select,
    column,
    func,
    literal_column,
    select,
    table,
    text,
    union,
)
from sqlalchemy.orm import Session, selectinload

from tickets.listing import TicketPage, nearest_page
from tickets.models import Article, Ticket

#: Znuny's DateChecksum numbers have 16 digits (more once a day's counter grows).
TICKET_NUMBER = re.compile(r"\d{16,}")
#: Good enough to tell "search by sender" from words; not a validation.
EMAIL_ADDRESS = re.compile(r"[^\s@<>\"]+@[^\s@<>\"]+")
#: The highest page asked of the database before the total is known (the
#: offset stays far inside a 64-bit integer; no list is that long).
MAX_PAGE = 10**9
#: Past this many tickets matching words, a PostgreSQL search says "more than" this.
COUNT_LIMIT = 1000
#: A word the FTS5 tokenizer keeps something of (letters or digits).
_HAS_WORD = re.compile(r"\w")


def fts5_query(words: str) -> str:
    """Turn what a volunteer typed into an FTS5 query that cannot be malformed.

    Each whitespace-separated word becomes a quoted phrase (inner ``"``
    doubled), so ``OR``, ``NEAR``, ``-``, ``*``, ``:`` and parentheses are just
    text; phrases side by side must all match.  Words with no letter or digit
    are dropped (the tokenizer would make empty phrases of them).

    :returns: the query, or ``""`` when nothing searchable is left.
    """
    parts = [w for w in words.split() if _HAS_WORD.search(w)]
    return " ".join('"' + w.replace('"', '""') + '"' for w in parts)


def search_tickets(
    session: Session, query: str, queue_ids: list[int], page: int = 1, per_page: int = 25
) -> TicketPage:
    """The tickets matching ``query`` in the queues ``queue_ids``, newest first.

    A ticket number (16 digits or more) finds that ticket; an e-mail address
    finds tickets of that customer or with an article from it; anything else
    is searched as words in the articles' subject and body and the ticket's
    title (all words must occur).

    :param queue_ids: the queues the searching volunteer may read; no others are looked at.
    :param page: 1-based page number; the nearest page there is is shown
        (smaller values mean the first, larger the last).

    On PostgreSQL, words stop being counted past :data:`COUNT_LIMIT` matches
    (the page's ``more`` says so, and only that many are paged through).
    """
    query = query.strip()
    if query and queue_ids and _words_on_postgresql(session, query):
        return _newest_with_words(session, query, queue_ids, page, per_page)
    found_in = _matching(session, query) if query and queue_ids else None
    if found_in is None:
        return TicketPage([], 0, 1, per_page)
    ticket_id, queue_id, created_at, matching = found_in
    where = [queue_id.in_(queue_ids), matching]

    def read(page: int) -> list[Any]:
        # The matches are found once: the total comes with the page's ids (a
        # window count), not from a second search.
        return list(
            session.execute(
                select(ticket_id, func.count().over())
                .where(*where)
                .order_by(created_at.desc(), ticket_id.desc())
                .offset((page - 1) * per_page)
                .limit(per_page)
            ).all()
        )

    # The total is not known before the search: a page no list could reach
    # is bounded first, so the offset fits any database's integer.
    page = min(max(1, page), MAX_PAGE)
    found = read(page)
    if found:
        total = found[0][1]
    else:  # past the last page: only a count can say how many there are
        total = session.scalar(select(func.count(ticket_id)).where(*where)) or 0
        last = nearest_page(page, total, per_page)
        if last != page:
            page, found = last, (read(last) if total else [])
    ids = [row[0] for row in found]
    # The results table shows each ticket's queue: one query, not one per row.
    loaded = session.scalars(
        select(Ticket).where(Ticket.id.in_(ids)).options(selectinload(Ticket.queue))
    )
    by_id = {ticket.id: ticket for ticket in loaded}
    return TicketPage([by_id[i] for i in ids if i in by_id], total, page, per_page)


#: One row per ticket with its words, made and kept by migration 0022 (PostgreSQL).
_TICKET_SEARCH = table(
    "ticket_search",
    column("ticket_id", Integer),
    column("queue_id", Integer),
    column("created_at", DateTime(timezone=True)),
    column("words"),
)

#: Where the matches are read from: ticket id, queue id and age columns, and the condition.
Found = tuple[Any, Any, Any, ColumnElement[bool]]


def _words_on_postgresql(session: Session, query: str) -> bool:
    """Whether ``query`` is searched as words in ``ticket_search``."""
    return session.get_bind().dialect.name == "postgresql" and not (
        TICKET_NUMBER.fullmatch(query) or EMAIL_ADDRESS.fullmatch(query)
    )


def _newest_with_words(
    session: Session, query: str, queue_ids: list[int], page: int, per_page: int
) -> TicketPage:
    """The newest tickets holding every word of ``query``, counted up to :data:`COUNT_LIMIT`.

    Every match found costs a read of its row, and a common word matches
    tens of thousands of tickets. So the newest tickets are looked at first:
    a time window at the newest end (an index on the age, ANDed with the
    words' GIN index), widened until it holds the page and one more than
    :data:`COUNT_LIMIT` matches, or every ticket: each time by what the
    matches found so far suggest, so a common word is read about once. A
    rare word widens to the whole table quickly and is counted exactly.
    """
    s = _TICKET_SEARCH.c
    matching = s.words.bool_op("@@")(func.plainto_tsquery(literal_column("'simple'"), query))
    where = [s.queue_id.in_(queue_ids), matching]
    page = min(max(1, page), -(-COUNT_LIMIT // per_page))
    wanted = max(page * per_page, COUNT_LIMIT + 1)
    oldest, newest = session.execute(select(func.min(s.created_at), func.max(s.created_at))).one()
    if newest is None:
        return TicketPage([], 0, 1, per_page)
    window = (newest - oldest) / 64
    while True:
        since = newest - window
        bounded = [*where, s.created_at >= since] if since > oldest else where
        ids = list(
            session.scalars(
                select(s.ticket_id)
                .where(*bounded)
                .order_by(s.created_at.desc(), s.ticket_id.desc())
                .limit(wanted)
            )
        )
        if len(ids) >= wanted or since <= oldest:
            break
        # Matches spread about evenly over time: widen to where the missing
        # ones should be, with a margin (eightfold when the window held none).
        window *= wanted * 5 / (4 * len(ids)) if ids else 8
    more = len(ids) > COUNT_LIMIT
    total = COUNT_LIMIT if more else len(ids)
    page = nearest_page(page, total, per_page)
    shown = ids[:total][(page - 1) * per_page : page * per_page]
    loaded = session.scalars(
        select(Ticket).where(Ticket.id.in_(shown)).options(selectinload(Ticket.queue))
    )
    by_id = {ticket.id: ticket for ticket in loaded}
    return TicketPage([by_id[i] for i in shown if i in by_id], total, page, per_page, more)


def _matching(session: Session, query: str) -> Found | None:
    """Where to find the tickets matching ``query``; None when nothing can match."""
    matching = _matching_ids(session, query)
    if matching is None:
        return None
    return Ticket.id, Ticket.queue_id, Ticket.created_at, matching


def _matching_ids(session: Session, query: str) -> ColumnElement[bool] | None:
    """A condition on :class:`Ticket` for ``query``; None when nothing can match."""
    dialect = session.get_bind().dialect.name
    if TICKET_NUMBER.fullmatch(query):
        return Ticket.number == query
    if EMAIL_ADDRESS.fullmatch(query):
        return Ticket.id.in_(_by_address(query, dialect))
    if dialect == "sqlite":
        words = fts5_query(query)
        if not words:
            return None
        return Ticket.id.in_(_sqlite_words(words))
    raise NotImplementedError(f"no full-text search for {dialect}")


def same_customer(address: str, dialect: str) -> ColumnElement[bool]:
    """Tickets of the customer ``address``, whatever the case of its letters.

    Both forms are the expressions of the index ix_ticket_customer_created
    (migration 0010), which also orders them by age.
    """
    if dialect == "sqlite":
        return Ticket.customer.collate("NOCASE") == address
    return func.lower(Ticket.customer) == address.lower()


def _by_address(address: str, dialect: str) -> Any:
    """Tickets whose customer is ``address``, or with an article sent from it."""
    return union(
        # correlate(None): a FROM ticket of its own, not the outer query's row.
        select(Ticket.id).where(same_customer(address, dialect)).correlate(None),
        select(Article.ticket_id).where(Article.from_addr.icontains(address, autoescape=True)),
    )


def _sqlite_words(words: str) -> Any:
    """Ticket ids whose articles or title contain all ``words`` (an FTS5 query)."""
    article_hits: Select[Any] = (
        select(literal_column("rowid"))
        .select_from(table("article_fts"))
        .where(text("article_fts MATCH :article_words").bindparams(article_words=words))
    )
    title_hits: Select[Any] = (
        select(literal_column("rowid"))
        .select_from(table("ticket_fts"))
        .where(text("ticket_fts MATCH :title_words").bindparams(title_words=words))
    )
    return union(select(Article.ticket_id).where(Article.id.in_(article_hits)), title_hits)
