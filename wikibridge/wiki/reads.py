"""Light, anonymous reads of the wikis with mwclient: page states, categories, uploads.

Reads answer a volunteer waiting on a page, so they give up quickly instead of
retrying for minutes: a wiki that is away makes them raise :class:`ReadError`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from wikibridge.wiki.pages import FILE_NAMESPACE, Snapshot, chunks, query_for, snapshots

#: Most pages one bulk link brings in: a bigger category is linked in parts.
BULK_LIMIT = 500


class ReadError(Exception):
    """The wiki could not be read (unreachable, or it refused the query)."""


def site_for(conf: dict[str, Any]) -> Any:
    """An anonymous mwclient site for a wiki of the ``WIKIS`` setting."""
    import mwclient

    url = urlsplit(conf.get("read_api_url") or conf["api_url"])
    path = url.path.rsplit("/", 1)[0] + "/"
    return mwclient.Site(
        url.netloc,
        path=path,
        scheme=url.scheme,
        do_init=False,
        max_retries=1,
        retry_timeout=1,
        connection_options={"timeout": 20},
        clients_useragent="wikibridge (light reads)",
    )


def _get(site: Any, params: dict[str, Any]) -> dict[str, Any]:
    import mwclient.errors
    import requests

    params = dict(params)
    action = params.pop("action")
    try:
        data: dict[str, Any] = site.get(action, **params)
    except (requests.RequestException, mwclient.errors.MwClientError) as exc:
        raise ReadError(f"the wiki could not be read: {exc}") from exc
    return data


def read_pages(conf: dict[str, Any], titles: Iterable[str]) -> dict[str, Snapshot]:
    """Snapshots of ``titles`` (50 per request), keyed by the titles given."""
    site = site_for(conf)
    titles = list(dict.fromkeys(titles))
    out: dict[str, Snapshot] = {}
    for chunk in chunks(titles):
        out.update(snapshots(_get(site, query_for(chunk)), chunk))
    return out


def _listing(conf: dict[str, Any], params: dict[str, Any], key: str, limit: int) -> list[str]:
    site = site_for(conf)
    titles: list[str] = []
    params = {"action": "query", "formatversion": "2", **params}
    while len(titles) < limit:
        data = _get(site, params)
        titles += [str(item["title"]) for item in data.get("query", {}).get(key, [])]
        if "continue" not in data:
            break
        params.update(data["continue"])
    return list(dict.fromkeys(titles))[:limit]


def category_files(conf: dict[str, Any], category: str, limit: int = BULK_LIMIT) -> list[str]:
    """File pages in ``category`` (a name with or without ``Category:``)."""
    name = category.strip()
    if not name.lower().startswith("category:"):
        name = f"Category:{name}"
    return _listing(
        conf,
        {
            "list": "categorymembers",
            "cmtitle": name,
            "cmnamespace": str(FILE_NAMESPACE),
            "cmlimit": "500",
        },
        "categorymembers",
        limit,
    )


def user_uploads(conf: dict[str, Any], user: str, limit: int = BULK_LIMIT) -> list[str]:
    """Files whose current version ``user`` uploaded, newest first."""
    name = user.strip()
    if name.lower().startswith("user:"):
        name = name[5:].strip()
    return _listing(
        conf,
        {
            "list": "allimages",
            "aiuser": name,
            "aisort": "timestamp",
            "aidir": "descending",
            "ailimit": "500",
        },
        "allimages",
        limit,
    )
