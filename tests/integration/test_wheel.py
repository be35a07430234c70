"""The wheel is the product: build it, install it outside the checkout, run it.

Once per test session a clean copy of the checkout (no virtualenv, no build
outputs) is turned into an sdist, the sdist into a wheel (as ``python -m
build`` does: so the sdist must hold everything the wheel needs), and the
wheel is installed into a fresh virtualenv under the temporary folder. pip
takes the dependencies from its index and cache. The installed desk then runs
from another folder with no ``PYTHONPATH``: nothing of the checkout is
importable there, so every file it needs must have come from the wheel.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tarfile
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from sqlalchemy import create_engine, text

from tests.conftest import PG_ADMIN_URL
from tests.integration.tagging_helpers import NO_PERMISSION, Wiki
from tests.live import free_port
from wikibridge_sandbox.family import write_family_file

pytestmark = pytest.mark.integration

CHECKOUT = Path(__file__).resolve().parents[2]
MAIL = CHECKOUT / "tests" / "fixtures" / "mail" / "permission-en.eml"
#: What a clean checkout does not hold: the developer's virtualenv and build outputs.
NOT_IN_A_CLEAN_CHECKOUT = shutil.ignore_patterns(
    ".git",
    ".venv",
    "build",
    "dist",
    "*.egg-info",
    "__pycache__",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    ".hypothesis",
    "instance",
)


@dataclass(frozen=True)
class Built:
    """The sdist and the wheel made from a clean copy of the checkout."""

    sdist: Path
    wheel: Path


@dataclass(frozen=True)
class Installed:
    """A virtualenv outside the checkout with only the wheel (and its dependencies)."""

    venv: Path
    workdir: Path

    def bin(self, name: str) -> str:
        return str(self.venv / "bin" / name)

    def env(self, **settings: str) -> dict[str, str]:
        """The environment of a deployer's shell: no checkout on the path, no test settings."""
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("WIKIBRIDGE_", "PYWIKIBOT"))
            and k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME", "FLASK_APP")
        }
        env["PATH"] = f"{self.venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        # Its own cache, as a deployer's account has: the installed py3langid's
        # model has another file time, and the language model cache of one
        # model removes those of the others (tickets.language_model).
        env["XDG_CACHE_HOME"] = str(self.workdir / "cache")
        env.update(settings)
        return env

    def run(
        self, *args: str, stdin: bytes = b"", **settings: str
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            list(args),
            input=stdin.decode(),
            cwd=self.workdir,
            env=self.env(**settings),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )


def _run(*args: str, cwd: Path) -> str:
    done = subprocess.run(
        list(args), cwd=cwd, capture_output=True, text=True, timeout=600, check=False
    )
    assert done.returncode == 0, f"{' '.join(args)}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """sdist from a clean copy of the checkout, then the wheel from that sdist."""
    base = tmp_path_factory.mktemp("wheel-build")
    source = base / "checkout"
    shutil.copytree(CHECKOUT, source, ignore=NOT_IN_A_CLEAN_CHECKOUT, symlinks=True)
    out = base / "dist"
    out.mkdir()
    # The sdist with the development virtualenv's setuptools (its build hook
    # runs the same way); the wheel in pip's isolated build environment, as
    # a deployer's `pip install` makes it.
    name = _run(
        sys.executable,
        "-c",
        "import sys; from setuptools import build_meta; print(build_meta.build_sdist(sys.argv[1]))",
        str(out),
        cwd=source,
    ).split()[-1]
    sdist = out / name
    _run(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--no-deps",
        "--quiet",
        "--wheel-dir",
        str(out),
        str(sdist),
        cwd=base,
    )
    (wheel,) = out.glob("wikibridge-*.whl")
    return Built(sdist=sdist, wheel=wheel)


@pytest.fixture(scope="session")
def installed(built: Built, tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """A fresh virtualenv outside the checkout holding the wheel."""
    base = tmp_path_factory.mktemp("wheel-install")
    assert not base.is_relative_to(CHECKOUT)
    venv = base / "venv"
    base_python = getattr(sys, "_base_executable", sys.executable)
    # The test run's own pip installs into the new virtualenv (`pip --python`):
    # a fresh pip in it and byte-compiling every dependency would take
    # four times as long and test nothing of ours.
    _run(base_python, "-m", "venv", "--without-pip", str(venv), cwd=base)
    _run(
        sys.executable,
        "-m",
        "pip",
        "--python",
        str(venv / "bin" / "python"),
        "install",
        "--quiet",
        "--no-compile",
        str(built.wheel),
        cwd=base,
    )
    workdir = base / "elsewhere"
    workdir.mkdir()
    return Installed(venv=venv, workdir=workdir)


@pytest.fixture
def fresh_database_url(tmp_path: Path) -> Iterator[str]:
    """An empty database nobody migrated: SQLite in tmp, or a throwaway PostgreSQL one."""
    if os.environ.get("WIKIBRIDGE_TEST_DATABASE", "sqlite") != "postgresql":
        yield f"sqlite:///{tmp_path / 'desk.sqlite3'}"
        return
    name = f"wikibridge_wheel_{secrets.token_hex(4)}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :n AND pid <> pg_backend_pid()"
                ),
                {"n": name},
            )
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


def test_wheel_holds_the_service_and_nothing_of_development(built):
    names = zipfile.ZipFile(built.wheel).namelist()
    templates = sorted(p.name for p in (CHECKOUT / "templates").glob("*.html"))
    assert templates and "login.html" in templates
    shipped = sorted(n.rsplit("/", 1)[1] for n in names if n.startswith("wikibridge/templates/"))
    assert shipped == templates
    assert "wikibridge/user-config.py" in names
    tops = {n.split("/", 1)[0] for n in names}
    assert tops == {"wikibridge", "tickets", "oauth", "wikibridge-0.1.0.dist-info"}, tops
    assert not [n for n in names if "sandbox" in n or "/tests/" in n or n.startswith("tests/")]
    metadata = zipfile.ZipFile(built.wheel).read("wikibridge-0.1.0.dist-info/METADATA").decode()
    requires = re.findall(r"^Requires-Dist: ([A-Za-z0-9_.-]+)(.*)$", metadata, re.M)
    assert any(n.lower() == "gunicorn" and "extra ==" not in rest for n, rest in requires)

    with tarfile.open(built.sdist) as sdist:
        members = {m.name.split("/", 1)[1] for m in sdist.getmembers() if "/" in m.name}
    assert {f"templates/{t}" for t in templates} <= members
    assert {"user-config.py", "setup.cfg", "pyproject.toml"} <= members


def test_installed_package_has_no_development_aids(installed):
    where = installed.run(
        installed.bin("python"), "-c", "import wikibridge, sys; print(wikibridge.__file__)"
    )
    assert where.returncode == 0, where.stderr
    assert Path(where.stdout.strip()).is_relative_to(installed.venv)

    sandbox = installed.run(installed.bin("python"), "-c", "import wikibridge_sandbox")
    assert sandbox.returncode != 0 and "ModuleNotFoundError" in sandbox.stderr
    tests = installed.run(installed.bin("python"), "-c", "import tests.live")
    assert tests.returncode != 0 and "ModuleNotFoundError" in tests.stderr

    usage = installed.run(installed.bin("wikibridge"), "--help")
    assert usage.returncode == 0, usage.stderr
    commands = re.findall(r"^  (\w[\w-]*)", usage.stdout.split("Commands:")[1], re.M)
    assert {"db", "mail", "wiki", "worker", "run"} <= set(commands)
    assert not {"sandbox", "demo"} & set(commands), commands


def _wait_for_healthz(url: str, server: subprocess.Popen[str], log: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"gunicorn exited: {log.read_text()[-3000:]}")
        try:
            if requests.get(f"{url}/healthz", timeout=10).status_code == 200:
                return
        except (requests.ConnectionError, requests.Timeout):
            pass
        time.sleep(0.2)
    raise AssertionError(f"gunicorn did not answer: {log.read_text()[-3000:]}")


def test_installed_desk_runs_from_another_folder(installed, fresh_database_url, sandbox, tmp_path):
    """db upgrade, mail deliver, gunicorn serving /login and /healthz, wiki tag."""
    families = tmp_path / "families"
    direct = write_family_file(
        families / "sandboxdirect_family.py",
        "sandboxdirect",
        {"commons": (urlsplit(sandbox.commons.url).netloc, "")},
    )
    wikis: dict[str, Any] = {
        "commons": {
            "family": "sandboxdirect",
            "code": "commons",
            "api_url": sandbox.commons.api_url,
            "article_url": f"{sandbox.commons.url}/wiki/",
        }
    }
    # Only WIKIBRIDGE_* settings: the instance folder is the installed
    # default (<venv>/var/wikibridge-instance), outside the checkout.
    settings = {
        "WIKIBRIDGE_DATABASE_URL": fresh_database_url,
        "WIKIBRIDGE_JOBS_URL": f"sqlite:///{tmp_path / 'jobs.sqlite3'}",
        "WIKIBRIDGE_WIKIS": json.dumps(wikis),
        "WIKIBRIDGE_PYWIKIBOT_FAMILY_FILES": json.dumps({"sandboxdirect": str(direct)}),
        "WIKIBRIDGE_BOT_USERNAME": sandbox.bot.login_name,
        "WIKIBRIDGE_BOT_PASSWORD": sandbox.bot.botpassword,
        "WIKIBRIDGE_WIKI_PUT_THROTTLE": "0",
    }
    wikibridge = installed.bin("wikibridge")

    upgrade = installed.run(wikibridge, "db", "upgrade", **settings)
    assert upgrade.returncode == 0, upgrade.stderr
    assert "Database is up to date" in upgrade.stdout

    delivered = installed.run(wikibridge, "mail", "deliver", stdin=MAIL.read_bytes(), **settings)
    assert delivered.returncode == 0, delivered.stderr
    assert re.fullmatch(r"\d{16}", delivered.stdout.strip()), delivered.stdout
    number = delivered.stdout.strip()

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "gunicorn.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            [
                installed.bin("gunicorn"),
                *("--workers", "2", "--bind", f"127.0.0.1:{port}"),
                "wikibridge:create_app()",
            ],
            cwd=installed.workdir,
            env=installed.env(**settings),
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
        )
    try:
        _wait_for_healthz(url, server, log)
        login = requests.get(f"{url}/login", timeout=10)
        assert login.status_code == 200, login.text[-2000:]
        assert login.headers["Content-Type"].startswith("text/html")
        assert "<html" in login.text and 'name="csrf_token"' in login.text, login.text[:2000]
        static = requests.get(f"{url}/static/wikibridge.css", timeout=10)
        assert static.status_code == 200
    finally:
        server.terminate()
        server.wait(30)
    assert (installed.venv / "var" / "wikibridge-instance").is_dir()

    wiki = Wiki(sandbox.commons.api_url, sandbox.admin.username, sandbox.admin.password)
    try:
        dry_title, bot_title = wiki.files(
            "Wheel", [f"A test file.\n{NO_PERMISSION}\n", f"Another.\n{NO_PERMISSION}\n"]
        )
        before = wiki.latest(dry_title)["revid"]
        dry = installed.run(wikibridge, "wiki", "tag", "--dry-run", number, dry_title, **settings)
        assert dry.returncode == 0, dry.stderr
        assert dry.stdout.startswith(f"{dry_title}\tedit\t"), dry.stdout
        assert f"  + {{{{PermissionTicket|id={number}}}}}" in dry.stdout
        assert wiki.latest(dry_title)["revid"] == before

        # A real edit as the bot: pywikibot runs from the installed package,
        # with the user-config.py the wheel carries.
        tagged = installed.run(wikibridge, "wiki", "tag", number, bot_title, **settings)
        assert tagged.returncode == 0, tagged.stdout + tagged.stderr
        assert tagged.stdout.startswith(f"{bot_title}\tdone"), tagged.stdout
        latest = wiki.latest(bot_title)
        assert latest["user"] == sandbox.bot.username
        assert f"{{{{PermissionTicket|id={number}}}}}" in latest["slots"]["main"]["content"]
    finally:
        wiki.close()
    pywikibot_dir = installed.venv / "var" / "wikibridge-instance" / "pywikibot"
    assert (pywikibot_dir / "user-config.py").read_text() == (
        CHECKOUT / "user-config.py"
    ).read_text()
