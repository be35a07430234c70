"""What the sandbox wikis are seeded with: templates, pages, sample files.

The content imitates what wikibridge meets on Wikimedia Commons and Meta: the
permission templates VRT volunteers add or read, a few uploaded files carrying
them, and a page listing the volunteers. Images are generated here at run time
(tiny PNGs and baseline JPEGs) so the repository carries no binary files, and
uploaded through the API, which sets each description page exactly.
"""

from __future__ import annotations

import datetime as dt
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests

from tickets.numbers import format_number

__all__ = [
    "COMMONS_PAGES",
    "META_PAGES",
    "SAMPLE_FILES",
    "TEMPLATES",
    "AdminSession",
    "SampleFile",
    "SeedError",
    "jpeg_bytes",
    "png_bytes",
    "ticket_number",
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

COMMONS_PAGES: dict[str, str] = dict(TEMPLATES)
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
