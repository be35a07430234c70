"""Build hook: ship the top-level ``templates/`` and ``user-config.py`` inside the package.

Everything else about the distribution is in ``setup.cfg``. The two live at
the top of the checkout (where developers edit them), but the service needs
them at run time, so the wheel carries them as ``wikibridge/templates/`` and
``wikibridge/user-config.py``. Why a build sub-command rather than the usual
tools: ``package_data`` only takes files under a package's own folder, a
``package_dir`` mapping cannot give ``user-config.py`` (a file beside
``setup.cfg``) a package of its own, and ``data_files`` installs outside
``site-packages`` where the code cannot reliably find them. A sub-command of
``build`` is setuptools' documented extension point for exactly this
(``setuptools.command.build.SubCommand``): its ``get_source_files()`` puts the
files into the sdist, its outputs land in the wheel, and in an editable
install it does nothing because ``wikibridge.project_file`` reads them from the
checkout.
"""

from __future__ import annotations

import os
import shutil
from glob import glob

from setuptools import Command, setup
from setuptools.command.build import build

#: The package that carries them in the wheel.
PACKAGE = "wikibridge"


def shipped_files() -> list[str]:
    """The files copied into the package, relative to the project root."""
    return ["user-config.py", *sorted(glob(os.path.join("templates", "*.html")))]


class build_project_files(Command):
    """Copy the top-level project files the service reads into the built package."""

    description = "copy templates/ and user-config.py into the wikibridge package"
    user_options: list[tuple[str, str | None, str]] = []
    editable_mode: bool = False
    build_lib: str | None

    def initialize_options(self) -> None:
        self.build_lib = None  # None: taken from build_py in finalize_options

    def finalize_options(self) -> None:
        self.set_undefined_options("build_py", ("build_lib", "build_lib"))

    def run(self) -> None:
        if self.editable_mode:
            return  # the package finds them in the checkout
        assert self.build_lib is not None, "finalize_options sets it"
        # setuptools reuses build/ between builds: a template deleted from the
        # checkout must not live on in the next wheel.
        shutil.rmtree(os.path.join(self.build_lib, PACKAGE, "templates"), ignore_errors=True)
        for target, source in self.get_output_mapping().items():
            os.makedirs(os.path.dirname(target), exist_ok=True)
            shutil.copyfile(source, target)

    def get_source_files(self) -> list[str]:
        return shipped_files()

    def get_outputs(self) -> list[str]:
        return list(self.get_output_mapping())

    def get_output_mapping(self) -> dict[str, str]:
        assert self.build_lib is not None, "finalize_options sets it"
        return {os.path.join(self.build_lib, PACKAGE, name): name for name in shipped_files()}


class build_with_project_files(build):
    """``build`` with :class:`build_project_files` as one more step."""

    sub_commands = [*build.sub_commands, ("build_project_files", None)]


setup(
    cmdclass={
        "build": build_with_project_files,
        "build_project_files": build_project_files,
    }
)
