"""Backups that restore: snapshots of everything the desk stores, and archives.

- :mod:`wikibridge.backup.format`: the file (a zip of per-table JSON Lines
  and a manifest of counts and checksums), written and checked;
- :mod:`wikibridge.backup.snapshot`: a consistent backup of a running desk;
- :mod:`wikibridge.backup.restore`: loading a file into an empty database;
- :mod:`wikibridge.backup.archive`: retention, the one place rows are removed;
- :mod:`wikibridge.backup.cli`: the ``backup``, ``restore`` and ``archive`` commands.
"""
