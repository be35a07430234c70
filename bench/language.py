"""Language detection on short help-desk mail: py3langid against lingua.

Run as ``.venv/bin/python bench/language.py``.  Every text below was written
for this benchmark: one to three sentences, the way people write to a help
desk (questions, complaints, permission statements, thanks, informal notes),
fourteen per language of the routing spec, two of
them with a link or a file name in them.  Both libraries are restricted to the
same languages; lingua runs in its low-accuracy mode (the high-accuracy one is
about fifty times slower).  ``tickets.language`` (py3langid's model, scored
in pure Python from a cached copy, behind a script check) is measured too,
since that is what routing runs.  A second table times the three on typical
mail: the generated corpus's messages of up to 20,000 bytes
(``bench/corpus.py``), subject and text written now, as routing reads them.

Each figure is printed beside the fastest detector's, measured in the same run.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

LANGUAGES = ("ar", "cs", "de", "en", "es", "fr", "it", "ja", "nl", "pl", "pt", "ru", "zh")

SAMPLES: dict[str, list[str]] = {
    "en": [
        "Hi, why was my photo deleted from Commons? I uploaded it myself last week.",
        "Can I use a picture from Wikipedia in my school project?",
        "I am the photographer and I release this photo under CC BY-SA 4.0.",
        "Someone keeps vandalising the article about my town and nobody does anything.",
        "hey quick question, how do I change my username",
        "Please remove my phone number from the article, it is private.",
        "The article about our company is outdated, who can fix it?",
        "Thanks a lot for your help, everything works now!",
        "I forgot my password and the reset email never arrives.",
        "Your editors are biased and the page about me is full of lies.",
        "Thanks, that worked.",
        "Any update on my ticket?",
        "See https://en.wikipedia.org/wiki/Main_Page, the logo is broken on mobile.",
        "Re: File:Sunset_over_Lake_Geneva_2019.jpg - is the permission OK now?",
    ],
    "de": [
        "Hallo, kurze Frage zu Wikipedia: wie kann ich einen Artikel anlegen?",
        "Warum wurde mein Bild gelöscht? Ich habe es doch selbst fotografiert.",
        "Ich bin der Fotograf und gebe das Bild unter CC BY-SA 4.0 frei.",
        "Der Artikel über unsere Gemeinde enthält leider mehrere Fehler.",
        "Moin, mein Konto ist gesperrt und ich weiß nicht warum.",
        "Bitte löschen Sie meine private Adresse aus dem Artikel.",
        "Vielen Dank für die schnelle Antwort, jetzt klappt alles!",
        "Wer ist eigentlich für die Seite über meinen Großvater zuständig?",
        "Ich finde es unverschämt, dass meine Änderungen ständig rückgängig gemacht werden.",
        "Darf ich Fotos aus Wikipedia in meinem Buch verwenden?",
        "Danke, hat geklappt.",
        "Gibt es schon Neuigkeiten?",
        "Siehe https://de.wikipedia.org/wiki/Berlin - dort steht ein falsches Datum.",
        "Datei:Rathaus_Musterstadt_2021.jpg: ist die Freigabe jetzt angekommen?",
    ],
    "es": [
        "Hola, ¿por qué borraron mi artículo sobre el club de fútbol de mi pueblo?",
        "Soy el autor de la fotografía y la publico bajo la licencia CC BY-SA 4.0.",
        "Buenas tardes, no puedo iniciar sesión desde ayer.",
        "El artículo sobre mi abuelo tiene datos falsos, por favor corríjanlo.",
        "¿Puedo usar una imagen de Wikipedia en mi tesis?",
        "Muchas gracias por la ayuda, ya está todo resuelto.",
        "Me parece injusto que bloqueen mi cuenta sin explicación.",
        "Quiero saber cómo se cambia el nombre de usuario.",
        "Alguien escribió insultos en la página de nuestra empresa.",
        "oye, una pregunta rápida: ¿quién decide qué se publica?",
        "Gracias, ya funciona.",
        "¿Hay alguna novedad?",
        "Mirad https://es.wikipedia.org/wiki/Madrid, la foto principal está mal.",
        "Sobre File:Catedral_de_Leon_2018.jpg: ¿ya recibieron el permiso?",
    ],
    "fr": [
        "Bonjour, pourquoi ma photo a-t-elle été supprimée ?",
        "Je suis l'auteur de cette photo et je la publie sous licence CC BY-SA 4.0.",
        "L'article sur notre association contient des erreurs graves.",
        "Merci beaucoup pour votre aide, tout fonctionne maintenant.",
        "Est-ce que je peux utiliser une image de Wikipédia dans mon livre ?",
        "Mon compte a été bloqué sans raison, c'est inadmissible.",
        "Salut, comment je fais pour changer mon mot de passe ?",
        "Veuillez retirer mon adresse personnelle de la page, s'il vous plaît.",
        "Qui peut corriger la date de naissance de mon père dans l'article ?",
        "Je n'arrive pas à créer un compte depuis hier soir.",
        "Merci, ça marche.",
        "Des nouvelles de ma demande ?",
        "Voir https://fr.wikipedia.org/wiki/Paris : le lien vers le site officiel est mort.",
        "Concernant File:Pont_Neuf_2020.jpg, avez-vous bien reçu l'autorisation ?",
    ],
    "it": [
        "Buongiorno, perché la mia foto è stata cancellata?",
        "Sono l'autore della fotografia e la rilascio con licenza CC BY-SA 4.0.",
        "La voce sul mio paese contiene informazioni sbagliate.",
        "Grazie mille per l'aiuto, adesso funziona tutto.",
        "Posso usare un'immagine di Wikipedia per la mia tesi?",
        "Il mio account è stato bloccato senza motivo, non è giusto.",
        "Ciao, come faccio a cambiare il nome utente?",
        "Vi prego di togliere il mio numero di telefono dalla pagina.",
        "Chi si occupa della voce su mio nonno?",
        "Non riesco ad accedere da ieri sera, cosa devo fare?",
        "Grazie, funziona.",
        "Ci sono novità?",
        "Guardate https://it.wikipedia.org/wiki/Roma, c'è un errore nella prima riga.",
        "Riguardo a File:Duomo_di_Milano_2017.jpg: avete ricevuto il permesso?",
    ],
    "nl": [
        "Hallo, waarom is mijn foto verwijderd?",
        "Ik ben de fotograaf en ik geef deze foto vrij onder CC BY-SA 4.0.",
        "Het artikel over ons dorp bevat een aantal fouten.",
        "Hartelijk dank voor jullie hulp, alles werkt weer.",
        "Mag ik een afbeelding van Wikipedia gebruiken in mijn boek?",
        "Mijn account is zonder reden geblokkeerd, dat vind ik niet terecht.",
        "Hoi, hoe kan ik mijn gebruikersnaam wijzigen?",
        "Wilt u alstublieft mijn adres uit het artikel verwijderen?",
        "Wie is verantwoordelijk voor de pagina over mijn bedrijf?",
        "Ik kan sinds gisteren niet meer inloggen.",
        "Bedankt, het werkt.",
        "Is er al nieuws?",
        "Kijk op https://nl.wikipedia.org/wiki/Utrecht, daar klopt het inwonertal niet.",
        "Over File:Molen_de_Adriaan_2016.jpg: is de toestemming nu binnen?",
    ],
    "pl": [
        "Dzień dobry, dlaczego moje zdjęcie zostało usunięte?",
        "Jestem autorem tego zdjęcia i udostępniam je na licencji CC BY-SA 4.0.",
        "Artykuł o mojej miejscowości zawiera błędy.",
        "Bardzo dziękuję za pomoc, teraz wszystko działa.",
        "Czy mogę użyć zdjęcia z Wikipedii w mojej książce?",
        "Moje konto zostało zablokowane bez powodu.",
        "Cześć, jak mogę zmienić nazwę użytkownika?",
        "Proszę usunąć mój numer telefonu z artykułu.",
        "Kto odpowiada za stronę o mojej firmie?",
        "Od wczoraj nie mogę się zalogować, co mam zrobić?",
        "Dzięki, działa.",
        "Czy są jakieś nowości?",
        "Proszę zobaczyć https://pl.wikipedia.org/wiki/Kraków, tam jest zła data.",
        "W sprawie File:Wawel_2019.jpg: czy zgoda już dotarła?",
    ],
    "pt": [
        "Olá, por que a minha foto foi apagada?",
        "Sou o autor da fotografia e a disponibilizo sob a licença CC BY-SA 4.0.",
        "O artigo sobre a minha cidade tem vários erros.",
        "Muito obrigado pela ajuda, agora está tudo funcionando.",
        "Posso usar uma imagem da Wikipédia no meu livro?",
        "Minha conta foi bloqueada sem motivo nenhum.",
        "Oi, como eu faço para mudar meu nome de usuário?",
        "Por favor, retirem o meu endereço do artigo.",
        "Quem é responsável pela página sobre a nossa empresa?",
        "Não consigo entrar na minha conta desde ontem.",
        "Obrigado, funcionou.",
        "Alguma novidade?",
        "Vejam https://pt.wikipedia.org/wiki/Lisboa, a data de fundação está errada.",
        "Sobre o File:Torre_de_Belem_2015.jpg: a autorização já chegou?",
    ],
    "ru": [
        "Здравствуйте, почему удалили мою фотографию?",
        "Я автор этой фотографии и публикую её под лицензией CC BY-SA 4.0.",
        "В статье о нашем городе много ошибок.",
        "Большое спасибо за помощь, теперь всё работает.",
        "Можно ли использовать картинку из Википедии в моей книге?",
        "Мою учётную запись заблокировали без причины.",
        "Привет, как поменять имя пользователя?",
        "Пожалуйста, уберите мой номер телефона из статьи.",
        "Кто отвечает за страницу о нашей компании?",
        "Со вчерашнего дня не могу войти, что делать?",
        "Спасибо, заработало.",
        "Есть новости?",
        "Посмотрите https://ru.wikipedia.org/wiki/Москва, там неверная дата.",
        "По поводу File:Red_Square_2018.jpg: разрешение уже получено?",
    ],
    "ja": [
        "こんにちは。私の写真が削除された理由を教えてください。",
        "私はこの写真の撮影者であり、CC BY-SA 4.0 で公開することに同意します。",
        "私の町についての記事に間違いがあります。",
        "ご対応ありがとうございました。無事に解決しました。",
        "ウィキペディアの画像を本に使ってもいいですか？",
        "理由もなくアカウントがブロックされました。",
        "ユーザー名を変更する方法を教えてください。",
        "記事から私の電話番号を削除してください。",
        "会社のページは誰が管理しているのですか？",
        "昨日からログインできません。どうすればいいですか。",
        "ありがとうございます。",
        "進捗はいかがですか？",
        "https://ja.wikipedia.org/wiki/東京 の記事の日付が間違っています。",
        "File:Tokyo_Tower_2019.jpg の許可は届きましたか？",
    ],
    "zh": [
        "你好，请问为什么我的照片被删除了？",
        "我是这张照片的拍摄者，同意以CC BY-SA 4.0协议发布。",
        "关于我们城市的条目有很多错误。",
        "非常感谢你们的帮助，现在一切正常。",
        "我可以在我的书里使用维基百科的图片吗？",
        "我的账号无缘无故被封禁了。",
        "怎么修改用户名？",
        "請把我的電話號碼從條目中刪除。",
        "誰負責管理我們公司的頁面？",
        "从昨天开始我就无法登录，怎么办？",
        "谢谢，已经好了。",
        "有什么进展吗？",
        "请看 https://zh.wikipedia.org/wiki/北京 ，里面的日期是错的。",
        "关于 File:Great_Wall_2017.jpg，授权已经收到了吗？",
    ],
    "ar": [
        "مرحبا، لماذا تم حذف الصورة التي رفعتها؟",
        "أنا مصور هذه الصورة وأوافق على نشرها بموجب رخصة المشاع الإبداعي.",
        "المقالة عن مدينتي تحتوي على أخطاء كثيرة.",
        "شكرا جزيلا على مساعدتكم، كل شيء يعمل الآن.",
        "هل يمكنني استخدام صورة من ويكيبيديا في كتابي؟",
        "تم حظر حسابي بدون سبب.",
        "كيف أغير اسم المستخدم الخاص بي؟",
        "أرجو حذف رقم هاتفي من المقالة.",
        "من المسؤول عن صفحة شركتنا؟",
        "لا أستطيع تسجيل الدخول منذ أمس.",
        "شكرا، نجح الأمر.",
        "هل من جديد؟",
        "انظروا https://ar.wikipedia.org/wiki/القاهرة فالتاريخ خاطئ هناك.",
        "بخصوص File:Cairo_Tower_2016.jpg، هل وصل التصريح؟",
    ],
    "cs": [
        "Dobrý den, proč byla moje fotka smazána?",
        "Jsem autorem této fotografie a uvolňuji ji pod licencí CC BY-SA 4.0.",
        "Článek o naší obci obsahuje několik chyb.",
        "Moc děkuji za pomoc, už všechno funguje.",
        "Můžu použít obrázek z Wikipedie ve své knize?",
        "Můj účet byl zablokován bez udání důvodu.",
        "Ahoj, jak si změním uživatelské jméno?",
        "Prosím odstraňte moje telefonní číslo z článku.",
        "Kdo má na starosti stránku o naší firmě?",
        "Od včerejška se nemůžu přihlásit, co mám dělat?",
        "Díky, funguje to.",
        "Je něco nového?",
        "Podívejte se na https://cs.wikipedia.org/wiki/Praha, je tam špatné datum.",
        "Ohledně File:Karluv_most_2018.jpg: dorazil už souhlas?",
    ],
}

# Languages without a queue of their own: the right answer for routing is
# "none of ours" (the parent queue).  The libraries, restricted to our
# languages, cannot say that; only the script check can, for other scripts.
OTHERS: dict[str, list[str]] = {
    "ko": ["안녕하세요, 제 사진이 왜 삭제되었나요?", "계정이 차단되었습니다. 도와주세요."],
    "el": ["Γεια σας, γιατί διαγράφηκε η φωτογραφία μου;"],
    "he": ["שלום, למה התמונה שלי נמחקה?"],
    "sv": ["Hej, varför har min bild tagits bort från artikeln?"],
    "tr": ["Merhaba, fotoğrafım neden silindi?"],
}

Detector = Callable[[str], str | None]
REPEAT = 20
# Typical mail: what tests/unit/test_routing_decisions.py pins, fewer rounds.
MAIL_COUNT, MAIL_SEED, MAIL_MAX_SIZE, MAIL_REPEAT = 600, 1, 20_000, 5


def load_py3langid() -> Detector:
    """py3langid's model restricted to LANGUAGES, as the library offers it."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages(list(LANGUAGES))

    def detect(text: str) -> str | None:
        return str(identifier.classify(text)[0])

    return detect


def load_lingua() -> Detector:
    """lingua in low-accuracy mode, restricted to LANGUAGES, models preloaded."""
    from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

    languages = [Language.from_iso_code_639_1(getattr(IsoCode639_1, c.upper())) for c in LANGUAGES]
    detector = (
        LanguageDetectorBuilder.from_languages(*languages)
        .with_low_accuracy_mode()
        .with_preloaded_language_models()
        .build()
    )

    def detect(text: str) -> str | None:
        found = detector.detect_language_of(text)
        return None if found is None else str(found.iso_code_639_1.name.lower())

    return detect


def load_tickets() -> Detector:
    """What routing runs: tickets.language (py3langid's model without numpy)."""
    from tickets.language import LanguageDetector, preload

    preload()
    return LanguageDetector(LANGUAGES).detect


def mail_texts() -> list[str]:
    """Typical mail as routing reads it: the subject and the text written now."""
    from bench.corpus import generate
    from tickets.intake import prepare
    from tickets.text import main_text

    texts = []
    for raw in generate(MAIL_COUNT, MAIL_SEED):
        if len(raw) <= MAIL_MAX_SIZE:
            parsed = prepare(raw).parsed
            texts.append(f"{parsed.subject}\n{main_text(parsed.body)}")
    return texts


def best_rate(detect: Detector, texts: list[str], repeat: int) -> float:
    """Texts per second, best of ``repeat`` rounds: the machine is shared, and
    the best round is the one least disturbed by others."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        for text in texts:
            detect(text)
        best = min(best, time.perf_counter() - started)
    return len(texts) / best


def measure(name: str, repeat: int) -> dict[str, float]:
    """Cold start, accuracy on SAMPLES, texts per second, and OTHERS left undecided.

    Runs in a process of its own, so that the load time includes importing
    the library (numpy for py3langid) as a fresh ``mail deliver`` would.
    """
    started = time.perf_counter()
    detect = DETECTORS[name]()
    load_seconds = time.perf_counter() - started
    detect("Hallo, kurze Frage zu Wikipedia")
    first_seconds = time.perf_counter() - started
    labelled = [(lang, text) for lang, texts in SAMPLES.items() for text in texts]
    wrong = [(lang, text, found) for lang, text in labelled if (found := detect(text)) != lang]
    per_second = best_rate(detect, [text for _, text in labelled], repeat)
    others = [text for texts in OTHERS.values() for text in texts]
    mail = mail_texts()
    return {
        "right": len(labelled) - len(wrong),
        "total": len(labelled),
        "per_second": per_second,
        "mail_per_second": best_rate(detect, mail, MAIL_REPEAT),
        "mail": len(mail),
        "load": load_seconds,
        "first": first_seconds,
        "others_undecided": sum(1 for text in others if detect(text) is None),
        "others": len(others),
        "wrong": [f"{lang} -> {found}: {text}" for lang, text, found in wrong],  # type: ignore[dict-item]
    }


DETECTORS: dict[str, Callable[[], Detector]] = {
    "py3langid": load_py3langid,
    "lingua-low": load_lingua,
    "tickets.language": load_tickets,
}


def main() -> None:
    """Measure each detector in its own process and print a table."""
    if len(sys.argv) == 3 and sys.argv[1] == "--one":
        print(json.dumps(measure(sys.argv[2], REPEAT)))
        return
    results: dict[str, dict[str, Any]] = {}
    for name in DETECTORS:
        run = subprocess.run(
            [sys.executable, __file__, "--one", name], capture_output=True, text=True, check=True
        )
        results[name] = json.loads(run.stdout)
    fastest = max(r["per_second"] for r in results.values())
    for name, r in results.items():
        for line in r["wrong"]:
            print(f"  {name} wrong: {line}")
    count = sum(len(t) for t in SAMPLES.values())
    print(f"\n{count} texts in {len(SAMPLES)} languages; speed is the best of {REPEAT} rounds;")
    print("cold start = import + model load + first answer, in a fresh process\n")
    print(
        f"{'detector':17} {'accuracy':>16} {'texts/s':>8} {'vs fastest':>10}"
        f" {'load s':>7} {'cold s':>7}  other scripts"
    )
    for name, r in results.items():
        print(
            f"{name:17} {r['right'] / r['total']:7.1%} ({r['right']}/{r['total']})"
            f" {r['per_second']:8.0f} {r['per_second'] / fastest:9.2f}x"
            f" {r['load']:7.3f} {r['first']:7.3f}"
            f"  {r['others_undecided']}/{r['others']} left undecided"
        )
    mail = next(iter(results.values()))["mail"]
    fastest = max(r["mail_per_second"] for r in results.values())
    print(
        f"\ntypical mail: {mail} generated messages of up to {MAIL_MAX_SIZE:,} bytes"
        f" (bench/corpus.py, seed {MAIL_SEED}),"
    )
    print(f"subject and text written now; best of {MAIL_REPEAT} rounds\n")
    print(f"{'detector':17} {'texts/s':>8} {'vs fastest':>10}")
    for name, r in results.items():
        rate = r["mail_per_second"]
        print(f"{name:17} {rate:8.0f} {rate / fastest:9.2f}x")


if __name__ == "__main__":
    main()
