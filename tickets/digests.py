"""SHA-256 digests for intake, without loading OpenSSL for a short message.

:mod:`hashlib` loads OpenSSL's library on import: a seventieth of what
``wikibridge mail deliver`` (a process per message) spent on a short one.
CPython's own SHA-256 module loads in a fraction of that and gives the same
digests, but is several times slower per byte, so large data still goes to
:mod:`hashlib` (imported then).
"""

from __future__ import annotations

try:  # CPython 3.11; 3.12 renamed it
    from _sha256 import sha256 as _builtin_sha256
except ImportError:  # pragma: no cover - depends on the interpreter
    try:
        from _sha2 import sha256 as _builtin_sha256
    except ImportError:
        from hashlib import sha256 as _builtin_sha256

#: Up to this many bytes, CPython's module is cheaper than loading OpenSSL.
SMALL = 256 * 1024


def sha256_hex(data: bytes) -> str:
    """The SHA-256 of ``data`` in hexadecimal (as ``hashlib.sha256(data).hexdigest()``)."""
    if len(data) <= SMALL:
        return str(_builtin_sha256(data).hexdigest())
    import hashlib

    return hashlib.sha256(data).hexdigest()
