import pytest

from wikibridge.wiki.titles import TitleError, TitleProblem, normalise, page_from_input

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


C = "https://commons.wikimedia.org/wiki/"


@pytest.mark.parametrize(
    ("text", "named"),
    [
        # The probe's: two files joined by an encoded "|" became one stored title.
        (C + "File:A.jpg%7CFile:B.jpg", "|"),
        (C + "File:A.jpg%7cFile:B.jpg", "|"),
        (C + "File:A%5B1%5D.jpg", "[]"),
        (C + "File:A%7B%7Bx%7D%7D.jpg", "{}"),
        (C + "File:A%3Cb%3E.jpg", "<>"),
        (C + "File:A%23b.jpg", "#"),
        ("https://commons.wikimedia.org/w/index.php?title=File:A.jpg%7CFile:B.jpg", "|"),
        ("File:A.jpg|File:B.jpg", "|"),
        ("File:A%7CB.jpg", "|"),
        ("File:{{x}}", "{}"),
    ],
)
def test_forbidden_characters_refused_typed_or_in_urls(text: str, named: str) -> None:
    with pytest.raises(TitleError) as info:
        page_from_input(text, WIKIS, "commons")
    assert info.value.problem is TitleProblem.FORBIDDEN_CHARACTER
    assert info.value.detail == named
    assert named in str(info.value)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (C + "File:A%0AB.jpg", TitleProblem.CONTROL_CHARACTER),
        (C + "File:A%00.jpg", TitleProblem.CONTROL_CHARACTER),
        (C + "File:A%09B.jpg", TitleProblem.CONTROL_CHARACTER),
        (C + "File:A%7FB.jpg", TitleProblem.CONTROL_CHARACTER),
        ("File:A\x00B.jpg", TitleProblem.CONTROL_CHARACTER),
        (C + "File:A%257CB.jpg", TitleProblem.PERCENT_ENCODING),
        (
            "https://commons.wikimedia.org/w/index.php?title=File:A%257CB.jpg",
            TitleProblem.PERCENT_ENCODING,
        ),
        (C + "File:A%26amp%3BB.jpg", TitleProblem.HTML_ENTITY),
        ("File:A&#124;B.jpg", TitleProblem.HTML_ENTITY),
        (C + "..", TitleProblem.RELATIVE_PATH),
        (C + "VRT%2F..%2FMain", TitleProblem.RELATIVE_PATH),
        (C + "User:A~~~B", TitleProblem.TILDES),
        (C + "File:", TitleProblem.EMPTY),
        (C + "File:" + "a" * 252 + ".jpg", TitleProblem.TOO_LONG),
        ("https://evil.example/wiki/File:X.jpg", TitleProblem.FOREIGN_URL),
    ],
)
def test_other_mediawiki_rules_hold_for_urls(text: str, problem: TitleProblem) -> None:
    with pytest.raises(TitleError) as info:
        page_from_input(text, WIKIS, "commons")
    assert info.value.problem is problem


@pytest.mark.parametrize(
    ("text", "title"),
    [
        (C + "File:Caf%C3%A9_%26_bar.jpg", "File:Café & bar.jpg"),
        (C + "File:100%25_cotton.jpg", "File:100% cotton.jpg"),
        (C + "File:A.jpg#Licensing", "File:A.jpg"),
        (C + "File:" + "a" * 251 + ".jpg", "File:A" + "a" * 250 + ".jpg"),
        ("https://commons.wikimedia.org/w/index.php?title=File:100%25.jpg", "File:100%.jpg"),
    ],
)
def test_decoded_urls_that_are_titles_pass(text: str, title: str) -> None:
    assert page_from_input(text, WIKIS, "meta") == ("commons", title)
