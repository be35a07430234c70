"""The public references API fuzzed from its own OpenAPI description (schemathesis).

Every operation of ``/api/v1/openapi.json`` is called in-process (WSGI) with
generated requests, valid and invalid, and each answer is checked: no 500,
status codes, content types, headers and bodies as described. The run is
bounded and derandomized, so it is quick and the same every time.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from tickets.references import WikiReference
from wikibridge.db import new_session

from ..conftest import make_test_app
from ..helpers import new_ticket

EXAMPLES = 100


@pytest.fixture
def api_schema(tmp_path, database_url):
    """The API's description, loaded from the app it describes (with some references)."""
    app: Flask = make_test_app(
        tmp_path,
        database_url,
        # The fuzzer's requests come from one client; the limit is tested elsewhere.
        PUBLIC_API_REQUESTS_PER_MINUTE=0,
        # Werkzeug's test client asks for "localhost".
        SERVER_NAME=None,
    )
    number = new_ticket(app)
    with new_session(app) as db:
        now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
        for title, kind in (("File:A.jpg", "template"), ("File:B_b.jpg", "url")):
            db.add(
                WikiReference(
                    wiki="commons",
                    title=title,
                    page_id=len(title),
                    ticket=number,
                    number=number,
                    kind=kind,
                    revision=1,
                    first_seen=now,
                    last_seen=now,
                )
            )
        db.commit()
    yield schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    app.extensions["db_engine"].dispose()


def _operations(loaded: Any) -> list[Any]:
    return [result.ok() for result in loaded.get_all_operations()]


def test_every_operation_is_fuzzed(api_schema):
    names = {op.label for op in _operations(api_schema)}
    assert names == {"GET /api/v1/tickets/{number}", "GET /api/v1/pages"}


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_the_api_keeps_to_its_description(api_schema, mode: GenerationMode):
    # The strategies are built here, from the app of this test's database;
    # schemathesis's own pytest wiring (from_fixture) does not run on pytest 9.
    for operation in _operations(api_schema):

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES,
            derandomize=True,
            database=None,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case: Any) -> None:
            case.call_and_validate()

        run()


def test_over_long_inputs_are_refused_as_described(tmp_path, database_url):
    """Found by the fuzzer: they were cut to 512 and answered, against the description."""
    app = make_test_app(tmp_path, database_url)
    client = app.test_client()
    long = "A" * 513
    assert client.get(f"/api/v1/tickets/{long}").status_code == 400
    assert client.get(f"/api/v1/pages?wiki=commons&title={long}").status_code == 400
    assert client.get(f"/api/v1/tickets/{long[:512]}").status_code == 200
    assert client.get(f"/api/v1/pages?wiki=commons&title={long[:512]}").status_code == 200
    app.extensions["db_engine"].dispose()


@pytest.mark.parametrize("number", ["12%0A34", "%0D", "/2016060210016939", "a//b", "x/"])
def test_any_number_gets_the_apis_json(tmp_path, database_url, number: str):
    """Found by the fuzzer: a line break (or a leading slash) in the number gave the HTML 404."""
    app = make_test_app(tmp_path, database_url)
    response = app.test_client().get(f"/api/v1/tickets/{number}")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.get_json()["status"] == "unknown"
    app.extensions["db_engine"].dispose()


def test_nul_finds_nothing(tmp_path, database_url):
    """Found by the fuzzer on PostgreSQL (which refuses NUL in text): a 500."""
    app = make_test_app(tmp_path, database_url)
    client = app.test_client()
    for path in (
        "/api/v1/pages?wiki=meta&title=%00",
        "/api/v1/tickets/1%002",
        "/cited/tickets/%00",
    ):
        response = client.get(path)
        assert response.status_code == 200, path
    assert client.get("/api/v1/pages?wiki=meta&title=A%00").get_json()["tickets"] == []
    assert client.get("/cited/page?wiki=meta&title=%00").status_code in (200, 400)
    assert client.get("/cited?number=%00").status_code in (200, 302)
    app.extensions["db_engine"].dispose()
