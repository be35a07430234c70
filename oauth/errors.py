"""Exceptions of the MediaWiki OAuth client.

Every exception carries a message a volunteer can act on; the ``detail``
attribute holds the technical reason for logs. Neither ever contains a token
or a secret.
"""

from __future__ import annotations


class OAuthError(Exception):
    """Base class of every OAuth failure raised by this package.

    :param message: what went wrong, in words a volunteer understands.
    :param detail: the technical reason, for logs (never a secret).
    """

    def __init__(self, message: str, *, detail: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail

    def __str__(self) -> str:
        if self.detail:
            return f"{self.message} ({self.detail})"
        return self.message


class HandshakeError(OAuthError):
    """The wiki refused a step of the login handshake or answered nonsense.

    ``code`` is MediaWiki's message key (e.g. ``mwoauth-invalid-authorization``)
    when the wiki gave one, else a short code of our own.
    """

    def __init__(self, message: str, *, code: str = "", detail: str = "") -> None:
        super().__init__(message, detail=detail)
        self.code = code


class IdentifyError(OAuthError):
    """The identity statement (JWT or profile) cannot be trusted.

    ``reason`` names the failed check, so callers and tests can tell them
    apart: ``malformed``, ``algorithm``, ``signature``, ``audience``,
    ``issuer``, ``expired``, ``not_yet_valid``, ``nonce``, ``missing_claim``,
    ``bad_claim`` or ``provider_error``.
    """

    def __init__(self, reason: str, *, detail: str = "", message: str = "") -> None:
        super().__init__(
            message
            or "The wiki's answer to your login could not be verified. "
            "Please log in again; if this keeps happening, tell the help desk admins.",
            detail=detail,
        )
        self.reason = reason


class BlockedUserError(OAuthError):
    """The volunteer's wiki account is blocked, so they may not use the desk."""

    def __init__(self, username: str) -> None:
        super().__init__(
            f"Your wiki account ({username}) is blocked, so you cannot work on the help "
            "desk while the block lasts. If you think the block is a mistake, appeal it "
            "on the wiki.",
        )
        self.username = username


class CallbackMismatchError(OAuthError):
    """The callback from the wiki does not belong to the login we started.

    Raised for a wrong or missing OAuth 2 ``state`` or OAuth 1 ``oauth_token``:
    either a forged request (CSRF) or a stale browser tab.
    """

    def __init__(self, detail: str) -> None:
        super().__init__(
            "This login link does not belong to the login you started here (it may be "
            "old, or opened in another browser). Please start the login again.",
            detail=detail,
        )
