"""The sender's own text: quotes, signatures and HTML left out."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tickets.text import html_to_text, main_text

NEW = "Hallo, ich habe eine Frage zu meinem Artikel."
QUOTED = "Thank you for your message. We have received it."


@pytest.mark.parametrize(
    "attribution",
    [
        "On Mon, 3 Jun 2024 at 10:00, Jane Doe <jane@example.org> wrote:",
        "On 03/06/2024 10:00, Jane Doe wrote:",
        "Am 03.06.2024 um 10:00 schrieb Max Muster <max@example.org>:",
        "Am Mo., 3. Juni 2024 um 10:00 Uhr schrieb Max Muster <max@example.org>:",
        "Le lun. 3 juin 2024 à 10:00, Jean Dupont <jean@example.org> a écrit :",
        "Le 03/06/2024 à 10:00, Jean Dupont a\u00a0écrit\u00a0:",
        "El lun, 3 jun 2024 a las 10:00, Juan Pérez (<juan@example.org>) escribió:",
        "Il giorno lun 3 giu 2024 alle ore 10:00 Mario Rossi <mario@example.org> ha scritto:",
        "Il 03/06/2024 10:00, Mario Rossi ha scritto:",
        "Op ma 3 jun. 2024 om 10:00 schreef Jan Jansen <jan@example.org>:",
        "W dniu 3.06.2024 o 10:00, Jan Kowalski pisze:",
        "Dnia 3.06.2024 o 10:00 Jan Kowalski <jan@example.org> napisał(a):",
        "Em seg., 3 de jun. de 2024 às 10:00, João Silva <joao@example.org> escreveu:",
        "03.06.2024 10:00, Иван Иванов пишет:",
        "пн, 3 июн. 2024 г. в 10:00, Иван Иванов <ivan@example.org>:\n",
        "Dne 3. 6. 2024 v 10:00 Jan Novák <jan@example.org> napsal(a):",
        "2024年6月3日(月) 10:00 山田太郎 <taro@example.jp>:\n",
        "2024/06/03 10:00、山田太郎 <taro@example.jp> のメッセージ:",
        "On 2024/06/03 10:00, 山田太郎 wrote:",
        "在 2024年6月3日 10:00，张伟 <wei@example.cn> 写道：",
        "張偉 <wei@example.tw> 於 2024年6月3日 寫道：",
        "في الاثنين، 3 يونيو 2024 في 10:00 ص، أحمد <ahmed@example.org> كتب:",
    ],
)
def test_text_before_an_attribution_is_kept_and_the_rest_dropped(attribution):
    # Some clients put no ">" before the quoted text: everything after goes.
    body = f"{NEW}\n\n{attribution}\n{QUOTED}\n\nMore of the old mail.\n"
    if attribution.endswith("\n"):
        # An attribution without a verb is only recognised with ">" lines below.
        body = f"{NEW}\n\n{attribution}> {QUOTED}\n> More.\n"
    assert main_text(body) == NEW


def test_attribution_wrapped_over_two_lines():
    body = (
        f"{NEW}\n\nOn Mon, Jun 3, 2024 at 10:00 AM Jane Doe <\njane@example.org> wrote:\n\n"
        f"> {QUOTED}\n"
    )
    assert main_text(body) == NEW


def test_quoted_lines_are_dropped_and_inline_answers_kept():
    body = (
        "On Mon, 3 Jun 2024, Jane wrote:\n"
        "> Which file do you mean?\n"
        "\n"
        "File:Harbour.jpg, uploaded last week.\n"
        "\n"
        "> And who took it?\n"
        "\n"
        "I did.\n"
    )
    assert main_text(body) == "File:Harbour.jpg, uploaded last week.\n\nI did."


def test_a_sentence_that_ends_with_wrote_is_not_an_attribution():
    body = "Here is what I wrote:\nmy article needs a source."
    assert main_text(body) == body


@pytest.mark.parametrize(
    "separator",
    [
        "-----Original Message-----",
        "-----Ursprüngliche Nachricht-----",
        "-----Message d'origine-----",
        "-----Mensaje original-----",
        "-----Messaggio originale-----",
        "-----Oorspronkelijk bericht-----",
        "-----Wiadomość oryginalna-----",
        "-----Mensagem original-----",
        "-----Исходное сообщение-----",
        "-----Původní zpráva-----",
        "-----元のメッセージ-----",
        "-----原始邮件-----",
    ],
)
def test_outlook_original_message_separator(separator):
    body = f"{NEW}\n\n{separator}\nFrom: Desk\nSent: Monday\n\n{QUOTED}"
    assert main_text(body) == NEW


@pytest.mark.parametrize(
    "header",
    [
        "From: Info <info@wikimedia.org>\nSent: Monday, June 3, 2024 10:00 AM\nTo: Me\n"
        "Subject: Re: photo",
        "*From:* Info <info@wikimedia.org>\n*Sent:* Monday\n*To:* Me",
        "Von: Info <info@wikimedia.org>\nGesendet: Montag, 3. Juni 2024 10:00\nAn: Ich\n"
        "Betreff: AW: Foto",
        "De : Info <info@wikimedia.org>\nEnvoyé : lundi 3 juin 2024 10:00\nÀ : Moi\n"
        "Objet : RE: photo",
        "De: Info <info@wikimedia.org>\nEnviado: lunes, 3 de junio de 2024 10:00\nPara: Yo",
        "Da: Info <info@wikimedia.org>\nInviato: lunedì 3 giugno 2024 10:00\nA: Io",
        "Van: Info <info@wikimedia.org>\nVerzonden: maandag 3 juni 2024 10:00\nAan: Ik",
        "Od: Info <info@wikimedia.org>\nWysłano: poniedziałek, 3 czerwca 2024 10:00\nDo: Ja",
        "De: Info <info@wikimedia.org>\nEnviado: segunda-feira, 3 de junho de 2024 10:00",
        "От: Info <info@wikimedia.org>\nОтправлено: 3 июня 2024 г. 10:00\nКому: Я",
        "Od: Info <info@wikimedia.org>\nOdesláno: pondělí 3. června 2024 10:00\nKomu: Já",
        "差出人: Info <info@wikimedia.org>\n送信日時: 2024年6月3日 10:00\n宛先: 私",
        "发件人: Info <info@wikimedia.org>\n发送时间: 2024年6月3日 10:00\n收件人: 我",
        "من: Info <info@wikimedia.org>\nتم الإرسال: 3 يونيو 2024\nإلى: أنا",
        "________________________________\nFrom: Info <info@wikimedia.org>\nSent: Monday\nTo: Me",
    ],
)
def test_pasted_header_block_starts_the_quote(header):
    body = f"{NEW}\n\n{header}\n\n{QUOTED}"
    assert main_text(body) == NEW


def test_a_from_line_alone_is_text():
    body = "From: my own experience, the article is wrong.\nPlease fix it."
    assert main_text(body) == body


@pytest.mark.parametrize(
    "signature",
    [
        "-- \nJane Doe\nPhotographer",
        "--\nJane Doe",
        "Sent from my iPhone",
        "Sent from my Galaxy",
        "Sent from Outlook for Android",
        "Get Outlook for iOS",
        "Von meinem iPhone gesendet",
        "Gesendet von meinem Samsung Galaxy Smartphone.",
        "Envoyé de mon iPhone",
        "Enviado desde mi iPhone",
        "Inviato da iPhone",
        "Verzonden vanaf mijn iPhone",
        "Wysłane z iPhone'a",
        "Enviado do meu iPhone",
        "Отправлено с iPhone",
        "Odesláno z iPhonu",
        "iPhoneから送信",
        "发自我的iPhone",
        "從我的 iPhone 傳送",
        "CONFIDENTIALITY NOTICE: This e-mail is for the intended recipient only.",
        "This email and any attachments are confidential.",
        "Diese E-Mail enthält vertrauliche Informationen.",
    ],
)
def test_signatures_and_disclaimers_are_dropped(signature):
    assert main_text(f"{NEW}\n\n{signature}\nmore footer\n") == NEW


def test_forward_of_nothing_keeps_the_forwarded_text():
    body = (
        "---------- Forwarded message ---------\n"
        "From: Jane <jane@example.org>\n"
        "Date: Mon, 3 Jun 2024\n"
        "Subject: photo\n"
        "To: Desk <info@wikimedia.org>\n"
        "\n"
        "I release my photo under CC BY-SA 4.0.\n"
    )
    assert main_text(body) == "I release my photo under CC BY-SA 4.0."


def test_forward_with_a_note_keeps_only_the_note():
    body = f"{NEW}\n\nBegin forwarded message:\n\nFrom: Jane\nSubject: x\n\n{QUOTED}"
    assert main_text(body) == NEW


def test_line_endings_and_blank_runs_are_tidied():
    assert main_text("a\r\n\r\n\r\n\r\nb\r\n") == "a\n\nb"


@pytest.mark.parametrize("body", ["", "   \n\n", "> only a quote\n> more"])
def test_nothing_new(body):
    assert main_text(body) == ""


@given(st.text(max_size=400))
def test_main_text_never_raises(body):
    assert isinstance(main_text(body), str)


# --- HTML --------------------------------------------------------------------


def test_html_breaks_entities_and_invisible_parts():
    html = (
        "<html><head><title>t</title><style>p {color: red}</style></head><body>"
        "<div dir='ltr'>Hola&nbsp;amigo,<br>segunda l&iacute;nea"
        "<div><br></div><div>fin &amp; adi&oacute;s</div></div>"
        "<script>alert('x')</script><p>after</p></body></html>"
    )
    assert html_to_text(html) == "Hola amigo,\nsegunda línea\n\nfin & adiós\n\nafter"


def test_html_source_line_breaks_are_spaces():
    assert html_to_text("<p>one\ntwo   three</p>") == "one two three"


def test_html_pre_keeps_its_lines():
    assert html_to_text("<pre>a\n  b</pre>") == "a\nb"


def test_html_quotes_are_dropped():
    html = (
        "<div>Nouveau texte</div>"
        "<div class='gmail_quote'><div class='gmail_attr'>On Mon, Jane wrote:</div>"
        "<blockquote class='gmail_quote'>Old text <div>nested</div></blockquote></div>"
        "<blockquote type='cite'>Thunderbird quote</blockquote>"
        "<div class='moz-cite-prefix'>On Mon, Jane wrote:</div>"
        "<div class='gmail_signature'>-- Jane</div>"
        "<p>suite</p>"
    )
    assert html_to_text(html) == "Nouveau texte\n\nsuite"


def test_unclosed_quote_swallows_the_rest_only():
    assert html_to_text("<p>mine<blockquote>theirs<p>still theirs") == "mine"


@pytest.mark.parametrize("html", ["", "<", "<!", "<!--", "</", "<p", "&#xffffffff;", "<![CDATA["])
def test_html_oddities(html):
    assert isinstance(html_to_text(html), str)


@given(st.text(alphabet=st.sampled_from("<>/!-&;#apbrdivx =\"'\n"), max_size=200))
def test_html_to_text_never_raises(html):
    assert isinstance(html_to_text(html), str)


def test_html_then_main_text():
    html = (
        "<div>Danke f&uuml;r die Antwort.</div><div><br></div>"
        "<div>Am Mo., 3. Juni 2024 um 10:00 Uhr schrieb Info &lt;info@wikimedia.org&gt;:<br>"
        "</div>English quoted text without blockquote."
    )
    assert main_text(html_to_text(html)) == "Danke für die Antwort."
