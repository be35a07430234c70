"""Language detection on short help-desk texts, among the spec's languages."""

from __future__ import annotations

import email
import email.policy
import subprocess
import sys
import threading
from email.message import EmailMessage
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tickets.language import LanguageDetector
from tickets.routing import RULES
from tickets.statements import is_permission_statement
from tickets.text import html_to_text, main_text

SPEC = ("ar", "cs", "de", "es", "fr", "it", "ja", "nl", "pl", "pt", "ru", "zh")
DETECTOR = LanguageDetector(SPEC)

# Short texts, one to two sentences, as people write to a help desk.  (The
# benchmark in bench/language.py has a larger set; these are different texts.)
SHORT: dict[str, list[str]] = {
    "en": [
        "Hello, my account was blocked yesterday and I don't know why.",
        "Could you please correct the birth date in the article about my father?",
        "thx, all sorted now",
    ],
    "de": [
        "Hallo, kurze Frage zu Wikipedia",
        "Guten Tag, in dem Artikel über meine Firma stehen falsche Angaben.",
        "Ich kann mich seit gestern nicht mehr anmelden.",
    ],
    "es": [
        "Buenos días, tengo una pregunta sobre mi cuenta.",
        "El artículo de mi pueblo tiene una fecha equivocada.",
        "¿Me pueden ayudar, por favor?",
    ],
    "fr": [
        "Bonjour, j'ai une question sur mon compte.",
        "L'article sur ma commune contient une date erronée.",
        "Pouvez-vous m'aider, s'il vous plaît ?",
    ],
    "it": [
        "Buongiorno, ho una domanda sul mio account.",
        "La voce sul mio comune contiene una data sbagliata.",
        "Mi potete aiutare, per favore?",
    ],
    "nl": [
        "Goedemorgen, ik heb een vraag over mijn account.",
        "Het artikel over mijn gemeente bevat een verkeerde datum.",
        "Kunnen jullie me helpen, alstublieft?",
    ],
    "pl": [
        "Dzień dobry, mam pytanie dotyczące mojego konta.",
        "Artykuł o mojej gminie zawiera błędną datę.",
        "Czy możecie mi pomóc?",
    ],
    "pt": [
        "Bom dia, tenho uma pergunta sobre a minha conta.",
        "O artigo sobre o meu município tem uma data errada.",
        "Vocês podem me ajudar, por favor?",
    ],
    "ru": [
        "Добрый день, у меня вопрос по поводу учётной записи.",
        "В статье о моём посёлке неправильная дата.",
        "Помогите, пожалуйста!",
    ],
    "cs": [
        "Dobrý den, mám dotaz ohledně svého účtu.",
        "Článek o mé obci obsahuje špatné datum.",
        "Můžete mi prosím pomoci?",
    ],
    "ar": [
        "مرحبا، لدي سؤال حول حسابي.",
        "المقالة عن قريتي فيها تاريخ خاطئ.",
        "هل يمكنكم مساعدتي من فضلكم؟",
    ],
    "ja": [
        "こんにちは。アカウントについて質問があります。",
        "私の村の記事の日付が間違っています。",
        "写真の件",
    ],
    "zh": [
        "你好，我有一个关于账号的问题。",
        "关于我们村的条目日期写错了。",
        "請幫幫我。",
    ],
}


@pytest.mark.parametrize(
    ("language", "text"),
    [
        pytest.param(lang, text, id=f"{lang}-{i}")
        for lang, texts in SHORT.items()
        for i, text in enumerate(texts)
    ],
)
def test_short_texts_in_every_spec_language(language, text):
    assert DETECTOR.detect(text) == language


def test_new_german_text_over_an_english_quote_is_german():
    body = (
        "Hallo, danke für die Antwort, aber das Bild ist immer noch gelöscht.\n"
        "\n"
        "On Mon, 3 Jun 2024 at 10:00, Wikimedia Support <info@wikimedia.org> wrote:\n"
        "> Dear customer, thank you for your message. We have looked into the matter\n"
        "> and the file was deleted because no permission was received. Please send\n"
        "> the declaration of consent for all enquiries and we will restore it.\n"
    )
    assert DETECTOR.detect(main_text(body)) == "de"
    # Without main_text the long English quote would win: the caller's job.
    assert DETECTOR.detect(body) == "en"


def test_kana_makes_japanese_and_han_alone_chinese():
    assert DETECTOR.detect("写真削除の件について") == "ja"
    assert DETECTOR.detect("照片删除问题") == "zh"
    assert DETECTOR.detect("Wikipedia の CC BY-SA ライセンスについて") == "ja"


def test_kanji_only_japanese_is_japanese_when_chinese_is_not_offered():
    assert LanguageDetector(["ja"]).detect("写真削除依頼") == "ja"


@pytest.mark.parametrize(
    "text",
    [
        "안녕하세요, 제 사진이 왜 삭제되었나요?",  # Korean: no queue of its own
        "Γεια σας, γιατί διαγράφηκε η φωτογραφία μου;",
        "שלום, למה התמונה שלי נמחקה?",
        "Hej, varför har min bild tagits bort från artikeln?",
        "Merhaba, fotoğrafım neden silindi? Lütfen yardım edin.",
        "Dobrý deň, prečo bola moja fotka zmazaná?",
    ],
)
def test_languages_without_a_queue_are_undecided(text):
    assert DETECTOR.detect(text) is None


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   \n\t ",
        "OK",
        "Hallo",
        "https://commons.wikimedia.org/wiki/File:Harbour_at_dawn_2019.jpg",
        "https://example.org/a 2024-06-03 12:00 +49 30 1234567 jane@example.org",
        "[Ticket#2016060210016939] 12345",
        "🙂🙂🙂 👍",
        "!!!???...",
    ],
)
def test_too_little_to_tell(text):
    assert DETECTOR.detect(text) is None


def test_urls_and_numbers_around_text_do_not_decide():
    text = (
        "https://de.wikipedia.org/wiki/Spezial:Hochladen 2024-06-03 "
        "Bitte schauen Sie sich das an, danke. +49 30 1234567"
    )
    assert DETECTOR.detect(text) == "de"


def test_english_is_always_a_candidate():
    assert "en" in LanguageDetector(["de"]).languages
    assert LanguageDetector(["de"]).detect("Thank you very much for your quick help!") == "en"


def test_languages_are_normalised_and_unknown_codes_ignored():
    detector = LanguageDetector(["DE", " fr ", "xx", "", "de"])
    assert detector.languages == ("de", "en", "fr", "xx")
    assert detector.detect("Bonjour, j'ai une question sur mon compte.") == "fr"


def test_a_single_candidate_per_script_decides_without_the_model():
    assert LanguageDetector(["ru"]).detect("Добрий день, чому мою фотографію видалили?") == "ru"
    assert DETECTOR.detect("مرحبا") == "ar"


@pytest.mark.parametrize(
    "text",
    [
        "\x00\x01\x02 abc",
        "\ud800\udc00 broken surrogates \udfff",
        "Gr\ufffd\ufffde aus M\ufffdnchen",
        "a" * 200_000,
        "Ø" * 5000 + "ß" * 5000,
        b"Hallo Welt, wie geht es dir heute?",
        None,
        12345,
    ],
)
def test_garbage_never_raises(text):
    result = DETECTOR.detect(text)
    assert result is None or result in DETECTOR.languages


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_detect_never_raises(text):
    result = DETECTOR.detect(text)
    assert result is None or result in DETECTOR.languages


def test_concurrent_first_use_is_safe():
    results: list[str | None] = []
    detector = LanguageDetector(SPEC)

    def work() -> None:
        results.append(detector.detect("Guten Tag, ich habe eine Frage zu meinem Konto."))

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == ["de"] * 8


def test_importing_and_script_decisions_do_not_load_the_model():
    # One process per delivered message: the model (about a second) must only
    # load when languages of the same script have to be told apart.
    code = (
        "import sys\n"
        "import tickets.language as lang\n"
        "d = lang.LanguageDetector(['de', 'fr', 'ru', 'ja', 'zh'])\n"
        "assert d.detect('Здравствуйте, у меня вопрос') == 'ru'\n"
        "assert d.detect('こんにちは、質問があります') == 'ja'\n"
        "assert lang._model is None and 'py3langid' not in sys.modules\n"
        "assert d.detect('Guten Tag, ich habe eine Frage') == 'de'\n"
        "assert lang._model is not None\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


# --- The mail corpus: what the text says agrees with the manifest ----------------------

CORPUS = Path(__file__).resolve().parent.parent / "fixtures" / "mail" / "corpus"
PARENT_LANGUAGES = {
    "Info": set(SPEC),
    "Permissions": {"de", "es", "fr", "it", "ja", "nl", "pl", "pt", "ru", "zh"},
}


def _manifest() -> list[list[str]]:
    lines = (CORPUS / "expected.tsv").read_text(encoding="utf-8").splitlines()
    return [line.split("\t") for line in lines[1:] if line.strip()]


def _subject_and_text(raw: bytes) -> tuple[str, str]:
    """The subject and the sender's text, as routing reads them."""
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    try:
        subject = str(msg.get("Subject", ""))
    except Exception:  # noqa: BLE001 - broken encoded words
        subject = ""
    assert isinstance(msg, EmailMessage)
    try:
        part = msg.get_body(preferencelist=("plain", "html"))
    except Exception:  # noqa: BLE001
        part = None
    if part is None:
        return subject, ""
    try:
        content = part.get_content()
    except (LookupError, UnicodeError):  # unknown or lying charset
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", errors="replace") if isinstance(payload, bytes) else ""
    if part.get_content_subtype() == "html":
        content = html_to_text(content)
    return subject, main_text(content)


def test_corpus_is_big_and_complete():
    rows = _manifest()
    files = {path.name for path in CORPUS.glob("*.eml")}
    assert len(rows) >= 40
    assert {row[0] for row in rows} == files
    rules = {row[2] for row in rows}
    assert rules == set(RULES)
    for row in rows:
        assert (len(row) == 4) == (row[2] in ("followup", "duplicate")), row
        if len(row) == 4:
            assert row[3] in files


@pytest.mark.parametrize("row", _manifest(), ids=lambda row: row[0])
def test_corpus_text_agrees_with_the_manifest(row):
    name, queue, rule = row[:3]
    subject, text = _subject_and_text((CORPUS / name).read_bytes())
    parent, _, sub = queue.partition("::")
    # Routing detects on the subject and the text together; both must agree.
    languages = {DETECTOR.detect(text), DETECTOR.detect(f"{subject}\n{text}")}
    statement = is_permission_statement(text, DETECTOR.detect(text))
    if rule == "detected-lang":
        assert languages == {sub}
        if parent == "Info":
            assert not statement
    elif rule == "content":
        assert statement
        if sub and not name.startswith("content-info-de"):
            assert languages == {sub}
        elif not sub:
            assert not languages & PARENT_LANGUAGES["Permissions"]
    elif rule == "fallback" and parent in PARENT_LANGUAGES:
        assert not languages & PARENT_LANGUAGES[parent]
        if parent == "Info":
            assert not statement
