"""Splitting a discussion section into signed comments."""

from __future__ import annotations

import datetime as dt

from wikibridge.wiki.meta_reads import Comment, comments_in, desk_marker


def at(day: int, hour: int, minute: int) -> dt.datetime:
    return dt.datetime(2026, 12, day, hour, minute, tzinfo=dt.UTC)


def test_signature_forms():
    lines = [
        "Name: Dave. [[User:Admin|Admin]] ([[User talk:Admin|talk]]) 09:00, 1 December 2026 (UTC)",
        desk_marker("application:12"),
        "* '''Support''' good editor. [[User:Alice|Alice]] ([[User talk:Alice|talk]]) "
        "13:05, 3 December 2026 (UTC)",
        "*: Why? --[[User_talk:bob smith|Bob]] 14:10, 3 December 2026 (UTC)",
        ":: Because I say so. — [[Benutzer:Dörte|Dörte]] 7:02, 4 December 2026 (UTC)",
        "* Oppose [[Special:Contributions/192.0.2.7|192.0.2.7]] 08:00, 5 December 2026 (UTC)",
        "Agree with [[User:Alice|Alice]] here. "
        '[[User:Carol|<span style="color:red">Carol</span>]] 09:15, 5 December 2026 (UTC)',
        "A late thought without a name.",
    ]
    body = "\n".join(lines) + "\n"
    assert comments_in(body) == [
        Comment("Alice", "'''Support''' good editor.", at(3, 13, 5)),
        Comment("Bob smith", "Why?", at(3, 14, 10)),
        Comment("Dörte", "Because I say so.", at(4, 7, 2)),
        Comment("192.0.2.7", "Oppose", at(5, 8, 0)),
        Comment("Carol", "Agree with [[User:Alice|Alice]] here.", at(5, 9, 15)),
        Comment("", "A late thought without a name.", None),
    ]


def test_unsigned_desk_post_and_other_time_zones():
    body = f"""The desk's post, unsigned.
{desk_marker("application:3")}
Looks fine to me [[User:Eve|Eve]] 10:00, 6 December 2026 (CET)
A date in a sentence: 10:00, 6 December 2026 (UTC) is not a signature.
"""
    assert comments_in(body) == [
        Comment("Eve", "Looks fine to me", None),
        Comment(
            "",
            "A date in a sentence: 10:00, 6 December 2026 (UTC) is not a signature.",
            None,
        ),
    ]


def test_a_marker_is_a_hidden_comment():
    assert desk_marker("application:12") == "<!-- wikibridge:application:12 -->"
    assert desk_marker("a --> b") == "<!-- wikibridge:a - b -->"


def test_empty_section():
    assert comments_in("\n\n") == []
