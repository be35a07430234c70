"""The sandbox provider's store and request helpers (no servers)."""

from __future__ import annotations

import stat
import time
from pathlib import Path

from wikibridge_sandbox.oauth_provider_http import requote, split_oauth
from wikibridge_sandbox.oauth_provider_store import CALLBACK_PREFIX, Store


def test_consumers_are_made_once_with_private_files(tmp_path: Path) -> None:
    store = Store(tmp_path)
    first = store.ensure_consumers()
    assert first == Store(tmp_path).ensure_consumers()
    assert len(first.oauth1_key) == 32 and len(first.oauth1_secret) == 40
    assert first.oauth1_key != first.oauth2_client_id
    assert first.callback_prefix == CALLBACK_PREFIX
    assert first.oauth1_secret not in repr(first)
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.dir.stat().st_mode) == 0o700


def test_a_nonce_is_good_once(tmp_path: Path) -> None:
    store = Store(tmp_path)
    now = int(time.time())
    assert store.use_nonce("consumer", "n1", now, "token")
    assert not store.use_nonce("consumer", "n1", now, "token")
    assert store.use_nonce("consumer", "n2", now, "token")


def test_revoke_ends_every_token_of_the_user_only(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.save_access_token("a" * 32, "s" * 40, "consumer", "Alice")
    store.save_access_token("b" * 32, "s" * 40, "consumer", "Bob")
    store.save_bearer_token("at", "rt", "client", "Alice", ["basic"], 3600)
    assert store.revoke("Alice") == 2
    assert store.access_token("a" * 32) is None
    assert store.bearer_token("at") is None and store.refresh_grant("rt") is None
    bob = store.access_token("b" * 32)
    assert bob is not None and bob[1].username == "Bob"
    assert store.revoke("Alice") == 0


def test_refresh_retires_the_old_pair(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.save_bearer_token("at1", "rt1", "client", "Carol", ["basic"], 3600)
    store.save_bearer_token(
        "at2", "rt2", "client", "Carol", ["basic"], 3600, replaces_refresh_token="rt1"
    )
    assert store.bearer_token("at1") is None and store.refresh_grant("rt1") is None
    grant = store.bearer_token("at2")
    assert grant is not None and grant.username == "Carol"


def test_codes_and_request_tokens_are_single_use(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.save_auth_code("c1", "client", "Bob", "http://127.0.0.1:1/cb", ["basic"], "ch", "S256")
    assert store.auth_code("c1") is not None
    store.use_auth_code("c1")
    assert store.auth_code("c1") is None
    store.save_request_token("r" * 32, "s" * 40, "consumer", "oob")
    store.use_request_token("r" * 32)
    assert store.request_token("r" * 32) is None


def test_central_ids_are_stable(tmp_path: Path) -> None:
    store = Store(tmp_path)
    alice = store.central_id("Alice")
    assert store.central_id("Bob") != alice
    assert Store(tmp_path).central_id("Alice") == alice


def test_oauth_params_move_out_of_the_query_unchanged() -> None:
    query, oauth = split_oauth("title=Special%3AOAuth%2Finitiate&oauth_callback=http%3A%2F%2Fx")
    assert query == "title=Special%3AOAuth%2Finitiate"
    assert oauth == [("oauth_callback", "http://x")]


def test_requote_escapes_only_what_oauthlib_refuses() -> None:
    assert requote("usprop=groups|rights&x=a%7Cb") == "usprop=groups%7Crights&x=a%7Cb"
