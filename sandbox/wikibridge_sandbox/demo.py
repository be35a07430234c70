"""Demo tickets for ``make run``: a few realistic messages, delivered idempotently.

Demo data grants nobody anything unless asked: the sample usernames are real
accounts on a real wiki, so ``wikibridge demo load`` on a production desk must
not hand them tickets. ``--grant-sample-volunteers`` (which ``make run`` passes
for the sandbox) grants them and says what it granted.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import select
from sqlalchemy.orm import Session

from tickets.access import grant, grants_of, parse_rights, volunteer_named
from tickets.queues import queue_by_name
from tickets.recruiting_settings import current_settings
from tickets.training import SampleFields, TrainingSample, create_sample, start_training
from wikibridge.db import new_session
from wikibridge.mail.store import store_message

_SAMPLES = [
    (
        "Jane Photographer <jane@example.net>",
        "permissions",
        "Permission for my photo of the harbour",
        "Hello,\n\nI am the photographer of File:Sunset over the harbour.jpg and I release it "
        "under CC BY-SA 4.0.\n\nJane",
    ),
    (
        "Max Muster <max@example.de>",
        "info-de",
        "Frage zu einem Artikel",
        "Guten Tag,\n\nin dem Artikel über unsere Stadt ist ein Fehler. Wer kann das "
        "korrigieren?\n\nViele Grüße\nMax",
    ),
    (
        "Press Desk <desk@newspaper.example>",
        "press",
        "Interview request",
        "Dear press team,\n\nwe would like to interview a volunteer for a feature.\n\nBest",
    ),
    (
        "Example Museum <collections@museum.example>",
        "permissions",
        "Our photos on Commons",
        "Dear volunteers,\n\nDana Uploader took the photos in "
        "Category:Photos from the Example Museum for us, among them "
        "File:Example Museum entrance hall.jpg and File:Example Museum bronze statue.jpg. "
        "As the copyright holder, the Example Museum hereby releases them under the "
        "Creative Commons Attribution 4.0 International licence.\n\nThe Example Museum",
    ),
]


def demo_messages(domain: str) -> Iterator[bytes]:
    """The demo messages, the same bytes every time, so loading twice adds nothing.

    A redelivery is known by its content (routing rule 2), so the Date is
    fixed too.
    """
    for n, (sender, local, subject, body) in enumerate(_SAMPLES, start=1):
        msg = EmailMessage()
        msg["From"] = sender
        msg["To"] = f"{local}@{domain}"
        msg["Subject"] = subject
        msg["Message-ID"] = f"<demo-{n}@demo.wikibridge.invalid>"
        msg["Date"] = format_datetime(dt.datetime(2026, 12, 1, 9, n, tzinfo=dt.UTC))
        msg.set_content(body)
        yield msg.as_bytes()


#: Sample messages for practice tickets, in English and German (senders at
#: reserved domains only, as every training sample must be).
TRAINING_SAMPLES = [
    SampleFields(
        title="Photographer releases a photo",
        from_name="Pat Practice",
        from_address="pat@example.org",
        subject="My photo of the old mill",
        body="Hello,\n\nI took the photo File:Old mill at dawn.jpg and uploaded it myself. "
        "Someone tagged it as missing permission. I agree to release it under CC BY-SA 4.0. "
        "What else do you need?\n\nPat",
        language="en",
    ),
    SampleFields(
        title="Reader finds a mistake",
        from_name="Robin Reader",
        from_address="robin@example.com",
        subject="Wrong date in an article",
        body="Hi,\n\nthe article about our town says the bridge opened in 1899, but the "
        "plaque on it says 1901. Can you fix it?\n\nRobin",
        language="en",
    ),
    SampleFields(
        title="Frage zu einem Foto",
        from_name="Uta Übung",
        from_address="uta@beispiel.invalid",
        subject="Darf ich ein Foto von Commons verwenden?",
        body="Guten Tag,\n\nich möchte ein Foto von Wikimedia Commons in unserer "
        "Vereinszeitung abdrucken. Was muss ich dabei beachten?\n\nViele Grüße\nUta",
        language="de",
    ),
]

#: Sample volunteers of the sandbox wikis and the queues they work in.
DEMO_GRANTS = {
    "Carol Example": {"Permissions": "all", "Training": "all"},
    "Bob": {"Info": "read,note,answer"},
}
#: The demo trainee, and the queues approved for them that wait for reviewed
#: training answers.
DEMO_TRAINEE = ("Bob", ("Permissions",))


def load_training_samples(app: Flask) -> int:
    """Store the demo's training samples not stored yet (by title); return how many."""
    added = 0
    with new_session(app) as db:
        titles = set(db.scalars(select(TrainingSample.title)))
        for fields in TRAINING_SAMPLES:
            if fields.title not in titles:
                create_sample(db, fields, "demo")
                added += 1
        db.commit()
    return added


def grant_sample_volunteers(app: Flask) -> list[str]:
    """Give the sandbox's sample volunteers their queues; return what was granted, in words.

    A volunteer who has any grant already is left alone (an administrator may
    have changed them since).
    """
    granted: list[str] = []
    with new_session(app) as db:
        for username, grants in DEMO_GRANTS.items():
            volunteer = volunteer_named(db, username)
            if grants_of(db, volunteer):
                continue
            for queue_name, rights in grants.items():
                queue = queue_by_name(db, queue_name)
                if queue is not None:
                    row = grant(db, volunteer, queue, parse_rights(rights), "demo")
                    granted.append(f"{username}: {row.rights} on {queue_name}")
            if username == DEMO_TRAINEE[0]:
                granted += _start_demo_training(app, db, volunteer.username)
        db.commit()
    return granted


def _start_demo_training(app: Flask, db: Session, username: str) -> list[str]:
    """Practice tickets for the demo trainee, their approved queues held; said in words."""
    settings = current_settings(db)
    volunteer = volunteer_named(db, username)
    approved = [q for q in (queue_by_name(db, n) for n in DEMO_TRAINEE[1]) if q is not None]
    made = start_training(
        db, volunteer, approved, "demo", settings, system_id=app.config["SYSTEM_ID"]
    )
    said = [f"{username}: training, practice tickets {' '.join(t.number for t in made) or 'none'}"]
    if approved and settings.training_reviews_required:
        said.append(
            f"{username}: {', '.join(q.name for q in approved)} open after "
            f"{settings.training_reviews_required} reviewed training answers"
        )
    return said


#: Sample applications (invented names: an application grants nothing).
DEMO_APPLICATIONS: list[dict[str, Any]] = [
    {
        "username": "Demo Applicant Ana",
        "languages": [{"code": "pt", "level": "native"}, {"code": "en", "level": "fluent"}],
        "queues": ["Info"],
        "motivation": "I have answered readers' questions on the Portuguese help desk for "
        "three years and would like to help by mail too.",
        "links": ["https://meta.wikimedia.org/wiki/Special:Contributions/Demo_Applicant_Ana"],
        "editcount": 4200,
        "note": ("Ada", "Long and careful record at the help desk."),
        "vote": ("Ada", "support"),
    },
    {
        "username": "Demo Applicant Ben",
        "languages": [{"code": "de", "level": "native"}, {"code": "en", "level": "good"}],
        "queues": ["Permissions"],
        "motivation": "I coordinate the photo programme of our chapter and handle the "
        "permissions of its partners.",
        "links": [],
        "editcount": 780,
        "position": "Photo programme coordinator, Wikimedia Example chapter",
        "position_confirmer": "The chapter's office (office@chapter.example)",
    },
]


def load_demo_applications(app: Flask) -> int:
    """Add the sample applications that are not there yet; return how many were added."""
    from sqlalchemy import select

    from tickets.access import Role
    from tickets.applications import Application, ApplicationForm, add_note, submit, vote
    from tickets.recruiting_settings import current_settings

    added = 0
    with new_session(app) as db:
        settings = current_settings(db)
        offered = [wanted.queue for wanted in settings.wanted]
        for sample in DEMO_APPLICATIONS:
            known = db.scalars(
                select(Application).where(Application.username == sample["username"])
            ).first()
            if known is not None:
                continue
            volunteer = volunteer_named(db, sample["username"])
            volunteer.role = Role.APPLICANT.value
            form = ApplicationForm(
                languages=sample["languages"],
                queues=[q for q in sample["queues"] if q in offered] or offered[:1],
                motivation=sample["motivation"],
                links=sample["links"],
                terms_version=settings.terms_version,
                terms_text=settings.terms_text,
                position=sample.get("position", ""),
                position_confirmer=sample.get("position_confirmer", ""),
            )
            facts = {"username": sample["username"], "editcount": sample["editcount"]}
            application = submit(db, volunteer, form, offered=offered, facts=facts)
            if "note" in sample:
                add_note(db, application, *sample["note"])
            if "vote" in sample:
                vote(db, application, *sample["vote"])
            added += 1
        db.commit()
    return added


def save_demo_recruiting_rules(app: Flask) -> bool:
    """Rules the sandbox's own accounts meet, so trying the desk includes applying.

    Saved only while no administrator has saved rules of their own; returns
    whether they were saved.
    """
    from dataclasses import replace

    from tickets.recruiting_settings import (
        Eligibility,
        RecruitingSettingsVersion,
        save_settings,
    )

    with new_session(app) as db:
        if db.scalars(select(RecruitingSettingsVersion.id).limit(1)).first() is not None:
            return False
        rules = Eligibility(min_account_days=0, min_edits=1, confirmed_email=False)
        save_settings(db, replace(current_settings(db), eligibility=rules), "demo")
        db.commit()
    return True


def load_demo(app: Flask) -> list[str]:
    """Deliver the demo messages, store the training samples, import the known old tickets.

    Also adds a couple of sample applications (grants nothing). Returns the
    ticket numbers.
    """
    import io

    from tickets.known import import_known
    from wikibridge_sandbox.reference_samples import KNOWN_TICKETS_CSV

    numbers = [store_message(app, raw).number for raw in demo_messages(app.config["MAIL_DOMAIN"])]
    load_training_samples(app)
    save_demo_recruiting_rules(app)
    with new_session(app) as db:
        import_known(db, io.StringIO(KNOWN_TICKETS_CSV), source="sandbox")
        db.commit()
    load_demo_applications(app)
    return numbers


demo_cli = AppGroup("demo", help="Demo data for trying the desk out (development only).")


@demo_cli.command("load")
@click.option(
    "--grant-sample-volunteers",
    "grant_sample",
    is_flag=True,
    help="Also give the sandbox's sample volunteers (Bob, Carol Example) queue access, "
    "and Bob practice tickets in Training. "
    "Never on a real installation: these are real usernames on real wikis.",
)
def demo_load(grant_sample: bool) -> None:
    """Deliver a few sample messages (idempotent: run it as often as you like)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    for number in load_demo(app):
        click.echo(number)
    if grant_sample:
        granted = grant_sample_volunteers(app)
        for line in granted:
            click.echo(f"granted {line}", err=True)
        if not granted:
            click.echo("granted nothing: the sample volunteers have access already", err=True)
    else:
        click.echo("granted nobody any access (--grant-sample-volunteers would)", err=True)
