"""Training on the desk: practice answers never mailed, feedback, held queues, the admin page."""

from __future__ import annotations

from collections.abc import Iterator
from html import unescape

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tickets.access import volunteer_named
from tickets.models import Article, History
from tickets.moves import move_ticket
from tickets.queues import queue_by_name
from tickets.recruiting_settings import RecruitingSettings, save_settings
from tickets.tickets import ticket_by_number
from tickets.training import (
    AnswerFeedback,
    SampleFields,
    TrainingSample,
    TrainingSampleVersion,
    create_sample,
    held_grants,
    start_training,
)
from wikibridge.db import new_session
from wikibridge.jobs import jobs_of
from wikibridge.mail.outgoing import send_article, sweep
from wikibridge.mail.store import store_message

from .helpers import log_in
from .test_answers import CSRF, Smtp, answer, answers_app, customer_mail, free_port, outgoing

SETTINGS = RecruitingSettings(practice_tickets=2, training_reviews_required=1)


def start(app: Flask, username: str = "Tina", queues: tuple[str, ...] = ("Info",)) -> list[str]:
    """Samples, then training for ``username`` approved for ``queues``; the practice tickets."""
    with new_session(app) as db:
        save_settings(db, SETTINGS, "Ada")
        for title, language in (("Photo", "en"), ("Frage", "de")):
            create_sample(
                db,
                SampleFields(
                    title=title,
                    from_name="Sam Sample",
                    from_address="sam@example.org",
                    subject=f"{title} question",
                    body=f"Hello, a {title} question.",
                    language=language,
                ),
                "Ada",
            )
        volunteer = volunteer_named(db, username)
        approved = [queue_by_name(db, name) for name in queues]
        made = start_training(db, volunteer, [q for q in approved if q], "Ada", SETTINGS)
        db.commit()
        return [t.number for t in made]


def trainee_client(app: Flask) -> FlaskClient:
    client = app.test_client()
    log_in(app, client, "Tina", role="volunteer")
    return client


def admin_client(app: Flask) -> FlaskClient:
    client = app.test_client()
    log_in(app, client, "Ada", role="admin")
    return client


@pytest.fixture
def smtp():
    server = Smtp(free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture
def app(tmp_path, database_url, smtp) -> Iterator[Flask]:
    app = answers_app(tmp_path, database_url, smtp.port)
    yield app
    app.extensions["db_engine"].dispose()


def test_a_practice_answer_is_stored_and_shown_never_mailed(app, smtp):
    first, _ = start(app)
    client = trainee_client(app)
    compose = client.get(f"/tickets/{first}/answer").get_data(as_text=True)
    assert "never mailed" in compose
    assert "sam@example.org" in compose

    response = answer(client, first, to="Real Person <someone@wikimedia.org>")
    assert response.status_code == 302
    page = unescape(client.get(response.headers["Location"]).get_data(as_text=True))
    assert "Practice answer saved: answers in Training are never mailed." in page
    assert "not sent (training)" in page
    assert "Training: nothing on this ticket is ever mailed." in page
    assert "Thank you." in page

    [article] = outgoing(app)
    assert article.send_status == "practice"
    assert article.raw_id is not None
    # Every way out refuses it: the job, the sweep, "Send again".
    with app.app_context():
        assert jobs_of(app).send_article(article.id).get() == "skipped: practice"
    factory = app.extensions["db_sessionmaker"]
    assert send_article(factory, app.config, article.id) == "skipped: practice"
    assert sweep(factory) == []
    response = client.post(f"/tickets/{first}/articles/{article.id}/resend", data=CSRF)
    assert response.status_code == 409
    assert smtp.inbox.messages == []
    with new_session(app) as db:
        kinds = [h.kind for h in db.scalars(select(History).order_by(History.id))]
    assert "send refused" in kinds and "sent" not in kinds


def test_a_real_answer_is_not_sent_once_its_ticket_is_moved_into_training(tmp_path, database_url):
    server = Smtp(free_port())  # down while the answer is stored
    app = answers_app(tmp_path, database_url, server.port)
    client = admin_client(app)
    number = store_message(app, customer_mail()).number
    assert answer(client, number).status_code == 302
    [article] = outgoing(app)
    assert article.send_status == "pending"
    with new_session(app) as db:
        ticket = ticket_by_number(db, number)
        training = queue_by_name(db, "Training")
        assert ticket is not None and training is not None
        move_ticket(db, ticket, training, "Ada")
        db.commit()
    server.start()
    try:
        factory = app.extensions["db_sessionmaker"]
        assert send_article(factory, app.config, article.id) == "refused: training"
        [article] = outgoing(app)
        assert article.send_status == "failed"
        assert "nothing in Training is ever mailed" in article.send_error
        page = client.get(f"/tickets/{number}").get_data(as_text=True)
        assert "Send again" not in page
        response = client.post(f"/tickets/{number}/articles/{article.id}/resend", data=CSRF)
        assert response.status_code == 409
        assert server.inbox.messages == []
    finally:
        server.stop()
    with new_session(app) as db:
        refused = db.scalars(select(History).where(History.kind == "send refused")).all()
    assert len(refused) == 2  # the job's refusal and the "Send again" one
    app.extensions["db_engine"].dispose()


def test_the_sweep_refuses_pending_answers_in_training(app, smtp):
    import datetime as dt

    [first, _] = start(app)
    with new_session(app) as db:
        ticket = ticket_by_number(db, first)
        assert ticket is not None
        # A pending answer (as if written before the ticket came into Training).
        db.add(
            Article(
                ticket=ticket,
                sender_type="agent",
                send_status="pending",
                created_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10),
            )
        )
        db.commit()
    assert sweep(app.extensions["db_sessionmaker"]) == []
    with new_session(app) as db:
        [refused] = db.scalars(select(Article).where(Article.sender_type == "agent")).all()
        assert refused.send_status == "failed"
    assert smtp.inbox.messages == []


def test_feedback_is_for_administrators_and_the_trainee_sees_it(app, smtp):
    first, _second = start(app)
    client = trainee_client(app)
    answer(client, first)
    [article] = outgoing(app)
    url = f"/tickets/{first}/articles/{article.id}/feedback"

    page = client.get(f"/tickets/{first}").get_data(as_text=True)
    assert "No feedback yet." in page and url not in page  # no form for the trainee
    assert client.post(url, data={**CSRF, "text": "I rate myself"}).status_code == 403

    admin = admin_client(app)
    assert url in admin.get(f"/tickets/{first}").get_data(as_text=True)
    assert admin.post(url, data={"text": "no token"}).status_code in (400, 403)
    response = admin.post(url, data={**CSRF, "text": "Cite the licence next time."})
    assert response.status_code == 302
    shown = admin.get(response.headers["Location"]).get_data(as_text=True)
    assert "Enough reviewed answers: Info now open for Tina." in shown

    page = client.get(f"/tickets/{first}").get_data(as_text=True)
    assert "Cite the licence next time." in page and "Ada" in page
    with new_session(app) as db:
        [row] = db.scalars(select(AnswerFeedback)).all()
        assert row.author == "Ada"
        tina = volunteer_named(db, "Tina")
        # One reviewed answer was required: Info is open now.
        assert held_grants(db, tina) == []
    assert client.get("/queues/Info").status_code == 200

    # Not on the customer's mail, not on an answer outside Training.
    with new_session(app) as db:
        ticket = ticket_by_number(db, first)
        assert ticket is not None
        customer_article = ticket.articles[0].id
    response = admin.post(
        f"/tickets/{first}/articles/{customer_article}/feedback", data={**CSRF, "text": "x"}
    )
    assert response.status_code == 400
    assert "Feedback goes on answers only" in unescape(response.get_data(as_text=True))
    number = store_message(app, customer_mail()).number
    answer(admin, number)
    with new_session(app) as db:
        ticket = ticket_by_number(db, number)
        assert ticket is not None
        real = ticket.articles[-1]
    response = admin.post(
        f"/tickets/{number}/articles/{real.id}/feedback", data={**CSRF, "text": "x"}
    )
    assert response.status_code == 400
    assert "answers in Training only" in response.get_data(as_text=True)


def test_held_queues_are_named_on_the_queue_view_until_they_open(app, smtp):
    start(app, queues=("Info", "Permissions"))
    client = trainee_client(app)
    page = unescape(client.get("/queues").get_data(as_text=True))
    assert "Your queues Info, Permissions open after 1 reviewed training answer (0 so far)." in page
    assert client.get("/queues/Info").status_code == 404
    assert client.get("/queues/Training").status_code == 200


def test_admin_page_samples_trainees_and_held_queues(app, smtp):
    [first, _] = start(app)
    trainee = trainee_client(app)
    answer(trainee, first)
    admin = admin_client(app)
    page = unescape(admin.get("/admin/training").get_data(as_text=True))
    assert "Photo question" in page and "Frage question" in page
    assert f"/tickets/{first}#article-" in page  # waiting for feedback
    assert "Tina" in page and "0 of 1" in page

    bad = admin.post(
        "/admin/training",
        data={
            **CSRF,
            "action": "create",
            "title": "Real",
            "from_address": "someone@gmail.com",
            "subject": "Hi",
            "body": "Hello",
            "language": "en",
        },
    )
    assert bad.status_code == 400
    assert "reserved domain" in bad.get_data(as_text=True)
    good = admin.post(
        "/admin/training",
        data={
            **CSRF,
            "action": "create",
            "title": "Museum",
            "from_name": "Museum",
            "from_address": "collections@museum.example",
            "subject": "Our photos",
            "body": "Dear team,\r\nplease.",
            "language": "en",
        },
    )
    assert good.status_code == 302
    with new_session(app) as db:
        museum = db.scalars(select(TrainingSample).where(TrainingSample.title == "Museum")).one()
        museum_id = museum.id
        held = held_grants(db, volunteer_named(db, "Tina"))[0].id
    assert (
        admin.post(
            "/admin/training", data={**CSRF, "action": "retire", "sample_id": museum_id}
        ).status_code
        == 302
    )
    assert (
        admin.post(
            "/admin/training", data={**CSRF, "action": "release", "held_id": held}
        ).status_code
        == 302
    )
    assert (
        admin.post("/admin/training", data={**CSRF, "action": "end", "held_id": held}).status_code
        == 400
    )  # released already
    with new_session(app) as db:
        kept = db.get(TrainingSample, museum_id)
        assert kept is not None and not kept.valid  # kept, retired
        versions = db.scalars(
            select(TrainingSampleVersion.change).where(TrainingSampleVersion.sample_id == museum_id)
        ).all()
        assert list(versions) == ["created", "retired"]
    assert trainee_client(app).get("/queues/Info").status_code == 200

    assert trainee.get("/admin/training").status_code == 403
    assert (
        trainee.post(
            "/admin/training", data={**CSRF, "action": "retire", "sample_id": museum_id}
        ).status_code
        == 403
    )
