"""What makes two deliveries one message (routing rule 2)."""

from __future__ import annotations

from tickets.mail import content_digest

MSG = (
    b"From: a@example.org\nTo: info@wikimedia.org\nSubject: Hi\n"
    b"Message-ID: <one@example.org>\n\nHello\n"
)


def test_transport_headers_and_line_ends_are_left_out():
    redelivered = (
        b"Return-Path: <a@example.org>\r\nDelivered-To: info@wikimedia.org\r\n"
        b"X-Original-To: info@wikimedia.org\r\n"
        b"Received: from mx.example.org\r\n\tby desk.example.org; Thu, 3 Dec 2026\r\n"
        + MSG.replace(b"\n", b"\r\n")
        + b"\r\n"
    )
    assert content_digest(redelivered) == content_digest(MSG)


def test_any_other_difference_is_another_message():
    assert content_digest(MSG.replace(b"Hello", b"Hallo")) != content_digest(MSG)
    assert content_digest(MSG.replace(b"Subject: Hi", b"Subject: Hi!")) != content_digest(MSG)
    assert content_digest(b"X-Received: 1\n" + MSG) != content_digest(MSG)


def test_a_received_line_in_the_body_is_kept():
    body = MSG + b"Received: this is text, not a header\n"
    assert content_digest(body) != content_digest(MSG)


def test_garbage_never_raises():
    for raw in (b"", b"\n\n", b"\x00\xff\r", b":::\n \n\tx"):
        assert len(content_digest(raw)) == 64
