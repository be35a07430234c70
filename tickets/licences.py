"""Which free licences a permission statement names, as SPDX-like ids.

People write licences in every form: codes ("CC BY-SA 4.0", "cc-by-sa-4.0"),
names in their own language ("Creative Commons Namensnennung – Weitergabe
unter gleichen Bedingungen 4.0 International", "Reconocimiento-CompartirIgual
4.0"), deed URLs (https://creativecommons.org/licenses/by-sa/4.0/).  Each form
is one regular expression of the table below, tried over text folded to one
spelling (NFKC, dashes as "-", one space for white space); each names its
elements (``sa``, ``version``, ``nonfree``…) so one function turns any match
into an id.

Non-free variants (NC, ND) are recognised so that they are *not* taken for the
free licence they contain: "CC BY-NC-SA 4.0" names no licence we accept.
A version-less "CC BY-SA" is 4.0, what the Wikimedia permission form uses.
"""

from __future__ import annotations

import re
import unicodedata

_DEFAULT_VERSION = "4.0"
_GFDL = "GFDL-1.2"
_CC0 = "CC0-1.0"

# --- Words of the long names, per language ---------------------------------------

_ATTRIBUTION = (
    r"(?:attribution|namensnennung|paternit[eé]|attribuzione|reconocimiento"
    r"|atribuci[oó]n|atribui[cç][aã]o|naamsvermelding|uznanie autorstwa|атрибуция"
    r"|uveďte původ|uvedte puvod)"
)
_SHARE_ALIKE = (
    r"(?:share[- ]?alike|weitergabe unter gleichen bedingungen"
    r"|partage dans les m[eê]mes conditions|compartir ?igual|condividi allo stesso modo"
    r"|compartilha ?igual|gelijk ?delen|na tych samych warunkach|с сохранением условий"
    r"|zachovejte licenci)"
)
# Non-free elements: their presence makes the match name no accepted licence.
_NON_FREE = (
    r"(?:non[- ]?commercial|nicht[- ]?kommerziell|pas d'utilisation commerciale"
    r"|no ?comercial|non ?commerciale|niet[- ]?commercieel|użycie niekomercyjne"
    r"|n[aã]o ?comercial|некоммерческое|neužívejte komerčně"
    r"|no[- ]?deriv(?:ative)?s?|keine bearbeitungen?|pas de modifications?"
    r"|sin ?obras? ?derivadas?|sin ?derivadas|non opere derivate|geen afgeleide werken"
    r"|bez utworów zależnych|sem deriva[cç][oõ]es|без производных|nezpracovávejte)"
)
_SEPARATOR = r"[ ,:/-]*"
_VERSION = r"(?:(?:version|versi[oó]n|versione|vers[aã]o|versie|wersja|v)\.? ?)?(?P<version>\d\.\d)"

# --- The table: one form of writing a licence per pattern ------------------------

_FORMS: tuple[str, ...] = (
    # Deed URLs: creativecommons.org/licenses/by-sa/4.0/deed.de
    r"creativecommons\.org/licen[cs]es/by(?P<sa>-sa)?(?P<nonfree>-n[cd](?:-n[cd]|-sa)*)?"
    r"/(?P<version>\d\.\d)",
    r"creativecommons\.org/publicdomain/zero(?P<zero>)",
    # Codes: CC BY-SA 4.0, CC-BY-SA-4.0, cc by sa 4.0, CC BY-NC-SA (non-free)
    r"(?<![a-z0-9])(?P<code>cc[- ]?by)(?:(?P<sa>[- ]?sa)|(?P<nonfree>[- ]?n[cd]))*"
    r"(?![a-z])(?:[- ]?" + _VERSION + r")?(?![0-9])",
    # Creative Commons BY-SA 4.0: the code spelled half out
    r"creative[- ]?commons(?P<cc>)[- ]by(?:(?P<sa>[- ]?sa)|(?P<nonfree>[- ]?n[cd]))*"
    r"(?![a-z])(?:[- ]?" + _VERSION + r")?(?![0-9])",
    # CC0, CC0 1.0, CC Zero, Creative Commons Zero
    r"(?<![a-z0-9])cc(?:[- ]?0|[- ]zero)(?P<zero>)(?![a-z0-9])",
    r"creative[- ]?commons[- ]zero(?P<zero>)",
    # Creative Commons Attribution-ShareAlike 4.0 International, and translations;
    # "Reconocimiento-CompartirIgual 4.0" needs no "Creative Commons" before it.
    r"(?P<cc>creative[- ]?commons(?: licen[cs]e| lizenz| licencia| licenza| licence)?"
    + _SEPARATOR
    + r")?"
    + _ATTRIBUTION
    + r"(?:"
    + _SEPARATOR
    + r"(?:(?P<sa>"
    + _SHARE_ALIKE
    + r")|(?P<nonfree>"
    + _NON_FREE
    + r")))*(?:"
    + _SEPARATOR
    + _VERSION
    + r")?",
    # GFDL, GNU Free Documentation License, GNU FDL
    r"(?<![a-z0-9])(?:gfdl|gnu[- ]fdl|gnu free documentation licen[cs]e)(?P<gfdl>)(?![a-z])",
)

_PATTERNS: tuple[re.Pattern[str], ...] = tuple(re.compile(form) for form in _FORMS)
# The bare code "cc by" (no SA, no version) is also ordinary English ("in cc by
# mistake"): it counts only when written in capitals.
_BARE_CODE = re.compile(r"CC[- ]?BY")
_DASHES = str.maketrans({c: "-" for c in "‐‑‒–—―−"} | {c: "'" for c in "’‘`´ʼ"})
_SPACES = re.compile(r"\s+")


def _fold(text: str) -> str:
    """NFKC, one kind of dash and apostrophe, one space for white space (case kept)."""
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", text).translate(_DASHES))


def _licence(match: re.Match[str], original: str) -> str | None:
    """The id a match names, or ``None`` for a non-free or too vague one."""
    found = {name: value for name, value in match.groupdict().items() if value is not None}
    if "nonfree" in found:
        return None
    if "zero" in found:
        return _CC0
    if "gfdl" in found:
        return _GFDL
    version = found.get("version")
    bare = "code" in found and "sa" not in found and version is None
    if bare and not _BARE_CODE.fullmatch(original[match.start("code") : match.end("code")]):
        return None
    # A translated "Attribution" alone is an ordinary word: it needs
    # "Creative Commons" before it, "share alike" or a version after it.
    if "code" not in found and "cc" not in found and "sa" not in found and version is None:
        return None
    kind = "CC-BY-SA" if "sa" in found else "CC-BY"
    return f"{kind}-{version or _DEFAULT_VERSION}"


def licences_named(text: str) -> list[str]:
    """Licence ids named in ``text``, in order of appearance, each once.

    >>> licences_named("I release it under CC BY-SA 4.0 (or CC0 if you prefer).")
    ['CC-BY-SA-4.0', 'CC0-1.0']
    """
    if not isinstance(text, str) or not text:
        return []
    original = _fold(text)
    folded = original.lower()
    # Lower-casing can change lengths (e.g. "İ"); the case check then just fails safe.
    if len(folded) != len(original):
        original = folded
    found: list[tuple[int, int, str]] = []
    for pattern in _PATTERNS:
        for match in pattern.finditer(folded):
            licence = _licence(match, original)
            if licence is not None:
                found.append((match.start(), -match.end(), licence))
    ordered: list[str] = []
    for _, _, licence in sorted(found):
        if licence not in ordered:
            ordered.append(licence)
    return ordered


def licence_named(text: str) -> str | None:
    """The licence ``text`` names when it names exactly one, else ``None``."""
    named = licences_named(text)
    return named[0] if len(named) == 1 else None
