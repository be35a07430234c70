"""The production service never imports the development package.

The development install has ``wikibridge_sandbox`` beside ``wikibridge``; a
production install has not. So in a fresh interpreter here (where it *could*
be imported) the web app, the command line and the worker's code paths are
walked, and afterwards no ``wikibridge_sandbox`` module may be loaded.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

SCRIPT = r"""
import json, sys

settings = json.loads(sys.argv[1])

from wikibridge import create_app

app = create_app(settings)
client = app.test_client()
answers = {path: client.get(path).status_code for path in ("/login", "/healthz")}

# The command line as `wikibridge worker`, `mail lmtp` and `wiki tag` load it.
from click.testing import CliRunner

import wikibridge.entry
from wikibridge.cli import cli

runner = CliRunner()
for args in (["worker", "--help"], ["wiki", "tag", "--help"], ["mail", "lmtp", "--help"]):
    result = runner.invoke(cli, args, catch_exceptions=False)
    answers[" ".join(args)] = result.exit_code

# What a worker runs: the job queue, the batch runner, pywikibot's wrapper,
# the mail transports.
import wikibridge.jobs
import wikibridge.mail.fetch_command
import wikibridge.mail.lmtp
import wikibridge.mail.outgoing
import wikibridge.mail.pipe
import wikibridge.wiki.batches
import wikibridge.wiki.pwb

with app.app_context():
    wikibridge.jobs.jobs_of(app)

loaded = sorted(m for m in sys.modules if m.split(".")[0] == "wikibridge_sandbox")
print(json.dumps({"answers": answers, "sandbox_modules": loaded}))
"""


def test_service_paths_never_import_the_development_package(tmp_path: Path, database_url: str):
    settings = {
        "TESTING": True,
        "DATABASE_URL": database_url,
        "JOBS_URL": "memory",
        "SECRET_KEY": "test-secret",
        "TOKEN_ENCRYPTION_KEY": "Ilu2hUrI6lYdTOaZuPT1ZpT-KvlwbHR7dlE0plOrsUA=",
    }
    env = {
        **os.environ,
        "WIKIBRIDGE_INSTANCE_PATH": str(tmp_path / "instance"),
        "WIKIBRIDGE_DATABASE_URL": database_url,
        "WIKIBRIDGE_JOBS_URL": "memory",
    }
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, json.dumps(settings)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["answers"] == {
        "/login": 200,
        "/healthz": 200,
        "worker --help": 0,
        "wiki tag --help": 0,
        "mail lmtp --help": 0,
    }
    assert report["sandbox_modules"] == []


def test_the_development_commands_still_join_the_command_line():
    """In the development install ``sandbox`` and ``demo`` are there when asked for."""
    from click.testing import CliRunner

    from wikibridge.cli import cli

    usage = CliRunner().invoke(cli, ["--help"], catch_exceptions=False)
    assert usage.exit_code == 0
    assert "sandbox" in usage.output and "demo" in usage.output
    status = CliRunner().invoke(cli, ["sandbox", "--help"], catch_exceptions=False)
    assert status.exit_code == 0 and "up" in status.output
