"""Regular expressions compiled the first time they are used.

``wikibridge mail deliver`` runs a process per message, and compiling the
reply, signature and header patterns cost it more than a fifth of its
imports; most messages need few of them.  A :class:`LazyPattern` stands
where the compiled pattern stood and compiles on first use.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

# Not typing itself at run time: ``mail deliver`` imports this module (see tickets.records).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_METHODS = ("match", "search", "fullmatch", "sub", "split", "findall", "finditer")


class LazyPattern:
    """A :class:`re.Pattern` of ``str`` compiled on first use of one of its methods.

    ``pattern`` and ``flags`` are there before that (to build other patterns
    from this one's source).  The first method call compiles and puts the
    compiled pattern's methods on the instance, so later calls cost what a
    compiled pattern's do.
    """

    match: Callable[..., re.Match[str] | None]
    search: Callable[..., re.Match[str] | None]
    fullmatch: Callable[..., re.Match[str] | None]
    sub: Callable[..., str]
    split: Callable[..., list[Any]]
    findall: Callable[..., list[Any]]
    finditer: Callable[..., Iterator[re.Match[str]]]

    def __init__(self, pattern: str, flags: int = 0) -> None:
        self.pattern = pattern
        self.flags = flags

    def __getattr__(self, name: str) -> Any:
        # Only called for what the instance lacks: the methods before the first use.
        if name not in _METHODS:
            raise AttributeError(name)
        compiled = re.compile(self.pattern, self.flags)
        for method in _METHODS:
            setattr(self, method, getattr(compiled, method))
        return getattr(compiled, name)

    def __repr__(self) -> str:
        return f"LazyPattern({self.pattern!r}, {self.flags!r})"
