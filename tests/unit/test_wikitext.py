from wikibridge.wiki.wikitext import add_permission_template, permission_ids

N = "2016060210016939"


def test_adds_template_above_categories():
    text = "== Summary ==\nA harbour.\n\n[[Category:Harbours]]\n"
    result = add_permission_template(text, N, "PermissionTicket")
    assert result.changed
    assert result.text.index("{{PermissionTicket|id=2016060210016939}}") < result.text.index(
        "[[Category:Harbours]]"
    )


def test_adds_into_information_permission_field():
    text = "{{Information\n|description=x\n|permission=\n|other=y\n}}\n"
    result = add_permission_template(text, N, "PermissionTicket")
    assert "|permission={{PermissionTicket|id=2016060210016939}}\n|other=y" in result.text


def test_same_ticket_left_alone():
    text = "{{PermissionTicket|id=2016060210016939}}\n"
    result = add_permission_template(text, N, "PermissionTicket")
    assert not result.changed
    assert result.existing == (N,)


def test_other_ticket_reported_not_overwritten_even_via_alias():
    text = "{{VRT permission|id=2020010110000011}}\n"
    result = add_permission_template(text, N, "PermissionTicket", ["VRT permission"])
    assert not result.changed
    assert result.existing == ("2020010110000011",)
    assert result.text == text


def test_permission_ids_normalises_names():
    text = "{{template:permissionTicket |id= 123 }} {{Other|id=9}}"
    assert permission_ids(text, ["PermissionTicket"]) == ["123"]
