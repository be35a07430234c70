"""py3langid's model scored without numpy: the same probabilities, a cache that loads fast."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tickets import language_model
from tickets.language_model import LanguageModel

TEXTS = [
    "Hallo, kurze Frage zu Wikipedia",
    "Bonjour, pourquoi ma photo a-t-elle été supprimée ?",
    "I am the photographer and I release this photo under CC BY-SA 4.0.",
    "Hej, varför har min bild tagits bort från artikeln?",
    "Здравствуйте, почему удалили мою фотографию?",
    "Добар дан, зашто је моја фотографија обрисана?",  # Serbian: two columns, one label
    "Dobar dan, zašto je moja fotografija obrisana?",
    "Salom, nega mening rasmim o'chirildi?",  # Uzbek: two columns too
    "こんにちは。私の写真が削除された理由を教えてください。",
    "你好，请问为什么我的照片被删除了？",
    "مرحبا، لماذا تم حذف الصورة التي رفعتها؟",
    "WHY WAS MY PHOTO DELETED FROM THE ARTICLE",  # all upper case: lowered, as py3langid
    "Gr\ufffd\ufffde aus M\ufffdnchen \ud800 broken surrogate",
    "",
    "\x00\x01",
    " ",
    "a",
    "Ø" * 3000 + "ß" * 3000,
    ("Der Artikel über unsere Gemeinde enthält leider mehrere Fehler. " * 40),
]


@pytest.fixture(scope="module")
def blob() -> bytes:
    """The cache file's contents, built once for the module."""
    return language_model.build(language_model.model_file())


@pytest.fixture(scope="module")
def model(blob: bytes) -> LanguageModel:
    return LanguageModel(blob)


@pytest.fixture(scope="module")
def reference():
    """py3langid itself, with numpy: what the model must agree with."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


@pytest.mark.parametrize("text", TEXTS, ids=range(len(TEXTS)))
def test_probabilities_are_py3langids(model, reference, text):
    expected = dict(reference.rank(text))
    got = model.probabilities(text)
    assert list(got) == list(dict.fromkeys(reference.nb_classes))  # the model's order
    assert got.keys() == expected.keys()
    for label, probability in expected.items():
        # numpy sums in float32, the model in exact integers.
        assert got[label] == pytest.approx(probability, rel=2e-3, abs=1e-12), label
    assert sum(got.values()) == pytest.approx(1.0)


def test_the_best_language_is_py3langids(model, reference):
    for text in TEXTS[:12]:
        got = model.probabilities(text)
        assert max(got, key=got.__getitem__) == reference.rank(text)[0][0]


def test_a_text_without_features_is_uniform_with_aliases_added(model, reference):
    got = model.probabilities("")
    assert got == pytest.approx(dict(reference.rank("")))
    assert got["sr"] == pytest.approx(2 * got["en"])


def test_rows_summed_in_chunks_give_the_same_sums(blob):
    text = "Le photographe a publié la photo sous licence libre, merci. " * 30
    whole = LanguageModel(blob).probabilities(text)
    chunked = LanguageModel(blob)
    chunked._chunk = 3  # as if the lanes had room for three rows only
    assert chunked.probabilities(text) == pytest.approx(whole, rel=1e-12, abs=1e-300)


def test_walking_lists_or_mapped_arrays_gives_the_same(blob):
    mapped, lists = LanguageModel(blob), LanguageModel(blob)
    lists._walked = language_model._LISTS_AFTER_BYTES
    for text in TEXTS:
        assert lists.probabilities(text) == mapped.probabilities(text)
    assert isinstance(lists._output, list) and not isinstance(mapped._output, list)


def test_only_the_first_bytes_of_a_huge_text_are_read(model):
    german = "Der Artikel über unsere Gemeinde enthält leider mehrere Fehler. "
    text = german * (language_model.MAX_BYTES // len(german) + 10) + "Hello " * 50_000
    got = model.probabilities(text)
    assert max(got, key=got.__getitem__) == "de"


def test_the_model_file_is_found_where_py3langid_keeps_it():
    from py3langid.langid import MODEL_DIR, MODEL_FILE

    assert language_model.model_file() == Path(MODEL_DIR) / MODEL_FILE


# --- The cache ----------------------------------------------------------------------


def _prebuilt(monkeypatch: pytest.MonkeyPatch, blob: bytes) -> None:
    """Building the cache returns ``blob`` at once (building takes a second)."""
    monkeypatch.setattr(language_model, "build", lambda source: blob)
    monkeypatch.setattr(language_model, "image", lambda source: iter([blob[:100], blob[100:]]))


def test_the_cache_is_written_once_and_then_read(tmp_path, monkeypatch, blob):
    _prebuilt(monkeypatch, blob)
    first = language_model.load(tmp_path)
    files = list(tmp_path.iterdir())
    assert [f.name for f in files] == [
        language_model.cache_file(tmp_path, language_model.model_file()).name
    ]
    assert files[0].read_bytes() == blob

    def no_build(source: Path) -> bytes:
        raise AssertionError("the cache should have been read")

    monkeypatch.setattr(language_model, "build", no_build)
    monkeypatch.setattr(language_model, "image", no_build)
    second = language_model.load(tmp_path)
    assert second.probabilities(TEXTS[0]) == first.probabilities(TEXTS[0])


def test_writing_the_cache_removes_those_of_other_models_and_keeps_other_files(
    tmp_path, monkeypatch, blob
):
    _prebuilt(monkeypatch, blob)
    (tmp_path / "langid-v1-4000-1700000000.bin").write_bytes(b"an older layout")
    (tmp_path / "langid-v2-5000-1800000000.bin").write_bytes(b"an older model file")
    (tmp_path / "notes.txt").write_text("not ours to remove")
    language_model.load(tmp_path)
    current = language_model.cache_file(tmp_path, language_model.model_file()).name
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([current, "notes.txt"])


@pytest.mark.parametrize("damage", ["empty", "truncated", "other-version"])
def test_a_damaged_cache_is_rebuilt(tmp_path, monkeypatch, blob, damage):
    _prebuilt(monkeypatch, blob)
    path = language_model.cache_file(tmp_path, language_model.model_file())
    contents = {
        "empty": b"",
        "truncated": blob[: len(blob) // 2],
        "other-version": blob[:8] + (99).to_bytes(4, "little") + blob[12:],
    }[damage]
    path.write_bytes(contents)
    model = language_model.load(tmp_path)
    assert max(model.probabilities(TEXTS[0]).items(), key=lambda kv: kv[1])[0] == "de"
    assert path.read_bytes() == blob
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_a_cache_that_cannot_be_written_leaves_the_model_in_memory(tmp_path, monkeypatch, blob):
    _prebuilt(monkeypatch, blob)

    def read_only(source: str, target: object) -> None:
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr(language_model.os, "replace", read_only)
    model = language_model.load(tmp_path)
    assert "de" in model.labels
    assert list(tmp_path.iterdir()) == []  # the half-written file is gone


def test_a_cache_dir_that_cannot_be_made_leaves_the_model_in_memory(tmp_path, monkeypatch, blob):
    _prebuilt(monkeypatch, blob)
    (tmp_path / "file").write_text("not a directory")
    model = language_model.load(tmp_path / "file" / "cache")
    assert "de" in model.labels
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_detecting_in_a_fresh_process_imports_neither_numpy_nor_py3langid(tmp_path, blob):
    # What every ``mail deliver`` process does once the cache is there.
    path = language_model.cache_file(tmp_path, language_model.model_file())
    path.write_bytes(blob)
    code = (
        "import sys\n"
        "from tickets.language import LanguageDetector\n"
        "d = LanguageDetector(['de', 'fr', 'nl'])\n"
        "assert d.detect('Guten Tag, ich habe eine Frage zu meinem Konto.') == 'de'\n"
        "assert d.detect('Bonjour, j\\'ai une question sur mon compte.') == 'fr'\n"
        "assert 'numpy' not in sys.modules, 'numpy imported'\n"
        "assert 'py3langid' not in sys.modules, 'py3langid imported'\n"
    )
    env = {**os.environ, "WIKIBRIDGE_CACHE_DIR": str(tmp_path)}
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60, env=env)


def test_a_fresh_process_without_a_cache_writes_it(tmp_path, blob):
    env = {**os.environ, "WIKIBRIDGE_CACHE_DIR": str(tmp_path / "cache")}
    code = (
        "from tickets.language import LanguageDetector\n"
        "assert LanguageDetector(['de', 'fr']).detect('Guten Tag, eine Frage') == 'de'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120, env=env)
    written = list((tmp_path / "cache").iterdir())
    assert [p.name for p in written] == [
        language_model.cache_file(tmp_path / "cache", language_model.model_file()).name
    ]
    assert written[0].read_bytes() == blob  # written in pieces, the same as built whole


def test_rows_beyond_those_kept_are_made_for_each_text(blob, monkeypatch):
    monkeypatch.setattr(language_model, "_ROWS_KEPT", 10)
    model, unbounded = LanguageModel(blob), LanguageModel(blob)
    monkeypatch.setattr(language_model, "_ROWS_KEPT", 1 << 20)
    for text in TEXTS:
        assert model.probabilities(text) == unbounded.probabilities(text)
    assert sum(row is not None for row in model._rows) == 10
