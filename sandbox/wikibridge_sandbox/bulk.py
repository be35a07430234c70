"""Many pages at once on a sandbox wiki: an XML dump read by ``importDump.php``.

Creating pages one by one over the API costs a request and a parse each;
benchmarks that need tens of thousands of pages import them in one go, the
way a wiki farm loads a dump, with MediaWiki's own link tables (templates,
external links, interwiki links) updated as it imports.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from xml.sax.saxutils import escape

from wikibridge_sandbox.packages import MW_ROOT, php_binary, run_command
from wikibridge_sandbox.state import SandboxWiki

#: Namespaces by their prefix, as the dump must say them.
_NAMESPACES = {"File": 6, "Template": 10, "User": 2, "Category": 14}


def _namespace(title: str) -> int:
    prefix = title.split(":", 1)[0] if ":" in title else ""
    return _NAMESPACES.get(prefix, 0)


def write_dump(path: Path, pages: Iterable[tuple[str, str]], user: str = "Importer") -> int:
    """Write ``pages`` (title, wikitext) as a MediaWiki XML dump; return how many."""
    count = 0
    with path.open("w", encoding="utf-8") as out:
        out.write(
            '<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.11/" version="0.11" '
            'xml:lang="en">\n'
        )
        for title, text in pages:
            count += 1
            out.write(
                f"<page><title>{escape(title)}</title><ns>{_namespace(title)}</ns>"
                f"<revision><timestamp>2026-01-01T00:00:00Z</timestamp>"
                f"<contributor><username>{escape(user)}</username></contributor>"
                "<model>wikitext</model><format>text/x-wiki</format>"
                f'<text xml:space="preserve">{escape(text)}</text></revision></page>\n'
            )
        out.write("</mediawiki>\n")
    return count


def import_pages(wiki: SandboxWiki, pages: Iterable[tuple[str, str]], timeout: float = 3600) -> int:
    """Import ``pages`` into ``wiki`` with ``importDump.php``; return how many were written."""
    with tempfile.TemporaryDirectory() as tmp:
        dump = Path(tmp) / "pages.xml"
        count = write_dump(dump, pages)
        env = {**os.environ, "MW_CONFIG_FILE": str(wiki.config_file)}
        run_command(
            [php_binary(), str(MW_ROOT / "maintenance" / "importDump.php"), str(dump)],
            timeout=timeout,
            env=env,
            cwd=wiki.dir,
        )
    return count
