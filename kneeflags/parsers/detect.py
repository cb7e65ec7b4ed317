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


def xml_root(data: bytes) -> str | None:
    """Local name of the first element in an XML document (BOM/whitespace tolerated)."""
    head = data[:_XML_SNIFF_BYTES]
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    elif head.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            enc = "utf-16"
            head = head.decode(enc, errors="ignore").encode("utf-8")
        except (UnicodeError, LookupError):
            return None
    stripped = head.lstrip()
    if not stripped.startswith(b"<"):
        return None
    # skip the XML declaration, comments, processing instructions and doctype
    pos = 0
    while True:
        m = _ROOT_RE.search(stripped, pos)
        if m is None:
            return None
        before = stripped[: m.start()]
        # inside an unterminated comment? then keep searching after it ends
        if before.count(b"<!--") > before.count(b"-->"):
            end = stripped.find(b"-->", m.start())
            if end < 0:
                return None
            pos = end + 3
            continue
        return m.group(1).decode("ascii", errors="replace")


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
