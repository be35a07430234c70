"""wikibridge: the volunteer response team's help desk, joined to its wikis."""

from __future__ import annotations

from pathlib import Path

# Not typing itself at run time: ``mail deliver`` imports this module (see tickets.records).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from flask import Flask

#: This package's folder: in an installed wheel it also holds ``templates/``
#: and ``user-config.py`` (copied there by the build hook in ``setup.py``).
PACKAGE_DIR = Path(__file__).resolve().parent
#: The checkout the package runs from in development (an editable install):
#: ``templates/`` and ``user-config.py`` are edited at its top.
CHECKOUT = PACKAGE_DIR.parent


def project_file(name: str) -> Path:
    """Where the top-level project file or folder ``name`` is at run time.

    The installed package carries its own copy; an editable install reads the
    checkout's. A plain path, not ``importlib.resources``: Flask and pywikibot
    want folders on disk, and pip installs wheels unpacked.

    :raises FileNotFoundError: neither is there (a wheel built without them)
    """
    packaged = PACKAGE_DIR / name
    if packaged.exists():
        return packaged
    # Only a checkout (it has our setup.cfg) counts: above an installed
    # package is site-packages, where a stray "templates" is anyone's.
    checked_out = CHECKOUT / name
    if (CHECKOUT / "setup.cfg").is_file() and checked_out.exists():
        return checked_out
    raise FileNotFoundError(
        f"{name} is neither in the installed package ({PACKAGE_DIR}) nor in a checkout "
        f"({CHECKOUT}): the package was built without it"
    )


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the web application; nothing happens at import time."""
    from flask import Flask

    from wikibridge.config import default_instance_path, load_settings

    app = Flask(
        __name__,
        instance_path=str(default_instance_path()),
        template_folder=str(project_file("templates")),
    )
    from wikibridge import db, i18n, jobs
    from wikibridge.web import (
        admin,
        admin_desk,
        answers,
        applicant_gate,
        applications,
        articles,
        auth,
        errors,
        health,
        labels,
        observe,
        pages,
        public_references,
        queues,
        recruiting,
        recruiting_admin,
        redaction,
        reference_report,
        references_api,
        search,
        security,
        ticket_actions,
        training,
        wiki_writes,
    )

    load_settings(app, test_config)
    # Before anything can log a request line.
    redaction.init_app(app)
    # First, so every request has its id before anything else logs.
    observe.init_app(app)
    db.init_app(app)
    jobs.init_app(app)
    security.init_app(app)
    applicant_gate.init_app(app)
    errors.init_app(app)
    i18n.init_app(app)
    labels.init_app(app)
    app.register_blueprint(health.bp)
    app.register_blueprint(observe.bp)
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
    app.register_blueprint(training.bp)
    app.register_blueprint(wiki_writes.bp)
    app.register_blueprint(recruiting.bp)
    app.register_blueprint(applications.bp)
    app.register_blueprint(recruiting_admin.bp)
    return app
