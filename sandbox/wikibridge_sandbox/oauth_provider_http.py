"""Reading requests and writing pages for the sandbox OAuth provider.

oauthlib checks a signature over the request *as the client sent it*, so
:func:`signed_parts` rebuilds that from the raw request line rather than
from Flask's decoded view of it. The pages are one small Jinja template.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote_plus, urlsplit

from flask import Response, render_template_string
from flask import request as flask_request
from oauthlib.oauth1.rfc5849.utils import escape

__all__ = [
    "PAGE",
    "SignedRequest",
    "render_page",
    "requote",
    "signed_parts",
    "split_oauth",
    "without_oauth",
]

# Characters oauthlib accepts unescaped in a query or form body.
_URLENCODED_SAFE = "-._~=&;:%+,*@!()/?'$"

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>{{ title }} - sandbox OAuth</title>
<style>body{font-family:sans-serif;max-width:40em;margin:2em auto}
label{display:block;margin:.5em 0}.error{color:#b00}</style></head>
<body><p><small>Sandbox OAuth provider for {{ wiki_title }}</small></p>
<h1>{{ title }}</h1>
{% if kind == "login" %}
{% if error %}<div class="error" role="alert">{{ error }}</div>{% endif %}
<form name="userlogin" method="post" action="{{ action }}">
<input type="hidden" name="wpLoginToken" value="{{ csrf }}">
<label for="wpName1">Username</label>
<input id="wpName1" name="wpName" value="{{ username }}" autocomplete="username" required>
<label for="wpPassword1">Password</label>
<input id="wpPassword1" name="wpPassword" type="password" autocomplete="current-password"
 required>
<button id="wpLoginAttempt" type="submit" name="wploginattempt" value="Log in">Log in</button>
</form>
{% elif kind == "allow" %}
<p>Hi {{ user }}, {{ consumer }} would like to act on your behalf on {{ wiki_title }}
with these grants: {{ grants | join(", ") }}.</p>
<form method="post" action="{{ action }}">
<input type="hidden" name="wpEditToken" value="{{ csrf }}">
<button type="submit" name="accept" value="1">Allow</button>
<button type="submit" name="cancel" value="1">Cancel</button>
</form>
<p>Not {{ user }}? <a href="{{ logout }}">Log out</a></p>
{% else %}
<p{% if kind == "error" %} class="error" role="alert"{% endif %}>{{ message }}</p>
{% for name, value in details %}<p>{{ name }}: <code>{{ value }}</code></p>{% endfor %}
{% endif %}
</body></html>
"""


@dataclass(frozen=True)
class SignedRequest:
    """What oauthlib needs to check a request's signature."""

    uri: str
    query: str
    body: str | None
    headers: dict[str, str]


def requote(text: str) -> str:
    """Escape what oauthlib refuses unescaped in a query or form body (e.g. ``|``)."""
    # Some clients leave "|" and the like unescaped; oauthlib refuses such a
    # query outright. Escaping them changes no decoded value, so no signature.
    return quote(text, safe=_URLENCODED_SAFE)


def split_oauth(query: str) -> tuple[str, list[tuple[str, str]]]:
    """Split a raw query into (query without oauth_ params, the oauth_ params)."""
    kept: list[str] = []
    oauth: list[tuple[str, str]] = []
    for part in query.split("&") if query else []:
        name, _, value = part.partition("=")
        if unquote_plus(name).startswith("oauth_"):
            oauth.append((unquote_plus(name), unquote_plus(value)))
        else:
            kept.append(part)
    return "&".join(kept), oauth


def signed_parts() -> SignedRequest:
    """The request as the client signed it: its raw URI, body and OAuth header."""
    environ = flask_request.environ
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI") or flask_request.full_path
    if raw.startswith(("http://", "https://")):
        parts = urlsplit(raw)
        raw = parts.path + (f"?{parts.query}" if parts.query else "")
    path, _, query = raw.partition("?")
    query = requote(query)
    headers: dict[str, str] = {}
    body: str | None = None
    content_type = flask_request.headers.get("Content-Type", "")
    if content_type.startswith("application/x-www-form-urlencoded"):
        body = requote(flask_request.get_data(cache=True).decode("utf-8", "replace"))
        headers["Content-Type"] = content_type
    authorization = flask_request.headers.get("Authorization")
    if authorization:
        headers["Authorization"] = authorization
        if authorization.startswith("OAuth "):
            # MediaWiki takes OAuth parameters from the header and the query
            # together (its clients send oauth_callback in the query); oauthlib
            # wants one place. Moving them keeps the signature: it covers all
            # parameters wherever they travel.
            query, in_query = split_oauth(query)
            extra = ", ".join(f'{name}="{escape(value)}"' for name, value in in_query)
            if extra:
                headers["Authorization"] = f"{authorization}, {extra}"
    uri = f"{flask_request.scheme}://{flask_request.host}{path}"
    if query:
        uri += f"?{query}"
    return SignedRequest(uri=uri, query=query, body=body, headers=headers)


def without_oauth(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The parameters without the OAuth ones, for passing a request on to the wiki."""
    return [(name, value) for name, value in pairs if not name.startswith("oauth_")]


def render_page(wiki: str, title: str, kind: str, status: int = 200, **values: Any) -> Response:
    """An HTML page of ``kind`` login, allow, info or error (autoescaped)."""
    html = render_template_string(
        PAGE, title=title, kind=kind, wiki_title=f"sandbox {wiki}", **values
    )
    return Response(html, status, {"Content-Type": "text/html; charset=utf-8"})
