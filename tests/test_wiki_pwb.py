"""The guards around pywikibot, without a wiki: the nonce loop and the lock wait."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import requests

from wikibridge.wiki.pwb import SignatureRefused, _acquire, _NonceGuard, load_pywikibot

REFUSED = (
    b'{"error": {"code": "mwoauth-invalid-authorization", "info": "The authorization '
    b'headers in your request are not valid: Nonce already used: 8231459"}}'
)


def answer(body: bytes, code: str = "") -> requests.Response:
    response = requests.Response()
    response.status_code = 200
    response._content = body
    response.encoding = "utf-8"
    if code:
        response.headers["MediaWiki-API-Error"] = code
    return response


def test_the_second_nonce_refusal_in_a_row_ends_the_calls(tmp_path: Path):
    load_pywikibot({}, str(tmp_path))
    from pywikibot.exceptions import FatalServerError

    guard = _NonceGuard()
    guard(answer(REFUSED, "mwoauth-invalid-authorization"))
    guard(answer(b'{"query": {}}'))  # an answer in between: bad luck, not the setup
    guard(answer(REFUSED, "mwoauth-invalid-authorization"))
    with pytest.raises(SignatureRefused, match=r"\$wgMWOAuthCentralWiki") as refused:
        guard(answer(REFUSED, "mwoauth-invalid-authorization"))
    # pywikibot waits and retries after most errors, but passes this one on.
    assert isinstance(refused.value, FatalServerError)
    # Other OAuth refusals are pywikibot's to raise (NoUsernameError: log in again).
    other = _NonceGuard(limit=1)
    other(answer(b'{"error": {"info": "Invalid signature"}}', "mwoauth-invalid-authorization"))


def test_waiting_for_the_lock_calls_back_until_it_is_free():
    lock = threading.Lock()
    lock.acquire()
    calls: list[int] = []

    def waiting() -> None:
        calls.append(1)
        if len(calls) == 3:
            lock.release()  # the other job's edits end

    _acquire(lock, waiting, 0.01)
    assert len(calls) == 3 and lock.locked()
    lock.release()
