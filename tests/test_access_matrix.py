"""Every route × every role × queues: nobody reaches a queue they were not granted.

Each endpoint of the app is classified below by the right it needs; a new
route that is not classified fails this test, so no route ships unchecked.
"""

from __future__ import annotations

import pytest
from flask import Flask

from tickets.access import volunteer_named
from tickets.applications import ApplicationForm, submit
from tickets.intake import store_blob
from tickets.models import Attachment, PageAction, PageLink, WikiBatch
from tickets.tickets import ticket_by_number
from tickets.wiki_writes import Op, request_write
from wikibridge.db import new_session

from .conftest import make_test_app
from .helpers import log_in, new_ticket

# endpoint -> (method, path template, right needed | "admin" | "head" | "public" | "login"
#   | "applicant" (applicants only) | "self" (anyone logged in, applicants too: their own
#   application))
ROUTES: dict[str, tuple[str, str, str]] = {
    "static": ("GET", "/static/wikibridge.css", "public"),
    "health.healthz": ("GET", "/healthz", "public"),
    "health.readyz": ("GET", "/readyz", "public"),
    # Not by role: only scrapers from METRICS_NETWORKS or with METRICS_TOKEN
    # (the test client is local); tests/test_observe.py shows the refusals.
    "observe.metrics_page": ("GET", "/metrics", "public"),
    "auth.login_page": ("GET", "/login", "public"),
    "auth.login_start": ("POST", "/login", "public"),
    "auth.callback": ("GET", "/oauth-callback", "public"),
    "auth.logout": ("POST", "/logout", "public"),
    "queues.index": ("GET", "/", "public"),
    # Ticket references: public facts only (tests/test_public_references.py).
    "cited.lookup": ("GET", "/cited", "public"),
    "cited.ticket": ("GET", "/cited/tickets/{number}", "public"),
    "cited.page": ("GET", "/cited/page?wiki=commons&title=File:A.jpg", "public"),
    "cited.userscript": ("GET", "/cited/userscript.js", "public"),
    "references_api.ticket": ("GET", "/api/v1/tickets/{number}", "public"),
    "references_api.page": ("GET", "/api/v1/pages?wiki=commons&title=File:A.jpg", "public"),
    "references_api.openapi": ("GET", "/api/v1/openapi.json", "public"),
    "queues.queue_view": ("GET", "/queues/{queue}", "read"),
    # Any volunteer may post a bulk action; each ticket is then checked on its own
    # (tests/test_queue_view.py shows the refusals).
    # Search covers only the queues one may read (tests/test_search.py).
    "search.search": ("GET", "/search?q=hello", "login"),
    "queues.bulk": ("POST", "/queues/bulk", "login"),
    "queues.zoom": ("GET", "/tickets/{number}", "read"),
    "articles.raw_message": ("GET", "/tickets/{number}/articles/{article}/raw", "read"),
    "articles.attachment": ("GET", "/tickets/{number}/attachments/{attachment}", "read"),
    "articles.html_part": ("GET", "/tickets/{number}/articles/{article}/html", "read"),
    "pages.progress_json": ("GET", "/tickets/{number}/wiki/progress.json", "read"),
    "pages.add_link": ("POST", "/tickets/{number}/links", "note"),
    "pages.bulk_link": ("POST", "/tickets/{number}/links/bulk", "note"),
    "pages.refresh_links": ("POST", "/tickets/{number}/links/refresh", "read"),
    "pages.preview": ("POST", "/tickets/{number}/wiki/preview", "answer"),
    "pages.start_batch": ("POST", "/tickets/{number}/wiki/batches", "answer"),
    "pages.undo_batch": ("POST", "/tickets/{number}/wiki/batches/{batch}/undo", "answer"),
    "pages.undo_action": ("POST", "/tickets/{number}/wiki/actions/{action}/undo", "answer"),
    "pages.resume_batch": ("POST", "/tickets/{number}/wiki/batches/{batch}/resume", "answer"),
    "pages.cancel_batch": ("POST", "/tickets/{number}/wiki/batches/{batch}/cancel", "answer"),
    "queues.move": ("POST", "/tickets/{number}/move", "own"),
    "actions.take_ticket": ("POST", "/tickets/{number}/take", "own"),
    "actions.release_ticket": ("POST", "/tickets/{number}/release", "own"),
    "actions.change_state": ("POST", "/tickets/{number}/state", "own"),
    "actions.change_priority": ("POST", "/tickets/{number}/priority", "own"),
    "actions.merge_ticket": ("POST", "/tickets/{number}/merge", "own"),
    "actions.link_ticket": ("POST", "/tickets/{number}/link", "note"),
    "answers.compose": ("GET", "/tickets/{number}/answer", "answer"),
    "answers.send": ("POST", "/tickets/{number}/answer", "answer"),
    "answers.note_form": ("GET", "/tickets/{number}/note", "note"),
    "answers.add_note": ("POST", "/tickets/{number}/note", "note"),
    "answers.add_phone": ("POST", "/tickets/{number}/phone", "note"),
    "answers.resend_article": ("POST", "/tickets/{number}/articles/{article}/resend", "answer"),
    "admin_desk.queues": ("GET", "/admin/queues", "admin"),
    "admin_desk.save_queue": ("POST", "/admin/queues", "admin"),
    "admin_desk.answer_templates": ("GET", "/admin/templates", "admin"),
    "admin_desk.save_template": ("POST", "/admin/templates", "admin"),
    "admin_desk.news": ("GET", "/admin/news", "admin"),
    "admin_desk.save_news": ("POST", "/admin/news", "admin"),
    "admin.volunteers": ("GET", "/admin/volunteers", "admin"),
    "reference_report.report": ("GET", "/admin/references", "admin"),
    "admin.grant_access": ("POST", "/admin/volunteers/grant", "admin"),
    "admin.revoke_access": ("POST", "/admin/volunteers/{vid}/revoke", "admin"),
    "admin.set_role": ("POST", "/admin/volunteers/{vid}/role", "head"),
    "training.admin_training": ("GET", "/admin/training", "admin"),
    "training.save_training": ("POST", "/admin/training", "admin"),
    # Feedback on training answers: administrators only, whatever queue
    # rights one has (tests/test_training_web.py).
    "training.give_feedback": ("POST", "/tickets/{number}/articles/{article}/feedback", "admin"),
    "wiki_writes.list_writes": ("GET", "/admin/wiki-writes?status=failed", "admin"),
    "wiki_writes.retry": ("POST", "/admin/wiki-writes/{write}/retry", "admin"),
    "wiki_writes.cancel": ("POST", "/admin/wiki-writes/{write}/cancel", "admin"),
    "admin.end_membership": ("POST", "/admin/volunteers/{vid}/end", "admin"),
    # Recruiting: the public page, the applicant's own pages, the administrators'.
    "recruiting.volunteer_page": ("GET", "/volunteer", "public"),
    "recruiting.apply_form": ("GET", "/apply", "applicant"),
    "recruiting.apply_send": ("POST", "/apply", "applicant"),
    "recruiting.status": ("GET", "/apply/status", "self"),
    "recruiting.withdraw_application": ("POST", "/apply/withdraw", "self"),
    "applications.index": ("GET", "/admin/applications", "admin"),
    "applications.detail": ("GET", "/admin/applications/{application}", "admin"),
    "applications.note": ("POST", "/admin/applications/{application}/note", "admin"),
    "applications.cast_vote": ("POST", "/admin/applications/{application}/vote", "admin"),
    "applications.confirm": ("POST", "/admin/applications/{application}/confirm", "admin"),
    "applications.decide_application": (
        "POST",
        "/admin/applications/{application}/decide",
        "admin",
    ),
    "recruiting_admin.settings_page": ("GET", "/admin/recruiting", "admin"),
    "recruiting_admin.save": ("POST", "/admin/recruiting", "admin"),
    "recruiting_admin.inactivity": ("GET", "/admin/inactivity", "admin"),
    "recruiting_admin.access_log": ("GET", "/admin/access-log", "admin"),
}

# Who: (username, role, grants)
PEOPLE = {
    "anonymous": None,
    "reader": ("Rita", "volunteer", {"Info": "read"}),
    "info-worker": ("Ivan", "volunteer", {"Info": "all"}),
    "noter": ("Nina", "volunteer", {"Info": "read,note"}),
    "admin": ("Ada", "admin", {}),
    "head": ("Hugo", "head", {}),
    # Logged in with a wiki account, not on the team: nothing of the desk.
    "applicant": ("Apu", "applicant", {}),
}

FORBIDDEN = {401, 403, 404}


def expected(person: str, need: str, queue: str) -> str:
    """'login' (redirect to login), 'hidden' (404), 'forbidden' (403) or 'ok'."""
    if need == "public":
        return "ok"
    if person == "anonymous":
        return "login"
    role = PEOPLE[person][1]  # type: ignore[index]
    if need == "self":
        return "ok"
    if need == "applicant":
        return "ok" if role == "applicant" else "forbidden"
    if role == "applicant":
        return "forbidden"
    if need == "login":
        return "ok"
    if need == "head":
        return "ok" if role == "head" else "forbidden"
    if need == "admin":
        return "ok" if role in ("admin", "head") else "forbidden"
    if role in ("admin", "head"):
        return "ok"
    grants = PEOPLE[person][2]  # type: ignore[index]
    rights = grants.get(queue.split("::")[0])
    if rights is None:
        return "hidden"
    if rights == "all" or need in rights.split(",") or need == "read":
        return "ok"
    return "forbidden"


@pytest.fixture
def app(tmp_path, database_url) -> Flask:
    """Jobs are queued but not run: a permitted "Tag file" must not reach a real wiki."""
    return make_test_app(tmp_path, database_url, JOBS_URL=f"sqlite:///{tmp_path}/jobs.sqlite3")


def test_every_route_is_classified(app: Flask):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert endpoints == set(ROUTES), "classify new routes in ROUTES"


@pytest.mark.parametrize("person", list(PEOPLE))
def test_route_role_queue_matrix(app: Flask, person: str):
    tickets = {
        "Info": new_ticket(app, subject="Question", to="info@wikimedia.org", body="Hello, how?"),
        "Permissions": new_ticket(app),
    }
    spare = {
        "Info": new_ticket(app, subject="Other", to="info@wikimedia.org", body="Hello again?"),
        "Permissions": new_ticket(app, subject="Other permission"),
    }
    links, articles, attachments = {}, {}, {}
    application_id = 0
    batches, actions = {}, {}
    with new_session(app) as db:
        target = volunteer_named(db, "Target")
        for queue, number in tickets.items():
            ticket = ticket_by_number(db, number)
            assert ticket is not None
            link = PageLink(ticket=ticket, wiki="commons", title="File:X.png")
            db.add(link)
            db.flush()
            links[queue] = link.id
            batch = WikiBatch(ticket=ticket, wiki="commons", kind="confirm", requested_by="x")
            action = PageAction(
                link=link, batch=batch, kind="confirm", requested_by="x", status="done", revision=1
            )
            db.add_all([batch, action])
            db.flush()
            batches[queue], actions[queue] = batch.id, action.id
            article = ticket.articles[0]
            articles[queue] = article.id
            article.body_html = "<p>Hello</p>"
            att = Attachment(article=article, filename="a.png", size=1, sha256=store_blob(db, b"x"))
            db.add(att)
            db.flush()
            attachments[queue] = att.id
        vid = target.id
        write = request_write(
            db,
            wiki="meta",
            title="VRT/Applications",
            op=Op.ADD_LINE,
            text="* x",
            summary="test",
            requested_by="x",
            login_session_id=None,
            as_bot=True,
        )
        write.status = "failed"
        write_id = write.id
        applicant = volunteer_named(db, "Applying")
        applicant.role = "applicant"
        db.flush()
        application_id = submit(
            db,
            applicant,
            ApplicationForm(
                languages=[{"code": "en", "level": "fluent"}],
                queues=["Info"],
                motivation="I like helping.",
                links=[],
                terms_version="1",
                terms_text="Keep it secret.",
            ),
            offered=["Info"],
            facts={},
        ).id
        db.commit()
    client = app.test_client()
    if PEOPLE[person] is not None:
        username, role, grants = PEOPLE[person]  # type: ignore[misc]
        log_in(app, client, username, role=role, grants=grants)
    else:
        client.get("/login")
        with client.session_transaction() as s:
            s["csrf"] = "test-csrf"
    failures = []
    for method, template, need in ROUTES.values():
        if need == "public":
            continue
        for queue, number in tickets.items():
            if "{" not in template and queue != "Info":
                continue
            path = template.format(
                number=number,
                queue=queue,
                link=links[queue],
                batch=batches[queue],
                action=actions[queue],
                vid=vid,
                article=articles[queue],
                attachment=attachments[queue],
                write=write_id,
                application=application_id,
            )
            data = {
                "csrf_token": "test-csrf",
                "queue": queue,
                "role": "volunteer",
                "into": spare[queue],
                "other": spare[queue],
                "text": "A note.",
                "body": "An answer.",
                "link": str(links[queue]),
                "page": "File:Y.png",
                "vote": "support",
                "decision": "decline",
                "reason": "Not now.",
            }
            response = client.open(path, method=method, data=data if method == "POST" else None)
            want = expected(person, need, queue)
            got = response.status_code
            ok = {
                "login": got == 302 and "/login" in response.headers.get("Location", ""),
                "hidden": got == 404,
                "forbidden": got in (403, 404),
                "ok": got not in FORBIDDEN,
            }[want]
            if not ok:
                failures.append(f"{person} {method} {path}: want {want}, got {got}")
    assert failures == []
