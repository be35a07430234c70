"""The deployment files say what the desk can do: real commands, units systemd accepts."""

from __future__ import annotations

import importlib
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from wikibridge.cli import cli

CHECKOUT = Path(__file__).resolve().parents[1]
SYSTEMD = CHECKOUT / "deploy" / "systemd"
BIN = Path(sys.executable).parent
UNITS = sorted(p.name for p in SYSTEMD.glob("*.service")) + sorted(
    p.name for p in SYSTEMD.glob("*.timer")
)


def procfile() -> dict[str, str]:
    lines = (CHECKOUT / "Procfile").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if line.strip() and not line.startswith("#"))


def check_wikibridge_command(words: list[str]) -> None:
    """``words`` after ``wikibridge`` name a real command and its options parse."""
    command: click.Command = cli
    path: list[str] = []
    ctx = click.Context(cli)
    rest = list(words)
    while rest and isinstance(command, click.Group) and not rest[0].startswith("-"):
        name = rest.pop(0)
        found = command.get_command(ctx, name)
        assert found is not None, f"wikibridge {' '.join([*path, name])} is not a command"
        command, path = found, [*path, name]
    result = CliRunner().invoke(cli, [*path, *[w for w in rest if "$" not in w], "--help"])
    assert result.exit_code == 0, result.output
    options = {o for p in command.params for o in getattr(p, "opts", [])}
    for word in rest:
        if word.startswith("--"):
            assert word.split("=")[0] in options, f"{word} is no option of wikibridge {path}"


def check_gunicorn_command(words: list[str]) -> None:
    """The config module, logger class and app spec exist."""
    config = words[words.index("--config") + 1]
    assert config.startswith("python:")
    module = importlib.import_module(config.removeprefix("python:"))
    assert module.logger_class == "wikibridge.web.gunicorn_log.RedactingLogger"
    assert callable(module.child_exit)
    logger = words[words.index("--logger-class") + 1]
    module_name, cls = logger.rsplit(".", 1)
    assert hasattr(importlib.import_module(module_name), cls)
    assert words[-1].strip("'") == "wikibridge:create_app()"


def check_command(line: str) -> None:
    words = shlex.split(line.replace("\\\n", " "))
    program = Path(words[0]).name
    if program == "wikibridge":
        check_wikibridge_command(words[1:])
    elif program == "gunicorn":
        check_gunicorn_command(words)
    else:
        raise AssertionError(f"unexpected program {words[0]}")


def test_procfile_names_real_commands():
    processes = procfile()
    assert {"web", "worker", "lmtp"} <= set(processes)
    for line in processes.values():
        check_command(line)
    # Platforms that read a Procfile (Toolforge's build service) give the port.
    assert "--bind 0.0.0.0:$PORT" in processes["web"]


def exec_starts(unit: str) -> list[str]:
    text = (SYSTEMD / unit).read_text().replace("\\\n", " ")
    return re.findall(r"^ExecStart=(.*)$", text, re.M)


def test_units_name_real_commands():
    for unit in UNITS:
        for line in exec_starts(unit):
            if line.startswith("/bin/sh -c "):
                line = shlex.split(line)[2].removeprefix("exec ")
            check_command(line)
    web = (SYSTEMD / "wikibridge-web.service").read_text()
    assert "--logger-class wikibridge.web.gunicorn_log.RedactingLogger" in web
    assert re.search(r"--workers [2-9]", web)


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze here")
def test_systemd_accepts_the_units(tmp_path: Path):
    # The units name the production virtualenv; here the test's own stands in.
    for unit in UNITS:
        text = (SYSTEMD / unit).read_text().replace("/opt/wikibridge/venv/bin", str(BIN))
        (tmp_path / unit).write_text(text)
    names = [u for u in UNITS if "@" not in u] + ["wikibridge-worker@1.service"]
    done = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *names],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    # Warnings about the build machine itself (no such user yet) are not the units'.
    problems = [
        line
        for line in (done.stdout + done.stderr).splitlines()
        if line.strip() and "wikibridge" in line and "user" not in line.lower()
    ]
    assert done.returncode == 0 and not problems, done.stdout + done.stderr


def test_container_recipe():
    recipe = (CHECKOUT / "deploy" / "Containerfile").read_text()
    assert re.search(r"^FROM \S*python:3\.11-slim-bookworm$", recipe, re.M)
    assert re.search(r"^USER wikibridge$", recipe, re.M)
    assert "HEALTHCHECK" in recipe and "/healthz" in recipe
    assert "wikibridge-*.whl" in recipe
