"""MediaWiki and PHP from Debian: installing them, running their programs, no Apache.

The sandbox wikis run from Debian's MediaWiki code tree (:data:`MW_ROOT`) under
PHP's built-in server; the ``mediawiki`` package pulls in Apache, which is kept
stopped.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

from wikibridge_sandbox.state import SandboxError

log = logging.getLogger(__name__)

MW_ROOT = Path("/usr/share/mediawiki")
PACKAGES = ("mediawiki", "php-cli", "php-sqlite3", "php-intl", "php-mbstring", "php-xml")
_SCRIPT_TIMEOUT = 900.0


def _missing_packages() -> list[str]:
    result = subprocess.run(
        ["dpkg-query", "-W", "-f", "${Package} ${db:Status-Status}\n", *PACKAGES],
        capture_output=True,
        text=True,
        check=False,
    )
    installed = {
        line.split()[0] for line in result.stdout.splitlines() if line.endswith(" installed")
    }
    return [package for package in PACKAGES if package not in installed]


def ensure_packages(install: bool) -> None:
    """Install MediaWiki and PHP from Debian when missing; keep Apache stopped."""
    if shutil.which("dpkg-query") and shutil.which("apt-get"):
        missing = _missing_packages()
        if missing:
            if not install:
                raise SandboxError(
                    f"missing packages {' '.join(missing)}: install them or run up with "
                    "install enabled"
                )
            _apt_install(missing)
        _stop_apache()
    if not (MW_ROOT / "maintenance" / "install.php").is_file() or not shutil.which("php"):
        raise SandboxError(
            f"MediaWiki ({MW_ROOT}) or php is missing: install the Debian packages "
            f"{' '.join(PACKAGES)}"
        )


def _apt_install(packages: list[str]) -> None:
    prefix: list[str] = []
    if os.geteuid() != 0:
        if not shutil.which("sudo"):
            raise SandboxError(
                f"installing {' '.join(packages)} needs root: run `sudo apt-get install "
                f"{' '.join(packages)}`"
            )
        prefix = ["sudo", "-n"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = [
        *prefix,
        "apt-get",
        "install",
        "-y",
        "--no-install-recommends",
        "-o",
        "DPkg::Lock::Timeout=600",
        *packages,
    ]
    log.info("installing %s", " ".join(packages))
    result = subprocess.run(install, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        # Fresh machines and containers often have no package lists yet.
        log.info("apt-get install failed, updating package lists and retrying")
        run_command([*prefix, "apt-get", "update", "-o", "DPkg::Lock::Timeout=600"], env=env)
        run_command(install, env=env)


def _apache_pids() -> list[int]:
    pids = []
    for entry in Path("/proc").glob("[0-9]*"):
        with contextlib.suppress(OSError):
            if (entry / "comm").read_text().strip() == "apache2":
                pids.append(int(entry.name))
    return pids


def _stop_apache() -> None:
    """Stop the Apache that the mediawiki package pulls in: the sandbox uses php -S."""
    if not _apache_pids():
        return
    log.info("stopping apache2 (installed as a dependency of mediawiki, not used)")
    for command in (
        ["systemctl", "stop", "apache2"],
        ["service", "apache2", "stop"],
        ["apache2ctl", "-k", "stop"],
    ):
        if command[0] == "systemctl" and not Path("/run/systemd/system").is_dir():
            continue  # installed but not the init system (containers)
        if shutil.which(command[0]):
            result = subprocess.run(command, capture_output=True, check=False)
            if result.returncode != 0:
                continue
            for _ in range(50):
                if not _apache_pids():
                    return
                time.sleep(0.1)
    log.warning("apache2 is still running; the sandbox does not need it")


def php_binary() -> str:
    """The ``php`` command line program (Debian's path if it is not on PATH)."""
    return shutil.which("php") or "/usr/bin/php"


def run_command(
    command: list[str], timeout: float = _SCRIPT_TIMEOUT, **kwargs: Any
) -> subprocess.CompletedProcess[str]:
    """Run *command* with its output captured; raise SandboxError with its output if it fails."""
    result = subprocess.run(
        command,
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
        **kwargs,
    )
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip()[-2000:]
        raise SandboxError(f"{' '.join(command[:3])} failed ({result.returncode}):\n{output}")
    return result
