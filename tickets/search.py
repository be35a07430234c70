"""Finding tickets: by number, by sender, or by the words of their articles.

The full-text index is made by migration 0007, not by the models: FTS5 tables
kept by triggers on SQLite, GIN expression indexes on PostgreSQL.  The
expressions below must stay exactly those of the indexes, or PostgreSQL scans
every article instead.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    any_,
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
#: A word the FTS5 tokenizer keeps something of (letters or digits).
_HAS_WORD = re.compile(r"\w")

#: Same expressions as the indexes ix_article_fts and ix_ticket_fts_title.
_PG_ARTICLE_MATCH = (
    "to_tsvector('simple', article.subject || ' ' || article.body) "
    "@@ plainto_tsquery('simple', :article_words)"
)
_PG_TITLE_MATCH = "to_tsvector('simple', ticket.title) @@ plainto_tsquery('simple', :title_words)"


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
    """
    query = query.strip()
    matching = _matching_ids(session, query) if query and queue_ids else None
    if matching is None:
        return TicketPage([], 0, 1, per_page)
    where = [Ticket.queue_id.in_(queue_ids), matching]

    def read(page: int) -> list[Any]:
        # The matches are found once: the total comes with the page's ids (a
        # window count), not from a second search.
        return list(
            session.execute(
                select(Ticket.id, func.count().over())
                .where(*where)
                .order_by(Ticket.created_at.desc(), Ticket.id.desc())
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
        total = session.scalar(select(func.count()).select_from(Ticket).where(*where)) or 0
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
    if dialect == "postgresql":
        # "= ANY(array(…))", not "IN (…)": the planner would join the matches
        # to every ticket of the readable queues (a scan of the table); from
        # an array it looks each match up by its key (4x faster at 1,000,000).
        return Ticket.id == any_(func.array(_postgresql_words(query).scalar_subquery()))
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


def _postgresql_words(words: str) -> Any:
    """Ticket ids whose articles or title contain all ``words``."""
    return union(
        select(Article.ticket_id).where(text(_PG_ARTICLE_MATCH).bindparams(article_words=words)),
        select(Ticket.id)
        .where(text(_PG_TITLE_MATCH).bindparams(title_words=words))
        .correlate(None),
    )
