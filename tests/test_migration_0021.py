"""Mail stored before Message-IDs could repeat stays readable and is still recognised."""

from __future__ import annotations

import secrets
import zlib
from typing import Any

from sqlalchemy import create_engine, text

from tests.conftest import PG_ADMIN_URL
from tickets.mail import content_digest
from wikibridge.migrate import upgrade

OLD = (
    b"Delivered-To: press@wikimedia.org\r\nFrom: a@example.org\r\nTo: list@example.org\r\n"
    b"Subject: old\r\nMessage-ID: <old@example.org>\r\n\r\nStored by the old listener\r\n"
)
ARTICLE = (
    "INSERT INTO article (ticket_id, raw_id, message_id, channel, sender_type, from_addr,"
    " to_addr, cc_addr, subject, body, send_status, send_attempts, send_error, created_at)"
    " VALUES (1, 1, :msgid, 'email', 'customer', '', '', '', 'old', 'searchable',"
    " '', 0, '', CURRENT_TIMESTAMP)"
)
OLD_ROWS: list[tuple[str, dict[str, Any]]] = [
    (
        "INSERT INTO queue (name, comment, valid, email_address, signature, created_at)"
        " VALUES ('Info', '', true, '', '', CURRENT_TIMESTAMP)",
        {},
    ),
    (
        "INSERT INTO ticket (number, title, queue_id, state, priority, customer, route_rule,"
        " locked, created_at, changed_at) VALUES ('2026120310000018', 'old', 1, 'new', 3, '',"
        " 'fallback', false, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
        {},
    ),
    (
        "INSERT INTO raw_message (sha256, size, compression, data, received_at)"
        " VALUES ('x', :n, 'zlib', :d, CURRENT_TIMESTAMP)",
        {"n": len(OLD), "d": zlib.compress(OLD)},
    ),
    (ARTICLE, {"msgid": "<old@example.org>"}),
]


def _fresh(tmp_path, kind):
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'old.sqlite3'}", None
    name = f"wikibridge_mig_{secrets.token_hex(4)}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}", (admin, name)


def test_upgrade_fills_in_the_content_digest_of_stored_mail(tmp_path, database_url):
    kind = "postgresql" if database_url.startswith("postgresql") else "sqlite"
    url, cleanup = _fresh(tmp_path, kind)
    try:
        upgrade(url, "0020")
        engine = create_engine(url)
        with engine.begin() as conn:
            for statement, params in OLD_ROWS:
                conn.execute(text(statement), params)
        upgrade(url)
        with engine.connect() as conn:
            digest, data = conn.execute(text("SELECT content_sha256, data FROM raw_message")).one()
        # The bytes are untouched, and a redelivery (without the line the old
        # listener wrote into them) is recognised.
        assert zlib.decompress(data) == OLD
        assert digest == content_digest(OLD.split(b"\r\n", 1)[1])
        with engine.begin() as conn:
            # The same Message-ID may now be stored twice.
            conn.execute(text(ARTICLE), {"msgid": "<old@example.org>"})
            if kind == "sqlite":  # the copied article table still feeds the search index
                hits = conn.execute(
                    text("SELECT count(*) FROM article_fts WHERE article_fts MATCH 'searchable'")
                ).scalar()
                assert hits == 2
        engine.dispose()
    finally:
        if cleanup is not None:
            admin, name = cleanup
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
