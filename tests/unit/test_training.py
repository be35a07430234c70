"""Training in the domain: practice tickets, what counts as Training, feedback, held queues."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tickets.access import ALL_RIGHTS, Right, can, grants_of, volunteer_named
from tickets.models import Article, History, Ticket, Volunteer
from tickets.moves import move_ticket
from tickets.numbers import is_valid
from tickets.queues import queue_by_name
from tickets.recruiting_settings import RecruitingSettings
from tickets.tickets import create_ticket, record
from tickets.training import (
    PracticeTicket,
    SampleFields,
    TrainingError,
    TrainingSampleVersion,
    answers_awaiting_feedback,
    check_address,
    create_sample,
    edit_sample,
    end_held,
    feedback_for,
    held_grants,
    is_training,
    leave_feedback,
    release_held,
    reviewed_answers,
    set_sample_valid,
    start_training,
    trainees,
)
from wikibridge.engine import make_engine
from wikibridge.migrate import seed_queues


@pytest.fixture
def db(database_url: str) -> Iterator[Session]:
    engine = make_engine(database_url)
    with Session(engine) as session:
        seed_queues(session)
        session.commit()
        yield session
    engine.dispose()


def settings(practice: int = 3, required: int = 2) -> RecruitingSettings:
    return RecruitingSettings(practice_tickets=practice, training_reviews_required=required)


def sample(db: Session, title: str, language: str = "en") -> int:
    row = create_sample(
        db,
        SampleFields(
            title=title,
            from_name="Sam Sample",
            from_address="sam@example.org",
            subject=f"Subject of {title}",
            body=f"Hello, this is {title}.",
            language=language,
        ),
        "Ada",
    )
    return row.id


def trainee(db: Session, name: str = "Tina", language: str = "") -> Volunteer:
    volunteer = volunteer_named(db, name)
    volunteer.language = language
    return volunteer


def answer(db: Session, ticket: Ticket, by: str, body: str = "My answer.") -> Article:
    """An answer as the answer path stores it: an agent mail and an "answer" history entry."""
    article = Article(
        ticket=ticket,
        channel="email",
        sender_type="agent",
        from_addr="Wikimedia VRT <training@wikimedia.org>",
        to_addr=ticket.customer,
        subject="Re: x",
        body=body,
        send_status="practice",
    )
    db.add(article)
    db.flush()
    record(db, ticket, "answer", by, article_id=article.id, to=ticket.customer)
    db.flush()
    return article


def test_sample_senders_must_be_at_reserved_domains():
    assert check_address(" Sam@Example.ORG ") == "sam@example.org"
    for good in (
        "a@mail.example.com",
        "b@example.net",
        "c@x.invalid",
        "d@host.test",
        "e@z.example",
    ):
        assert check_address(good) == good
    for real in ("jane@gmail.com", "x@example.org.evil.com", "y@wikimedia.org"):
        with pytest.raises(TrainingError) as caught:
            check_address(real)
        assert caught.value.code == "domain"
    with pytest.raises(TrainingError) as caught:
        check_address("not an address")
    assert caught.value.code == "address"


def test_editing_and_retiring_a_sample_keeps_every_version(db: Session):
    sample_id = sample(db, "First")
    from tickets.training import TrainingSample

    row = db.get(TrainingSample, sample_id)
    assert row is not None
    fields = SampleFields(
        title="First",
        from_name="Sam",
        from_address="sam@example.org",
        subject="New subject",
        body="New body",
        language="de",
    )
    assert set(edit_sample(db, row, fields, "Bea")) == {"from_name", "subject", "body", "language"}
    assert edit_sample(db, row, fields, "Bea") == []
    assert set_sample_valid(db, row, False, "Bea")
    versions = list(
        db.scalars(
            select(TrainingSampleVersion)
            .where(TrainingSampleVersion.sample_id == sample_id)
            .order_by(TrainingSampleVersion.id)
        )
    )
    assert [v.change for v in versions] == ["created", "edited", "retired"]
    assert versions[0].document["subject"] == "Subject of First"
    assert versions[1].document["subject"] == "New subject"
    assert (row.valid, row.changed_by) == (False, "Bea")


def test_start_training_without_samples_grants_training_and_makes_no_tickets(db: Session):
    tina = trainee(db)
    info = queue_by_name(db, "Info")
    assert info is not None
    made = start_training(db, tina, [info], "Ada", settings())
    assert made == []
    training = queue_by_name(db, "Training")
    assert training is not None
    assert can(db, tina, training, Right.ANSWER) and can(db, tina, training, Right.OWN)
    assert not can(db, tina, training, Right.MOVE_INTO)
    assert not can(db, tina, info, Right.READ)
    assert [h.queue.name for h in held_grants(db, tina)] == ["Info"]


def test_start_training_makes_practice_tickets_in_the_trainees_language_first(db: Session):
    sample(db, "English one", "en")
    sample(db, "German one", "de")
    sample(db, "German two", "de")
    tina = trainee(db, language="de")
    made = start_training(db, tina, [], "Ada", settings(practice=4), system_id="10")
    assert len(made) == 4
    # Round robin, German first: each sample once before any repeats.
    assert [t.title for t in made] == [
        "Subject of German one",
        "Subject of German two",
        "Subject of English one",
        "Subject of German one",
    ]
    for ticket in made:
        assert is_valid(ticket.number) and ticket.number[8:10] == "10"
        assert ticket.queue.name == "Training"
        assert (ticket.owner_id, ticket.locked) == (tina.id, True)
        [article] = ticket.articles
        assert (article.sender_type, article.channel) == ("customer", "email")
        assert article.from_addr == "Sam Sample <sam@example.org>"
        assert article.send_status == ""
        assert is_training(db, ticket)
    marks = db.scalar(select(func.count()).select_from(PracticeTicket))
    assert marks == 4
    # Another round for the same trainee starts with what they had least.
    more = start_training(db, tina, [], "Ada", settings(practice=2))
    assert [t.title for t in more] == ["Subject of German two", "Subject of English one"]


def test_start_training_with_no_reviews_required_grants_at_once(db: Session):
    tina = trainee(db)
    info = queue_by_name(db, "Info")
    assert info is not None
    start_training(db, tina, [info], "Ada", settings(required=0))
    assert held_grants(db, tina) == []
    assert can(db, tina, info, Right.MOVE_INTO)
    [info_grant] = [g for g in grants_of(db, tina) if g.queue_id == info.id]
    assert info_grant.right_set == ALL_RIGHTS and info_grant.granted_by == "Ada"


def test_is_training_follows_a_practice_ticket_moved_out_and_a_real_ticket_moved_in(db: Session):
    sample(db, "One")
    tina = trainee(db)
    [practice] = start_training(db, tina, [], "Ada", settings(practice=1))
    info = queue_by_name(db, "Info")
    training = queue_by_name(db, "Training")
    assert info is not None and training is not None
    move_ticket(db, practice, info, "Ada")
    db.flush()
    assert is_training(db, practice)

    real = create_ticket(db, queue=info, title="Real", customer="x@example.net", system_id="10")
    assert not is_training(db, real)
    move_ticket(db, real, training, "Ada")
    db.flush()
    assert is_training(db, real)
    sub = queue_by_name(db, "Permissions::de")
    assert sub is not None
    move_ticket(db, real, sub, "Ada")
    db.flush()
    assert not is_training(db, real)


def test_feedback_releases_held_queues_exactly_at_the_required_number(db: Session):
    for title in ("One", "Two", "Three"):
        sample(db, title)
    tina = trainee(db)
    info = queue_by_name(db, "Info")
    perms = queue_by_name(db, "Permissions")
    assert info is not None and perms is not None
    tickets = start_training(db, tina, [info, perms], "Ada", settings(required=2))
    first = answer(db, tickets[0], "Tina")
    second = answer(db, tickets[1], "Tina")
    assert {a.id for a in answers_awaiting_feedback(db)} == {first.id, second.id}

    leave_feedback(db, first, "Ada", "Good start; cite the licence.", settings(required=2))
    # A correction is a new row, and the same answer counts once.
    leave_feedback(db, first, "Bea", "And thank them.", settings(required=2))
    assert reviewed_answers(db, tina) == 1
    assert len(held_grants(db, tina)) == 2
    assert not can(db, tina, info, Right.READ)
    assert [a.id for a in answers_awaiting_feedback(db)] == [second.id]

    leave_feedback(db, second, "Bea", "Well done.", settings(required=2))
    assert reviewed_answers(db, tina) == 2
    assert held_grants(db, tina) == []
    assert can(db, tina, info, Right.OWN) and can(db, tina, perms, Right.ANSWER)
    released = [g for g in grants_of(db, tina) if g.queue_id in (info.id, perms.id)]
    assert {g.granted_by for g in released} == {"Bea"}
    assert answers_awaiting_feedback(db) == []
    rows = feedback_for(db, tickets[0])
    assert [f.author for f in rows[first.id]] == ["Ada", "Bea"]
    kinds = [h.kind for h in db.scalars(select(History).where(History.ticket_id == tickets[0].id))]
    assert kinds.count("feedback") == 2
    [row] = trainees(db)
    assert (row.volunteer.username, row.practice_tickets, row.reviewed) == ("Tina", 3, 2)


def test_feedback_is_refused_off_training_answers(db: Session):
    sample(db, "One")
    tina = trainee(db)
    [practice] = start_training(db, tina, [], "Ada", settings(practice=1))
    customer_mail = practice.articles[0]
    with pytest.raises(TrainingError) as caught:
        leave_feedback(db, customer_mail, "Ada", "Nice", settings())
    assert caught.value.code == "not-answer"

    info = queue_by_name(db, "Info")
    assert info is not None
    real = create_ticket(db, queue=info, title="Real", customer="x@example.net", system_id="10")
    real_answer = answer(db, real, "Tina")
    with pytest.raises(TrainingError) as caught:
        leave_feedback(db, real_answer, "Ada", "Nice", settings())
    assert caught.value.code == "not-training"

    practice_answer = answer(db, practice, "Tina")
    with pytest.raises(TrainingError) as caught:
        leave_feedback(db, practice_answer, "Ada", "   ", settings())
    assert caught.value.code == "empty"


def test_an_administrator_releases_or_ends_a_held_queue_by_hand(db: Session):
    tina = trainee(db)
    info = queue_by_name(db, "Info")
    perms = queue_by_name(db, "Permissions")
    assert info is not None and perms is not None
    start_training(db, tina, [info, perms], "Ada", settings(required=5))
    held_info, held_perms = held_grants(db, tina)
    release_held(db, held_info, "Bea")
    end_held(db, held_perms, "Bea")
    assert (held_info.released_by, held_perms.ended_by) == ("Bea", "Bea")
    assert held_info.released_at is not None and held_perms.ended_at is not None
    assert can(db, tina, info, Right.OWN) and not can(db, tina, perms, Right.READ)
    assert held_grants(db, tina) == []
    with pytest.raises(TrainingError):
        release_held(db, held_perms, "Bea")
