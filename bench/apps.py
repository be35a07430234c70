"""The desk as the benchmarks run it: the real app with throwaway secrets."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet
from flask import Flask


def bench_app(url: str, workdir: Path, **settings: Any) -> Flask:
    """``create_app`` on the database ``url``, its instance folder in ``workdir``.

    Jobs run in memory; ``settings`` are added to (or override) the defaults.
    """
    from wikibridge import create_app

    os.environ["WIKIBRIDGE_INSTANCE_PATH"] = str(workdir / "instance")
    return create_app(
        {
            "DATABASE_URL": url,
            "JOBS_URL": "memory",
            "SECRET_KEY": secrets.token_hex(16),
            "TOKEN_ENCRYPTION_KEY": Fernet.generate_key().decode(),
            "SERVER_NAME": "wikibridge.bench",
            **settings,
        }
    )
