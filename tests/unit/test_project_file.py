"""Where the service finds ``templates/`` and ``user-config.py``: installed or checked out."""

from __future__ import annotations

from pathlib import Path

import pytest

import wikibridge


def _layout(monkeypatch: pytest.MonkeyPatch, top: Path) -> Path:
    package = top / "wikibridge"
    package.mkdir(parents=True)
    monkeypatch.setattr(wikibridge, "PACKAGE_DIR", package)
    monkeypatch.setattr(wikibridge, "CHECKOUT", top)
    return package


def test_the_installed_package_uses_its_own_copy(monkeypatch, tmp_path):
    package = _layout(monkeypatch, tmp_path / "site-packages")
    (package / "templates").mkdir()
    (package / "user-config.py").write_text("family = 'commons'\n")

    assert wikibridge.project_file("templates") == package / "templates"
    assert wikibridge.project_file("user-config.py") == package / "user-config.py"


def test_a_checkout_uses_the_top_level_files(monkeypatch, tmp_path):
    _layout(monkeypatch, tmp_path)
    (tmp_path / "setup.cfg").write_text("[metadata]\nname = wikibridge\n")
    (tmp_path / "templates").mkdir()

    assert wikibridge.project_file("templates") == tmp_path / "templates"


def test_a_stray_folder_beside_an_installed_package_is_not_ours(monkeypatch, tmp_path):
    site_packages = tmp_path / "site-packages"
    _layout(monkeypatch, site_packages)
    (site_packages / "templates").mkdir()  # some other distribution's

    with pytest.raises(FileNotFoundError, match="built without it"):
        wikibridge.project_file("templates")


def test_this_checkout_finds_both():
    assert (wikibridge.project_file("templates") / "login.html").is_file()
    assert "put_throttle" in wikibridge.project_file("user-config.py").read_text()
