"""Which language a message is written in, among the languages the desk serves.

The decision is in two steps.  The writing system comes first and is exact:
kana means Japanese, Hangul Korean, Cyrillic one of the Cyrillic languages, and
a script that no configured language uses means "none of ours" (so Korean mail
stays in the parent queue instead of being forced into ``zh`` or ``ja``).  Within
a script with several candidates, py3langid's naive Bayes model decides,
restricted to those candidates, which makes it both faster and more accurate
on the short texts help-desk mail consists of.

``wikibridge mail deliver`` runs one process per message, so the model is
loaded on the first :meth:`detect` that needs it (never on import), once per
process, and shared by all detectors; :mod:`tickets.language_model` keeps it
in a cache file that loads in about a millisecond and scores it without numpy.
"""

from __future__ import annotations

import _thread
import os
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

# Not typing itself at run time: ``mail deliver`` imports this module (see tickets.records).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from tickets.language_model import LanguageModel

# --- Scripts -----------------------------------------------------------------

_LATIN, _CYRILLIC, _GREEK, _ARABIC, _HEBREW = "latin", "cyrillic", "greek", "arabic", "hebrew"
_HAN, _KANA, _HANGUL, _THAI, _DEVANAGARI = "han", "kana", "hangul", "thai", "devanagari"
_OTHER = "other"

# Unicode blocks that decide a script, as (first, last, script), checked in order.
_BLOCKS: tuple[tuple[int, int, str], ...] = (
    (0x0000, 0x024F, _LATIN),
    (0x0370, 0x03FF, _GREEK),
    (0x0400, 0x052F, _CYRILLIC),
    (0x0590, 0x05FF, _HEBREW),
    (0x0600, 0x06FF, _ARABIC),
    (0x0750, 0x077F, _ARABIC),
    (0x08A0, 0x08FF, _ARABIC),
    (0x0900, 0x097F, _DEVANAGARI),
    (0x0E00, 0x0E7F, _THAI),
    (0x1100, 0x11FF, _HANGUL),
    (0x1E00, 0x1EFF, _LATIN),
    (0x1F00, 0x1FFF, _GREEK),
    (0x3040, 0x30FF, _KANA),
    (0x3130, 0x318F, _HANGUL),
    (0x31F0, 0x31FF, _KANA),
    (0x3400, 0x4DBF, _HAN),
    (0x4E00, 0x9FFF, _HAN),
    (0xAC00, 0xD7AF, _HANGUL),
    (0xF900, 0xFAFF, _HAN),
    (0xFB50, 0xFDFF, _ARABIC),
    (0xFE70, 0xFEFF, _ARABIC),
    (0xFF66, 0xFF9F, _KANA),
    (0x20000, 0x2FFFF, _HAN),
)

# The script of each language that is not written in Latin letters; every
# other code is taken to be Latin.
_LANGUAGE_SCRIPTS: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(("ru", "uk", "be", "bg", "mk", "sr", "kk", "ky", "mn", "tg"), (_CYRILLIC,)),
    **dict.fromkeys(("ar", "fa", "ur", "ps", "ug"), (_ARABIC,)),
    **dict.fromkeys(("he", "yi"), (_HEBREW,)),
    "el": (_GREEK,),
    "ko": (_HANGUL,),
    "th": (_THAI,),
    **dict.fromkeys(("hi", "mr", "ne"), (_DEVANAGARI,)),
    "ja": (_KANA, _HAN),
    "zh": (_HAN,),
}

# One CJK character carries about as much as a short word, so it weighs more
# than a letter when deciding which script dominates a mixed text.
_CJK_WEIGHT = 3
_CJK = frozenset({_HAN, _KANA, _HANGUL})

# Japanese is rarely written without kana, Chinese almost never with it:
# a little kana among Han characters means Japanese.
_KANA_SHARE_FOR_JAPANESE = 0.1

# --- Noise that says nothing about the language --------------------------------

_NOISE = re.compile(
    r"(?:https?://|ftp://|www\.)\S+"  # links
    r"|\S+@\S+"  # addresses
    r"|\b(?:cc[\s-]*(?:by|0|zero)(?:[\s-]*(?:sa|nc|nd))*|gfdl)\b"  # licence codes
    r"|\b\w*\d\w*\b",  # numbers, dates, ticket numbers and codes like 4.0 or x86
    re.IGNORECASE,
)
# The same without the address alternative, for text with no "@": that
# alternative cannot match there, yet tries every position of every run of
# non-spaces (quadratic in a run, and a line of CJK text is one run).
_NOISE_WITHOUT_ADDRESSES = re.compile(_NOISE.pattern.replace(r"|\S+@\S+", "", 1), re.IGNORECASE)
# Text is in a language we do not serve when our languages together get less
# than this probability while one other language gets more than the peak.
# Measured with bench/language.py's texts: ours keep >= 0.16 of the mass,
# texts in Swedish, Turkish, Hungarian, Slovak, Catalan... leave ours < 0.02.
_FOREIGN_MASS = 0.05
_FOREIGN_PEAK = 0.3
# The characters analysed (after links, addresses and numbers are removed):
# language is clear long before, and the model's work grows with the length.
# Was 4000; 2000 decides every message of the test and bench corpora alike
# (tests/unit/test_routing_decisions.py) for a tenth less detection time.
_MAX_CHARS = 2000


def _script_of(char: str) -> str | None:
    if not char.isalpha():
        return None
    code = ord(char)
    for first, last, script in _BLOCKS:
        if first <= code <= last:
            return script
    return _OTHER


# Characters seen before and their script: mail uses few distinct characters,
# and a dict lookup beats walking the block table for each of them.  Bounded,
# since the set of characters the internet can send is not.
_script_cache: dict[str, str | None] = {}
_SCRIPT_CACHE_SIZE = 20000


def _script_counts(text: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    cache = _script_cache
    for char, n in Counter(text).items():
        try:
            script = cache[char]
        except KeyError:
            script = _script_of(char)
            if len(cache) < _SCRIPT_CACHE_SIZE:
                cache[char] = script
        if script is not None:
            counts[script] = counts.get(script, 0) + n
    return counts


def _dominant_script(counts: dict[str, int]) -> str | None:
    """The script most of the text is in; kana among Han makes it Japanese."""
    if not counts:
        return None
    weighted = {s: n * (_CJK_WEIGHT if s in _CJK else 1) for s, n in counts.items()}
    han, kana = counts.get(_HAN, 0), counts.get(_KANA, 0)
    if han + kana:
        # Han and kana are one writing system when they appear together.
        weighted.pop(_HAN, None)
        weighted.pop(_KANA, None)
        share = kana / (han + kana)
        weighted[_KANA if share >= _KANA_SHARE_FOR_JAPANESE else _HAN] = (han + kana) * _CJK_WEIGHT
    return max(weighted, key=lambda s: weighted[s])


# --- The model, loaded once per process ----------------------------------------

# threading.Lock is this very function; threading itself is not needed by
# ``mail deliver`` (a process per message) for one lock.
_model_lock = _thread.allocate_lock()
_model: LanguageModel | None = None


def _load_model() -> LanguageModel:
    """py3langid's model, loaded on first call, once per process."""
    global _model
    if _model is None:
        with _model_lock:
            if _model is None:
                # Imported here: a process that never needs the model skips it.
                from tickets import language_model

                _model = language_model.load(_cache_dir())
    return _model


def _cache_dir() -> Path:
    configured = os.environ.get("WIKIBRIDGE_CACHE_DIR")
    if configured:
        return Path(configured)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "wikibridge"


def preload() -> None:
    """Load the model now, e.g. in a long-running worker before the first mail."""
    _load_model()


def model_languages() -> frozenset[str]:
    """The language codes the py3langid model knows (loads the model)."""
    return frozenset(_load_model().labels)


# --- The detector ----------------------------------------------------------------


class LanguageDetector:
    """Tells which of a fixed set of languages a text is written in.

    Creating one is cheap; the model is loaded on the first :meth:`detect` that
    has to choose between languages of the same script.
    """

    def __init__(
        self,
        languages: Iterable[str],
        *,
        min_letters: int = 4,
        min_confidence: float = 0.5,
    ) -> None:
        """Choose among ``languages`` (ISO 639-1 codes); English is always added.

        :param languages: the codes to choose among, e.g. the policy's subqueue
            languages; case and duplicates do not matter.
        :param min_letters: texts with fewer letters (after links, addresses
            and numbers are removed) are undecidable; a CJK character counts
            as three letters.
        :param min_confidence: below this probability (after restriction to the
            candidates of the text's script) the answer is ``None``.
        """
        codes = {str(code).strip().lower() for code in languages}
        codes = {code for code in codes if code}
        codes.add("en")
        self.languages: tuple[str, ...] = tuple(sorted(codes))
        self.min_letters = min_letters
        self.min_confidence = min_confidence
        self._by_script: dict[str, frozenset[str]] = {}
        # The model's columns of each set of candidates met so far.
        self._columns: dict[frozenset[str], tuple[int, ...]] = {}
        for code in self.languages:
            for script in _LANGUAGE_SCRIPTS.get(code, (_LATIN,)):
                self._by_script[script] = self._by_script.get(script, frozenset()) | {code}

    def detect(self, text: str) -> str | None:
        """The language ``text`` is written in, or ``None`` if it cannot tell.

        ``None`` means empty or too short, mostly links and numbers, written in
        a script none of the languages uses, or too uncertain.  Never raises.
        """
        try:
            return self._detect(text)
        except Exception:  # noqa: BLE001 - routing must go on without a language
            return None

    def _detect(self, text: str) -> str | None:
        if isinstance(text, bytes):
            text = text.decode("utf-8", errors="replace")
        if not isinstance(text, str) or not text:
            return None
        text = unicodedata.normalize("NFKC", text[: _MAX_CHARS * 2])
        noise = _NOISE if "@" in text else _NOISE_WITHOUT_ADDRESSES
        text = noise.sub(" ", text)[:_MAX_CHARS]
        counts = _script_counts(text)
        script = _dominant_script(counts)
        if script is None:
            return None
        letters = sum(n * (_CJK_WEIGHT if s in _CJK else 1) for s, n in counts.items())
        if letters < self.min_letters:
            return None
        candidates = self._by_script.get(script)
        if not candidates and script == _HAN:
            # Kanji-only Japanese is still Japanese when Chinese is not offered.
            candidates = self._by_script.get(_KANA)
        if not candidates:
            return None
        if len(candidates) == 1:
            # The script alone decides (Cyrillic means ru when ru is the only
            # Cyrillic language served), and the model need not be loaded.
            # Ukrainian thus lands in ru: close enough, and cheap.
            return next(iter(candidates))
        return self._choose(text, candidates)

    def _choose(self, text: str, candidates: frozenset[str]) -> str | None:
        """The most probable of ``candidates``, unless the text is in none of them.

        One scoring over all the model's languages, renormalised over the
        candidates, gives exactly what py3langid's ``set_languages(candidates)``
        would (the same scores under the same softmax) and, besides, how much
        probability other languages take: Swedish or Turkish text should reach
        the parent queue, not be forced into German or French.
        """
        model = _load_model()
        columns = self._columns.get(candidates)
        if columns is None:
            columns = self._columns[candidates] = tuple(
                i for i, label in enumerate(model.labels) if label in candidates
            )
        if not columns:
            return None
        probabilities = model.distribution(text)
        mass = sum(map(probabilities.__getitem__, columns))
        # The model's order of languages breaks ties, as py3langid's ranking.
        best = max(columns, key=probabilities.__getitem__)
        confidence = probabilities[best] / mass if mass > 0.0 else 0.0
        for column in columns:
            probabilities[column] = 0.0
        foreign = max(probabilities)
        # A short text spreads its probability thinly over all the model's
        # languages; only a concentrated foreign answer means "not ours".
        if mass < _FOREIGN_MASS and foreign > _FOREIGN_PEAK:
            return None
        if mass <= 0.0 or confidence < self.min_confidence:
            return None
        return model.labels[best]
