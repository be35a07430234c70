import json
import os
from pathlib import Path

from wikibridge.config import read_settings, redacted


def test_secrets_masked_at_any_depth():
    shown = redacted(
        {
            "OAUTH_CONSUMER_SECRET": "s1",
            "DATABASE_URL": "postgresql+psycopg://u:pw@db/x",
            "IMAP_MAILBOXES": [{"name": "p", "password": "s2", "host": "h"}],
            "SYSTEM_ID": "10",
        }
    )
    text = json.dumps(shown)
    for secret in ("s1", "s2", ":pw@"):
        assert secret not in text
    assert shown["IMAP_MAILBOXES"][0]["host"] == "h" and shown["SYSTEM_ID"] == "10"


def test_order_defaults_file_environment_overrides(tmp_path: Path, monkeypatch):
    (tmp_path / "wikibridge.cfg").write_text('SYSTEM_ID = "11"\nMAIL_DOMAIN = "file.example"\n')
    monkeypatch.delenv("WIKIBRIDGE_CONFIG", raising=False)
    monkeypatch.setenv("WIKIBRIDGE_MAIL_DOMAIN", "env.example")
    monkeypatch.setenv("WIKIBRIDGE_WIKIS__commons__code", "c2")
    cfg = read_settings(tmp_path, {"TICKETS_PER_PAGE": 7})
    assert cfg["SYSTEM_ID"] == "11"
    assert cfg["MAIL_DOMAIN"] == "env.example"
    assert cfg["WIKIS"]["commons"]["code"] == "c2"
    assert cfg["WIKIS"]["meta"]["code"] == "meta"
    assert cfg["TICKETS_PER_PAGE"] == 7
    # Keys are generated once, private to the owner.
    assert oct((tmp_path / "token_key").stat().st_mode & 0o777) == "0o600"
    assert read_settings(tmp_path)["SECRET_KEY"] == cfg["SECRET_KEY"]
    assert cfg["DATABASE_URL"] == f"sqlite:///{tmp_path / 'wikibridge.sqlite3'}"
    assert "WIKIBRIDGE_CONFIG" not in os.environ


def test_numbers_from_the_environment_are_normalised(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("WIKIBRIDGE_SYSTEM_ID", "7")
    assert read_settings(tmp_path)["SYSTEM_ID"] == "07"
