"""Whether a message is a permission statement: a copyright holder releasing a work.

A statement names a free licence and performs an act: "I release", "I agree to
publish", "you may use my photo", the formal "I hereby affirm that I am the
creator…" of the Wikimedia declaration of consent, or a claim of authorship
("I took this picture") in the same sentence as the licence.  A question that
merely mentions a licence ("can I use a CC BY-SA photo in my book?") is not one,
so sentences that ask (ending in a question mark, or a Japanese/Chinese question
particle) count for nothing, and acts right after "if", "can", "how", "not" and
their translations are hypothetical, not performed.

Pure regular expressions over the normalised text (NFKC, lower case, one space
for any run of white space, so phrases may be broken across lines), one group
per language (in :mod:`tickets.statement_patterns`).  Every language's patterns
are tried whatever the language of the text, because detection can be wrong
and people mix languages; the language only decides which group is tried first.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Iterator
from re import _constants, _parser  # type: ignore[attr-defined,unused-ignore]

from tickets.records import Record
from tickets.statement_patterns import LANGUAGES, LICENCE_NAMES

# Not typing itself at run time: ``mail deliver`` imports this module (see tickets.records).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

# --- Licences --------------------------------------------------------------------


def _first_characters(pattern: str) -> frozenset[str] | None:
    """Every character a match of ``pattern`` can begin with (``None``: any, or unknown).

    Python's regular expressions try each of dozens of alternatives at every
    position; a lookahead on the first character skips most positions at once
    (four times faster on ordinary mail).  Read from the pattern as the
    regular expression parser sees it, so an optional word before the first
    one, a group or a class is followed; anything it cannot tell gives ``None``
    (no lookahead), never a class that is too narrow.
    """
    try:
        parsed = _parser.parse(pattern)
    except re.error:
        return None
    if parsed.state.flags & (re.IGNORECASE | re.LOCALE):
        return None
    found, empty = _sequence_starts(list(parsed))
    return None if found is None or empty else frozenset(found)


def _sequence_starts(items: list[tuple[Any, Any]]) -> tuple[set[str] | None, bool]:
    """The first characters of a sequence of items, and whether it can match nothing."""
    found: set[str] = set()
    for item in items:
        starts, empty = _item_starts(*item)
        if starts is None:
            return None, False
        found |= starts
        if not empty:
            return found, False
    return found, True


def _item_starts(op: Any, arg: Any) -> tuple[set[str] | None, bool]:
    if op is _constants.LITERAL:
        return {chr(arg)}, False
    if op is _constants.IN:
        chars: set[str] = set()
        for kind, value in arg:
            if kind is _constants.LITERAL:
                chars.add(chr(value))
            elif kind is _constants.RANGE and value[1] - value[0] < 1024:
                chars.update(map(chr, range(value[0], value[1] + 1)))
            else:  # negated, \w, a wide range: any character, as far as we know
                return None, False
        return chars, False
    if op in (_constants.AT, _constants.ASSERT, _constants.ASSERT_NOT):
        return set(), True  # zero width: the next item starts the match
    if op is _constants.SUBPATTERN:
        _group, add_flags, _del_flags, inner = arg
        if add_flags & (re.IGNORECASE | re.LOCALE):
            return None, False
        return _sequence_starts(list(inner))
    if op is _constants.BRANCH:
        found: set[str] = set()
        empty = False
        for branch in arg[1]:
            starts, branch_empty = _sequence_starts(list(branch))
            if starts is None:
                return None, False
            found |= starts
            empty = empty or branch_empty
        return found, empty
    if op in (_constants.MAX_REPEAT, _constants.MIN_REPEAT, _constants.POSSESSIVE_REPEAT):
        low, _high, inner = arg
        starts, empty = _sequence_starts(list(inner))
        return starts, empty or low == 0
    return None, False


def _skipping(pattern: str) -> str:
    """``pattern``, behind a lookahead for its first characters where they are known."""
    starts = _first_characters(pattern)
    if not starts:
        return pattern
    return f"(?=[{''.join(sorted(re.escape(c) for c in starts))}])(?:{pattern})"


@functools.cache
def _licence() -> re.Pattern[str]:
    """Any licence's name (compiled on first use: every ``mail deliver`` imports this module)."""
    return re.compile(_skipping("|".join(LICENCE_NAMES)))


# --- Normalisation and sentences -------------------------------------------------

_ARABIC_MARKS = "\u0610-\u061a\u064b-\u065f\u0670\u0640"
_ALEFS = {"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا"}
_ARABIC_ALEFS = str.maketrans(_ALEFS)
_APOSTROPHES = {c: "'" for c in "’‘`´ʼ"} | {c: "-" for c in "‐‑‒–—―"}
# Arabic marks dropped, alefs and apostrophes and dashes made one: one table,
# used only on text that has one of them (str.translate takes ~0.1 µs a
# character, a third of the time of finding no statement in a message).
_FOLD = str.maketrans(
    {chr(c): None for c in [*range(0x610, 0x61B), *range(0x64B, 0x660), 0x670, 0x640]}
    | _ALEFS
    | _APOSTROPHES
)
_TO_FOLD = re.compile(f"[{_ARABIC_MARKS}{''.join(_ALEFS)}{''.join(_APOSTROPHES)}]")
_SPACES = re.compile(r"\s+")
_PARAGRAPHS = re.compile(r"\n\s*\n")
# A sentence ends at . or ; followed by white space (so "4.0" and "File:a.jpg"
# stay whole), after ! and ? (NFKC has made the CJK ones ASCII), and after the
# CJK full stop and the Arabic question mark.
_SENTENCE_END = re.compile(r"(?<=[.;])\s+|(?<=[!?])(?![!?])\s*|(?<=[。؟])\s*")
_QUESTION_END = re.compile(r"[?？؟]\W*$")
_JA_QUESTION = re.compile(r"(?:か|かな|かしら|でしょうか)\W*$")
_ZH_QUESTION = re.compile(r"(?:吗|嗎|呢)\W*$|请问|請問|是否|能否|可否|怎么|怎麼|为什么|為什麼")


def _normalise(text: str) -> str:
    """Lower case, compatibility forms folded, one space for white space.

    Paragraph breaks stay (as one blank line): they end a sentence even
    without a full stop, as in "Hello\n\nI release …".
    """
    text = unicodedata.normalize("NFKC", text).lower().replace("ß", "ss")
    if _TO_FOLD.search(text):
        text = text.translate(_FOLD)
    return "\n\n".join(_SPACES.sub(" ", p).strip() for p in _PARAGRAPHS.split(text))


def _sentences(text: str) -> Iterator[str]:
    for paragraph in text.split("\n\n"):
        for sentence in _SENTENCE_END.split(paragraph):
            sentence = sentence.strip()
            if sentence:
                yield sentence


def _is_question(sentence: str) -> bool:
    return bool(
        _QUESTION_END.search(sentence)
        or sentence.startswith("¿")
        or _JA_QUESTION.search(sentence)
        or _ZH_QUESTION.search(sentence)
    )


# --- Matching --------------------------------------------------------------------


class _Compiled(Record):
    code: str
    acts: re.Pattern[str]
    authorship: re.Pattern[str]
    guards: frozenset[str]
    negations: frozenset[str]
    subordinators: frozenset[str]
    weak_acts: re.Pattern[str]
    negation_after: bool
    complaints: re.Pattern[str]


def _alternation(patterns: Iterable[str]) -> re.Pattern[str]:
    # The Arabic patterns go through the same spelling normalisation as the text.
    joined = "|".join(f"(?:{p})" for p in patterns).translate(_ARABIC_ALEFS)
    return re.compile(_skipping(joined) if joined else r"(?!)")


_PATTERNS = {p.code: p for p in LANGUAGES}


@functools.cache
def _compiled(code: str) -> _Compiled:
    """One language's patterns, compiled on first use.

    Compiling all of them took ~20 ms, paid by every process that imported
    this module; most mail names no licence and never needs them.
    """
    p = _PATTERNS[code]
    return _Compiled(
        p.code,
        _alternation(p.acts),
        _alternation(p.authorship),
        p.guards,
        p.negations,
        p.subordinators,
        _alternation(p.weak_acts),
        p.negation_after,
        _alternation(p.complaints),
    )


# Negations of every language count everywhere: "Não autorizo" must stop the
# Spanish "autorizo" as well as the Portuguese one.  (Chinese is apart: its
# characters are not words.)
_NEGATIONS = frozenset().union(*(p.negations for p in LANGUAGES if p.code != "zh"))
_WORD = re.compile(r"\w+(?:'\w+)?|\w+'")
_CLAUSE_END = re.compile(r"[,;:]")


def _negated(words: Iterable[str]) -> bool:
    return any(word in _NEGATIONS or word.startswith("n'") for word in words)


def _guarded(patterns: _Compiled, sentence: str, match: re.Match[str]) -> bool:
    """Whether the act is hypothetical ("if I release") or negated ("nicht … frei")."""
    if patterns.code == "zh":
        # No words to count: a negating character just before or inside.
        near = sentence[max(0, match.start() - 2) : match.end()]
        return any(char in near for char in patterns.negations)
    before = _WORD.findall(sentence[max(0, match.start() - 40) : match.start()])[-2:]
    if any(word in patterns.guards for word in before) or _negated(before):
        return True
    if any(word in patterns.subordinators for word in _WORD.findall(match.group(0))):
        return True
    end = match.end()
    if patterns.negation_after:
        clause_end = _CLAUSE_END.search(sentence, end)
        end = clause_end.start() if clause_end else len(sentence)
    return _negated(_WORD.findall(sentence[match.start() : end]))


def _claim(patterns: _Compiled, sentence: str) -> str | None:
    """An authorship claim in a sentence that neither complains nor negates."""
    claim = patterns.authorship.search(sentence)
    if claim is None or patterns.complaints.search(sentence):
        return None
    if patterns.code == "zh":
        return None if any(c in sentence for c in patterns.negations) else claim.group(0)
    return None if _negated(_WORD.findall(sentence)) else claim.group(0)


def _act(patterns: _Compiled, sentence: str) -> str | None:
    for match in patterns.acts.finditer(sentence):
        if not _guarded(patterns, sentence, match):
            return match.group(0)
    return None


def _order(language: str | None) -> Iterator[_Compiled]:
    """Every language's patterns, the detected language's first (each compiled when reached)."""
    first = (language or "").lower()[:2]
    if first in _PATTERNS:
        yield _compiled(first)
    for code in _PATTERNS:
        if code != first:
            yield _compiled(code)


def _evidence(act: str, sentence_with_licence: str) -> str:
    licence = _licence().search(sentence_with_licence)
    named = licence.group(0) if licence else ""
    phrase = act.strip() if not named or named in act else f"{act.strip()} … {named}"
    return phrase[:160]


def statement_evidence(text: str, language: str | None = None) -> str | None:
    """The phrase that makes ``text`` a permission statement, or ``None``.

    :param text: the sender's own text (:func:`tickets.text.main_text`).
    :param language: the detected language, if known; its patterns are tried
        first, which only changes which phrase is reported.
    :return: the act found (with the licence named, when the act does not
        contain it), e.g. ``"i release … cc by-sa"``, for explaining a decision.
    """
    if not isinstance(text, str) or not text.strip():
        return None
    try:
        return _find(_normalise(text), language)
    except Exception:  # noqa: BLE001 - routing must go on if a pattern misbehaves
        return None


def _find(text: str, language: str | None) -> str | None:
    licence = _licence()
    if not licence.search(text):
        # Most mail names no licence: one scan, and done.
        return None
    statements = [s for s in _sentences(text) if not _is_question(s)]
    first_licence = next((s for s in statements if licence.search(s)), None)
    if first_licence is None:
        return None
    # A pattern that finds nothing in all the sentences together finds
    # nothing in any one of them (the line break between them is no word,
    # no space and no character any pattern looks behind or ahead for), so
    # one search tells which languages need no sentence-by-sentence look.
    together = "\n".join(statements)
    for patterns in _order(language):
        if not patterns.acts.search(together):
            continue
        for sentence in statements:
            act = _act(patterns, sentence)
            if act is not None:
                return _evidence(act, first_licence)
    # "I took this picture, CC BY-SA 4.0": authorship and licence in one
    # sentence, unless it complains ("… used my photo without asking").
    claims = [
        (p, s, c)
        for p in _order(language)
        if p.authorship.search(together)
        for s in statements
        if (c := _claim(p, s))
    ]
    for _, sentence, claim in claims:
        if licence.search(sentence):
            return _evidence(claim, sentence)
    # "I took it myself. It may be used under CC BY-SA": a passive permission
    # counts when the writer also claims to be the author.
    if claims:
        for patterns in _order(language):
            if not patterns.weak_acts.search(together):
                continue
            for sentence in statements:
                for match in patterns.weak_acts.finditer(sentence):
                    if not _guarded(patterns, sentence, match):
                        return _evidence(f"{claims[0][2]} … {match.group(0)}", first_licence)
    return None


def is_permission_statement(text: str, language: str | None = None) -> bool:
    """Whether ``text`` releases a work under a free licence (see the module doc).

    :param text: the sender's own text (:func:`tickets.text.main_text`).
    :param language: the detected language, if known (a hint only).
    """
    return statement_evidence(text, language) is not None
