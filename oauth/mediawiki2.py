"""OAuth 2.0 as MediaWiki's Extension:OAuth speaks it, for the client side.

Authorization code grant with PKCE (S256) at ``rest.php/oauth2/authorize``
and ``rest.php/oauth2/access_token``; who the volunteer is comes from
``rest.php/oauth2/resource/profile``. ``rest_url`` is the wiki's
``rest.php``, e.g. ``https://meta.wikimedia.org/w/rest.php``.

Typical use in a web app::

    url, state, verifier = authorization_url(rest_url, client_id, redirect_uri)
    # store state and verifier in the session, redirect the browser to url
    # ... on the callback:
    check_oauth2_state(stored_state, request.args.get("state"))
    token = fetch_token(rest_url, client_id, redirect_uri, request.args["code"],
                        stored_verifier, client_secret=secret)
    identity = ensure_not_blocked(profile(rest_url, token.access_token))
    # call api.php with the header "Authorization: Bearer <token.access_token>"

requests-oauthlib refuses plain ``http://`` URLs unless the environment
variable ``OAUTHLIB_INSECURE_TRANSPORT=1`` is set; set it only for a local
sandbox provider.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import requests
from oauthlib.oauth2 import InsecureTransportError, OAuth2Error, WebApplicationClient
from requests_oauthlib import OAuth2Session

from oauth.errors import HandshakeError, IdentifyError, OAuthError
from oauth.identity import Identity, identity_from_claims
from oauth.mediawiki1 import DEFAULT_TIMEOUT, DEFAULT_USER_AGENT

_VERIFIER_LENGTH = 64  # RFC 7636 allows 43..128 characters


@dataclass(frozen=True)
class OAuth2Token:
    """An OAuth 2 access token (and refresh token) for one volunteer.

    :param expires_at: Unix time when the access token expires, if the wiki said.
    """

    access_token: str = field(repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    expires_at: float | None = None
    token_type: str = "Bearer"  # noqa: S105 - a token kind, not a secret
    scope: tuple[str, ...] = ()

    def bearer_header(self) -> dict[str, str]:
        """The header that authorizes an ``api.php`` request as the volunteer."""
        return {"Authorization": f"Bearer {self.access_token}"}


def _insecure(url: str) -> OAuthError:
    return OAuthError(
        "The help desk is misconfigured: the wiki's OAuth address is not HTTPS.",
        detail=f"{url} is plain HTTP; set OAUTHLIB_INSECURE_TRANSPORT=1 only for a sandbox",
    )


def _new_session(
    client_id: str, redirect_uri: str | None, scope: Sequence[str] | None
) -> OAuth2Session:
    oauth = OAuth2Session(
        client=WebApplicationClient(client_id),
        redirect_uri=redirect_uri,
        scope=list(scope) if scope else None,
    )
    oauth.headers["User-Agent"] = DEFAULT_USER_AGENT
    return oauth


def authorization_url(
    rest_url: str,
    client_id: str,
    redirect_uri: str,
    *,
    scope: Sequence[str] | None = None,
) -> tuple[str, str, str]:
    """Start a login: where to send the volunteer, and what to remember.

    :param rest_url: the wiki's ``rest.php``.
    :param client_id: the OAuth 2 client id.
    :param redirect_uri: our callback, as registered with the client.
    :param scope: grants to ask for; None asks for all the client's grants.
    :return: (URL to redirect to, ``state`` to check on the callback,
        PKCE ``code_verifier`` to send with :func:`fetch_token`). Keep the
        last two in the server-side session, never in a URL.
    """
    client = WebApplicationClient(client_id)
    code_verifier = client.create_code_verifier(_VERIFIER_LENGTH)
    challenge = client.create_code_challenge(code_verifier, "S256")
    oauth = _new_session(client_id, redirect_uri, scope)
    try:
        url, state = oauth.authorization_url(
            f"{rest_url}/oauth2/authorize",
            code_challenge=challenge,
            code_challenge_method="S256",
        )
    except InsecureTransportError:
        raise _insecure(rest_url) from None
    finally:
        oauth.close()
    return url, state, code_verifier


def _token_from(raw: dict[str, Any]) -> OAuth2Token:
    expires_at = raw.get("expires_at")
    if expires_at is None and isinstance(raw.get("expires_in"), int | float):
        expires_at = time.time() + float(raw["expires_in"])
    scope = raw.get("scope") or ()
    if isinstance(scope, str):
        scope = scope.split()
    return OAuth2Token(
        access_token=str(raw["access_token"]),
        refresh_token=raw.get("refresh_token"),
        expires_at=float(expires_at) if expires_at is not None else None,
        token_type=str(raw.get("token_type", "Bearer")),
        scope=tuple(scope),
    )


def _refused(exc: OAuth2Error, step: str) -> HandshakeError:
    # The error code and description are the provider's, and hold no secret.
    return HandshakeError(
        "The wiki refused the login. Please start it again; if it keeps failing, "
        "tell the help desk admins.",
        code=exc.error or "",
        detail=f"{step}: {exc.error}: {exc.description or ''}".rstrip(": "),
    )


def _unreachable(exc: requests.RequestException, step: str) -> HandshakeError:
    return HandshakeError(
        "The wiki could not be reached. Please try again in a few minutes.",
        code="unreachable",
        detail=f"{step}: {type(exc).__name__}",
    )


def fetch_token(
    rest_url: str,
    client_id: str,
    redirect_uri: str,
    code: str,
    code_verifier: str,
    *,
    client_secret: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> OAuth2Token:
    """Exchange the callback's ``code`` for an access token.

    Check the callback's ``state`` first with :func:`oauth.callback.check_oauth2_state`.

    :param client_secret: for a confidential client; None for a public one.
    :raises HandshakeError: if the wiki refuses (used code, wrong verifier…).
    """
    oauth = _new_session(client_id, redirect_uri, None)
    try:
        raw = oauth.fetch_token(
            f"{rest_url}/oauth2/access_token",
            code=code,
            client_secret=client_secret,
            # MediaWiki's examples send the client credentials in the body.
            include_client_id=True,
            code_verifier=code_verifier,
            timeout=timeout,
        )
    except InsecureTransportError:
        raise _insecure(rest_url) from None
    except OAuth2Error as exc:
        raise _refused(exc, "access_token") from None
    except requests.RequestException as exc:
        raise _unreachable(exc, "access_token") from None
    finally:
        oauth.close()
    return _token_from(dict(raw))


def refresh(
    rest_url: str,
    client_id: str,
    refresh_token: str,
    *,
    client_secret: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> OAuth2Token:
    """Get a new access token with a refresh token.

    Extension:OAuth's access tokens last an hour by default
    (``OAuth2GrantExpirationInterval``); a refresh token is good once: the
    answer carries the next one, which must replace it.

    :raises HandshakeError: if the wiki refuses the refresh token (code from
        the wiki, e.g. ``invalid_grant``), or ``code="unreachable"`` if it
        does not answer.
    """
    oauth = _new_session(client_id, None, None)
    body: dict[str, str] = {"client_id": client_id}
    if client_secret is not None:
        body["client_secret"] = client_secret
    try:
        raw = oauth.refresh_token(
            f"{rest_url}/oauth2/access_token",
            refresh_token=refresh_token,
            timeout=timeout,
            **body,
        )
    except InsecureTransportError:
        raise _insecure(rest_url) from None
    except OAuth2Error as exc:
        raise _refused(exc, "refresh") from None
    except requests.RequestException as exc:
        raise _unreachable(exc, "refresh") from None
    finally:
        oauth.close()
    return _token_from(dict(raw))


def expiring(expires_at: float | None, *, margin: float = 60.0, now: float | None = None) -> bool:
    """Whether a token that expires at ``expires_at`` (Unix time) is gone within ``margin`` s.

    A token without a known expiry is taken as good: the wiki will say.
    """
    if expires_at is None:
        return False
    return expires_at - margin <= (time.time() if now is None else now)


def profile(
    rest_url: str,
    access_token: str,
    *,
    session: requests.Session | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> Identity:
    """Ask the wiki who the access token belongs to.

    The answer travels over the (HTTPS) connection authenticated by the
    token itself, so unlike OAuth 1.0a identify it carries no signature.

    :raises IdentifyError: (reason ``provider_error``) if the wiki refuses
        the token, e.g. because it expired.
    """
    http = session or requests.Session()
    try:
        response = http.get(
            f"{rest_url}/oauth2/resource/profile",
            headers={"Authorization": f"Bearer {access_token}", "User-Agent": DEFAULT_USER_AGENT},
            timeout=timeout,
        )
    except requests.RequestException as exc:
        raise _unreachable(exc, "profile") from None
    finally:
        if session is None:
            http.close()
    try:
        payload = response.json()
    except ValueError:
        payload = None
    if response.status_code != 200 or not isinstance(payload, dict) or "error" in payload:
        code = payload.get("error", "") if isinstance(payload, dict) else ""
        raise IdentifyError(
            "provider_error",
            detail=f"profile: HTTP {response.status_code} {code}".rstrip(),
            message="The wiki did not accept your authorization; it may have expired. "
            "Please log in again.",
        )
    return identity_from_claims(payload)
