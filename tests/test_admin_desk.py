"""Administration of queues, answer templates, signatures and news; news for the login page."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from flask import Flask, render_template
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from tickets.models import AnswerTemplate, News, Queue, Ticket
from tickets.news import NewsError, edit_news, latest_news, post_news, publish, unpublish
from tickets.queues import queue_by_name
from tickets.tickets import ticket_by_number
from wikibridge.db import new_session
from wikibridge.web import admin_desk

from .helpers import log_in, new_ticket

PAGES = ["/admin/queues", "/admin/templates", "/admin/news"]
CSRF = "test-csrf"


@pytest.fixture
def desk_app(app: Flask) -> Flask:
    """The app with this blueprint (registered here until ``create_app`` does it)."""
    if "admin_desk" not in app.blueprints:
        app.register_blueprint(admin_desk.bp)
    return app


@pytest.fixture
def admin(desk_app: Flask) -> Iterator[FlaskClient]:
    """A client logged in as a volunteer administrator."""
    client = desk_app.test_client()
    log_in(desk_app, client, "Ada", role="admin")
    yield client


def _post(client: FlaskClient, path: str, **fields: str | int) -> TestResponse:
    return client.post(path, data={"csrf_token": CSRF, **{k: str(v) for k, v in fields.items()}})


def _page(client: FlaskClient, path: str) -> str:
    """The page at ``path``, without the messages left by earlier changes."""
    with client.session_transaction() as s:
        s.pop("_flashes", None)
    response = client.get(path)
    assert response.status_code == 200, path
    return response.text


def _queue(app: Flask, name: str) -> Queue:
    with new_session(app) as db:
        queue = queue_by_name(db, name)
        assert queue is not None, name
        return queue


# Who may see the pages ------------------------------------------------------


@pytest.mark.parametrize("role", ["admin", "head"])
@pytest.mark.parametrize("path", PAGES)
def test_pages_render_for_admin_and_head(desk_app: Flask, role: str, path: str):
    client = desk_app.test_client()
    log_in(desk_app, client, "Hugo", role=role)
    response = client.get(path)
    assert response.status_code == 200
    assert 'name="csrf_token"' in response.text


@pytest.mark.parametrize("path", PAGES)
def test_plain_volunteer_is_refused(desk_app: Flask, path: str):
    client = desk_app.test_client()
    log_in(desk_app, client, "Rita", role="volunteer", grants={"Info": "all"})
    assert client.get(path).status_code == 403
    assert _post(client, path, action="create", name="Info::x", title="x").status_code == 403
    assert _queue(desk_app, "Info").valid
    assert queue_by_name_or_none(desk_app, "Info::x") is None


def queue_by_name_or_none(app: Flask, name: str) -> Queue | None:
    with new_session(app) as db:
        return queue_by_name(db, name)


@pytest.mark.parametrize("path", PAGES)
def test_anonymous_is_sent_to_login(desk_app: Flask, path: str):
    client = desk_app.test_client()
    response = client.get(path)
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]
    with client.session_transaction() as s:
        s["csrf"] = CSRF
    response = _post(client, path, action="create", name="Info::x", title="x")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize("token", [None, "wrong"])
def test_post_without_csrf_token_is_refused(admin: FlaskClient, path: str, token: str | None):
    data = {"action": "create", "name": "Info::x", "title": "x", "body": "y"}
    if token:
        data["csrf_token"] = token
    assert admin.post(path, data=data).status_code == 400
    app = admin.application
    assert queue_by_name_or_none(app, "Info::x") is None
    with new_session(app) as db:
        assert db.scalars(select(AnswerTemplate)).all() == []
        assert db.scalars(select(News)).all() == []


@pytest.mark.parametrize("path", PAGES)
def test_unknown_action_is_refused(admin: FlaskClient, path: str):
    assert _post(admin, path, action="delete").status_code == 400


# Queues ---------------------------------------------------------------------


def test_new_subqueue_appears_in_the_tree(admin: FlaskClient):
    app = admin.application
    response = _post(
        admin,
        "/admin/queues",
        action="create",
        name=" Permissions :: test ",
        comment="Trial statements",
        email_address="permissions-test@wikimedia.org",
        signature="-- \nThe permissions team",
    )
    assert response.status_code == 302
    queue = _queue(app, "Permissions::test")
    assert queue.parent_id == _queue(app, "Permissions").id
    assert queue.comment == "Trial statements"
    assert queue.email_address == "permissions-test@wikimedia.org"
    assert queue.signature == "-- \nThe permissions team"
    page = _page(admin, "/admin/queues")
    assert "Permissions::test" in page
    # Parents come before their subqueues in the tree.
    rows = [
        f'id="queue-{_queue(app, name).id}"'
        for name in ("Permissions", "Permissions::test", "Role")
    ]
    assert page.index(rows[0]) < page.index(rows[1]) < page.index(rows[2])
    assert '<td class="name">\u2003Permissions::test</td>' in page
    tree = _page(admin, "/queues")
    assert ">test</a>" in tree
    assert admin.get("/queues/Permissions::test").status_code == 200


def test_new_queue_creates_missing_parents(admin: FlaskClient):
    _post(admin, "/admin/queues", action="create", name="Outreach::Schools")
    app = admin.application
    assert _queue(app, "Outreach::Schools").parent_id == _queue(app, "Outreach").id


def test_existing_queue_is_not_created_twice(admin: FlaskClient):
    response = admin.post(
        "/admin/queues",
        data={"csrf_token": CSRF, "action": "create", "name": "Info", "comment": "X"},
        follow_redirects=True,
    )
    assert "exists already" in response.text
    assert _queue(admin.application, "Info").comment != "X"


@pytest.mark.parametrize("name", ["", "::x", "Info::", "Info:: ::x", "Bad\x07name", "Q" * 201])
def test_bad_queue_names_are_refused(admin: FlaskClient, name: str):
    assert _post(admin, "/admin/queues", action="create", name=name).status_code == 400


def test_edit_queue_settings(admin: FlaskClient):
    app = admin.application
    info = _queue(app, "Info")
    response = _post(
        admin,
        "/admin/queues",
        action="edit",
        queue_id=info.id,
        comment="Questions",
        email_address="info@example.org",
        signature="Regards,\r\nThe team\r\n",
    )
    assert response.status_code == 302
    info = _queue(app, "Info")
    assert (info.comment, info.email_address, info.signature) == (
        "Questions",
        "info@example.org",
        "Regards,\nThe team",
    )
    bad = _post(admin, "/admin/queues", action="edit", queue_id=info.id, email_address="nope")
    assert bad.status_code == 400
    assert _queue(app, "Info").email_address == "info@example.org"
    assert _post(admin, "/admin/queues", action="edit", queue_id=99999).status_code == 404
    assert _post(admin, "/admin/queues", action="edit", queue_id="x").status_code == 400


def test_signature_set_here_is_used_in_answers(admin: FlaskClient):
    app = admin.application
    number = new_ticket(app, to="permissions@wikimedia.org")
    permissions = _queue(app, "Permissions")
    _post(admin, "/admin/queues", action="edit", queue_id=permissions.id, signature="Sig-XYZ")
    assert "Sig-XYZ" in _page(admin, f"/tickets/{number}/answer")


def test_invalid_queue_is_hidden_but_its_tickets_stay(admin: FlaskClient, desk_app: Flask):
    number = new_ticket(desk_app, to="permissions@wikimedia.org")
    permissions = _queue(desk_app, "Permissions")
    assert number in _page(admin, "/queues")

    response = _post(admin, "/admin/queues", action="invalidate", queue_id=permissions.id)
    assert response.status_code == 302
    assert not _queue(desk_app, "Permissions").valid
    assert admin.get("/queues/Permissions").status_code == 404
    assert number not in _page(admin, "/queues")
    volunteer = desk_app.test_client()
    log_in(desk_app, volunteer, "Paul", role="volunteer", grants={"Permissions": "all"})
    assert volunteer.get("/queues/Permissions").status_code == 404
    with new_session(desk_app) as db:
        ticket = ticket_by_number(db, number)
        assert ticket is not None
        assert ticket.queue_id == permissions.id
    # Still listed (as invalid) on the admin page, so it can come back.
    assert f'id="queue-{permissions.id}" class="depth-0 invalid"' in _page(admin, "/admin/queues")

    _post(admin, "/admin/queues", action="validate", queue_id=permissions.id)
    assert _queue(desk_app, "Permissions").valid
    assert number in _page(admin, "/queues")


# Answer templates -----------------------------------------------------------


def _create_template(client: FlaskClient, name: str, queue: str, body: str = "Hi") -> None:
    response = _post(
        client,
        "/admin/templates",
        action="create",
        name=name,
        queue=queue,
        subject="",
        body=body,
    )
    assert response.status_code == 302


def _template(app: Flask, name: str) -> AnswerTemplate:
    with new_session(app) as db:
        found = db.scalars(select(AnswerTemplate).where(AnswerTemplate.name == name)).one()
        return found


def test_template_is_offered_on_tickets_of_its_queue(admin: FlaskClient, desk_app: Flask):
    number = new_ticket(desk_app, to="permissions@wikimedia.org")
    with new_session(desk_app) as db:
        ticket = db.scalars(select(Ticket).where(Ticket.number == number)).one()
        assert ticket.queue.name == "Permissions"
    body = "Dear {customer_name},\nthanks for ticket {ticket_number}.\n{queue_signature}"
    _create_template(admin, "Statement received", "Permissions", body)
    _create_template(admin, "Info only", "Info")
    _create_template(admin, "For everyone", "")
    template = _template(desk_app, "Statement received")
    assert template.created_by == "Ada"
    assert template.queue_id == _queue(desk_app, "Permissions").id
    assert _template(desk_app, "For everyone").queue_id is None

    page = _page(admin, f"/tickets/{number}/answer")
    assert "Statement received" in page
    assert "For everyone" in page
    assert "Info only" not in page
    filled = _page(admin, f"/tickets/{number}/answer?template={template.id}")
    assert "Dear Jane," in filled
    assert f"thanks for ticket {number}." in filled


def test_template_edit_and_invalidate(admin: FlaskClient, desk_app: Flask):
    number = new_ticket(desk_app, to="permissions@wikimedia.org")
    _create_template(admin, "Draft", "Info")
    template = _template(desk_app, "Draft")
    assert "Draft" not in _page(admin, f"/tickets/{number}/answer")

    response = admin.post(
        "/admin/templates",
        data={
            "csrf_token": CSRF,
            "action": "edit",
            "template_id": template.id,
            "name": "Final",
            "queue": "Permissions",
            "subject": "Your statement",
            "body": "Hello {custmer_name}",
        },
        follow_redirects=True,
    )
    assert "{custmer_name}" in response.text  # warned about the typo
    edited = _template(desk_app, "Final")
    assert (edited.subject, edited.body, edited.created_by) == (
        "Your statement",
        "Hello {custmer_name}",
        "Ada",
    )
    assert "Final" in _page(admin, f"/tickets/{number}/answer")

    _post(admin, "/admin/templates", action="invalidate", template_id=template.id)
    assert not _template(desk_app, "Final").valid
    assert "Final" not in _page(admin, f"/tickets/{number}/answer")
    assert "Final" in _page(admin, "/admin/templates")
    _post(admin, "/admin/templates", action="validate", template_id=template.id)
    assert "Final" in _page(admin, f"/tickets/{number}/answer")


@pytest.mark.parametrize(
    "fields",
    [{"name": ""}, {"name": "X", "queue": "No such queue"}, {"name": "N" * 201}],
)
def test_bad_templates_are_refused(admin: FlaskClient, fields: dict[str, str]):
    response = _post(admin, "/admin/templates", action="create", **fields)
    assert response.status_code == 400
    with new_session(admin.application) as db:
        assert db.scalars(select(AnswerTemplate)).all() == []


# News -----------------------------------------------------------------------


def _news(app: Flask) -> list[News]:
    with new_session(app) as db:
        return list(latest_news(db, 10))


def test_news_published_shows_with_its_date(admin: FlaskClient, desk_app: Flask):
    response = _post(
        admin, "/admin/news", action="create", title="Training on Sunday", body="Line 1\nLine 2"
    )
    assert response.status_code == 302
    [item] = _news(desk_app)
    assert (item.title, item.created_by, item.published) == ("Training on Sunday", "Ada", True)
    with desk_app.test_request_context("/login"):
        html = render_template("news_list.html", news=_news(desk_app))
    day = item.created_at.strftime("%Y-%m-%d")
    assert f'<time datetime="{day}">{day}</time>' in html
    assert "Training on Sunday" in html
    assert "Line 1<br>Line 2" in html
    assert "Training on Sunday" in _page(admin, "/admin/news")

    _post(admin, "/admin/news", action="edit", news_id=item.id, title="Training moved", body="")
    assert [n.title for n in _news(desk_app)] == ["Training moved"]

    _post(admin, "/admin/news", action="unpublish", news_id=item.id)
    assert _news(desk_app) == []
    with desk_app.test_request_context("/login"):
        assert render_template("news_list.html", news=[]).strip() == ""
    assert "Training moved" in _page(admin, "/admin/news")  # kept, not deleted

    _post(admin, "/admin/news", action="publish", news_id=item.id)
    assert [n.title for n in _news(desk_app)] == ["Training moved"]


def test_news_without_title_is_refused(admin: FlaskClient, desk_app: Flask):
    assert _post(admin, "/admin/news", action="create", title="  ").status_code == 400
    assert _post(admin, "/admin/news", action="publish", news_id=42).status_code == 404
    assert _news(desk_app) == []


def test_news_domain_functions(desk_app: Flask):
    with new_session(desk_app) as db:
        old = post_news(db, "Old", "", "Ada")
        new = post_news(db, "  New   one ", "Text\n", "Ada")
        hidden = post_news(db, "Hidden", "", "Ada", published=False)
        new.created_at = old.created_at.replace(year=old.created_at.year + 1)
        db.flush()
        assert [n.title for n in latest_news(db, 5)] == ["New one", "Old"]
        assert [n.title for n in latest_news(db, 1)] == ["New one"]
        assert publish(hidden) and not publish(hidden)
        assert unpublish(old) and not unpublish(old)
        db.flush()
        assert {n.title for n in latest_news(db, 5)} == {"New one", "Hidden"}
        assert not edit_news(new, "New one", "Text")
        assert edit_news(new, "Newer", "Text")
        with pytest.raises(NewsError):
            post_news(db, "", "", "Ada")
        with pytest.raises(NewsError):
            edit_news(new, "T" * 301, "")


def test_validity_buttons_carry_the_csrf_token(admin: FlaskClient):
    page = admin.get("/admin/queues").get_data(as_text=True)
    form = page.split('value="invalidate"', 1)[0].rsplit("<form", 1)[1]
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert token is not None and token.group(1)
