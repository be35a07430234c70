"""wikibridge: the volunteer response team's help desk, joined to its wikis."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask

#: The project folder: templates and ``user-config.py`` live here.
ROOT = Path(__file__).resolve().parent.parent


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the web application; nothing happens at import time."""
    from flask import Flask

    from wikibridge.config import default_instance_path, load_settings

    app = Flask(
        __name__,
        instance_path=str(default_instance_path()),
        template_folder=str(ROOT / "templates"),
    )
    from wikibridge import db, i18n, jobs
    from wikibridge.web import (
        admin,
        admin_desk,
        answers,
        articles,
        auth,
        errors,
        health,
        labels,
        pages,
        public_references,
        queues,
        reference_report,
        references_api,
        search,
        security,
        ticket_actions,
    )

    load_settings(app, test_config)
    db.init_app(app)
    jobs.init_app(app)
    security.init_app(app)
    errors.init_app(app)
    i18n.init_app(app)
    labels.init_app(app)
    app.register_blueprint(health.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(queues.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(admin_desk.bp)
    app.register_blueprint(ticket_actions.bp)
    app.register_blueprint(answers.bp)
    app.register_blueprint(articles.bp)
    app.register_blueprint(search.bp)
    app.register_blueprint(public_references.bp)
    app.register_blueprint(references_api.bp)
    app.register_blueprint(reference_report.bp)
    return app
