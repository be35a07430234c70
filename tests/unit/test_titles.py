import pytest

from wikibridge.wiki.titles import TitleError, normalise, page_from_input

WIKIS = {
    "commons": {
        "api_url": "https://commons.wikimedia.org/w/api.php",
        "article_url": "https://commons.wikimedia.org/wiki/",
    },
    "meta": {
        "api_url": "https://meta.wikimedia.org/w/api.php",
        "article_url": "https://meta.wikimedia.org/wiki/",
    },
}


def test_plain_title_goes_to_default_wiki():
    assert page_from_input(" file:harbour_at dawn.jpg ", WIKIS, "commons") == (
        "commons",
        "File:Harbour at dawn.jpg",
    )


def test_article_url():
    url = "https://commons.wikimedia.org/wiki/File:Harbour_at_dawn%2C_2.jpg"
    assert page_from_input(url, WIKIS, "meta") == ("commons", "File:Harbour at dawn, 2.jpg")


def test_index_php_url():
    url = "https://meta.wikimedia.org/w/index.php?title=VRT/Volunteers&action=history"
    assert page_from_input(url, WIKIS, "commons") == ("meta", "VRT/Volunteers")


@pytest.mark.parametrize("bad", ["", "https://example.org/wiki/File:X.jpg", "File:{{x}}"])
def test_refused(bad):
    with pytest.raises(TitleError):
        page_from_input(bad, WIKIS, "commons")


def test_normalise_image_namespace():
    assert normalise("Image:a.png") == "File:A.png"
