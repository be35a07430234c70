"""The text a sender wrote now: quotes, signatures and HTML taken away.

Routing decides by the language and content of what the customer wrote in this
message, not by the desk's earlier answer they quote below it or by the
disclaimer their employer appends.  Everything here is heuristic and forgiving:
a line that looks like nothing known is kept.

Standard library only, so that delivery (one process per message) stays cheap.
"""

from __future__ import annotations

import re

from tickets.lazy_regex import LazyPattern

# --- Reply attributions ("On <date>, X wrote:") --------------------------------
#
# An attribution ends with a verb and a colon; what precedes it differs per
# client and language.  The verb alone is too weak ("Here is what I wrote:"),
# so a line counts when it also starts with the language's opener ("On",
# "Am", "Le" ...) or names an address or a date (has "@" or a digit).

_ATTRIBUTION_VERB = LazyPattern(
    r"(?:\bwrote|\bschrieb\b.{0,200}|\ba\s+[ée]crit|\bescribi[óo]|\bha\s+scritto"
    r"|\bschreef\b.{0,200}|\bpisze|\bnapisa[łl](?:\s*\(a\)|a)?|\bescreveu"
    r"|\bnapsal(?:\s*\(a\)|a)?|пишет|написал(?:\s*\(а\)|а)?|のメッセージ|は書きました"
    r"|書きました|写道|寫道|كتب)\s*[:：]\s*$",
    re.IGNORECASE,
)
_ATTRIBUTION_OPENER = LazyPattern(
    r"^(?:on|am|le|el|il|op|w\s+dniu|dnia|em|dne|в|在|في)\b", re.IGNORECASE
)
_ATTRIBUTION_HINT = LazyPattern(r"[@\d]")
# Gmail in some languages (Russian, Japanese …) writes no verb at all:
# "<date> <name> <address>:".  Taken as an attribution only above ">" lines.
_BARE_ATTRIBUTION = LazyPattern(r"\d.{0,200}<[^<>\s]+@[^<>\s]+>\s*[:：]\s*$")
# The colons every attribution ends with (ASCII and full-width).
_COLONS = (":", "：")

# --- Outlook and friends -----------------------------------------------------

_ORIGINAL_MESSAGE = LazyPattern(
    r"^\s*-{2,}\s*(?:original\s+message|ursprüngliche\s+nachricht|originalnachricht"
    r"|message\s+d'origine|mensaje\s+original|messaggio\s+originale"
    r"|oorspronkelijk\s+bericht|wiadomość\s+oryginalna|oryginalna\s+wiadomość"
    r"|mensagem\s+original|исходное\s+сообщение|původní\s+zpráva|元のメッセージ"
    r"|原始邮件|原始郵件|الرسالة\s+الأصلية)\s*-{2,}\s*$",
    re.IGNORECASE,
)
_FORWARDED = LazyPattern(
    r"^\s*(?:-{2,}\s*(?:forwarded\s+message|weitergeleitete\s+nachricht"
    r"|message\s+transf[ée]r[ée]|mensaje\s+reenviado|messaggio\s+inoltrato"
    r"|doorgestuurd\s+bericht|wiadomość\s+przekazana(?:\s+dalej)?"
    r"|mensagem\s+encaminhada|пересылаемое\s+сообщение|přeposlaná\s+zpráva"
    r"|転送されたメッセージ|转发的邮件|轉寄的郵件|رسالة\s+مُعاد\s+توجيهها)\s*-{2,}"
    r"|begin\s+forwarded\s+message\s*:|anfang\s+der\s+weitergeleiteten\s+nachricht\s*:"
    r"|d[ée]but\s+du\s+message\s+r[ée]exp[ée]di[ée]\s*:"
    r"|inicio\s+del\s+mensaje\s+reenviado\s*:|inizio\s+messaggio\s+inoltrato\s*:)",
    re.IGNORECASE,
)
# The first line of a header block that a client pastes above the quoted
# message; "*From:*" is how it looks after an HTML part became text.
_HEADER_FROM = LazyPattern(
    r"^\s*\*?(?:from|von|de|da|van|od|от|差出人|发件人|寄件者|寄件人|من)\s*\*?\s*[:：]",
    re.IGNORECASE,
)
_HEADER_NEXT = LazyPattern(
    r"^\s*\*?(?:sent|date|to|subject|gesendet|datum|an|betreff|envoy[ée]|[àa]|objet"
    r"|enviado|fecha|para|asunto|inviato|data|oggetto|verzonden|aan|onderwerp"
    r"|wysłano|wysłane|do|temat|assunto|отправлено|дата|кому|тема|odesláno|komu"
    r"|předmět|送信日時|日付|宛先|件名|发送时间|日期|收件人|主题|寄件日期|收件者|主旨"
    r"|تم\s+الإرسال|التاريخ|إلى|الموضوع)\s*\*?\s*[:：]",
    re.IGNORECASE,
)
_RULE_LINE = LazyPattern(r"^\s*_{8,}\s*$")

# --- Signatures and footers --------------------------------------------------

_SIGNATURE_DASHES = LazyPattern(r"^--\s*$")
_MOBILE_SIGNATURE = LazyPattern(
    r"^\s*(?:sent\s+(?:from|with|via)\s+(?:my\s+)?\S.{0,40}"
    r"|get\s+outlook\s+for\s+\S+"
    r"|von\s+meinem\s+\S.{0,40}\s+gesendet\.?|gesendet\s+(?:von|mit)\s+(?:meinem\s+)?\S.{0,40}"
    r"|envoy[ée]\s+(?:de|depuis)\s+(?:mon\s+)?\S.{0,40}"
    r"|enviado\s+(?:desde|do|de)\s+(?:mi\s+|meu\s+|o\s+meu\s+)?\S.{0,40}"
    r"|inviato\s+da\s+(?:il\s+mio\s+)?\S.{0,40}|inviato\s+dal\s+mio\s+\S.{0,40}"
    r"|(?:verzonden|verstuurd)\s+(?:vanaf|met|van)\s+(?:mijn\s+)?\S.{0,40}"
    r"|wysłane\s+(?:z|ze)\s+\S.{0,40}"
    r"|отправлено\s+(?:с|из)\s+\S.{0,40}"
    r"|odesláno\s+z\s+\S.{0,40}"
    r"|\S{1,30}から送信|发自我的\s*\S{1,30}|從我的\s*\S.{0,30}傳送"
    r"|(?:أرسلت|مرسل|تم\s+الإرسال)\s+من\s+\S.{0,40})\s*$",
    re.IGNORECASE,
)
_DISCLAIMER = LazyPattern(
    r"^\s*(?:confidentiality\s+notice|disclaimer\s*:|this\s+e-?mail\s+(?:and\s+any"
    r"|is\s+confidential|message\s+is\s+confidential|may\s+contain)"
    r"|the\s+information\s+(?:contained\s+)?in\s+this\s+(?:e-?mail|message)"
    r"|diese\s+e-?mail\s+(?:enthält|kann)\s+vertrauliche|ce\s+(?:message|courriel)\s+et"
    r"|questo\s+messaggio\s+(?:e-?mail\s+)?(?:è|e')\s+(?:riservato|confidenziale)"
    r"|este\s+(?:mensaje|correo)\s+(?:y\s+sus\s+anexos\s+)?(?:es|son)\s+confidencial)",
    re.IGNORECASE,
)

_QUOTED = LazyPattern(r"^\s{0,3}>")
_BLANK_RUN = LazyPattern(r"\n{3,}")
# Any line that starts something other than text (one search instead of eight):
# when it does not match, none of them does.
_ANY_MARK = LazyPattern(
    "|".join(
        f"(?:{p.pattern})"
        for p in (
            _QUOTED,
            _FORWARDED,
            _ORIGINAL_MESSAGE,
            _SIGNATURE_DASHES,
            _MOBILE_SIGNATURE,
            _DISCLAIMER,
            _HEADER_FROM,
            _RULE_LINE,
        )
    ),
    re.IGNORECASE,
)


def _is_attribution(line: str) -> bool:
    line = line.strip()
    if len(line) > 400 or not _ATTRIBUTION_VERB.search(line):
        return False
    return bool(_ATTRIBUTION_OPENER.match(line) or _ATTRIBUTION_HINT.search(line))


def _attribution_span(lines: list[str], i: int) -> tuple[int, bool]:
    """How many lines from ``i`` make an attribution (0 if none), and whether
    it only counts when quoted lines follow (one without a verb).

    Clients wrap long attributions ("On Mon, 3 Jun 2024 at 10:00, Jane Doe
    <jane@example.org>\\nwrote:"), so up to three lines are joined.
    """
    for span in (1, 2, 3):
        chunk = lines[i : i + span]
        if len(chunk) < span or any(not part.strip() for part in chunk):
            break
        # Both patterns end in a colon before the end of the stripped, joined
        # lines, so a chunk whose last line ends otherwise cannot match: this
        # check spares the costly searches on almost every line of a body.
        if not chunk[-1].rstrip().endswith(_COLONS):
            continue
        joined = " ".join(part.strip() for part in chunk)
        if _is_attribution(joined):
            return span, False
        if len(joined) <= 400 and _BARE_ATTRIBUTION.search(joined):
            return span, True
    return 0, False


def _is_header_block(lines: list[str], i: int) -> bool:
    """Whether ``lines[i]`` starts a pasted "From: … Sent: …" block."""
    if not _HEADER_FROM.match(lines[i]):
        return False
    following = [line for line in lines[i + 1 : i + 6] if line.strip()]
    return sum(1 for line in following[:4] if _HEADER_NEXT.match(line)) >= 1


def _next_nonblank(lines: list[str], start: int) -> int:
    while start < len(lines) and not lines[start].strip():
        start += 1
    return start


def _strip_header_block(lines: list[str]) -> list[str]:
    """A forwarded message without the header lines that introduce it."""
    i = _next_nonblank(lines, 0)
    while i < len(lines) and (_HEADER_FROM.match(lines[i]) or _HEADER_NEXT.match(lines[i])):
        i += 1
    return lines[i:]


def _cut(lines: list[str]) -> tuple[list[str], list[str] | None]:
    """Lines written now, and the forwarded message's lines if a forward began."""
    kept: list[str] = []
    # Lines an attribution can end on (it ends in a colon): an attribution
    # spans at most three lines, so elsewhere none is looked for.
    ends = [j for j, line in enumerate(lines) if line.rstrip().endswith(_COLONS)]
    next_end = 0  # index into ends of the first one not before i
    i = 0
    while i < len(lines):
        line = lines[i]
        while next_end < len(ends) and ends[next_end] < i:
            next_end += 1
        near_end = next_end < len(ends) and ends[next_end] <= i + 2
        if not near_end and not _ANY_MARK.match(line):
            kept.append(line)  # the common case: a line that is just text
            i += 1
            continue
        if _QUOTED.match(line):
            i += 1
            continue
        span, needs_quote = _attribution_span(lines, i) if near_end else (0, False)
        if span:
            after = _next_nonblank(lines, i + span)
            if after < len(lines) and _QUOTED.match(lines[after]):
                # Bottom-posting or inline answers: the quote is marked with
                # ">" and the new text may follow it, so drop just the header.
                i += span
                continue
            if not needs_quote:
                break
        if _FORWARDED.match(line):
            return kept, lines[i + 1 :]
        if (
            _ORIGINAL_MESSAGE.match(line)
            or _SIGNATURE_DASHES.match(line)
            or _MOBILE_SIGNATURE.match(line)
            or _DISCLAIMER.match(line)
            or _is_header_block(lines, i)
        ):
            break
        if _RULE_LINE.match(line):
            after = _next_nonblank(lines, i + 1)
            if after < len(lines) and _is_header_block(lines, after):
                break
        kept.append(line)
        i += 1
    return kept, None


def _tidy(lines: list[str]) -> str:
    text = "\n".join(line.rstrip() for line in lines)
    return _BLANK_RUN.sub("\n\n", text).strip()


def main_text(body: str) -> str:
    """The part of a plain-text body that its sender wrote in this message.

    Quoted replies (``>`` lines, "On … wrote:" and its translations with all
    that follows, Outlook "Original Message" and "From: … Sent: …" blocks),
    signatures (after ``-- ``, "Sent from my iPhone" and the like) and common
    legal disclaimers are left out.  A message that only forwards another one
    keeps the forwarded text, since that is all there is to read.

    :param body: the decoded text of the message (for HTML, pass
        :func:`html_to_text` of it first).
    :return: the new text, stripped; ``""`` when nothing new was written.
    """
    if not isinstance(body, str) or not body:
        return ""
    lines = body.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept, forwarded = _cut(lines)
    text = _tidy(kept)
    if not text and forwarded is not None:
        inner, _ = _cut(_strip_header_block(forwarded))
        text = _tidy(inner)
    return text


# --- HTML --------------------------------------------------------------------

_TAG = LazyPattern(r"<[^>]*>")


def _tidy_html_text(text: str) -> str:
    lines = [line.strip() for line in text.split("\n")]
    return _BLANK_RUN.sub("\n\n", "\n".join(lines)).strip()


def html_to_text(html_source: str) -> str:
    """A plain rendering of an HTML body, good enough to detect its language.

    Scripts, styles and the head are dropped; entities are unescaped; ``<br>``
    and block elements become line breaks.  Quoted material is dropped too:
    ``<blockquote>`` and the quote/signature containers of Gmail, Thunderbird,
    Yahoo, ProtonMail and Outlook.  The result is for reading by programs, never
    for showing as HTML.  Never raises.
    """
    if not isinstance(html_source, str) or not html_source:
        return ""
    # html.parser only for mail that has HTML and no plain text.
    from tickets.html_text import TextRenderer

    renderer = TextRenderer()
    try:
        renderer.feed(html_source)
        renderer.close()
        text = "".join(renderer.parts)
    except Exception:  # noqa: BLE001 - a malformed body must not stop intake
        # html.parser is lenient, but not promised to be; crude is better than nothing.
        import html

        text = html.unescape(_TAG.sub(" ", html_source))
    return _tidy_html_text(text.replace("\u00a0", " "))
