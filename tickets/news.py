"""News: the volunteer administrators' announcements on the login page.

News is never deleted; unpublished news stays in the table, out of sight.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from tickets.models import News, utcnow

#: Longest title the table holds.
TITLE_MAX = 300


class NewsError(ValueError):
    """News that cannot be saved as given; the message says what to change."""


def _checked_title(title: str) -> str:
    title = " ".join(title.split())
    if not title:
        raise NewsError("Give the announcement a title.")
    if len(title) > TITLE_MAX:
        raise NewsError(f"Keep the title under {TITLE_MAX} characters.")
    return title


def latest_news(session: Session, limit: int = 5) -> Sequence[News]:
    """The ``limit`` newest published announcements, newest first."""
    query = (
        select(News)
        .where(News.published)
        .order_by(News.created_at.desc(), News.id.desc())
        .limit(limit)
    )
    return session.scalars(query).all()


def all_news(session: Session) -> Sequence[News]:
    """Every announcement, published or not, newest first (for the admin page)."""
    return session.scalars(select(News).order_by(News.created_at.desc(), News.id.desc())).all()


def post_news(session: Session, title: str, body: str, by: str, published: bool = True) -> News:
    """Add an announcement written by ``by``.

    :raises NewsError: when the title is empty or too long.
    """
    news = News(title=_checked_title(title), body=body.strip(), published=published, created_by=by)
    session.add(news)
    session.flush()
    return news


def edit_news(news: News, title: str, body: str) -> bool:
    """Change an announcement's text; return whether anything changed.

    :raises NewsError: when the title is empty or too long.
    """
    title, body = _checked_title(title), body.strip()
    if (news.title, news.body) == (title, body):
        return False
    news.title, news.body = title, body
    news.changed_at = utcnow()
    return True


def _set_published(news: News, published: bool) -> bool:
    if news.published == published:
        return False
    news.published = published
    news.changed_at = utcnow()
    return True


def publish(news: News) -> bool:
    """Show ``news`` on the login page again; return whether it was hidden."""
    return _set_published(news, True)


def unpublish(news: News) -> bool:
    """Take ``news`` off the login page (it is kept); return whether it was shown."""
    return _set_published(news, False)
