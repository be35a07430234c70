"""The ``wikibridge`` console script.

``mail deliver`` runs once per incoming message, so it is dispatched before
anything heavy is imported; every other command goes through Flask's CLI.
"""

from __future__ import annotations

import os
import sys


def main() -> None:
    """Entry point of the ``wikibridge`` console script."""
    args = sys.argv[1:]
    if args[:2] == ["mail", "deliver"]:
        from wikibridge.mail import pipe

        code = pipe.main(args[2:])
        if code is not None:
            _exit_now(code)
    from wikibridge.cli import cli

    cli.main(prog_name="wikibridge")


def _exit_now(code: int) -> None:
    """Exit with ``code`` once the output is flushed, without tearing the interpreter down.

    ``mail deliver`` has closed its database connection (or its hand-off
    socket) by now and nothing else is left to finish; taking down the modules
    of a process that ends anyway cost it a sixth of its time.
    """
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException:  # noqa: BLE001 - let the interpreter report it, as it would have
        sys.exit(code)
    os._exit(code)
