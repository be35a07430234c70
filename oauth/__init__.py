"""Client side of MediaWiki's OAuth (Extension:OAuth): 1.0a and 2.0.

Knows nothing of the help desk: it logs a volunteer in on a wiki, tells who
they are, and signs requests made as them.

- :mod:`oauth.mediawiki1` — OAuth 1.0a handshake and identify (JWT).
- :mod:`oauth.mediawiki2` — OAuth 2.0 with PKCE and the profile endpoint.
- :mod:`oauth.identify` — verification of the identify JWT (pure).
- :mod:`oauth.callback` — callback checks against CSRF and stale tabs (pure).
- :mod:`oauth.identity` — :class:`Identity`, :func:`ensure_not_blocked`.
"""

from __future__ import annotations

import logging

from oauth.callback import check_oauth1_token, check_oauth2_state, oauth1_verifier
from oauth.errors import (
    BlockedUserError,
    CallbackMismatchError,
    HandshakeError,
    IdentifyError,
    OAuthError,
)
from oauth.identify import verify_identify_jwt
from oauth.identity import Identity, ensure_not_blocked

# oauthlib and requests-oauthlib log request bodies, tokens and client
# secrets at DEBUG level; keep them quiet even when the app logs at DEBUG.
# An explicit level set by the app is respected.
for _name in ("oauthlib", "requests_oauthlib"):
    if logging.getLogger(_name).level == logging.NOTSET:
        logging.getLogger(_name).setLevel(logging.INFO)

__all__ = [
    "BlockedUserError",
    "CallbackMismatchError",
    "HandshakeError",
    "IdentifyError",
    "Identity",
    "OAuthError",
    "check_oauth1_token",
    "check_oauth2_state",
    "ensure_not_blocked",
    "oauth1_verifier",
    "verify_identify_jwt",
]
