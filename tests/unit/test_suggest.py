import pytest

from wikibridge.wiki.suggest import suggest_pages

WIKIS = {
    "commons": {
        "api_url": "https://commons.wikimedia.org/w/api.php",
        "article_url": "https://commons.wikimedia.org/wiki/",
    },
    "meta": {
        "api_url": "https://meta.wikimedia.org/w/api.php",
        "article_url": "https://meta.wikimedia.org/wiki/",
    },
    "dewiki": {
        "api_url": "https://de.wikipedia.org/w/api.php",
        "article_url": "https://de.wikipedia.org/wiki/",
    },
}


def suggest(text, default="commons", limit=100):
    return suggest_pages(text, WIKIS, default, limit)


def test_english_mail_with_three_files_one_twice():
    mail = """Dear Wikimedia volunteers,

I am the photographer of the following images and I release them under CC BY-SA 4.0:

- File:Sunset over the harbour (2019).JPG
- https://commons.wikimedia.org/wiki/File:Old_lighthouse%2C_north_side.jpg
- [[File:Fishing boats.png|thumb|The boats]]

To be clear, File:Sunset over the harbour (2019).JPG is the one taken from the pier.

Best regards,
John Smith <john.smith@example.org>
"""
    assert suggest(mail) == [
        ("commons", "File:Sunset over the harbour (2019).JPG"),
        ("commons", "File:Old lighthouse, north side.jpg"),
        ("commons", "File:Fishing boats.png"),
    ]


def test_german_mail():
    mail = (
        "Hallo,\n\nich bin der Fotograf von Datei:Kölner Dom bei Nacht.jpg und "
        "https://de.wikipedia.org/wiki/Datei:Rhein_im_Winter.jpeg (beide unter CC BY-SA 4.0).\n"
        "Die Originaldatei heißt übrigens DSC00012.jpg.\n\nViele Grüße\n"
    )
    assert suggest(mail) == [
        ("commons", "File:Kölner Dom bei Nacht.jpg"),
        ("dewiki", "File:Rhein im Winter.jpeg"),
        ("commons", "File:DSC00012.jpg"),
    ]


def test_french_mail():
    mail = (
        "Bonjour,\n\nJe suis l'auteur du fichier Fichier:Été à Paris (Tour Eiffel).jpeg, "
        "voir https://commons.m.wikimedia.org/wiki/Fichier:%C3%89glise_Saint-Paul.png"
        "?uselang=fr#Licence.\nCordialement,\n"
    )
    assert suggest(mail) == [
        ("commons", "File:Été à Paris (Tour Eiffel).jpeg"),
        ("commons", "File:Église Saint-Paul.png"),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Image:Old map.svg", ("commons", "File:Old map.svg")),
        ("[[file:small_icon.PNG]]", ("commons", "File:Small icon.PNG")),
        ("Immagine:Colosseo.tif", ("commons", "File:Colosseo.tif")),
        ("Archivo:Mapa de España.svg", ("commons", "File:Mapa de España.svg")),
        ("Bestand:Molen.webp", ("commons", "File:Molen.webp")),
        ("Plik:Kraków.jpg", ("commons", "File:Kraków.jpg")),
        ("Arquivo:Lisboa.gif", ("commons", "File:Lisboa.gif")),
        ("Файл:Москва.jpg", ("commons", "File:Москва.jpg")),
        ("File:Talk recording.ogg", ("commons", "File:Talk recording.ogg")),
        ("File:Scan.djvu", ("commons", "File:Scan.djvu")),
        ("File:Bracket.stl", ("commons", "File:Bracket.stl")),
        ("File:Report 2020.PDF", ("commons", "File:Report 2020.PDF")),
        (
            "https://meta.wikimedia.org/w/index.php?title=File:Logo_draft.svg&action=history",
            ("meta", "File:Logo draft.svg"),
        ),
        (
            "<https://upload.wikimedia.org/wikipedia/commons/a/ab/Caf%C3%A9_de_Flore.jpg>",
            ("commons", "File:Café de Flore.jpg"),
        ),
        (
            "https://upload.wikimedia.org/wikipedia/commons/thumb/a/ab/Harbour.jpg/"
            "320px-Harbour.jpg",
            ("commons", "File:Harbour.jpg"),
        ),
        ("IMG_1234.JPG", ("commons", "File:IMG 1234.JPG")),
        ("attached: my-photo_2.png.", ("commons", "File:My-photo 2.png")),
        (r"C:\Users\anna\Pictures\P1000234.jpg", ("commons", "File:P1000234.jpg")),
    ],
)
def test_forms(text, expected):
    assert suggest(text) == [expected]


@pytest.mark.parametrize(
    "text",
    [
        "No files here, just a question about CC BY-SA 4.0.",
        "write to photo.jpg@example.org",
        "[cid:image001.png@01D6A1B2.C3D4E5F0]",
        "https://www.flickr.com/photos/someone/IMG_1234.jpg",
        "https://en.wikipedia.org/wiki/File:Not_configured.jpg",
        "https://commons.wikimedia.org/wiki/Category:Harbours",
        "archive.zip and notes.docx",
        "photo.jpg.zip",
        "my profile:picture.jpg",
    ],
)
def test_nothing(text):
    assert suggest(text) == []


def test_same_file_as_title_url_and_name_is_one_suggestion():
    text = (
        "File:IMG_1234.JPG = https://commons.wikimedia.org/wiki/File:IMG_1234.JPG = "
        "IMG_1234.JPG = https://upload.wikimedia.org/wikipedia/commons/1/12/IMG_1234.JPG"
    )
    assert suggest(text) == [("commons", "File:IMG 1234.JPG")]


def test_default_wiki_is_used_for_titles_and_names():
    assert suggest("File:A.jpg and b.png", default="meta") == [
        ("meta", "File:A.jpg"),
        ("meta", "File:B.png"),
    ]


def test_upload_urls_need_a_commons_wiki():
    wikis = {"meta": WIKIS["meta"]}
    url = "https://upload.wikimedia.org/wikipedia/commons/a/ab/Harbour.jpg"
    assert suggest_pages(url, wikis, "meta") == []


def test_limit():
    text = " ".join(f"IMG_{i}.jpg" for i in range(10))
    assert len(suggest(text, limit=3)) == 3
    assert suggest(text, limit=0) == []
