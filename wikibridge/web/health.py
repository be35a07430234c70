"""``/healthz``: for load balancers and for people wondering if it is up."""

from __future__ import annotations

from flask import Blueprint
from sqlalchemy import text

from wikibridge import db

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> tuple[dict[str, str], int]:
    """Answer 200 when the database answers, 503 otherwise."""
    try:
        db.session().execute(text("SELECT 1"))
    except Exception:  # noqa: BLE001 - any failure means "not healthy"
        return {"status": "database unavailable"}, 503
    return {"status": "ok"}, 200
