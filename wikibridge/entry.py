"""The ``wikibridge`` console script.

``mail deliver`` runs once per incoming message, so it is dispatched before
anything heavy is imported; every other command goes through Flask's CLI.
"""

from __future__ import annotations

import sys


def main() -> None:
    """Entry point of the ``wikibridge`` console script."""
    args = sys.argv[1:]
    if args[:2] == ["mail", "deliver"]:
        from wikibridge.mail import pipe

        code = pipe.main(args[2:])
        if code is not None:
            sys.exit(code)
    from wikibridge.cli import cli

    cli.main(prog_name="wikibridge")
