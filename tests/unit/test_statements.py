"""Permission statements are recognised in every language, and questions are not."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tickets.statements import is_permission_statement, statement_evidence

# Statements: the formal declaration of consent (our own phrasing of its key
# sentences in each language) first, then informal releases.
STATEMENTS: dict[str, list[str]] = {
    "en": [
        "I hereby affirm that I am the creator and/or sole owner of the exclusive copyright of "
        "the work shown in File:Harbour at dawn.jpg. I agree to publish that work under the "
        "free license Creative Commons Attribution-ShareAlike 4.0 International. I acknowledge "
        "that by doing so I grant anyone the right to use the work in a commercial product.",
        "I am the photographer and I release this photo under CC BY-SA 4.0.",
        "I took this picture and agree to license it under Creative Commons "
        "Attribution-ShareAlike.",
        "you may use my photo under CC-BY-SA",
        "Hi, I took this photo myself, CC BY-SA 4.0.",
        "We are the copyright holders of our logo and hereby release it into the public domain.",
        "Feel free to use my pictures under CC BY 4.0, just credit me.",
        "I'd like to release the attached drawings under CC0.",
        "Permission is hereby granted to publish the photo under the GFDL.",
        "I own the copyright to this image and give Wikimedia permission to use it under "
        "CC BY-SA 4.0.",
        "I am the photographer and I release\nthis photo under CC\nBY-SA 4.0.",
        "Hello, can you help me? I am the author of the map. You can use it under CC BY 4.0.",
        "I, John Smith, hereby release the photo under CC BY-SA 4.0.",
        "Photo by me, released under CC BY-SA 4.0.",
        "This is my own work and I'm happy for it to be used under CC BY-SA.",
        "I took it myself last summer. It may be used under CC BY-SA 4.0.",
    ],
    "de": [
        "Hiermit erkläre ich, dass ich der Urheber und/oder alleinige Inhaber der "
        "ausschließlichen Nutzungsrechte an dem Werk Datei:Rathaus.jpg bin. Ich stimme zu, das "
        "Werk unter der freien Lizenz Creative Commons Namensnennung – Weitergabe unter "
        "gleichen Bedingungen 4.0 zu veröffentlichen.",
        "ich bin der Fotograf und gebe das Bild unter CC BY-SA 4.0 frei",
        "Ich habe das Foto selbst gemacht und stelle es unter CC BY 4.0 zur Verfügung.",
        "Sie dürfen mein Foto gerne unter CC BY-SA verwenden.",
        "Ich möchte meine Zeichnung unter CC0 freigeben.",
        "Hiermit erteile ich der Wikipedia die Erlaubnis, das Bild unter der Lizenz "
        "CC BY-SA 4.0 zu nutzen.",
        "Das Foto ist von mir, Lizenz CC BY-SA 4.0.",
        "Wir sind die Rechteinhaber und das Logo ist gemeinfrei.",
        "Ich bin der Urheber des Fotos und gebe es\nunter CC BY-SA 4.0\nfrei.",
        "GRÜSSE! ICH BIN DER FOTOGRAF UND GEBE DAS BILD UNTER CC BY-SA 4.0 FREI.",
        "Das Bild habe ich selbst gemacht. Es darf unter CC BY-SA 4.0 verwendet werden.",
        "Ich, Max Muster, gebe hiermit das Foto unter CC BY-SA 4.0 frei.",
    ],
    "fr": [
        "Je déclare par la présente que je suis l'auteur et/ou le titulaire unique des droits "
        "d'auteur exclusifs de l'œuvre Fichier:Pont.jpg. J'accepte de publier cette œuvre sous "
        "la licence libre Creative Commons Attribution – Partage dans les mêmes conditions 4.0.",
        "Je suis l'auteur de cette photo et je la publie sous licence CC BY-SA 4.0.",
        "J'ai pris cette photo moi-même et je la place sous licence CC BY 4.0.",
        "Vous pouvez utiliser ma photo sous licence CC BY-SA.",
        "J’autorise Wikimédia à utiliser mon image sous CC BY-SA 4.0.",
        "Je souhaite placer mes dessins dans le domaine public.",
        "Nous sommes les titulaires des droits et nous donnons notre accord pour une "
        "diffusion sous CC BY-SA 4.0.",
        "Je, soussigné Jean Dupont, autorise la publication de ma photo sous CC BY-SA 4.0.",
    ],
    "es": [
        "Por la presente afirmo que soy el creador y/o el único propietario de los derechos "
        "de autor exclusivos de la obra Archivo:Catedral.jpg. Acepto publicar esta obra bajo "
        "la licencia libre Creative Commons Atribución-CompartirIgual 4.0.",
        "Soy el autor de la fotografía y la publico bajo la licencia CC BY-SA 4.0.",
        "Tomé esta foto yo mismo y autorizo su publicación bajo CC BY 4.0.",
        "Pueden usar mi foto bajo CC BY-SA.",
        "Quiero liberar mis imágenes en dominio público.",
        "Doy mi permiso para publicar la imagen con licencia CC BY-SA 4.0.",
        "Somos los titulares de los derechos y la cedemos bajo CC BY-SA 4.0.",
        "Yo, Juan Pérez, autorizo el uso de mi foto bajo CC BY-SA 4.0.",
    ],
    "it": [
        "Con la presente dichiaro di essere l'autore e/o l'unico titolare dei diritti "
        "d'autore esclusivi dell'opera File:Duomo.jpg. Accetto di pubblicare l'opera con la "
        "licenza libera Creative Commons Attribuzione-Condividi allo stesso modo 4.0.",
        "Sono l'autore della fotografia e la rilascio con licenza CC BY-SA 4.0.",
        "Ho scattato io questa foto e autorizzo la pubblicazione sotto CC BY 4.0.",
        "Potete usare la mia foto con licenza CC BY-SA.",
        "Vorrei rilasciare i miei disegni in pubblico dominio.",
        "Do il mio consenso alla pubblicazione con licenza CC BY-SA 4.0.",
    ],
    "nl": [
        "Hierbij verklaar ik dat ik de maker en/of de enige eigenaar van het exclusieve "
        "auteursrecht van het werk Bestand:Molen.jpg ben. Ik ga ermee akkoord dit werk te "
        "publiceren onder de vrije licentie Creative Commons Naamsvermelding-GelijkDelen 4.0.",
        "Ik ben de fotograaf en ik geef deze foto vrij onder CC BY-SA 4.0.",
        "Ik heb deze foto zelf gemaakt en stel hem beschikbaar onder CC BY 4.0.",
        "U mag mijn foto gebruiken onder CC BY-SA.",
        "Wij geven toestemming om ons logo te publiceren onder CC0.",
        "Ik wil mijn tekeningen in het publiek domein vrijgeven.",
    ],
    "pl": [
        "Niniejszym oświadczam, że jestem twórcą i/lub jedynym właścicielem wyłącznych praw "
        "autorskich do utworu Plik:Wawel.jpg. Zgadzam się opublikować ten utwór na wolnej "
        "licencji Creative Commons Uznanie autorstwa – Na tych samych warunkach 4.0.",
        "Jestem autorem tego zdjęcia i udostępniam je na licencji CC BY-SA 4.0.",
        "Zrobiłem to zdjęcie sam i wyrażam zgodę na publikację na licencji CC BY 4.0.",
        "Możecie używać mojego zdjęcia na licencji CC BY-SA.",
        "Chciałabym udostępnić moje rysunki w domenie publicznej.",
    ],
    "pt": [
        "Declaro que sou o criador e/ou único proprietário dos direitos autorais exclusivos "
        "da obra Ficheiro:Torre.jpg. Concordo em publicar esta obra sob a licença livre "
        "Creative Commons Atribuição-CompartilhaIgual 4.0.",
        "Sou o autor da fotografia e a disponibilizo sob a licença CC BY-SA 4.0.",
        "Tirei esta foto e autorizo a publicação sob CC BY 4.0.",
        "Vocês podem usar a minha foto sob CC BY-SA.",
        "Quero disponibilizar as minhas imagens em domínio público.",
        "Dou a minha autorização para usar a imagem sob CC BY-SA 4.0.",
    ],
    "ru": [
        "Настоящим я подтверждаю, что являюсь автором и/или единственным владельцем "
        "исключительных авторских прав на произведение Файл:Кремль.jpg. Я согласен "
        "опубликовать это произведение под свободной лицензией Creative Commons "
        "Attribution-ShareAlike 4.0.",
        "Я автор этой фотографии и публикую её под лицензией CC BY-SA 4.0.",
        "Я сам сделал эту фотографию и разрешаю использовать её на условиях CC BY 4.0.",
        "Вы можете использовать мою фотографию под лицензией CC BY-SA.",
        "Хочу передать мои рисунки в общественное достояние.",
        "Даю согласие на публикацию снимка под CC BY-SA 4.0.",
    ],
    "cs": [
        "Tímto prohlašuji, že jsem autorem a/nebo jediným vlastníkem výhradních autorských "
        "práv k dílu Soubor:Most.jpg. Souhlasím se zveřejněním tohoto díla pod svobodnou "
        "licencí Creative Commons Uveďte původ – Zachovejte licenci 4.0.",
        "Jsem autorem této fotografie a uvolňuji ji pod licencí CC BY-SA 4.0.",
        "Tuto fotku jsem vyfotil sám a dávám souhlas s jejím zveřejněním pod CC BY 4.0.",
        "Můžete ji volně použít pod licencí CC BY-SA.",
        "Chci uvolnit své kresby jako volné dílo.",
    ],
    "ar": [
        "أؤكد بموجب هذا أنني المؤلف و/أو المالك الوحيد لحقوق النشر الحصرية للعمل ملف:برج.jpg. "
        "أوافق على نشر هذا العمل بموجب الرخصة الحرة المشاع الإبداعي نسب المصنف - الترخيص "
        "بالمثل 4.0.",
        "أنا مصور هذه الصورة وأوافق على نشرها بموجب رخصة المشاع الإبداعي.",
        "يمكنكم استخدام صورتي بموجب رخصة CC BY-SA 4.0.",
        "التقطت هذه الصورة بنفسي وأنشرها تحت رخصة CC BY 4.0.",
        "أمنح ويكيبيديا الإذن باستخدام الصورة وفق رخصة المشاع الإبداعي.",
    ],
    "ja": [
        "私は、ファイル:東京タワー.jpg の著作者および/または著作権の唯一の所有者であることを"
        "確認します。私は、この作品を自由ライセンス「クリエイティブ・コモンズ 表示-継承 4.0」"
        "の下で公開することに同意します。",
        "私はこの写真の撮影者であり、CC BY-SA 4.0 で公開することに同意します。",
        "この写真は私が撮影したもので、CC BY 4.0 で提供します。",
        "私の写真を CC BY-SA 4.0 の下で自由に使用して構いません。",
        "自分で撮った写真なので、パブリックドメインとして公開します。",
    ],
    "zh": [
        "本人在此确认，本人是作品File:长城.jpg的创作者和/或唯一著作权人。本人同意以自由许可"
        "协议“知识共享 署名-相同方式共享 4.0”发布该作品。",
        "我是这张照片的拍摄者，同意以CC BY-SA 4.0协议发布。",
        "这张照片是我自己拍的，你们可以使用我的照片，授权协议为CC BY 4.0。",
        "我授权维基百科以CC BY-SA 4.0使用这张照片。",
        "我是這張照片的攝影師，同意以CC BY-SA 4.0授權釋出。",
    ],
}

# Not statements: questions and complaints that name a licence, negated or
# hypothetical releases, and licence talk without an act.
NOT_STATEMENTS: dict[str, list[str]] = {
    "en": [
        "Why was my photo deleted? It said CC BY-SA",
        "Can I use a Wikipedia photo under CC BY-SA in my book?",
        "what licence is this image?",
        "Someone uploaded my photo under CC BY-SA without my permission. Please delete it.",
        "I am the photographer and someone used my picture under CC BY-SA without attribution.",
        "How do I release my photo under CC BY-SA?",
        "If I release it under CC0 others could sell it, so I am hesitant.",
        "I did not agree to publish anything under CC BY-SA.",
        "The article says the logo is CC BY-SA but it is actually trademarked.",
        "Thanks for explaining CC BY-SA 4.0 to me, I understand it now.",
        "I agree that CC BY-SA is confusing.",
        "Please tell me which Creative Commons licence I should choose.",
        "I am the photographer of the picture in the article about our town.",
        "I am the photographer and I don't understand why my CC BY-SA photo was deleted.",
        "Please don't use my photo under CC BY-SA.",
        "I want to know whether I can release my photos under CC BY-SA.",
        "I uploaded a photo under CC BY-SA and it was deleted. Why?",
    ],
    "de": [
        "Warum wurde mein Bild gelöscht? Es stand doch CC BY-SA dabei.",
        "Darf ich ein Foto aus Wikipedia unter CC BY-SA in meinem Buch verwenden?",
        "Welche Lizenz hat dieses Bild?",
        "Mein Foto wird ohne Namensnennung verwendet, obwohl es unter CC BY-SA steht.",
        "Ich bin der Fotograf, aber jemand hat mein Bild ohne Erlaubnis unter CC BY-SA "
        "hochgeladen.",
        "Wie kann ich ein Bild unter CC BY-SA freigeben?",
        "Ich gebe das Bild nicht unter CC BY-SA frei.",
        "Ich verstehe nicht, was CC BY-SA 4.0 bedeutet.",
        "Können Sie mir sagen, ob das Logo gemeinfrei ist?",
        "Die Datei steht unter CC BY-SA, trotzdem wurde sie gelöscht.",
        "Ich stimme der Veröffentlichung unter CC BY-SA nicht zu.",
        "Wir möchten wissen, ob wir das Bild unter CC BY-SA verwenden dürfen.",
        "Ich habe das Bild unter CC BY-SA hochgeladen, aber es wurde gelöscht.",
    ],
    "fr": [
        "Pourquoi ma photo a-t-elle été supprimée ? Elle était sous CC BY-SA.",
        "Est-ce que je peux utiliser une image de Wikipédia sous CC BY-SA dans mon livre ?",
        "Quelle est la licence de cette image ?",
        "Je suis le photographe et mon image est utilisée sans autorisation sous CC BY-SA.",
        "Je ne publie pas mes photos sous licence CC BY-SA.",
        "Comment je publie une photo sous CC BY-SA ?",
        "Je n'ai rien compris à la licence Creative Commons.",
        "Je n'autorise pas la publication sous CC BY-SA.",
        "Bonjour, je voudrais savoir si je peux publier une photo sous CC BY-SA dans mon journal.",
    ],
    "es": [
        "¿Por qué borraron mi foto? Estaba bajo CC BY-SA.",
        "¿Puedo usar una foto de Wikipedia con licencia CC BY-SA en mi libro?",
        "¿Qué licencia tiene esta imagen?",
        "Soy el fotógrafo y alguien publicó mi foto sin permiso bajo CC BY-SA.",
        "No publico mis fotos bajo CC BY-SA.",
        "La imagen está en dominio publico según el artículo.",
        "No entiendo la licencia Creative Commons.",
        "Soy el autor del artículo y no entiendo por qué se borró la foto con licencia CC BY-SA.",
        "No autorizo la publicación bajo CC BY-SA.",
        "Hola, quisiera saber si puedo publicar una foto bajo CC BY-SA en mi revista.",
    ],
    "it": [
        "Perché la mia foto è stata cancellata? Era sotto CC BY-SA.",
        "Posso usare un'immagine di Wikipedia con licenza CC BY-SA nella mia tesi?",
        "Che licenza ha questa immagine?",
        "Sono il fotografo e la mia foto è stata pubblicata senza permesso con licenza CC BY-SA.",
        "Non rilascio le mie foto con licenza CC BY-SA.",
        "La foto è di pubblico dominio in Italia secondo la legge.",
        "Non autorizzo la pubblicazione con licenza CC BY-SA.",
        "Buongiorno, vorrei sapere se posso pubblicare una foto con licenza CC BY-SA.",
    ],
    "nl": [
        "Waarom is mijn foto verwijderd? Er stond CC BY-SA bij.",
        "Mag ik een afbeelding van Wikipedia onder CC BY-SA in mijn boek gebruiken?",
        "Welke licentie heeft deze afbeelding?",
        "Ik ben de fotograaf en mijn foto wordt zonder toestemming onder CC BY-SA gebruikt.",
        "Ik geef mijn foto's niet vrij onder CC BY-SA.",
        "Hoe geef ik een foto vrij onder CC BY-SA?",
        "Goedendag, ik wil graag weten of ik een foto onder CC BY-SA mag publiceren.",
    ],
    "pl": [
        "Dlaczego moje zdjęcie zostało usunięte? Było na licencji CC BY-SA.",
        "Czy mogę użyć zdjęcia z Wikipedii na licencji CC BY-SA w mojej książce?",
        "Jaka jest licencja tego obrazka?",
        "Jestem autorem zdjęcia, a ktoś opublikował je bez zgody na licencji CC BY-SA.",
        "Nie udostępniam moich zdjęć na licencji CC BY-SA.",
        "Nie wyrażam zgody na publikację na licencji CC BY-SA.",
        "Dzień dobry, chciałbym wiedzieć, czy mogę opublikować zdjęcie na licencji CC BY-SA.",
    ],
    "pt": [
        "Por que a minha foto foi apagada? Estava sob CC BY-SA.",
        "Posso usar uma imagem da Wikipédia sob CC BY-SA no meu livro?",
        "Qual é a licença desta imagem?",
        "Sou o fotógrafo e a minha foto foi usada sem autorização sob CC BY-SA.",
        "Não publico as minhas fotos sob CC BY-SA.",
        "Não autorizo a publicação sob CC BY-SA.",
        "Olá, gostaria de saber se posso publicar uma foto sob CC BY-SA na minha revista.",
    ],
    "ru": [
        "Почему удалили мою фотографию? Там было указано CC BY-SA.",
        "Можно ли использовать картинку из Википедии под CC BY-SA в моей книге?",
        "Какая лицензия у этого изображения?",
        "Я автор фотографии, а её опубликовали без разрешения под CC BY-SA.",
        "Я не публикую свои фото под лицензией CC BY-SA.",
        "Не даю согласия на публикацию под CC BY-SA.",
        "Здравствуйте, хотел бы узнать, можно ли опубликовать фото под CC BY-SA в журнале.",
    ],
    "cs": [
        "Proč byla moje fotka smazána? Byla pod licencí CC BY-SA.",
        "Můžu použít obrázek z Wikipedie pod CC BY-SA ve své knize?",
        "Jakou licenci má tento obrázek?",
        "Jsem autorem fotky a někdo ji zveřejnil bez souhlasu pod CC BY-SA.",
        "Nevím, co znamená licence CC BY-SA 4.0.",
        "Nesouhlasím se zveřejněním pod CC BY-SA.",
        "Dobrý den, chtěl bych vědět, zda mohu zveřejnit fotku pod CC BY-SA.",
    ],
    "ar": [
        "لماذا تم حذف صورتي؟ كانت بموجب رخصة CC BY-SA.",
        "هل يمكنني استخدام صورة من ويكيبيديا بموجب رخصة CC BY-SA في كتابي؟",
        "ما هي رخصة هذه الصورة؟",
        "أنا مصور الصورة وقد نشرها شخص بدون إذن تحت رخصة CC BY-SA.",
        "لا أنشر صوري بموجب رخصة المشاع الإبداعي.",
        "مرحبا، أريد أن أعرف إذا كان بإمكاني نشر صورة بموجب رخصة المشاع الإبداعي.",
    ],
    "ja": [
        "私の写真が削除されたのはなぜですか？CC BY-SAと書いてありました。",
        "ウィキペディアの CC BY-SA の画像を本に使ってもいいですか？",
        "この画像のライセンスは何ですか？",
        "私が撮影した写真が CC BY-SA で無断で使われています。",
        "CC BY-SA 4.0 とはどういう意味でしょうか。",
        "私は CC BY-SA での公開に同意しません。",
        "雑誌に CC BY-SA の写真を掲載したいのですが、条件を教えてください。",
    ],
    "zh": [
        "为什么我的照片被删除了？上面写着CC BY-SA。",
        "我可以在我的书里使用CC BY-SA授权的维基百科图片吗？",
        "这张图片是什么许可证？",
        "我是这张照片的拍摄者，但有人未经许可以CC BY-SA发布了。",
        "我不同意以CC BY-SA发布我的照片。",
        "我们不授权任何人以CC BY-SA使用这张照片。",
        "我想知道能否在杂志上使用CC BY-SA的照片。",
    ],
}


def _cases(table: dict[str, list[str]]) -> list[object]:
    return [
        pytest.param(lang, text, id=f"{lang}-{i}")
        for lang, texts in table.items()
        for i, text in enumerate(texts)
    ]


@pytest.mark.parametrize(("language", "text"), _cases(STATEMENTS))
def test_statement_is_recognised(language, text):
    assert is_permission_statement(text, language), text


@pytest.mark.parametrize(("language", "text"), _cases(STATEMENTS))
def test_statement_is_recognised_without_language_hint(language, text):
    assert is_permission_statement(text), text


@pytest.mark.parametrize(("language", "text"), _cases(NOT_STATEMENTS))
def test_licence_mention_is_not_a_statement(language, text):
    assert statement_evidence(text, language) is None, statement_evidence(text, language)


def test_every_spec_language_is_covered_both_ways():
    spec = {"ar", "cs", "de", "en", "es", "fr", "it", "ja", "nl", "pl", "pt", "ru", "zh"}
    assert set(STATEMENTS) == spec
    assert set(NOT_STATEMENTS) == spec
    assert all(len(STATEMENTS[lang]) >= 5 and len(NOT_STATEMENTS[lang]) >= 5 for lang in spec)


def test_evidence_names_the_act_and_the_licence():
    evidence = statement_evidence("Hello. I took this picture and I release it under CC BY-SA 4.0.")
    assert evidence is not None
    assert "release" in evidence and "cc by-sa" in evidence


def test_act_without_licence_is_not_a_statement():
    assert not is_permission_statement("I am the photographer and I give you my permission.")


def test_licence_in_a_question_does_not_complete_an_act():
    text = "I agree to publish my photo. But is CC BY-SA the right choice?"
    assert not is_permission_statement(text)


def test_fullwidth_and_compatibility_forms_are_normalised():
    assert is_permission_statement("I release this photo under ＣＣ ＢＹ－ＳＡ ４.０.")


@pytest.mark.parametrize("text", ["", "   ", "\x00", "?" * 1000, "cc by-sa " * 2000])
def test_odd_input_is_no_statement(text):
    assert not is_permission_statement(text)


@given(st.text(max_size=300))
def test_never_raises(text):
    assert isinstance(is_permission_statement(text), bool)
