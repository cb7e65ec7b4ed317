"""Decide what a blob of bytes is from its content, with the name only as a tie-breaker.

Extensions lie (``nametest.FIT``, ``.fit.zip``, exports renamed by users), so
the FIT header signature, the gzip/zip magic numbers and the XML root element
decide. The name only matters when the content is unrecognisable: a file
*called* ``.fit``/``.gpx``/``.tcx`` that is not one is an error for the user
to see; anything else (CSV, JSON, images, notes) is simply not an activity.
"""

from __future__ import annotations

import re
from typing import Literal

Kind = Literal["fit", "gpx", "tcx", "gzip", "zip", "unknown"]

ACTIVITY_EXTENSIONS = (".fit", ".gpx", ".tcx")
"""Names that promise an activity (a broken one is an error, not a skip)."""

_XML_SNIFF_BYTES = 8192
_ROOT_RE = re.compile(rb"<(?![?!])\s*(?:[A-Za-z_][\w.\-]*:)?([A-Za-z_][\w.\-]*)")


def strip_compression_suffix(name: str) -> str:
    low = name.lower()
    for suffix in (".gz", ".gzip"):
        if low.endswith(suffix):
            return name[: -len(suffix)]
    return name


def expected_activity(name: str) -> bool:
    """True when the file name claims an activity format (case-insensitive, .gz stripped)."""
    base = strip_compression_suffix(name).lower()
    return base.endswith(ACTIVITY_EXTENSIONS)


MAX_PROLOG_BYTES = 16 * 1024 * 1024
"""How far the root element is looked for: comments and processing instructions before it
may be long (exporters that paste a licence); past this, the content is not recognised."""


def xml_root(data: bytes) -> str | None:
    """Local name of the first element in an XML document (BOM/whitespace tolerated).

    The first :data:`_XML_SNIFF_BYTES` usually settle it; when they end inside a comment
    (or before any element), the window grows up to :data:`MAX_PROLOG_BYTES` (issue 10:
    a GPX/TCX with more than 8 KB of comments before the root was "not recognised").
    """
    size = _XML_SNIFF_BYTES
    while True:
        name, more = _root_in(data[:size])
        if name is not None or not more or size >= min(len(data), MAX_PROLOG_BYTES):
            return name
        size = min(size * 8, MAX_PROLOG_BYTES)


def _root_in(head: bytes) -> tuple[str | None, bool]:
    """(root name, whether a longer window could still find it) within ``head``."""
    truncated = True
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    elif head.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            head = head.decode("utf-16", errors="ignore").encode("utf-8")
        except (UnicodeError, LookupError):
            return None, False
    stripped = head.lstrip()
    if not stripped.startswith(b"<"):
        return None, not stripped  # only whitespace so far: look further
    # skip the XML declaration, comments, processing instructions and doctype
    pos = 0
    while True:
        m = _ROOT_RE.search(stripped, pos)
        if m is None:
            return None, truncated
        before = stripped[: m.start()]
        # inside an unterminated comment? then keep searching after it ends
        if before.count(b"<!--") > before.count(b"-->"):
            end = stripped.find(b"-->", m.start())
            if end < 0:
                return None, truncated
            pos = end + 3
            continue
        return m.group(1).decode("ascii", errors="replace"), False


def detect(data: bytes) -> Kind:
    """Classify by content only."""
    if len(data) >= 12 and data[8:12] == b".FIT":
        return "fit"
    if data[:2] == b"\x1f\x8b":
        return "gzip"
    if data[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return "zip"
    root = xml_root(data)
    if root is not None:
        low = root.lower()
        if low == "gpx":
            return "gpx"
        if low == "trainingcenterdatabase":
            return "tcx"
    return "unknown"
