"""The administrators' audit of ticket references (the page behind ``references audit``)."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request

from tickets.reference_audit import PROBLEMS, audit
from wikibridge import db
from wikibridge.web.access import admin_required
from wikibridge.wiki.reference_cli import finding_links

bp = Blueprint("reference_report", __name__, url_prefix="/admin")

#: Rows shown at once; the command prints them all.
LIMIT = 500


@bp.get("/references")
@admin_required
def report() -> str:
    """Every problem the audit finds, with links to the page, the diff and the ticket."""
    wanted = request.args.get("problem", "")
    rows = []
    for finding in audit(db.session()):
        if wanted and finding.problem != wanted:
            continue
        page, diff, ticket = finding_links(current_app.config, finding)
        rows.append((finding, page, diff, ticket))
        if len(rows) >= LIMIT:
            break
    return render_template(
        "admin_references.html", rows=rows, problems=PROBLEMS, wanted=wanted, limit=LIMIT
    )
