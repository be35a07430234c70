"""Finding ticket references in wikitext, as MediaWiki would render them."""

from __future__ import annotations

import pytest

from tickets.references import INTERWIKI, PENDING, TEMPLATE, URL, Citation
from wikibridge.wiki.references import (
    ReferenceNames,
    find_references,
    template_key,
    ticket_in_url,
)

NAMES = ReferenceNames(desk_prefixes=("https://desk.example/ticket/",))
N = "2016060210016939"
OLD_ZOOM = "https://ticket.wikimedia.org/otrs/index.pl?Action=AgentTicketZoom&TicketNumber="


def tickets(text: str, names: ReferenceNames = NAMES) -> list[tuple[str, str, bool]]:
    return [(r.kind, r.ticket, r.is_id) for r in find_references(text, names)]


@pytest.mark.parametrize(
    "call",
    [
        f"{{{{PermissionTicket|id={N}}}}}",
        f"{{{{permissionTicket|id={N}}}}}",
        f"{{{{Template:PermissionTicket|id={N}}}}}",
        f"{{{{template:permission_ticket|id={N}}}}}".replace(
            "permission_ticket", "PermissionTicket"
        ),
        f"{{{{VRT_permission|{N}}}}}",
        f"{{{{VRT  permission | 1 = {N} }}}}",
        f"{{{{OTRS permission|id={N}|user=Alice}}}}",
        f"{{{{PermissionOTRS|id= {N} }}}}",
        f"{{{{Information|permission={{{{PermissionTicket|id={N}}}}}}}}}",
    ],
)
def test_permission_templates_and_aliases(call):
    assert tickets(f"== Licensing ==\n{call}\n") == [(TEMPLATE, N, False)]


def test_pending_and_received_count_as_pending():
    text = f"{{{{Permission pending|id={N}|day=1}}}}\n{{{{OTRS received|id=2020010110000017}}}}"
    assert tickets(text) == [(PENDING, N, False), (PENDING, "2020010110000017", False)]


def test_a_template_without_a_ticket_cites_nothing():
    assert tickets("{{Permission pending}}{{PermissionTicket|id=}}") == []


@pytest.mark.parametrize(
    "hidden",
    [
        f"<!-- {{{{PermissionTicket|id={N}}}}} -->",
        f"<!-- unclosed comment {{{{PermissionTicket|id={N}}}}}",
        f"<nowiki>{{{{PermissionTicket|id={N}}}}}</nowiki>",
        f"<NOWIKI >[[ticket:{N}]]</nowiki>",
        f"<pre>{{{{PermissionTicket|id={N}}}}}</pre>",
        f"<includeonly>{{{{PermissionTicket|id={N}}}}}</includeonly>",
        f"<includeonly>never closed {{{{PermissionTicket|id={N}}}}}",
    ],
)
def test_what_mediawiki_does_not_render_is_no_reference(hidden):
    assert tickets(f"before\n{hidden}\nafter") == []


def test_a_self_closing_nowiki_hides_nothing():
    assert tickets(f"{{{{Permission<nowiki/>Ticket|id={N}}}}}") == []
    assert tickets(f"<nowiki/>{{{{PermissionTicket|id={N}}}}}") == [(TEMPLATE, N, False)]


def test_noinclude_content_renders_on_the_page():
    assert tickets(f"<noinclude>{{{{PermissionTicket|id={N}}}}}</noinclude>") == [
        (TEMPLATE, N, False)
    ]


def test_article_transclusion_and_parser_functions_are_no_templates():
    assert template_key(":PermissionTicket") is None
    assert template_key("#if: x") is None
    assert template_key("subst:PermissionTicket") == "PermissionTicket"


def test_redirects_to_a_template_count_as_the_template():
    names = NAMES.with_redirects({"Vrtpermission": "VRT permission", "Other": "Information"})
    assert tickets(f"{{{{Vrtpermission|id={N}}}}}{{{{Other|id=1}}}}", names) == [
        (TEMPLATE, N, False)
    ]


def test_an_alias_that_takes_the_ticket_elsewhere():
    names = ReferenceNames(special_parameters={"OTRS permission": ("ticket",)})
    assert tickets(f"{{{{OTRS permission|ticket={N}}}}}", names) == [(TEMPLATE, N, False)]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            f"https://ticket.wikimedia.org/otrs/index.pl?Action=AgentTicketZoom&TicketNumber={N}",
            (N, False),
        ),
        (
            "https://ticket.wikimedia.org/otrs/index.pl?Action=AgentTicketZoom&TicketID=1234",
            ("1234", True),
        ),
        (
            f"https://otrs.wikimedia.org/otrs/index.pl?action=agentticketzoom;ticketnumber={N}",
            (N, False),
        ),
        (f"https://desk.example/ticket/{N}", (N, False)),
        (f"https://desk.example/ticket/{N}#article-3", (N, False)),
        (
            "https://ticket.wikimedia.org/otrs/index.pl?Action=AgentTicketSearch&TicketNumber=1",
            None,
        ),
        ("https://example.org/index.php?TicketNumber=1", None),
        ("https://desk.example/ticket/search", None),
    ],
)
def test_ticket_urls(url, expected):
    assert ticket_in_url(url, NAMES.desk_prefixes) == expected


def test_url_and_interwiki_links_in_text():
    text = (
        f"See [{OLD_ZOOM}{N} the ticket], "
        "[[ticket:2017010110000015]], [[:otrs:55]], [[vrts:77|here]], [[Ticket:nothing?]] "
        "and [[Category:Tickets]]."
    )
    assert find_references(text, NAMES) == [
        Citation(
            URL,
            N,
            False,
            source=f"https://ticket.wikimedia.org/otrs/index.pl?Action=AgentTicketZoom&TicketNumber={N}",
        ),
        Citation(INTERWIKI, "2017010110000015", False, source="ticket:2017010110000015"),
        Citation(INTERWIKI, "55", True, source="otrs:55"),
        Citation(INTERWIKI, "77", True, source="vrts:77"),
        Citation(INTERWIKI, "nothing?", False, source="Ticket:nothing?"),
    ]


def test_each_reference_once_in_order():
    text = f"{{{{PermissionTicket|id={N}}}}}\n{{{{PermissionTicket|id={N}}}}}\n[[ticket:{N}]]"
    assert tickets(text) == [(TEMPLATE, N, False), (INTERWIKI, N, False)]


def test_a_malformed_number_is_kept_as_written_for_the_audit():
    assert tickets("{{PermissionTicket|id=2016 0602 1001 6939}}") == [(TEMPLATE, N, False)]
    assert tickets("{{PermissionTicket|id=20160602-1001}}") == [(TEMPLATE, "20160602-1001", False)]
