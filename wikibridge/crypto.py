"""Encrypting wiki access tokens at rest."""

from __future__ import annotations

import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken


class TokenBoxError(Exception):
    """A sealed token could not be opened (wrong key, or tampered with)."""


class TokenBox:
    """Seals small JSON-able values with Fernet (AES-128-CBC + HMAC-SHA256)."""

    def __init__(self, key: str | bytes) -> None:
        self._fernet = Fernet(key.encode() if isinstance(key, str) else key)

    def seal(self, value: dict[str, Any]) -> bytes:
        """Encrypt ``value``."""
        return self._fernet.encrypt(json.dumps(value).encode())

    def open(self, sealed: bytes) -> dict[str, Any]:
        """Decrypt what :meth:`seal` made."""
        try:
            data: dict[str, Any] = json.loads(self._fernet.decrypt(sealed))
        except InvalidToken as exc:
            raise TokenBoxError("stored wiki credentials cannot be decrypted") from exc
        return data

    def __repr__(self) -> str:  # never show the key
        return "TokenBox(***)"
