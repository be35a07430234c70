import pytest

from tickets.licences import licence_named, licences_named


@pytest.mark.parametrize(
    ("text", "licence"),
    [
        ("I hereby release the photo under CC BY-SA 4.0.", "CC-BY-SA-4.0"),
        ("Lizenz: CC-BY-SA 4.0", "CC-BY-SA-4.0"),
        ("{{cc-by-sa-4.0}}", "CC-BY-SA-4.0"),
        ("licence: cc by sa 3.0", "CC-BY-SA-3.0"),
        ("Creative Commons Attribution-ShareAlike 4.0 International", "CC-BY-SA-4.0"),
        ("under the Creative Commons Attribution-Share Alike 4.0 license", "CC-BY-SA-4.0"),
        (
            "Ich stelle das Bild unter die Lizenz Creative Commons Namensnennung – Weitergabe "
            "unter gleichen Bedingungen 4.0 International.",
            "CC-BY-SA-4.0",
        ),
        ("published under Creative Commons Attribution 4.0", "CC-BY-4.0"),
        ("CC BY 4.0", "CC-BY-4.0"),
        ("CC-BY 3.0", "CC-BY-3.0"),
        ("CC BY-SA 2.0", "CC-BY-SA-2.0"),
        ("CC-BY-2.0", "CC-BY-2.0"),
        ("I dedicate it to the public domain (CC0).", "CC0-1.0"),
        ("CC0 1.0 Universal", "CC0-1.0"),
        ("you can use CC Zero", "CC0-1.0"),
        ("sous Creative Commons Zero", "CC0-1.0"),
        ("public domain dedication (CC0)", "CC0-1.0"),
        (
            "Je publie cette photo sous licence Creative Commons Attribution - Partage dans "
            "les Mêmes Conditions 4.0 International.",
            "CC-BY-SA-4.0",
        ),
        ("Publico la imagen bajo la licencia Reconocimiento-CompartirIgual 4.0", "CC-BY-SA-4.0"),
        ("licencia Creative Commons Atribución-CompartirIgual 4.0", "CC-BY-SA-4.0"),
        ("Attribuzione - Condividi allo stesso modo 4.0 Internazionale", "CC-BY-SA-4.0"),
        ("Atribuição-CompartilhaIgual 4.0 Internacional", "CC-BY-SA-4.0"),
        ("Naamsvermelding-GelijkDelen 4.0", "CC-BY-SA-4.0"),
        ("https://creativecommons.org/licenses/by-sa/4.0/deed.de", "CC-BY-SA-4.0"),
        ("see <https://creativecommons.org/licenses/by/3.0/>", "CC-BY-3.0"),
        ("https://creativecommons.org/publicdomain/zero/1.0/", "CC0-1.0"),
        ("I agree to publish under CC BY-SA", "CC-BY-SA-4.0"),
        ("Creative Commons Attribution-ShareAlike", "CC-BY-SA-4.0"),
        ("Creative Commons BY-SA 4.0", "CC-BY-SA-4.0"),
        ("GNU Free Documentation License", "GFDL-1.2"),
        ("dual licensed: GFDL", "GFDL-1.2"),
        (
            "Creative Commons Attribution-ShareAlike 4.0 International (CC BY-SA 4.0), see "
            "https://creativecommons.org/licenses/by-sa/4.0/",
            "CC-BY-SA-4.0",
        ),
        ("CC BY-SA 4.0\u00a0International", "CC-BY-SA-4.0"),
        ("CC BY–SA 4.0", "CC-BY-SA-4.0"),
    ],
)
def test_single_licence(text, licence):
    assert licences_named(text) == [licence]
    assert licence_named(text) == licence


@pytest.mark.parametrize(
    "text",
    [
        "the photo is not under a Creative Commons licence",
        "Can I use this picture on my website?",
        "I put you in cc by mistake, sorry.",
        "CC BY-NC-SA 4.0",
        "Creative Commons Attribution-NonCommercial-ShareAlike 4.0 International",
        "https://creativecommons.org/licenses/by-nc/4.0/",
        "Namensnennung - Nicht kommerziell 4.0",
        "Attribution is required.",
        "Cc: volunteers@example.org",
        "",
    ],
)
def test_no_licence(text):
    assert licences_named(text) == []
    assert licence_named(text) is None


def test_two_licences_in_order():
    text = "Choose CC BY-SA 4.0 or CC BY 4.0 for the photo."
    assert licences_named(text) == ["CC-BY-SA-4.0", "CC-BY-4.0"]
    assert licence_named(text) is None


def test_dual_licensing_and_repeats():
    text = (
        "I license it under the GFDL and CC-BY-SA-3.0. Once again: GNU Free Documentation "
        "License, CC BY-SA 3.0."
    )
    assert licences_named(text) == ["GFDL-1.2", "CC-BY-SA-3.0"]
    assert licence_named(text) is None


def test_same_licence_named_many_ways_is_one():
    text = "CC BY-SA 4.0 (https://creativecommons.org/licenses/by-sa/4.0/), cc-by-sa-4.0"
    assert licence_named(text) == "CC-BY-SA-4.0"


def test_line_breaks_inside_a_name():
    text = "Creative Commons\nAttribution-ShareAlike\n  4.0 International"
    assert licence_named(text) == "CC-BY-SA-4.0"
