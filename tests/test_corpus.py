"""Every rule of the routing spec, on real-looking mail in many languages and encodings.

``tests/fixtures/mail/corpus/expected.tsv`` says where each message must go
under the default policy (and which message must be stored first, for
follow-ups and duplicates).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from tickets.intake import raw_bytes
from tickets.models import RawMessage, Ticket
from wikibridge.cli import cli
from wikibridge.db import new_session
from wikibridge.mail.store import store_message

CORPUS = Path(__file__).parent / "fixtures" / "mail" / "corpus"


def _rows() -> list[tuple[str, str, str, str | None]]:
    manifest = CORPUS / "expected.tsv"
    if not manifest.exists():
        return []
    rows = []
    for line in manifest.read_text().splitlines():
        if not line.strip() or line.startswith("#") or line.startswith("file\t"):
            continue
        cols = line.split("\t")
        rows.append((cols[0], cols[1], cols[2], cols[3] if len(cols) > 3 and cols[3] else None))
    return rows


ROWS = _rows()


def test_corpus_covers_every_rule():
    assert {rule for _f, _q, rule, _p in ROWS} >= {
        "followup",
        "duplicate",
        "spam",
        "role",
        "content",
        "address-lang",
        "detected-lang",
        "fallback",
    }
    assert len(ROWS) >= 40


@pytest.mark.parametrize(("name", "queue", "rule", "first"), ROWS, ids=[r[0] for r in ROWS])
def test_message_is_routed_as_the_spec_says(app, tmp_path, name, queue, rule, first):
    raw = (CORPUS / name).read_bytes()
    if first:
        root = store_message(app, (CORPUS / first).read_bytes())
        # The corpus's follow-ups cite the ticket number 2016060210016939, as
        # a customer would cite an old ticket's number from its subject tag.
        with new_session(app) as db:
            ticket = db.scalars(select(Ticket).where(Ticket.number == root.number)).one()
            ticket.number = "2016060210016939"
            db.commit()
    result = app.test_cli_runner().invoke(cli, ["mail", "classify", str(CORPUS / name)])
    assert result.exit_code == 0, result.output
    assert result.output == f"{CORPUS / name}\t{queue}\t{rule}\n"
    stored = store_message(app, raw)
    assert (stored.queue, stored.rule) == (queue, rule)
    if rule != "duplicate":
        with new_session(app) as db:
            kept = db.scalars(select(RawMessage).order_by(RawMessage.id.desc())).first()
            assert kept is not None and raw_bytes(kept) == raw
