"""Reading a block from the wiki's user information (pure)."""

from __future__ import annotations

from wikibridge.wiki.blocks import Block, block_from, login_wiki


def test_sitewide_block_in_either_format() -> None:
    v2 = {"name": "Carol", "blockid": 7, "blockreason": "spam", "blockexpiry": "infinite"}
    assert block_from("meta", v2) == Block("meta", "spam", "infinite")
    v2_partial = {**v2, "blockpartial": True}
    assert block_from("meta", v2_partial) is None
    v1_partial = {**v2, "blockpartial": ""}
    assert block_from("meta", v1_partial) is None
    assert block_from("meta", {**v2, "blockpartial": False}) is not None
    assert block_from("meta", {"name": "Carol", "groups": ["user"]}) is None


def test_login_wiki_is_named_after_its_wikis_entry() -> None:
    config = {
        "OAUTH_INDEX_URL": "https://meta.wikimedia.org/w/index.php",
        "WIKIS": {"meta": {"api_url": "https://meta.wikimedia.org/w/api.php"}},
    }
    assert login_wiki(config) == ("meta", "https://meta.wikimedia.org/w/api.php")
    config["WIKIS"] = {}
    assert login_wiki(config) == ("meta.wikimedia.org", "https://meta.wikimedia.org/w/api.php")
