"""py3langid's language model, read from a compact cache and scored in pure Python.

``wikibridge mail deliver`` runs one process per message, so what it costs to
start matters as much as what a text costs.  py3langid itself needs numpy
(about 50 ms to import) and an lzma-compressed model (most of a second to
unpack).  Here the model is unpacked once into a cache file of flat
little-endian arrays, which later processes map into memory in well under a
millisecond; scoring then uses nothing but the standard library and gives the
probabilities py3langid's ``rank`` gives (computed more precisely: see below).

The model, as py3langid defines it: a text's UTF-8 bytes walk a finite
automaton whose states name byte n-gram features; each language's score is
the sum over distinct features of ``log1p(count) * log P(feature | language)``
plus the language's prior, and probabilities are the softmax of the scores
divided by the square root of the text's length in bytes.

How it is made fast without numpy: every ``log P`` of the model is a float16
in [-16, 0), hence an exact multiple of a power of two (``2**-shift``), so a
feature's row of ``-log P * 2**shift`` is a row of small integers (< 2**13
for py3langid's model).  A row is kept as one Python integer with a 24-bit
lane per language, and adding two rows adds all their lanes at once, in C.
The features are grouped by count; each group's rows are summed exactly,
spread into 72-bit lanes and weighted by ``log1p(count)`` in fixed point
(30 fractional bits), and the priors are added in the same fixed point, so a
text costs one big-integer addition per feature plus a few operations per
group and one unpacking, not a multiply per feature and language.  Nothing
is rounded but the weights (by less than 1e-9), where numpy's float32 dot
product rounds at every step; the probabilities agree with py3langid's to
about 1e-3 relative, the tiny ones included.
"""

from __future__ import annotations

import math
import mmap
import os
import struct
import sys
import unicodedata
from array import array
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from itertools import repeat
from operator import mul, sub, truediv
from pathlib import Path

# Not typing itself at run time: ``mail deliver`` imports this module (see tickets.records).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Literal

# Bumped whenever the layout below or the scoring's fixed point changes; part
# of the file name, so that another version's cache is never read.
FORMAT_VERSION = 1
_MAGIC = b"WBLANGID"
# magic, version, classes, states, table entries, features, shift, largest
# weight, label bytes
_HEADER = struct.Struct("<8s8I")

# At most this many bytes of a text are read.  It bounds the fixed point: a
# class's weighted sum stays below MAX_BYTES * 2**16 * (2**_WEIGHT_BITS + 1)
# < 2**63.  Language detection reads far less (tickets.language passes a few
# thousand characters at most).
MAX_BYTES = 1 << 16
_WEIGHT_BITS = 30
_LANE_BITS = 24  # a row's lanes: a weight < 2**16 and room for sums
_WIDE_BYTES = 9  # the weighted sums' lanes (72 bits: three row lanes apart)
# Walking the automaton through lists is faster than through the mapped
# arrays, but making the lists takes a few milliseconds: worth it only for a
# process that has read this much text already (a long-running worker).
_LISTS_AFTER_BYTES = 1 << 17
# Rows kept once made (480 bytes each): mail in a dozen languages uses a few
# thousand features; text in every language the model knows could use all
# 100,000, and a long-running process should not grow by 50 MB for it.
_ROWS_KEPT = 1 << 15


def _weight(count: int) -> int:
    """log1p(count) in the weights' fixed point."""
    return round(math.log1p(count) * (1 << _WEIGHT_BITS))


_WEIGHTS = tuple(_weight(count) for count in range(256))


class CacheError(Exception):
    """The cache file is not a cache of this version's layout."""


def model_file() -> Path:
    """The model file py3langid ships, found without importing py3langid (and numpy)."""
    from importlib.machinery import PathFinder

    spec = PathFinder.find_spec("py3langid")
    if spec is not None and spec.submodule_search_locations:
        packaged = Path(next(iter(spec.submodule_search_locations))) / "data" / "model.npz.xz"
        if packaged.is_file():
            return packaged
    # py3langid moved its model: ask it (this imports numpy, once).
    from py3langid.langid import MODEL_DIR, MODEL_FILE

    return Path(MODEL_FILE) if Path(MODEL_FILE).is_absolute() else Path(MODEL_DIR) / MODEL_FILE


def cache_file(cache_dir: Path, source: Path) -> Path:
    """Where the cache of ``source`` lives: keyed by the model file's size and time."""
    stat = source.stat()
    return cache_dir / f"langid-v{FORMAT_VERSION}-{stat.st_size}-{int(stat.st_mtime)}.bin"


def load(cache_dir: Path) -> LanguageModel:
    """The model, from its cache in ``cache_dir``, writing the cache first if missing.

    A cache that cannot be read is rebuilt; one that cannot be written (a
    read-only home) leaves the model built in memory for this process only.
    """
    source = model_file()
    path = cache_file(cache_dir, source)
    try:
        return LanguageModel(_map(path))
    except (OSError, ValueError, CacheError):  # missing, empty or of another layout
        pass
    if _write(path, image(source)):
        _remove_stale(path)
        try:
            return LanguageModel(_map(path))
        except (OSError, ValueError, CacheError):  # replaced meanwhile by a stranger
            pass
    return LanguageModel(build(source))


def _remove_stale(current: Path) -> None:
    """Remove the caches of other model files or layouts beside ``current``.

    Each is tens of megabytes and is written again when the model it was made
    from changes (an upgrade of py3langid or of this module), so without this
    they pile up.  A process still mapping one keeps its pages: unlinking a
    mapped file frees it only when the mapping goes.
    """
    import contextlib

    for other in current.parent.glob("langid-v*.bin"):
        if other.name != current.name:
            # Another process may have removed it first, or it is not ours to remove.
            with contextlib.suppress(OSError):
                other.unlink()


def _map(path: Path) -> mmap.mmap:
    with path.open("rb") as fh:
        # The mapping outlives the file object; its pages are shared with
        # every other process through the page cache.
        return mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)


def _write(path: Path, pieces: Iterable[bytes | memoryview]) -> bool:
    """Write ``pieces`` to ``path`` atomically; False if that is impossible."""
    import contextlib
    import tempfile

    staging: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, staging = tempfile.mkstemp(prefix=".langid-", dir=path.parent)
        with os.fdopen(fd, "wb") as fh:
            fh.writelines(pieces)
        os.chmod(staging, 0o644)  # a public model: other users may share the cache
        os.replace(staging, path)  # a reader sees all of it or nothing
    except OSError:
        # A read-only home or a full disk: the model stays in memory.
        if staging is not None:
            with contextlib.suppress(OSError):
                os.unlink(staging)
        return False
    return True


def _aligned(n: int) -> int:
    return (n + 7) & ~7


def build(source: Path) -> bytes:
    """The cache file's contents, made from py3langid's packaged model ``source``."""
    return b"".join(image(source))


def image(source: Path) -> Iterator[bytes | memoryview]:
    """The cache file's contents, in pieces, made from py3langid's packaged model ``source``.

    Needs numpy and py3langid; runs once per model file and machine.  The
    pieces are made one at a time, so that writing them to the file never
    holds a second copy of the model.

    :raises ValueError: if the model is not of the kind this scoring handles
        (weights that are not float16 log-probabilities, say).
    """
    import numpy as np
    from py3langid.langid import _load_model_file

    ptc, pc, classes, nextmove, row, output = _load_model_file(source)
    ptc = np.ascontiguousarray(ptc)
    if ptc.dtype != np.float16 or ptc.ndim != 2 or ptc.shape[1] != len(classes):
        raise ValueError("unexpected model: weights are not a float16 matrix")
    # Columns of labels met before (py3langid's script variants) go last, so
    # that the first len(labels) columns are the labels, in the model's order.
    seen: set[str] = set()
    firsts: list[int] = []
    repeats: list[int] = []
    for column, label in enumerate(classes):
        (repeats if label in seen else firsts).append(column)
        seen.add(label)
    columns = firsts + repeats
    labels = "\n".join(str(classes[c]) for c in columns).encode("utf-8")
    if len(labels.split(b"\n")) != len(classes):
        raise ValueError("a language label contains a line break")
    # The fixed point is found on the distinct values (float16 has 65,536),
    # collected a slice at a time: the matrix is large.
    bits = ptc.view(np.uint16)
    present = np.zeros(1 << 16, dtype=bool)
    for start in range(0, len(bits), 4096):
        present[bits[start : start + 4096].ravel()] = True
    values = -np.flatnonzero(present).astype(np.uint16).view(np.float16).astype(np.float64)
    if not np.isfinite(values).all() or (values < 0).any():
        raise ValueError("unexpected model: log-probabilities must be finite and <= 0")
    for shift in range(25):  # float16 values are multiples of 2**-24 at the finest
        scaled = values * float(1 << shift)
        if (scaled == np.rint(scaled)).all():
            break
    else:
        raise ValueError("unexpected model: weights are not float16")
    largest = int(scaled.max())
    if not 0 < largest < 1 << 16:
        raise ValueError("unexpected model: weights span more than 16 bits")
    priors = np.asarray(pc, dtype=np.float64)[columns]
    if (priors.max() - priors.min()) * 2.0 ** (shift + _WEIGHT_BITS) >= 2.0**62:
        raise ValueError("unexpected model: priors too far apart")
    rowbase = np.asarray(row).astype(np.uint64) << 8
    table = np.asarray(nextmove)
    if len(table) + 255 >= 1 << 32 or len(rowbase) >= 1 << 31 or table.max() >= len(rowbase):
        raise ValueError("unexpected model: automaton too large or inconsistent")
    header = _HEADER.pack(
        _MAGIC,
        FORMAT_VERSION,
        len(classes),
        len(rowbase),
        len(table),
        ptc.shape[0],
        shift,
        largest,
        len(labels),
    )
    sizes = _section_sizes(len(classes), len(rowbase), len(table), ptc.shape[0], len(labels))
    yield header + _padding(len(header))
    sections: list[Any] = [
        labels,
        priors.astype("<f8"),
        rowbase.astype("<u4"),
        np.asarray(output, dtype="<i4"),
        np.ascontiguousarray(table, dtype="<u4"),  # no copy when it is one already
    ]
    for size, section in zip(sizes, sections, strict=False):
        piece = memoryview(section).cast("B")
        if len(piece) != size:
            raise ValueError("unexpected model: inconsistent sizes")
        yield piece
        yield _padding(size)
    for start in range(0, ptc.shape[0], 4096):
        # Exact in float32 and then in 16 bits: integers below 2**16.
        part = ptc[start : start + 4096][:, columns].astype(np.float32)
        part *= -float(1 << shift)
        yield part.astype("<u2").tobytes()
    yield _padding(sizes[-1])


def _padding(size: int) -> bytes:
    return bytes(_aligned(size) - size)


def _section_sizes(
    classes: int, states: int, entries: int, features: int, label_bytes: int
) -> tuple[int, ...]:
    """The sizes of the sections, in their order (see :func:`build`)."""
    return (
        label_bytes,
        8 * classes,  # priors
        4 * states,  # row offsets
        4 * states,  # outputs
        4 * entries,  # transitions
        2 * features * classes,  # weights
    )


def _ints(buffer: memoryview, typecode: Literal["I", "i"]) -> Sequence[int]:
    """A little-endian section as a sequence of ints, without copying where possible."""
    if sys.byteorder == "little":
        return buffer.cast(typecode)
    swapped = array(typecode, bytes(buffer))
    swapped.byteswap()
    return swapped


def _encode(text: str) -> bytes:
    """The bytes py3langid scores for ``text`` (its ``_encode`` for str)."""
    if text.isupper():
        text = text.lower()
    return unicodedata.normalize("NFC", text).encode("utf-8", errors="surrogatepass")


def _spread(lanes: list[int]) -> int:
    """Values as one integer with a wide (72-bit) lane each."""
    return int.from_bytes(b"".join(v.to_bytes(_WIDE_BYTES, "little") for v in lanes), "little")


class LanguageModel:
    """py3langid's naive Bayes model over a cache file's contents (see the module doc)."""

    def __init__(self, buffer: bytes | mmap.mmap) -> None:
        """Read the layout :func:`build` writes from ``buffer`` (a mapped file or bytes).

        :raises CacheError: if ``buffer`` is not a cache of this version.
        """
        view = memoryview(buffer)
        if len(view) < _HEADER.size:
            raise CacheError("too short")
        magic, version, classes, states, entries, features, shift, largest, label_bytes = (
            _HEADER.unpack_from(view)
        )
        if magic != _MAGIC or version != FORMAT_VERSION:
            raise CacheError("not a language model cache of this version")
        sizes = _section_sizes(classes, states, entries, features, label_bytes)
        offset = _aligned(_HEADER.size)
        sections = []
        for size in sizes:
            sections.append(view[offset : offset + size])
            offset += _aligned(size)
        if offset != len(view) or not 0 < largest < 1 << 16:
            raise CacheError("cut short or of another layout")
        labels, priors, rowbase, output, table, weights = sections
        self._buffer = buffer  # keeps the mapping alive
        columns = bytes(labels).decode("utf-8").split("\n")
        self._columns = len(columns)
        self._table = _ints(table, "I")
        self._rowbase = _ints(rowbase, "I")
        self._output = _ints(output, "i")
        self._walked = 0
        self._weights = weights
        # A row is made from the cache the first time a text has its feature,
        # then kept (up to _ROWS_KEPT of them).
        self._rows: list[int | None] = [None] * features
        self._room = _ROWS_KEPT
        # Rows summed at once: their lanes must not overflow.
        self._chunk = ((1 << _LANE_BITS) - 1) // largest
        # The weighted sums are kept in three integers with 72-bit lanes: the
        # first holds columns 0, 3, 6..., the second 1, 4, 7..., the third 2, 5...
        self._wide = -(-len(columns) // 3)
        self._mask = _spread([(1 << _LANE_BITS) - 1] * self._wide)
        # Each wide lane is below 2**64: its low eight bytes are its value.
        self._lanes = struct.Struct("<" + "Qx" * self._wide)
        # The priors, as costs (the highest prior costs 0) in the same fixed
        # point as the weighted sums; a common offset changes no probability.
        prior = struct.unpack(f"<{classes}d", priors)
        fixed = float(1 << (shift + _WEIGHT_BITS))
        cost = [round((max(prior) - p) * fixed) for p in prior] + [0, 0]
        self._prior_costs = tuple(_spread(cost[j::3][: self._wide]) for j in range(3))
        self._unit = 1.0 / fixed
        self.labels: tuple[str, ...] = tuple(dict.fromkeys(columns))
        # Columns of a label met before add their probability to its first.
        self._aliases = [
            (columns.index(label), column)
            for column, label in enumerate(columns)
            if column >= len(self.labels)
        ]

    def probabilities(self, text: str) -> dict[str, float]:
        """Every label's probability for ``text``, in the model's order of labels.

        The same as ``dict(LanguageIdentifier(..., norm_probs=True).rank(text))``
        for py3langid's model, up to rounding; only the first :data:`MAX_BYTES`
        bytes of the text are read.
        """
        return dict(zip(self.labels, self.distribution(text), strict=True))

    def distribution(self, text: str) -> list[float]:
        """The probabilities of :attr:`labels` for ``text``, in that order (see above)."""
        data = _encode(text)[:MAX_BYTES]
        counts = self._feature_counts(data)
        if counts:
            costs = self._costs(counts)
            # Softmax of the scores over py3langid's temperature, the square
            # root of the length in bytes; the best score's term is exp(0).
            least = min(costs)
            factor = -self._unit / math.sqrt(len(data))
            exps = list(map(math.exp, map(mul, map(sub, costs, repeat(least)), repeat(factor))))
        else:
            exps = [1.0] * self._columns  # no feature: uniform, as py3langid
        total = sum(exps)
        for first, alias in self._aliases:
            exps[first] += exps[alias]
        del exps[len(self.labels) :]
        return list(map(truediv, exps, repeat(total)))

    def _feature_counts(self, data: bytes) -> Counter[int]:
        """How often each feature occurs in ``data``: the automaton's walk."""
        self._walked += len(data)
        if self._walked > _LISTS_AFTER_BYTES and not isinstance(self._output, list):
            self._rowbase, self._output = list(self._rowbase), list(self._output)
        table, rowbase, output = self._table, self._rowbase, self._output
        state = 0
        # A comprehension, not a loop with append: a fifth faster.
        counts = Counter([output[(state := table[rowbase[state] + byte])] for byte in data])
        counts.pop(-1, None)  # states that end no feature
        return counts

    def _costs(self, counts: Counter[int]) -> list[int]:
        """Each column's cost: the prior's, plus log1p(count) * -log P(feature) summed."""
        groups: dict[int, list[int]] = {}
        for feature, count in counts.items():
            group = groups.get(count)
            if group is None:
                groups[count] = [feature]
            else:
                group.append(feature)
        rows, mask, chunk = self._rows, self._mask, self._chunk
        first, second, third = self._prior_costs
        for count, features in groups.items():
            weight = _WEIGHTS[count] if count < len(_WEIGHTS) else _weight(count)
            parts = (
                [features]
                if len(features) <= chunk
                else [features[i : i + chunk] for i in range(0, len(features), chunk)]
            )
            for part in parts:
                try:
                    total = sum(map(rows.__getitem__, part))  # type: ignore[arg-type]
                except TypeError:  # a row not made yet
                    total = sum(map(self._row, part))
                first += weight * (total & mask)
                second += weight * ((total >> _LANE_BITS) & mask)
                third += weight * ((total >> 2 * _LANE_BITS) & mask)
        size, unpack = _WIDE_BYTES * self._wide, self._lanes.unpack
        costs = [0] * (3 * self._wide)
        costs[0::3] = unpack(first.to_bytes(size, "little"))
        costs[1::3] = unpack(second.to_bytes(size, "little"))
        costs[2::3] = unpack(third.to_bytes(size, "little"))
        del costs[self._columns :]
        return costs

    def _row(self, feature: int) -> int:
        """Feature ``feature``'s weights as one integer with a 24-bit lane per column."""
        row = self._rows[feature]
        if row is None:
            start = feature * 2 * self._columns
            packed = bytes(self._weights[start : start + 2 * self._columns])
            lanes = bytearray(3 * self._columns)
            lanes[0::3] = packed[0::2]
            lanes[1::3] = packed[1::2]
            row = int.from_bytes(lanes, "little")
            if self._room > 0:
                self._room -= 1
                self._rows[feature] = row
        return row
