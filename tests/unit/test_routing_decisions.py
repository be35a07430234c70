"""Routing decides the same as before the speed work (issue 13), message by message.

``tests/fixtures/mail/routing-decisions.json`` holds, for every message of the
test corpus and for the generated bench corpus's messages under 20 KB (the
first 600 of seed 1), the queue, rule and language that :func:`tickets.routing.route`
chose under the default policy, and a digest of :func:`tickets.text.main_text`,
as the code decided them before quote stripping and language detection were
made faster.  Making them faster must not move a single message.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from bench.corpus import generate
from tickets.intake import prepare
from tickets.language import LanguageDetector
from tickets.routing import Policy, route
from tickets.text import main_text

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "mail"
EXPECTED: dict[str, list[str | None]] = json.loads(
    (FIXTURES / "routing-decisions.json").read_text(encoding="utf-8")
)
GENERATED_COUNT, GENERATED_SEED, GENERATED_MAX_SIZE = 600, 1, 20_000


def _messages() -> dict[str, bytes]:
    messages = {
        path.name: path.read_bytes() for path in sorted((FIXTURES / "corpus").glob("*.eml"))
    }
    for i, raw in enumerate(generate(GENERATED_COUNT, GENERATED_SEED)):
        if len(raw) <= GENERATED_MAX_SIZE:
            messages[f"gen{i}"] = raw
    return messages


def test_every_message_is_decided_as_before() -> None:
    policy = Policy()
    detector = LanguageDetector(policy.languages)
    messages = _messages()
    assert set(messages) == set(EXPECTED)
    changed = {}
    for name, raw in messages.items():
        parsed = prepare(raw).parsed
        decision = route(parsed, policy, detector)
        digest = hashlib.sha256(main_text(parsed.body).encode()).hexdigest()[:16]
        got = [decision.queue, decision.rule, decision.language, digest]
        if got != EXPECTED[name]:
            changed[name] = (EXPECTED[name], got)
    assert not changed, changed
