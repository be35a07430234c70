"""Property-based fuzzing of MIME input: never an unhandled error, raw bytes always kept."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from tickets.intake import deliver, raw_bytes
from tickets.language import LanguageDetector
from tickets.mail import parse
from tickets.models import RawMessage
from tickets.routing import Policy
from wikibridge.db import new_session

FIXTURES = Path(__file__).parent / "fixtures" / "mail"
SEEDS = [p.read_bytes() for p in sorted(FIXTURES.rglob("*.eml"))][:30]
POLICY = Policy()
DETECTOR = LanguageDetector(POLICY.languages)

header_names = st.sampled_from(
    [
        "From",
        "To",
        "Cc",
        "Subject",
        "Message-ID",
        "In-Reply-To",
        "References",
        "Content-Type",
        "Content-Transfer-Encoding",
        "MIME-Version",
        "X-Spam-Status",
        "Content-Disposition",
        "Delivered-To",
    ]
)
header_values = st.one_of(
    st.text(max_size=80),
    st.sampled_from(
        [
            'multipart/mixed; boundary="b1"',
            "multipart/alternative; boundary=",
            "text/plain; charset=x-unknown",
            "text/html; charset=utf-8",
            "base64",
            "quoted-printable",
            "=?utf-8?b?w6k=?=",
            "=?bogus?q?=ZZ?=",
            "<a@b>",
            "<>",
            "info@wikimedia.org",
            '"A, B" <x@y>',
            "application/pdf; name=x.pdf",
        ]
    ),
)


@st.composite
def mime_messages(draw: st.DrawFn) -> bytes:
    headers = draw(st.lists(st.tuples(header_names, header_values), max_size=12))
    head = "".join(f"{name}: {value}\r\n" for name, value in headers)
    body = draw(
        st.one_of(
            st.binary(max_size=600),
            st.just(b"--b1\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b1"),
            st.just(b"--b1\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!notbase64\r\n--b1--"),
            st.text(max_size=300).map(lambda t: t.encode("utf-8", "surrogatepass")),
        )
    )
    return head.encode("utf-8", "surrogateescape") + b"\r\n" + body


@st.composite
def mutated_fixtures(draw: st.DrawFn) -> bytes:
    seed = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(0, 8))):
        if not seed:
            break
        pos = draw(st.integers(0, len(seed) - 1))
        seed[pos] = draw(st.integers(0, 255))
    cut = draw(st.integers(0, len(seed)))
    return bytes(seed[:cut]) if draw(st.booleans()) else bytes(seed)


inputs = st.one_of(mime_messages(), mutated_fixtures(), st.binary(max_size=2000))


@given(inputs)
@settings(max_examples=300, deadline=None)
def test_parse_never_raises(raw: bytes) -> None:
    parsed = parse(raw)
    assert isinstance(parsed.body, str)
    assert "\x00" not in parsed.body + parsed.subject + parsed.from_addr


@given(raw=inputs)
@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_deliver_keeps_raw_bytes(app, raw: bytes) -> None:
    with new_session(app) as db:
        result = deliver(db, raw, policy=POLICY, detector=DETECTOR, system_id="10")
        db.commit()
        if result.created:
            stored = db.scalars(select(RawMessage).order_by(RawMessage.id.desc())).first()
            assert stored is not None and raw_bytes(stored) == raw
        else:
            assert result.rule == "duplicate"
