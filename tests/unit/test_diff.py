from wikibridge.wiki.diff import DiffLine, line_diff


def numbered(n):
    return "".join(f"line {i}\n" for i in range(1, n + 1))


def test_equal_texts_give_nothing():
    assert line_diff("", "") == []
    assert line_diff("a\nb\n", "a\nb\n") == []
    assert line_diff("a\nb", "a\nb\n") == []


def test_one_added_line_with_context():
    old = numbered(6)
    new = old.replace("line 4\n", "line 4\n{{PermissionTicket|id=1}}\n")
    assert line_diff(old, new) == [
        DiffLine("context", "line 3", 3, 3),
        DiffLine("context", "line 4", 4, 4),
        DiffLine("added", "{{PermissionTicket|id=1}}", None, 5),
        DiffLine("context", "line 5", 5, 6),
        DiffLine("context", "line 6", 6, 7),
    ]


def test_replaced_line_is_removed_then_added():
    assert line_diff("a\nb\nc\n", "a\nB\nc\n", context=1) == [
        DiffLine("context", "a", 1, 1),
        DiffLine("removed", "b", 2, None),
        DiffLine("added", "B", None, 2),
        DiffLine("context", "c", 3, 3),
    ]


def test_removed_line_at_start():
    assert line_diff("x\na\nb\nc\n", "a\nb\nc\n", context=1) == [
        DiffLine("removed", "x", 1, None),
        DiffLine("context", "a", 2, 1),
    ]


def test_far_apart_changes_make_two_hunks_with_one_gap():
    old = numbered(20)
    new = old.replace("line 2\n", "line two\n").replace("line 18\n", "")
    diff = line_diff(old, new)
    kinds = [line.kind for line in diff]
    assert kinds.count("gap") == 1
    gap = kinds.index("gap")
    assert diff[gap] == DiffLine("gap", "", None, None)
    assert [(d.kind, d.text) for d in diff[:gap]] == [
        ("context", "line 1"),
        ("removed", "line 2"),
        ("added", "line two"),
        ("context", "line 3"),
        ("context", "line 4"),
    ]
    assert [(d.kind, d.text, d.old_number, d.new_number) for d in diff[gap + 1 :]] == [
        ("context", "line 16", 16, 16),
        ("context", "line 17", 17, 17),
        ("removed", "line 18", 18, None),
        ("context", "line 19", 19, 18),
        ("context", "line 20", 20, 19),
    ]


def test_near_changes_share_a_hunk():
    old = numbered(8)
    new = old.replace("line 3\n", "3\n").replace("line 6\n", "6\n")
    assert "gap" not in [line.kind for line in line_diff(old, new)]


def test_zero_context_and_empty_old_text():
    assert line_diff("", "a\nb\n", context=0) == [
        DiffLine("added", "a", None, 1),
        DiffLine("added", "b", None, 2),
    ]
    assert [d.kind for d in line_diff("a\nb\nc\n", "A\nb\nC\n", context=0)] == [
        "removed",
        "added",
        "gap",
        "removed",
        "added",
    ]


def test_only_newline_separates_lines():
    diff = line_diff("a\x0cb\n", "a\x0cc\n")
    assert [(d.kind, d.text) for d in diff] == [("removed", "a\x0cb"), ("added", "a\x0cc")]
