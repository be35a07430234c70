"""``wikibridge training``: the administrators' sample messages from the command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from flask.cli import AppGroup

training_cli = AppGroup("training", help="Training: sample messages for practice tickets.")
samples_cli = AppGroup("samples", help="The sample messages practice tickets are made from.")
training_cli.add_command(samples_cli)


def _fields(entry: Any, where: str) -> Any:
    """A :class:`~tickets.training.SampleFields` from one entry of the file."""
    from tickets.training import SampleFields

    if not isinstance(entry, dict):
        raise click.ClickException(f"{where}: each sample is an object with title, subject …")
    known = {"title", "from_name", "from_address", "subject", "body", "language"}
    unknown = sorted(set(entry) - known)
    if unknown:
        raise click.ClickException(f"{where}: unknown field(s) {', '.join(unknown)}")
    return SampleFields(
        title=str(entry.get("title", "")),
        from_name=str(entry.get("from_name", "")),
        from_address=str(entry.get("from_address", "")),
        subject=str(entry.get("subject", "")),
        body=str(entry.get("body", "")),
        language=str(entry.get("language", "en")),
    )


@samples_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--by", default="cli", show_default=True, help="Who to record as their author.")
def samples_import(file: Path, by: str) -> None:
    """Store the samples in FILE, a JSON list of objects with title, from_name,
    from_address (at a reserved domain such as example.org), subject, body, language.

    A sample whose title is stored already is left alone, so a file can be
    imported again after adding to it.  Nothing is stored if any entry is wrong.
    """
    from sqlalchemy import select

    from tickets.training import TrainingError, TrainingSample, create_sample
    from wikibridge import db

    try:
        entries = json.loads(file.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise click.ClickException(f"{file}: not JSON: {exc}") from exc
    if not isinstance(entries, list):
        raise click.ClickException(f"{file}: expected a list of samples")
    session = db.session()
    titles = set(session.scalars(select(TrainingSample.title)))
    added = 0
    for n, entry in enumerate(entries, start=1):
        fields = _fields(entry, f"{file} sample {n}")
        if " ".join(fields.title.split()) in titles:
            click.echo(f"kept: {fields.title} (stored already)")
            continue
        try:
            sample = create_sample(session, fields, by)
        except TrainingError as exc:
            session.rollback()
            raise click.ClickException(f"{file} sample {n}: {exc}") from exc
        titles.add(sample.title)
        added += 1
        click.echo(f"added: {sample.title} ({sample.language})")
    session.commit()
    click.echo(f"{added} sample(s) added")
