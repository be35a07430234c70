"""tickets.records.Record behaves as the frozen dataclass it stands in for; digests as hashlib."""

from __future__ import annotations

import dataclasses
import hashlib

import pytest

from tickets import digests
from tickets.records import FrozenRecordError, Record, field


class Plain(Record):
    name: str
    size: int = 0
    tags: list[str] = field(default_factory=list)
    secret: str = field(default="", repr=False)


@dataclasses.dataclass(frozen=True)
class Reference:
    name: str
    size: int = 0
    tags: list[str] = dataclasses.field(default_factory=list)
    secret: str = dataclasses.field(default="", repr=False)


CALLS: list[tuple[tuple[object, ...], dict[str, object]]] = [
    (("a",), {}),
    (("a", 3), {}),
    (("a",), {"tags": ["x"]}),
    ((), {"name": "b", "size": 2, "secret": "s"}),
]


@pytest.mark.parametrize(("args", "kwargs"), CALLS)
def test_construction_repr_equality_and_hash_match_a_frozen_dataclass(args, kwargs):
    ours, theirs = Plain(*args, **kwargs), Reference(*args, **kwargs)
    assert repr(ours) == repr(theirs).replace("Reference", "Plain")
    assert ours.as_dict() == dataclasses.asdict(theirs)
    assert ours == Plain(*args, **kwargs)
    assert ours != Plain("other")


def test_hash_is_that_of_the_values_as_a_frozen_dataclass_has_it():
    class Pair(Record):
        left: str
        right: int = 0

    @dataclasses.dataclass(frozen=True)
    class PairReference:
        left: str
        right: int = 0

    assert hash(Pair("a", 1)) == hash(PairReference("a", 1)) == hash(Pair("a", 1))
    assert len({Pair("a", 1), Pair("a", 1), Pair("b")}) == 2
    with pytest.raises(TypeError):  # a list inside is unhashable, in both
        hash(Plain("a"))


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [((), {}), (("a", 1, [], "s", "extra"), {}), (("a",), {"name": "b"}), (("a",), {"nope": 1})],
)
def test_bad_calls_fail_as_a_dataclass_would(args, kwargs):
    with pytest.raises(TypeError):
        Reference(*args, **kwargs)
    with pytest.raises(TypeError):
        Plain(*args, **kwargs)


def test_each_record_gets_its_own_default_list():
    first, second = Plain("a"), Plain("b")
    first.tags.append("x")
    assert second.tags == []


def test_fields_cannot_be_assigned_or_deleted():
    record = Plain("a")
    with pytest.raises(FrozenRecordError):
        record.name = "b"  # type: ignore[misc]
    with pytest.raises(FrozenRecordError):
        del record.size
    assert isinstance(FrozenRecordError("x"), AttributeError)


def test_replace_copies_with_changes_and_refuses_unknown_fields():
    record = Plain("a", 1, ["t"], "s")
    changed = record.replace(size=2)
    assert changed == Plain("a", 2, ["t"], "s")
    assert record.size == 1
    with pytest.raises(TypeError):
        record.replace(colour="red")


def test_records_of_different_classes_are_never_equal():
    class Other(Record):
        name: str
        size: int = 0
        tags: list[str] = field(default_factory=list)
        secret: str = field(default="", repr=False)

    assert Plain("a") != Other("a")


def test_a_field_without_default_after_one_with_is_refused():
    with pytest.raises(TypeError, match="non-default argument"):

        class Wrong(Record):
            first: int = 0
            second: str  # type: ignore[misc]


@pytest.mark.parametrize("size", [0, 1, 64, 1000, digests.SMALL, digests.SMALL + 1, 600_000])
def test_sha256_hex_is_hashlibs(size):
    data = bytes(i % 251 for i in range(size))
    assert digests.sha256_hex(data) == hashlib.sha256(data).hexdigest()
