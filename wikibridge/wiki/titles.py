"""Reading page titles that volunteers type or paste (titles or URLs)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit


class TitleError(ValueError):
    """What was typed is not a page of a configured wiki."""


def normalise(title: str) -> str:
    """MediaWiki's canonical form: underscores as spaces, first letter upper case."""
    title = " ".join(unquote(title).replace("_", " ").split())
    if ":" in title:
        ns, _, rest = title.partition(":")
        if ns.lower() in ("file", "image"):
            title = "File:" + rest.strip()[:1].upper() + rest.strip()[1:]
    return title[:1].upper() + title[1:]


def page_from_input(text: str, wikis: dict[str, dict[str, Any]], default: str) -> tuple[str, str]:
    """Return ``(wiki, title)`` for a title or a URL of one of ``wikis``."""
    text = text.strip()
    if not text:
        raise TitleError("type a page title or paste its address")
    if not text.lower().startswith(("http://", "https://")):
        if any(c in text for c in "<>[]{}|#"):
            raise TitleError(f"{text!r} is not a valid page title")
        return default, normalise(text)
    url = urlsplit(text)
    for name, conf in wikis.items():
        article = urlsplit(str(conf.get("article_url", "")))
        api = urlsplit(str(conf.get("api_url", "")))
        if url.netloc not in (article.netloc, api.netloc):
            continue
        if article.path and url.path.startswith(article.path) and len(url.path) > len(article.path):
            return name, normalise(url.path[len(article.path) :])
        titles = parse_qs(url.query).get("title")
        if titles:
            return name, normalise(titles[0])
    raise TitleError(f"{text} is not a page of a wiki this desk works with")
