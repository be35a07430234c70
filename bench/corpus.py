"""A generated mixed mail corpus for the intake benchmarks: seeded, so every run is the same.

Roughly the team's mail: mostly short questions in a dozen languages and their
usual charsets, some HTML from webmail, permission statements, replies that
follow up earlier messages, and a share of messages carrying photos or PDFs
(1 KB to about 1 MB).  Every message has its own ``Message-ID``.

    from bench.corpus import generate, describe
    messages = generate(200, seed=1)      # list of RFC 822 messages (bytes, LF)
"""

from __future__ import annotations

import datetime as dt
import html
import random
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime


@dataclass(frozen=True)
class Language:
    """Words to make text from, the charsets mail in it comes in, and a statement."""

    code: str
    charsets: tuple[str, ...]
    #: Words to draw from, separated by spaces (kept as one string to stay readable).
    vocabulary: str
    greeting: str
    statement: str
    joiner: str = " "

    @property
    def words(self) -> list[str]:
        """The vocabulary as a list."""
        return self.vocabulary.split()


LANGUAGES: tuple[Language, ...] = (
    Language(
        "en",
        ("us-ascii", "utf-8"),
        (
            "the photo article page wiki I would like to ask about my picture was "
            "deleted please help me understand why it is not allowed and how can "
            "fix licence author company museum image upload yesterday"
        ),
        "Hello,",
        "I am the author of this photograph and I release it under CC BY-SA 4.0.",
    ),
    Language(
        "de",
        ("iso-8859-1", "utf-8"),
        (
            "das Foto Artikel Seite wurde gelöscht ich möchte fragen warum meine "
            "Datei nicht erlaubt ist und wie ich das ändern kann Größe Straße "
            "Museum Urheber Lizenz hochgeladen gestern bitte"
        ),
        "Sehr geehrte Damen und Herren,",
        "Ich bin der Urheber dieses Fotos und veröffentliche es unter CC BY-SA 4.0.",
    ),
    Language(
        "fr",
        ("iso-8859-15", "utf-8"),
        (
            "la photo article page a été supprimée je voudrais savoir pourquoi "
            "mon fichier n'est pas autorisé et comment je peux corriger l'auteur "
            "musée licence téléversé hier élève été œuvre"
        ),
        "Bonjour,",
        "Je suis l'auteur de cette photographie et je la publie sous licence CC BY-SA 4.0.",
    ),
    Language(
        "es",
        ("iso-8859-1", "utf-8"),
        (
            "la foto artículo página fue borrada quisiera saber por qué mi "
            "archivo no está permitido y cómo puedo corregirlo autor museo "
            "licencia subí ayer año señor información"
        ),
        "Hola,",
        "Soy el autor de esta fotografía y la publico bajo la licencia CC BY-SA 4.0.",
    ),
    Language(
        "pl",
        ("iso-8859-2", "utf-8"),
        (
            "zdjęcie artykuł strona została usunięta chciałbym zapytać dlaczego "
            "mój plik nie jest dozwolony i jak mogę to poprawić autor muzeum "
            "licencja wczoraj łódź gęś żółw"
        ),
        "Dzień dobry,",
        "Jestem autorem tego zdjęcia i udostępniam je na licencji CC BY-SA 4.0.",
    ),
    Language(
        "cs",
        ("iso-8859-2", "utf-8"),
        (
            "fotografie článek stránka byla smazána chtěl bych se zeptat proč můj "
            "soubor není povolen a jak to mohu opravit autor muzeum licence včera "
            "příliš žluťoučký kůň"
        ),
        "Dobrý den,",
        "Jsem autorem této fotografie a zveřejňuji ji pod licencí CC BY-SA 4.0.",
    ),
    Language(
        "ru",
        ("koi8-r", "utf-8", "windows-1251"),
        (
            "фотография статья страница была удалена я хотел бы спросить почему "
            "мой файл не разрешён и как я могу это исправить автор музей лицензия "
            "вчера загрузил"
        ),
        "Здравствуйте,",
        "Я являюсь автором этой фотографии и публикую её под лицензией CC BY-SA 4.0.",
    ),
    Language(
        "ar",
        ("windows-1256", "utf-8"),
        (
            "الصورة المقالة الصفحة تم حذفها أود أن أسأل لماذا ملفي غير مسموح وكيف "
            "يمكنني إصلاح ذلك المؤلف المتحف الترخيص رفعت أمس"
        ),
        "مرحبا،",
        "أنا مؤلف هذه الصورة وأنشرها بموجب ترخيص CC BY-SA 4.0.",
    ),
    Language(
        "ja",
        ("iso-2022-jp", "shift_jis", "utf-8"),
        (
            "写真 記事 ページ が 削除 されました なぜ 私の ファイル "
            "が 許可 されない のか 教えて ください 作者 博物館 "
            "ライセンス 昨日 アップロード"
        ),
        "こんにちは。",
        "私はこの写真の撮影者であり、CC BY-SA 4.0 ライセンスの下で公開します。",
        joiner="",
    ),
    Language(
        "zh",
        ("gb2312", "big5", "utf-8"),
        (
            "照片 文章 页面 被 删除 了 我 想 问 为什么 我的 文件 "
            "不被 允许 以及 如何 修复 作者 博物馆 许可 昨天 上传"
        ),
        "您好，",
        "我是这张照片的作者，我以CC BY-SA 4.0许可协议发布它。",
        joiner="",
    ),
    Language(
        "it",
        ("iso-8859-1", "utf-8"),
        (
            "la foto articolo pagina è stata cancellata vorrei chiedere perché il "
            "mio file non è consentito e come posso correggerlo autore museo "
            "licenza ieri città perché"
        ),
        "Buongiorno,",
        "Sono l'autore di questa fotografia e la rilascio con licenza CC BY-SA 4.0.",
    ),
    Language(
        "nl",
        ("iso-8859-1", "utf-8"),
        (
            "de foto artikel pagina is verwijderd ik wil graag vragen waarom mijn "
            "bestand niet is toegestaan en hoe ik dat kan oplossen auteur museum "
            "licentie gisteren geüpload"
        ),
        "Beste,",
        "Ik ben de maker van deze foto en geef hem vrij onder de licentie CC BY-SA 4.0.",
    ),
    Language(
        "pt",
        ("iso-8859-1", "utf-8"),
        (
            "a foto artigo página foi apagada gostaria de perguntar por que o meu "
            "arquivo não é permitido e como posso corrigir autor museu licença "
            "ontem informação"
        ),
        "Olá,",
        "Sou o autor desta fotografia e publico-a sob a licença CC BY-SA 4.0.",
    ),
)

# Where the team's mail goes (``docs/ROUTING.md``), and how often.
ADDRESSES = (
    ("info@wikimedia.org", 30),
    ("permissions@wikimedia.org", 30),
    ("info-de@wikimedia.org", 6),
    ("permissions-fr@wikimedia.org", 4),
    ("press@wikimedia.org", 3),
    ("wikimania@wikimedia.org", 2),
    ("volunteers@lists.example.org", 3),
)

# Message kinds and weights: plain text, HTML from webmail, with attachments.
KINDS = (("plain", 55), ("html", 25), ("attachment", 17), ("large", 3))

ATTACHMENT_TYPES = (
    ("image", "jpeg", "IMG_{n:04d}.jpg"),
    ("application", "pdf", "permission-{n}.pdf"),
    ("image", "png", "screenshot-{n}.png"),
)

NAMES = ("Anna", "Jorge", "Wei", "Olga", "Kenji", "Sam", "Amira", "Pierre")

BASE_DATE = dt.datetime(2026, 11, 1, 8, 0, tzinfo=dt.UTC)


def _pick(rng: random.Random, weighted: tuple[tuple[str, int], ...]) -> str:
    values, weights = zip(*weighted, strict=True)
    return rng.choices(values, weights=weights)[0]


def _sentence(rng: random.Random, lang: Language) -> str:
    words = [rng.choice(lang.words) for _ in range(rng.randint(6, 16))]
    end = "。" if lang.joiner == "" else "."
    text = lang.joiner.join(words)
    return text[:1].upper() + text[1:] + end


def _text(rng: random.Random, lang: Language, size: int, statement: bool) -> str:
    """About ``size`` characters of text in ``lang``: greeting, paragraphs, signature."""
    paragraphs = [lang.greeting]
    length = len(lang.greeting)
    while length < size:
        para = lang.joiner.join(_sentence(rng, lang) for _ in range(rng.randint(2, 5)))
        paragraphs.append(para)
        length += len(para) + 2
    if statement:
        paragraphs.insert(1 + rng.randint(0, len(paragraphs) - 1), lang.statement)
    paragraphs.append(f"-- \n{rng.choice(NAMES)}")
    return "\n\n".join(_wrap(p) for p in paragraphs)


def _wrap(paragraph: str, width: int = 72) -> str:
    # Mail clients wrap at about 72 columns; scripts without spaces stay long
    # lines (the email package encodes those anyway).
    if " " not in paragraph:
        return paragraph
    lines: list[str] = []
    line = ""
    for word in paragraph.split(" "):
        if line and len(line) + len(word) + 1 > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    lines.append(line)
    return "\n".join(lines)


def _html(text: str) -> str:
    paras = "".join(
        "<p>" + html.escape(p).replace("\n", "<br>") + "</p>\n" for p in text.split("\n\n")
    )
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8"><style>p{margin:0 0 1em}'
        '</style></head><body><div dir="auto">\n' + paras + "</div></body></html>\n"
    )


def _encodable(text: str, charset: str) -> bool:
    try:
        text.encode(charset)
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def message(rng: random.Random, n: int, earlier: list[str]) -> bytes:
    """Message number ``n``; may follow up one of the ``earlier`` Message-IDs."""
    lang = rng.choice(LANGUAGES)
    kind = _pick(rng, KINDS)
    to = _pick(rng, ADDRESSES)
    statement = to.startswith("permissions") and rng.random() < 0.7
    text_size = int(rng.lognormvariate(6.5, 0.8))  # median ~650 characters
    text = _text(rng, lang, max(200, min(text_size, 20_000)), statement)
    charset = rng.choice(lang.charsets)
    if not _encodable(text, charset):
        charset = "utf-8"

    msg = EmailMessage()
    msg["From"] = f"{rng.choice(NAMES)} <user{n}@example.net>"
    msg["To"] = to
    subject = _sentence(rng, lang)[:60]
    msgid = f"<bench-{n}-{rng.getrandbits(48):012x}@corpus.example.net>"
    if earlier and rng.random() < 0.1:
        parent = rng.choice(earlier)
        msg["In-Reply-To"] = parent
        msg["References"] = parent
        subject = f"Re: {subject}"
    msg["Subject"] = subject
    msg["Date"] = format_datetime(BASE_DATE + dt.timedelta(minutes=7 * n))
    msg["Message-ID"] = msgid
    if rng.random() < 0.05:
        msg["X-Spam-Flag"] = "YES"
    earlier.append(msgid)

    cte = "quoted-printable" if charset not in ("iso-2022-jp", "us-ascii") else "7bit"
    if charset in ("shift_jis", "gb2312", "big5", "windows-1256", "koi8-r", "windows-1251"):
        cte = "base64"
    msg.set_content(text, charset=charset, cte=cte)
    if kind in ("html", "attachment", "large") and rng.random() < 0.7:
        msg.add_alternative(_html(text), subtype="html", charset="utf-8")
    if kind in ("attachment", "large"):
        size = (
            rng.randint(300_000, 760_000) if kind == "large" else int(rng.uniform(15_000, 250_000))
        )
        maintype, subtype, name = rng.choice(ATTACHMENT_TYPES)
        # Random bytes: photos and PDFs do not compress either.
        msg.add_attachment(
            rng.randbytes(size), maintype=maintype, subtype=subtype, filename=name.format(n=n)
        )
    # The email package draws boundaries from the global random generator;
    # ours come from the seed, so the corpus is the same on every run.
    for part in msg.walk():
        if part.is_multipart():
            part.set_boundary(f"=_bench_{n}_{rng.getrandbits(64):016x}")
    return msg.as_bytes()


def generate(count: int, seed: int = 1) -> list[bytes]:
    """``count`` messages, the same ones for the same ``seed``."""
    rng = random.Random(seed)
    earlier: list[str] = []
    return [message(rng, n, earlier) for n in range(count)]


def describe(corpus: list[bytes]) -> str:
    """One line: how many messages, their sizes, total."""
    sizes = sorted(len(m) for m in corpus)
    if not sizes:
        return "no messages"
    median = sizes[len(sizes) // 2]
    return (
        f"{len(sizes)} messages, {_kb(sizes[0])} to {_kb(sizes[-1])} "
        f"(median {_kb(median)}), {sum(sizes) / 1e6:.1f} MB in all"
    )


def _kb(n: int) -> str:
    return f"{n / 1000:.0f} KB" if n < 1_000_000 else f"{n / 1e6:.2f} MB"
