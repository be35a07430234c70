"""The ``wikibridge`` command as the mail system and administrators run it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import create_engine, func, select, text

from tickets.models import Article

FIXTURES = Path(__file__).parent / "fixtures" / "mail"
WIKIBRIDGE = str(Path(sys.executable).with_name("wikibridge"))


def run(
    args: list[str], env: dict[str, str], stdin: bytes = b""
) -> subprocess.CompletedProcess[bytes]:
    full_env = {**os.environ, **env}
    return subprocess.run(
        [WIKIBRIDGE, *args], input=stdin, env=full_env, capture_output=True, timeout=60, check=False
    )


def settings(tmp_path: Path, database_url: str) -> dict[str, str]:
    return {
        "WIKIBRIDGE_INSTANCE_PATH": str(tmp_path / "instance"),
        "WIKIBRIDGE_DATABASE_URL": database_url,
    }


def test_deliver_prints_number_and_is_idempotent(tmp_path, database_url):
    env = settings(tmp_path, database_url)
    assert run(["db", "upgrade"], env).returncode == 0
    raw = (FIXTURES / "permission-en.eml").read_bytes()
    first = run(["mail", "deliver"], env, raw)
    assert first.returncode == 0, first.stderr
    number = first.stdout.decode().strip()
    assert len(number) == 16
    again = run(["mail", "deliver"], env, raw)
    assert again.returncode == 0 and again.stdout.decode().strip() == number
    engine = create_engine(database_url)
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Article)) == 1
    engine.dispose()


def test_deliver_into_a_chosen_queue(tmp_path, database_url):
    env = settings(tmp_path, database_url)
    run(["db", "upgrade"], env)
    result = run(["mail", "deliver", "--queue", "Training"], env, b"Subject: practice\n\nhi\n")
    assert result.returncode == 0, result.stderr
    engine = create_engine(database_url)
    with engine.connect() as conn:
        queue = conn.scalar(text("SELECT q.name FROM ticket t JOIN queue q ON q.id = t.queue_id"))
    engine.dispose()
    assert queue == "Training"


def test_deliver_keeps_a_message_over_the_limit_raw(tmp_path, database_url):
    # The same MAIL_MAX_BYTES as LMTP: over it the message is stored unread,
    # its bytes kept, and the mail system told it is delivered (no retry).
    env = {**settings(tmp_path, database_url), "WIKIBRIDGE_MAIL_MAX_BYTES": "20000"}
    assert run(["db", "upgrade"], env).returncode == 0
    raw = (
        b"From: big@example.net\nTo: info@wikimedia.org\nSubject: huge\n"
        b"Message-ID: <huge@example.net>\n\n" + (b"y" * 70 + b"\n") * 400
    )
    assert len(raw) > 20_000
    first = run(["mail", "deliver"], env, raw)
    assert first.returncode == 0, first.stderr
    number = first.stdout.decode().strip()
    assert len(number) == 16
    assert b"too large" in first.stderr and number.encode() in first.stderr
    again = run(["mail", "deliver"], env, raw)
    assert again.returncode == 0 and again.stdout.decode().strip() == number
    engine = create_engine(database_url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT body, raw_id FROM article")).all()
    engine.dispose()
    assert len(rows) == 1
    body, raw_id = rows[0]
    assert "too large" in body and "yyyy" not in body and raw_id is not None


def test_database_down_means_tempfail(tmp_path):
    env = settings(tmp_path, "postgresql+psycopg://wb:topsecret@127.0.0.1:1/nothing")
    result = run(["mail", "deliver"], env, (FIXTURES / "permission-en.eml").read_bytes())
    assert result.returncode == 75
    assert b"not stored" in result.stderr
    assert b"topsecret" not in result.stderr + result.stdout


def test_unwritable_sqlite_means_tempfail(tmp_path):
    env = settings(tmp_path, "sqlite:////proc/no-such-dir/db.sqlite3")
    result = run(["mail", "deliver"], env, b"Subject: x\n\ny\n")
    assert result.returncode == 75


def test_config_show_masks_secrets(tmp_path):
    env = settings(tmp_path, "postgresql+psycopg://wb:topsecret@127.0.0.1/db")
    env["WIKIBRIDGE_OAUTH_CONSUMER_SECRET"] = "consumer-secret-value"
    result = run(["config", "show"], env)
    assert result.returncode == 0, result.stderr
    out = result.stdout.decode()
    assert "topsecret" not in out and "consumer-secret-value" not in out
    assert '"SYSTEM_ID": "10"' in out


def test_flask_builtins_available(tmp_path):
    result = run(["routes"], settings(tmp_path, f"sqlite:///{tmp_path}/x.sqlite3"))
    assert result.returncode == 0
    assert b"/healthz" in result.stdout


def test_training_samples_import_is_idempotent_and_refuses_real_senders(tmp_path, database_url):
    import json

    env = settings(tmp_path, database_url)
    assert run(["db", "upgrade"], env).returncode == 0
    good = [
        {
            "title": "Photo",
            "from_name": "Sam",
            "from_address": "sam@example.org",
            "subject": "My photo",
            "body": "I took it.",
            "language": "en",
        },
        {
            "title": "Frage",
            "from_address": "uta@beispiel.invalid",
            "subject": "Eine Frage",
            "body": "Wie geht das?",
            "language": "de",
        },
    ]
    path = tmp_path / "samples.json"
    path.write_text(json.dumps(good))
    first = run(["training", "samples", "import", str(path)], env)
    assert first.returncode == 0, first.stderr
    assert b"2 sample(s) added" in first.stdout
    again = run(["training", "samples", "import", str(path)], env)
    assert b"0 sample(s) added" in again.stdout and b"kept: Photo" in again.stdout

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{**good[0], "title": "Real", "from_address": "x@gmail.com"}]))
    refused = run(["training", "samples", "import", str(bad)], env)
    assert refused.returncode != 0
    assert b"reserved domain" in refused.stderr


def test_deliver_needs_none_of_the_webs_keys(tmp_path, database_url):
    # The mail system's pipe user need not read (nor create) the key files.
    env = settings(tmp_path, database_url)
    result = run(["mail", "deliver"], env, (FIXTURES / "permission-en.eml").read_bytes())
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "instance" / "secret_key").exists()
    assert not (tmp_path / "instance" / "token_key").exists()
