"""What the sandbox wikis are seeded with: templates, pages, sample files.

The content imitates what wikibridge meets on Wikimedia Commons and Meta: the
permission templates VRT volunteers add or read, a few uploaded files carrying
them, and a page listing the volunteers. Images are generated here at run time
(tiny PNGs and baseline JPEGs) so the repository carries no binary files, and
uploaded through the API, which sets each description page exactly.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import sqlite3
import struct
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from tickets.numbers import format_number
from wikibridge_sandbox.reference_samples import REFERENCE_PAGES

__all__ = [
    "ABUSE_FILTERS",
    "COMMONS_PAGES",
    "META_PAGES",
    "MUSEUM_CATEGORY",
    "MUSEUM_FILES",
    "PERMISSION_FILTER_DESCRIPTION",
    "SAMPLE_FILES",
    "TEMPLATES",
    "UPLOADER",
    "AdminSession",
    "SampleFile",
    "SeedError",
    "bulk_description",
    "install_abuse_filters",
    "jpeg_bytes",
    "labelled_png",
    "png_bytes",
    "ticket_number",
    "upload_many",
]


class SeedError(RuntimeError):
    """The wiki refused a seeding request."""


def ticket_number(date: str, counter: int, system_id: str = "10") -> str:
    """Return a valid ticket number (Znuny's DateChecksum) for sample tags.

    :param date: ``YYYYMMDD``
    :param counter: the ticket's number of the day
    :param system_id: two digits, ``10`` at Wikimedia
    """
    return format_number(dt.datetime.strptime(date, "%Y%m%d").date(), system_id, counter)


_TICKET_URL = (
    "https://ticket.wikimedia.org/otrs/index.pl?Action=AgentTicketZoom&TicketNumber={{{id}}}"
)

# Simplified copies of the Commons templates: same names and parameters, enough
# markup to see that they render (ParserFunctions) and which category they set.
# #if trims its branches, hence &#32; for a leading space.
TEMPLATES: dict[str, str] = {
    "Template:PermissionTicket": (
        '<div class="vrt-permission" style="border:1px solid #36c; padding:0.5em;">'
        "'''VRT permission confirmed.''' "
        "{{#if:{{{id|}}}|Permission for this file is archived in the VRT system as "
        f"ticket [{_TICKET_URL} #{{{{{{id}}}}}}].|Permission for this file is archived in "
        "the VRT system.}}"
        "{{#if:{{{user|}}}|&#32;Verified by [[User:{{{user}}}|{{{user}}}]].}}</div>"
        "<includeonly>[[Category:Items with VRT permission confirmed]]</includeonly>"
        "<noinclude>\nUsage: <code><nowiki>{{PermissionTicket|id=2016060210016939|"
        "user=Example}}</nowiki></code></noinclude>"
    ),
    "Template:Permission pending": (
        '<div class="vrt-pending" style="border:1px solid #fc3; padding:0.5em;">'
        "'''Permission pending.''' A permission statement for this file was received"
        "{{#if:{{{day|}}}|&#32;on {{{day}}} {{{month|}}} {{{year|}}}}}"
        f"{{{{#if:{{{{{{id|}}}}}}|&#32;as ticket [{_TICKET_URL} #{{{{{{id}}}}}}]}}}}"
        " and awaits review by a VRT volunteer.</div>"
        "<includeonly>[[Category:Items with VRT permission pending]]</includeonly>"
    ),
    "Template:No permission since": (
        '<div class="no-permission" style="border:1px solid #d33; padding:0.5em;">'
        "'''No permission since {{{day|?}}} {{{month|?}}} {{{year|?}}}.''' "
        "There is no proof that the copyright holder agreed to the licence. Unless "
        "permission reaches the VRT, the file may be deleted.</div>"
        "<includeonly>[[Category:Media missing permission]]</includeonly>"
    ),
    "Template:Permission received": (
        '<div class="vrt-received" style="border:1px solid #999; padding:0.5em;">'
        "'''Permission received'''"
        f"{{{{#if:{{{{{{id|}}}}}}|&#32;in ticket [{_TICKET_URL} #{{{{{{id}}}}}}]}}}}"
        "{{#if:{{{day|}}}|&#32;on {{{day}}} {{{month|}}} {{{year|}}}}}"
        ", but it is not yet sufficient.{{#if:{{{reason|}}}|&#32;Reason: {{{reason}}}.}}"
        "{{#if:{{{user|}}}|&#32;([[User:{{{user}}}|{{{user}}}]])}}</div>"
        "<includeonly>[[Category:Items with VRT permission received]]</includeonly>"
    ),
    "Template:VRT permission": "#REDIRECT [[Template:PermissionTicket]]",
    "Template:OTRS permission": "#REDIRECT [[Template:PermissionTicket]]",
}

_VOLUNTEERS_PAGE = """\
This page lists the volunteers of the sandbox Volunteer Response Team.
Onboarding a new volunteer adds a line here.

== Volunteers ==
* [[User:Alice|Alice]]
* [[User:Carol Example|Carol Example]]
"""

#: The sample user who uploaded :data:`MUSEUM_FILES` (a sandbox volunteer).
UPLOADER = "Dana Uploader"
#: A category of several files, for linking files to a ticket in bulk.
MUSEUM_CATEGORY = "Category:Photos from the Example Museum"

COMMONS_PAGES: dict[str, str] = {
    **TEMPLATES,
    **REFERENCE_PAGES,
    MUSEUM_CATEGORY: (
        "Photos donated by the Example Museum; the museum's permission statement "
        "is expected at the VRT.\n"
    ),
}
META_PAGES: dict[str, str] = {**TEMPLATES, "VRT/Volunteers": _VOLUNTEERS_PAGE}


def _crc_chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))


def png_bytes(rgb: tuple[int, int, int], size: int = 16) -> bytes:
    """Return a valid ``size`` by ``size`` RGB PNG: the colour above a white diagonal."""
    rows = []
    for y in range(size):
        pixels = b"".join(bytes(rgb) if x != y else b"\xff\xff\xff" for x in range(size))
        rows.append(b"\x00" + pixels)  # filter type 0 for every scanline
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _crc_chunk(b"IHDR", header)
        + _crc_chunk(b"IDAT", zlib.compress(b"".join(rows)))
        + _crc_chunk(b"IEND", b"")
    )


def labelled_png(label: str, size: int = 8) -> bytes:
    """A tiny PNG unique to *label* (in a ``tEXt`` chunk), coloured after it.

    MediaWiki warns about byte-identical uploads; the label keeps files apart.
    """
    digest = hashlib.sha256(label.encode()).digest()
    plain = png_bytes((digest[0], digest[1], digest[2]), size)
    end = plain.rindex(b"IEND") - 4  # the IEND chunk starts with its length
    text = _crc_chunk(b"tEXt", b"Title\0" + label.encode("utf-8"))
    return plain[:end] + text + plain[end:]


class _BitWriter:
    """Entropy-coded JPEG segment: bits MSB first, 0xFF bytes stuffed."""

    def __init__(self) -> None:
        self._bits: list[int] = []

    def write(self, value: int, length: int) -> None:
        self._bits.extend((value >> shift) & 1 for shift in range(length - 1, -1, -1))

    def getvalue(self) -> bytes:
        bits = self._bits + [1] * (-len(self._bits) % 8)  # pad with one-bits
        out = bytearray()
        for i in range(0, len(bits), 8):
            byte = int("".join(map(str, bits[i : i + 8])), 2)
            out.append(byte)
            if byte == 0xFF:
                out.append(0x00)
        return bytes(out)


def _segment(marker: int, payload: bytes) -> bytes:
    return struct.pack(">HH", 0xFF00 | marker, len(payload) + 2) + payload


def jpeg_bytes(rgb: tuple[int, int, int], size: int = 16) -> bytes:
    """Return a valid baseline JPEG of one colour, ``size`` by ``size`` (a multiple of 8).

    A flat block has only a DC coefficient, so the encoder is small: quantiser 1,
    DC categories 0-11 all coded with 4 bits, and a one-symbol AC table (end of
    block).
    """
    if size % 8:
        raise ValueError("size must be a multiple of 8")
    red, green, blue = rgb
    components = (
        0.299 * red + 0.587 * green + 0.114 * blue,
        -0.1687 * red - 0.3313 * green + 0.5 * blue + 128,
        0.5 * red - 0.4187 * green - 0.0813 * blue + 128,
    )
    # DCT of a flat 8x8 block: DC = 8 * (sample - 128), every AC coefficient 0.
    dcs = [max(-1024, min(1016, round(8 * (value - 128)))) for value in components]
    bits = _BitWriter()
    previous = [0, 0, 0]
    for _ in range((size // 8) ** 2):
        for index, dc in enumerate(dcs):
            diff, previous[index] = dc - previous[index], dc
            category = abs(diff).bit_length()
            bits.write(category, 4)  # DC table: code == category, 4 bits each
            if category:
                bits.write(diff if diff > 0 else diff + (1 << category) - 1, category)
            bits.write(0, 1)  # AC table: end of block is "0"
    dc_table = bytes([0x00]) + bytes([0, 0, 0, 12] + [0] * 12) + bytes(range(12))
    ac_table = bytes([0x10]) + bytes([1] + [0] * 15) + bytes([0x00])
    frame = struct.pack(">BHHB", 8, size, size, 3) + b"".join(
        bytes([component, 0x11, 0]) for component in (1, 2, 3)
    )
    scan = bytes([3]) + b"".join(bytes([component, 0x00]) for component in (1, 2, 3))
    return (
        b"\xff\xd8"
        + _segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
        + _segment(0xDB, bytes([0]) + bytes([1] * 64))
        + _segment(0xC0, frame)
        + _segment(0xC4, dc_table + ac_table)
        + _segment(0xDA, scan + bytes([0, 63, 0]))
        + bits.getvalue()
        + b"\xff\xd9"
    )


@dataclass(frozen=True)
class SampleFile:
    """One file uploaded to the sandbox Commons.

    :param filename: the on-wiki name (without ``File:``)
    :param tag: which permission template the description page carries:
        ``no-permission``, ``pending``, ``ticket``, ``received`` or ``None``
    :param tag_wikitext: the template call as it appears on the page
    """

    filename: str
    tag: str | None
    tag_wikitext: str
    render: Callable[[], bytes]
    categories: tuple[str, ...] = ()

    @property
    def title(self) -> str:
        """The file page title, ``File:...``."""
        return f"File:{self.filename}"

    def description(self) -> str:
        """Wikitext of the file description page."""
        text = (
            f"== {{{{int:filedesc}}}} ==\nSample file of the wikibridge sandbox: {self.filename}.\n"
        )
        if self.tag_wikitext:
            text += f"\n== {{{{int:license-header}}}} ==\n{self.tag_wikitext}\n"
        if self.categories:
            text += "\n" + "".join(f"[[{category}]]\n" for category in self.categories)
        return text


SAMPLE_FILES: tuple[SampleFile, ...] = (
    SampleFile(
        "Sunset over the harbour.jpg",
        "no-permission",
        "{{No permission since|day=3|month=November|year=2026}}",
        lambda: jpeg_bytes((230, 120, 40)),
    ),
    SampleFile(
        "Old town map.png",
        "no-permission",
        "{{No permission since|day=17|month=November|year=2026}}",
        lambda: png_bytes((40, 140, 60)),
    ),
    SampleFile(
        "Portrait of a volunteer.jpg",
        "pending",
        f"{{{{Permission pending|id={ticket_number('20261110', 12345)}"
        "|day=10|month=November|year=2026}}",
        lambda: jpeg_bytes((90, 60, 160)),
    ),
    SampleFile(
        "Logo draft (version 2).png",
        "pending",
        "{{Permission pending|day=20|month=November|year=2026}}",
        lambda: png_bytes((200, 30, 30)),
    ),
    SampleFile(
        "Museum postcard.jpg",
        "ticket",
        "{{PermissionTicket|id=2016060210016939|user=Alice}}",
        lambda: jpeg_bytes((20, 90, 180)),
    ),
    SampleFile(
        "Café façade.png",
        "received",
        f"{{{{Permission received|id={ticket_number('20261121', 7)}"
        "|reason=The licence is missing from the statement"
        "|user=Carol Example|day=21|month=November|year=2026}}",
        lambda: png_bytes((240, 200, 20)),
    ),
    SampleFile(
        "Plain test image.png",
        None,
        "",
        lambda: png_bytes((128, 128, 128)),
    ),
)


_MUSEUM_TAG = "{{No permission since|day=24|month=November|year=2026}}"

#: Uploaded by :data:`UPLOADER`, all in :data:`MUSEUM_CATEGORY`, none permitted yet.
MUSEUM_FILES: tuple[SampleFile, ...] = (
    SampleFile(
        "Example Museum entrance hall.jpg",
        "no-permission",
        _MUSEUM_TAG,
        lambda: jpeg_bytes((150, 110, 70)),
        (MUSEUM_CATEGORY,),
    ),
    SampleFile(
        "Example Museum bronze statue.jpg",
        "no-permission",
        _MUSEUM_TAG,
        lambda: jpeg_bytes((110, 80, 30)),
        (MUSEUM_CATEGORY,),
    ),
    SampleFile(
        "Example Museum floor plan.png",
        "no-permission",
        _MUSEUM_TAG,
        lambda: png_bytes((30, 60, 90)),
        (MUSEUM_CATEGORY,),
    ),
)

#: The public description of the permission-template filter (also the API's info).
PERMISSION_FILTER_DESCRIPTION = "Only VRT volunteers may add permission tickets"
_PERMISSION_TEMPLATE_RE = (
    # No backslashes: AbuseFilter string literals have escapes of their own.
    "(?i)[{][{][ _]*(template[ _]*:[ _]*)?"
    "(permission[ _]*ticket|vrt[ _]+permission|otrs[ _]+permission)[ _]*[|}]"
)
#: Abuse filters of the sandbox Commons: public description -> (rule, actions).
#: Like Commons, only ``vrt-permissions`` members may add the permission
#: template; bots (the wikibridge bot) and admins (seeding) are exempt.
ABUSE_FILTERS: dict[str, tuple[str, tuple[str, ...]]] = {
    PERMISSION_FILTER_DESCRIPTION: (
        'action == "edit"\n'
        '& !("vrt-permissions" in user_groups)\n'
        '& !("bot" in user_groups)\n'
        '& !("sysop" in user_groups)\n'
        f'& rcount("{_PERMISSION_TEMPLATE_RE}", added_lines)'
        f' > rcount("{_PERMISSION_TEMPLATE_RE}", removed_lines)',
        ("disallow",),
    ),
}


def install_abuse_filters(database: Path, author: str = "Admin") -> list[int]:
    """Create or update :data:`ABUSE_FILTERS` in a wiki's SQLite database; their ids.

    MediaWiki 1.39's AbuseFilter has no API to create filters, so they go
    straight into ``abuse_filter`` and ``abuse_filter_action`` (found again by
    their public description: running this twice changes nothing).
    """
    ids = []
    with contextlib.closing(sqlite3.connect(database, timeout=60)) as db, db:
        row = db.execute("SELECT user_id FROM user WHERE user_name = ?", (author,)).fetchone()
        user_id = int(row[0]) if row else 0
        timestamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d%H%M%S")
        for description, (rule, actions) in ABUSE_FILTERS.items():
            found = db.execute(
                "SELECT af_id FROM abuse_filter WHERE af_public_comments = ? ORDER BY af_id",
                (description,),
            ).fetchone()
            values = (rule, user_id, author, timestamp, ",".join(actions), description)
            if found is None:
                cursor = db.execute(
                    "INSERT INTO abuse_filter (af_pattern, af_user, af_user_text, af_timestamp,"
                    " af_actions, af_public_comments, af_comments, af_enabled, af_hidden,"
                    " af_deleted, af_global, af_group)"
                    " VALUES (?, ?, ?, ?, ?, ?, 'Seeded by the wikibridge sandbox', 1, 0, 0, 0,"
                    " 'default')",
                    values,
                )
                filter_id = int(cursor.lastrowid or 0)
            else:
                filter_id = int(found[0])
                db.execute(
                    "UPDATE abuse_filter SET af_pattern = ?, af_user = ?, af_user_text = ?,"
                    " af_timestamp = ?, af_actions = ?, af_enabled = 1, af_deleted = 0"
                    " WHERE af_public_comments = ? AND af_id = ?",
                    (*values, filter_id),
                )
            db.execute("DELETE FROM abuse_filter_action WHERE afa_filter = ?", (filter_id,))
            db.executemany(
                "INSERT INTO abuse_filter_action (afa_filter, afa_consequence, afa_parameters)"
                " VALUES (?, ?, '')",
                [(filter_id, action) for action in actions],
            )
            ids.append(filter_id)
    return ids


class AdminSession:
    """A logged-in API session for seeding what no maintenance script does.

    :param api_url: the wiki's ``api.php``
    """

    def __init__(self, api_url: str, timeout: float = 60.0) -> None:
        self.api_url = api_url
        self.timeout = timeout
        self.http = requests.Session()
        self.http.headers["User-Agent"] = "wikibridge-sandbox-seed/0.1"
        # The wikis are on 127.0.0.1: an http_proxy from the environment must not
        # see them.
        self.http.trust_env = False
        self._csrf: str | None = None

    def close(self) -> None:
        """Close the HTTP session."""
        self.http.close()

    def __enter__(self) -> AdminSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def call(
        self, method: str, files: dict[str, tuple[str, bytes]] | None = None, **params: Any
    ) -> dict[str, Any]:
        """Send one API request; raise :class:`SeedError` on an API error."""
        params = {"format": "json", "formatversion": "2", **params}
        if method == "GET":
            response = self.http.get(self.api_url, params=params, timeout=self.timeout)
        else:
            response = self.http.post(self.api_url, data=params, files=files, timeout=self.timeout)
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        if "error" in body:
            error = body["error"]
            raise SeedError(
                f"{self.api_url} {params.get('action')}: {error.get('code')}: {error.get('info')}"
            )
        return body

    def clone(self) -> AdminSession:
        """Another HTTP session logged in as the same user (for parallel requests)."""
        other = AdminSession(self.api_url, self.timeout)
        other.http.cookies.update(self.http.cookies)
        other._csrf = self._csrf
        return other

    def login(self, username: str, password: str) -> None:
        """Log in with the main account password (``action=clientlogin``)."""
        token = self.call("GET", action="query", meta="tokens", type="login")
        result = self.call(
            "POST",
            action="clientlogin",
            username=username,
            password=password,
            loginreturnurl="http://127.0.0.1/",
            logintoken=token["query"]["tokens"]["logintoken"],
        )["clientlogin"]
        if result.get("status") != "PASS":
            raise SeedError(f"login of {username} at {self.api_url} failed: {result}")
        self._csrf = None

    def csrf_token(self) -> str:
        """The session's CSRF token (fetched once)."""
        if self._csrf is None:
            token = self.call("GET", action="query", meta="tokens", type="csrf")
            self._csrf = str(token["query"]["tokens"]["csrftoken"])
        return self._csrf

    def edit(self, title: str, text: str, summary: str) -> None:
        """Create or replace a page."""
        self.call(
            "POST",
            action="edit",
            title=title,
            text=text,
            summary=summary,
            token=self.csrf_token(),
        )

    def block(self, username: str, reason: str) -> None:
        """Block a user for ever; a user already blocked is left as is."""
        try:
            self.call(
                "POST",
                action="block",
                user=username,
                expiry="infinite",
                reason=reason,
                token=self.csrf_token(),
            )
        except SeedError as exc:
            if "alreadyblocked" not in str(exc):
                raise

    def upload(self, sample: SampleFile, comment: str) -> None:
        """Upload a sample file; if it exists, make its description page current."""
        result = self.call(
            "POST",
            files={"file": (sample.filename, sample.render())},
            action="upload",
            filename=sample.filename,
            text=sample.description(),
            comment=comment,
            token=self.csrf_token(),
        )["upload"]
        if result.get("result") == "Success":
            return
        warnings = result.get("warnings", {})
        if result.get("result") == "Warning" and "exists" in warnings:
            self.edit(sample.title, sample.description(), summary=comment)
            return
        raise SeedError(f"upload of {sample.filename} to {self.api_url}: {result}")


def bulk_description(
    category: str, day: int = 25, month: str = "November", year: int = 2026
) -> str:
    """A file description missing permission, in *category* (``Category:...``)."""
    return (
        "== {{int:filedesc}} ==\nBulk test file of the wikibridge sandbox.\n\n"
        "== {{int:license-header}} ==\n"
        f"{{{{No permission since|day={day}|month={month}|year={year}}}}}\n\n"
        f"[[{category}]]\n"
    )


def upload_many(
    session: AdminSession,
    prefix: str,
    count: int,
    text: str | None = None,
    *,
    workers: int = 4,
) -> list[str]:
    """Make sure ``File:{prefix} 0001.png`` … exist, *count* small distinct PNGs.

    Missing files are uploaded (``ignorewarnings``) in parallel; existing ones
    are left as they are, only their description page is reset to *text*.

    :param session: logged in as a user who may upload (e.g. the admin)
    :param prefix: start of every file name, e.g. ``"Bench 3f2a"``
    :param text: the description page; default :func:`bulk_description` in
        ``Category:Bulk files {prefix}``
    :param workers: parallel HTTP sessions (the wiki's server has 4 workers)
    :return: the ``File:`` titles, in order
    """
    if count < 0:
        raise ValueError("count must be >= 0")
    text = text if text is not None else bulk_description(f"Category:Bulk files {prefix}")
    names = [f"{prefix} {number:04d}.png" for number in range(1, count + 1)]
    session.csrf_token()
    current: dict[str, str | None] = {}
    for start in range(0, len(names), 50):
        chunk = [f"File:{name}" for name in names[start : start + 50]]
        pages = session.call(
            "POST",
            action="query",
            prop="revisions",
            rvprop="content",
            rvslots="main",
            titles="|".join(chunk),
        )["query"]["pages"]
        for page in pages:
            if page.get("missing") or "revisions" not in page:
                continue
            current[page["title"]] = page["revisions"][0]["slots"]["main"]["content"]

    def do(worker: AdminSession, name: str) -> None:
        title = f"File:{name}"
        if title in current:
            if (current[title] or "").rstrip() != text.rstrip():
                worker.edit(title, text, summary="Reset bulk test file")
            return
        result = worker.call(
            "POST",
            files={"file": (name, labelled_png(f"{prefix}/{name}"))},
            action="upload",
            filename=name,
            text=text,
            comment="Bulk test file of the wikibridge sandbox",
            ignorewarnings="1",
            token=worker.csrf_token(),
        )["upload"]
        if result.get("result") != "Success":
            raise SeedError(f"upload of {name} to {worker.api_url}: {result}")

    def upload_share(worker: AdminSession, share: list[str]) -> None:
        for name in share:
            do(worker, name)

    sessions = [session] + [session.clone() for _ in range(max(1, workers) - 1)]
    try:
        with ThreadPoolExecutor(max_workers=len(sessions)) as pool:
            # One session per thread: a requests.Session is not shared across threads.
            shares = [names[index :: len(sessions)] for index in range(len(sessions))]
            futures = [
                pool.submit(upload_share, worker, share)
                for worker, share in zip(sessions, shares, strict=True)
            ]
            for future in futures:
                future.result()
    finally:
        for extra in sessions[1:]:
            extra.close()
    return [f"File:{name}" for name in names]
