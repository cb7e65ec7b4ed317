"""Number, date and text formatting shared by every human-readable renderer.

Kept in one place so the terminal, Markdown and HTML reports say the same thing
in the same words ("+39 %", "26 Jan", "168 spm"), and a null is always shown as
"–" rather than "0" (unknown is not zero).
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime

from kneeflags.model import plural  # noqa: F401  (re-exported: fmt.plural in every renderer)

DASH = "–"
"""Shown for an unknown value (null), never a zero."""

_CONTROL = re.compile(
    r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029"
    r"\u202a-\u202e\u2066-\u2069\ufffe\uffff]"
)
"""Removed from input text: C0 and C1 controls (U+0085 is a line break to ``splitlines``
and to some terminals), U+2028/U+2029 (line and paragraph separators) and the bidi
controls (U+202A-U+202E, U+2066-U+2069, marks): a file name holding them could forge a
log line or make ``evil.fit`` display as another name."""


def is_num(x: object) -> bool:
    """A real, finite number (``None``, NaN and infinities are "unknown")."""
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def km(x: float | None, digits: int = 1) -> str:
    return f"{x:.{digits}f}" if is_num(x) else DASH


def pct(x: float | None, *, signed: bool = False, digits: int = 0) -> str:
    """A percentage value (already in %), e.g. ``+39 %``."""
    if not is_num(x):
        return DASH
    text = f"{x:+.{digits}f}" if signed else f"{x:.{digits}f}"
    if text.lstrip("+-") == f"{0:.{digits}f}":
        text = text.lstrip("+-")
    return f"{text} %"


def share(x: float | None, digits: int = 0) -> str:
    """A 0–1 share shown as a percentage, e.g. ``0.23`` -> ``23 %``."""
    return pct(x * 100.0, digits=digits) if is_num(x) else DASH


def spm(x: float | None) -> str:
    return f"{x:.0f}" if is_num(x) else DASH


def ratio(x: float | None) -> str:
    return f"{x:.2f}" if is_num(x) else DASH


def minutes(x: float | None) -> str:
    return f"{x:.0f}" if is_num(x) else DASH


def metres(x: float | None) -> str:
    """``420`` (m, rounded); a dash when unknown."""
    return f"{x:.0f}" if is_num(x) else DASH


def count(x: int | None) -> str:
    return str(int(x)) if is_num(x) else DASH


def day_month(d: date) -> str:
    """``26 Jan`` (no leading zero, locale-independent)."""
    return f"{d.day} {d.strftime('%b')}"


def long_date(d: date) -> str:
    """``Mon 26 Jan 2026``."""
    return f"{d.strftime('%a')} {d.day} {d.strftime('%b %Y')}"


def short_date(d: date) -> str:
    """``26 Jan 2026``."""
    return f"{d.day} {d.strftime('%b %Y')}"


def date_range(start: date, end: date) -> str:
    """``3 Nov 2025 – 25 Jan 2026`` (the year once when both are in the same year)."""
    if start.year == end.year:
        return f"{day_month(start)} {DASH} {short_date(end)}"
    return f"{short_date(start)} {DASH} {short_date(end)}"


def local_time(dt: datetime) -> str:
    """``Tue 27 Jan 2026 07:30``."""
    return f"{long_date(dt.date())} {dt.strftime('%H:%M')}"


def week_label(week_start: date) -> str:
    """How a week is named in file names and JSON: ``2026-W05`` for Monday weeks, else the
    date of its first day (``2026-02-01`` for the Sunday week of 1-7 Feb).

    An ISO week number names Monday-to-Sunday; a Sunday-to-Saturday week labelled
    ``2017-W15`` would name a span it only shares six days with.
    """
    if week_start.weekday() == 0:
        return iso_week_label(week_start)
    return week_start.isoformat()


def iso_week_label(week_start: date) -> str:
    """``2026-W05``: the ISO week of the first Monday on or after ``week_start``.

    With Monday weeks that is simply the week's ISO number; with Sunday (or other)
    weeks it names the ISO week that holds most of the days.
    """
    from datetime import timedelta

    monday = week_start + timedelta(days=(7 - week_start.weekday()) % 7)
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02d}"


def clean(text: object) -> str:
    """Input-file text made safe to place on one line of any report.

    Removes control characters (which would break XML/HTML well-formedness and
    terminal output), Unicode line separators and bidi overrides (:data:`_CONTROL`), and
    folds line breaks and tabs into spaces.
    """
    s = "" if text is None else str(text)
    s = s.replace("\r\n", " ").replace("\n", " ").replace("\r", " ").replace("\t", " ")
    return _CONTROL.sub("", s)


_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~>])")


def md_escape(text: object) -> str:
    """Escape text for Markdown so it shows literally (``<script>`` stays text).

    Markdown punctuation is backslash-escaped; ``<`` before a letter (a tag or an
    autolink) and ``&`` that would start an entity become entities, which every
    CommonMark renderer shows as the characters themselves. "R&D" and "< 170" stay
    readable in the raw text of a mail.
    """
    s = clean(text)
    # only what could start an entity or an HTML tag/autolink; "R&D" and "< 170" stay
    s = re.sub(r"&(?=#?\w+;)", "&amp;", s)
    s = re.sub(r"<(?=[A-Za-z/!?])", "&lt;", s)
    s = _MD_SPECIAL.sub(r"\\\1", s)
    if s[:1] in ("#", "+", "-", "="):  # would start a heading or list at a line start
        s = "\\" + s
    return s


def md_code(text: object) -> str:
    """Text as a Markdown code span: shown literally, nothing inside is interpreted.

    The fence is one backtick longer than the longest backtick run in the text, so
    a file name containing backticks cannot close the span early.
    """
    s = clean(text)
    longest = max((len(m) for m in re.findall(r"`+", s)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if s.startswith("`") or s.endswith("`") or not s.strip() else ""
    return f"{fence}{pad}{s}{pad}{fence}"


def occurrence_prefix(card: object, flag: object) -> str:
    """``"watch: "`` before an occurrence when a rule's card mixes severities, else ``""``."""
    if getattr(card, "mixed", False):
        return f"{getattr(flag, 'severity', '')}: "
    return ""
