"""Sandbox passwords go on a maintenance script's command line."""

from wikibridge_sandbox.wikis import _password


def test_a_password_never_looks_like_an_option():
    # createAndPromote.php took "-m3ed…" for options once: one draw in 64 did that.
    assert not any(_password().startswith("-") for _ in range(2000))
