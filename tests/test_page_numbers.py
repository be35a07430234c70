"""Any ``page=`` a paginated view is given shows a page: the nearest one there is.

One rule for every list (queue views and search): a number past the end
shows the last page, anything below 1 or not a number the first. A probe
found ``page=99999999999999999999`` answered 500 (the offset overflowed).
"""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from .helpers import log_in, new_ticket

HUGE = ["99999999999999999999", "9223372036854775807", "4611686018427387904", "1" + "0" * 4000]
SMALL = ["0", "-1", "-99999999999999999999", "abc", "", "1.5", "1e3"]


@pytest.fixture
def five_tickets(app: Flask, client: FlaskClient) -> FlaskClient:
    app.config["TICKETS_PER_PAGE"] = 2
    log_in(app, client)
    for n in range(5):
        new_ticket(app, subject=f"Question {n}", body=f"Hello, a question about harbours {n}.")
    return client


VIEWS = ["/queues?page={}", "/queues/Permissions?page={}", "/search?q=harbours&page={}"]


@pytest.mark.parametrize("view", VIEWS)
@pytest.mark.parametrize("page", HUGE)
def test_page_past_the_end_shows_the_last(five_tickets: FlaskClient, view: str, page: str) -> None:
    response = five_tickets.get(view.format(page))
    assert response.status_code == 200
    assert "Tickets: 5-5 of 5 - Page:" in response.get_data(as_text=True)


@pytest.mark.parametrize("view", VIEWS)
@pytest.mark.parametrize("page", SMALL)
def test_page_below_one_or_not_a_number_shows_the_first(
    five_tickets: FlaskClient, view: str, page: str
) -> None:
    response = five_tickets.get(view.format(page))
    assert response.status_code == 200
    assert "Tickets: 1-2 of 5 - Page:" in response.get_data(as_text=True)


@pytest.mark.parametrize("view", VIEWS)
def test_a_nul_in_the_page_number_is_refused_plainly(five_tickets: FlaskClient, view: str) -> None:
    # Every request with a NUL in its query is a 400 that says why
    # (tests/security/test_nul.py), page numbers included.
    response = five_tickets.get(view.format("%00"))
    assert response.status_code == 400


def test_empty_list_on_any_page(app: Flask, client: FlaskClient) -> None:
    log_in(app, client)
    for view in ["/queues/Junk?page={}", "/search?q=nothing&page={}"]:
        response = client.get(view.format(HUGE[0]))
        assert response.status_code == 200
        assert "Tickets: 0-0 of 0" in response.get_data(as_text=True)
