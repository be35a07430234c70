"""Storing attachments and HTML, routing policy versions, moves and corrections."""

from __future__ import annotations

import json
from email.message import EmailMessage
from pathlib import Path

from sqlalchemy import func, select

from tickets.intake import blob_bytes
from tickets.models import Article, Attachment, Blob, RoutingCorrection, Ticket
from tickets.policies import activate, active_policy, history
from tickets.routing import Address, Policy
from wikibridge.cli import cli
from wikibridge.db import new_session
from wikibridge.mail.store import store_message

from .helpers import log_in


def with_attachment(msgid: str, data: bytes, html: str | None = None) -> bytes:
    msg = EmailMessage()
    msg["From"] = "Jane <jane@example.net>"
    msg["To"] = "permissions@wikimedia.org"
    msg["Subject"] = "Photo attached"
    msg["Message-ID"] = msgid
    msg.set_content("The photo is attached.")
    if html is not None:
        msg.add_alternative(html, subtype="html")
    msg.add_attachment(data, maintype="image", subtype="png", filename="harbour.png")
    return msg.as_bytes()


def test_attachments_stored_once_by_hash(app):
    data = b"\x89PNG fake image bytes" * 100
    store_message(app, with_attachment("<a1@x>", data))
    store_message(app, with_attachment("<a2@x>", data))
    with new_session(app) as db:
        atts = db.scalars(select(Attachment)).all()
        assert len(atts) == 2 and {a.filename for a in atts} == {"harbour.png"}
        assert atts[0].sha256 == atts[1].sha256
        blob = db.scalars(select(Blob)).one()
        assert blob_bytes(blob) == data and blob.size == len(data)


def test_html_is_sanitised(app):
    html = (
        '<p onclick="steal()">Hello<script>alert(1)</script>'
        '<img src="https://tracker.example/p.gif"><a href="javascript:x()">x</a></p>'
    )
    store_message(app, with_attachment("<h1@x>", b"x", html=html))
    with new_session(app) as db:
        article = db.scalars(select(Article)).one()
        assert article.body == "The photo is attached.\n"
        assert article.body_html is not None
        for bad in ("<script", "onclick", "javascript:"):
            assert bad not in article.body_html
        assert "Hello" in article.body_html


def test_policy_versions_are_kept(app):
    with new_session(app) as db:
        assert active_policy(db, "wikimedia.org").domain == "wikimedia.org"
        first = Policy(domain="example.org")
        activate(db, first, "admin1", "move to example.org")
        changed = Policy(
            domain="example.org",
            addresses={**first.addresses, "help": Address("Info")},
        )
        activate(db, changed, "admin2", "add help@")
        db.commit()
        assert "help" in active_policy(db).addresses
        versions = history(db)
        assert [v.active for v in versions] == [True, False]
        assert Policy.from_document(versions[1].document) == first


def test_policy_document_round_trip():
    policy = Policy()
    assert Policy.from_document(json.loads(json.dumps(policy.to_document()))) == policy


def test_policy_document_errors_are_clear():
    import pytest

    with pytest.raises(ValueError, match="unknown policy keys: colour"):
        Policy.from_document({"colour": "blue"})
    with pytest.raises(ValueError, match="malformed"):
        Policy.from_document({"addresses": {"info": {"no-queue": 1}}})


def _eml(
    tmp_path: Path,
    name: str,
    to: str,
    body: str = "Hello, I have a question about an article on Wikipedia. Who can help me?",
    **headers: str,
) -> Path:
    msg = EmailMessage()
    msg["From"] = "a@example.org"
    msg["To"] = to
    msg["Subject"] = "Question"
    for key, value in headers.items():
        msg[key.replace("_", "-")] = value
    msg.set_content(body)
    path = tmp_path / name
    path.write_bytes(msg.as_bytes())
    return path


def test_classify_prints_queue_and_rule_and_stores_nothing(app, tmp_path):
    files = [
        _eml(tmp_path, "press.eml", "press@wikimedia.org"),
        _eml(tmp_path, "de.eml", "info-de@wikimedia.org"),
        _eml(tmp_path, "spam.eml", "info@wikimedia.org", X_Spam_Status="YES, score=9"),
        _eml(tmp_path, "other.eml", "someone@example.org"),
    ]
    runner = app.test_cli_runner()
    result = runner.invoke(cli, ["mail", "classify", *map(str, files)])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        f"{files[0]}\tRole::Press\trole",
        f"{files[1]}\tInfo::de\taddress-lang",
        f"{files[2]}\tJunk\tspam",
        f"{files[3]}\tInfo\tfallback",
    ]
    with new_session(app) as db:
        assert db.scalar(select(func.count()).select_from(Ticket)) == 0


def test_classify_sees_duplicates_and_tries_a_new_policy(app, tmp_path):
    stored = _eml(tmp_path, "stored.eml", "info@wikimedia.org", Message_ID="<known@x>")
    store_message(app, stored.read_bytes())
    help_mail = _eml(tmp_path, "help.eml", "help@wikimedia.org")
    policy = Policy().to_document()
    policy["addresses"]["help"] = {"queue": "Role::Press", "role": True}
    policy_file = tmp_path / "policy.json"
    policy_file.write_text(json.dumps(policy))
    runner = app.test_cli_runner()
    result = runner.invoke(
        cli, ["mail", "classify", "--policy", str(policy_file), str(stored), str(help_mail)]
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].endswith("\tInfo\tduplicate")
    assert lines[1] == f"{help_mail}\tRole::Press\trole"
    # The new policy was only tried, not switched on.
    assert runner.invoke(cli, ["mail", "classify", str(help_mail)]).output.endswith(
        "\tInfo\tfallback\n"
    )


def test_policy_activate_via_cli(app, tmp_path):
    runner = app.test_cli_runner()
    shown = runner.invoke(cli, ["mail", "policy", "show"])
    doc = json.loads(shown.output)
    doc["fallback_queue"] = "Training"
    path = tmp_path / "p.json"
    path.write_text(json.dumps(doc))
    assert (
        "version 1 is active"
        in runner.invoke(cli, ["mail", "policy", "activate", str(path), "--note", "test"]).output
    )
    mail = _eml(tmp_path, "x.eml", "nobody@elsewhere.org")
    assert runner.invoke(cli, ["mail", "classify", str(mail)]).output.endswith(
        "\tTraining\tfallback\n"
    )
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    result = runner.invoke(cli, ["mail", "policy", "activate", str(bad)])
    assert result.exit_code != 0 and "bad.json" in result.output


def test_moves_are_counted_as_corrections(app, client, tmp_path):
    log_in(app, client)
    press = store_message(app, _eml(tmp_path, "p.eml", "press@wikimedia.org").read_bytes())
    info = store_message(app, _eml(tmp_path, "i.eml", "info@wikimedia.org").read_bytes())
    form = {"csrf_token": "test-csrf"}
    client.post(f"/tickets/{press.number}/move", data={**form, "queue": "Info"})
    client.post(f"/tickets/{press.number}/move", data={**form, "queue": "Training"})
    client.post(f"/tickets/{info.number}/move", data={**form, "queue": "Permissions"})
    assert (
        client.post(f"/tickets/{info.number}/move", data={**form, "queue": "Nope"}).status_code
        == 400
    )
    with new_session(app) as db:
        rows = db.scalars(select(RoutingCorrection).order_by(RoutingCorrection.id)).all()
        assert [(r.rule, r.from_queue, r.to_queue) for r in rows] == [
            ("role", "Role::Press", "Info"),
            ("fallback", "Info", "Permissions"),
        ]
    result = app.test_cli_runner().invoke(cli, ["mail", "corrections"])
    assert result.exit_code == 0
    assert "role\tRole::Press\tInfo\t1" in result.output
    assert any(
        line.split()[:4] == ["role", "1", "1", "100.0%"] for line in result.output.splitlines()
    )
