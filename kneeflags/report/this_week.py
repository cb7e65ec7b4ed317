"""The opening of every report: the reported week first, then (in each renderer) next week.

A reader opens a weekly report to learn what *this* week means: its status, which flags
cause it and for which condition (ITBS, PFPS), and the week's numbers. The window's
history (every flag card, the charts, the weekly table) comes after. Each renderer
(terminal, Markdown, HTML, the cron mail on stdout, the batch summary) formats the same
:class:`ThisWeek`, so they cannot disagree.

Staleness is part of it: when the data stopped before the reported week the status is
``stale`` and the sentence says since when, never a calm 0 km week.
"""

from __future__ import annotations

from datetime import date

from kneeflags.findings import SEVERITY_RANK, Flag, is_advisory, prominence
from kneeflags.records import record
from kneeflags.report import fmt
from kneeflags.report.model import AthleteReport, WeekRow, rule_title


@record(frozen=True)
class Cause:
    """One current flag behind the week's status."""

    severity: str
    rule: str
    title: str
    conditions: tuple[str, ...]
    evidence: str


@record(frozen=True)
class ThisWeek:
    """What the first section of a report says."""

    week_name: str
    """``week of 24 Nov 2026 (2026-W48)`` (Monday weeks), ``week of Sun 23 Nov 2026``."""
    status: str
    """``high`` | ``watch`` | ``ok`` | ``stale`` | ``no data``."""
    causes: tuple[Cause, ...]
    numbers: tuple[tuple[str, str], ...]
    last_run: str | None
    """``last run 29 Nov 2024 (2 years ago)`` when the latest run is old, else ``None``."""
    stale_since: str | None
    """``no activity since 16 Apr 2017`` when the data stopped before the week."""
    advisories: tuple[str, ...] = ()
    """Athlete-level advisory lines (strength-gap) that do not set the status."""

    @property
    def conditions(self) -> tuple[str, ...]:
        """Conditions named by the causes, ITBS/PFPS order of first mention."""
        return tuple(dict.fromkeys(c for cause in self.causes for c in cause.conditions))

    @property
    def rules(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c.rule for c in self.causes))

    def status_sentence(self) -> str:
        """``HIGH this week: Weekly volume jump, Single-run spike (ITBS, PFPS).``"""
        if self.status == "no data":
            return "No activity could be read for this athlete."
        if self.status == "stale":
            return f"STALE: {self.stale_since}; the {self.week_name} has no data to judge."
        if not self.causes:
            return "OK this week: no flag from the rule catalogue."
        return f"{self.status.upper()} this week: {self.explanation()}."

    def explanation(self) -> str:
        """``Weekly volume jump, Single-run spike (ITBS, PFPS)``: what causes the status."""
        titles = ", ".join(dict.fromkeys(c.title for c in self.causes))
        return f"{titles} ({', '.join(self.conditions)})"

    def cause_line(self) -> str:
        """``volume-jump, session-spike (ITBS, PFPS)``: the batch summary's short form."""
        if self.status == "stale":
            return self.stale_since or "stale"
        if not self.causes:
            return ""
        return f"{', '.join(self.rules)} ({', '.join(self.conditions)})"


def week_name(week_start: date) -> str:
    """Monday weeks by their ISO label; other week starts by date (an ISO week label
    would name a different span of days)."""
    if week_start.weekday() == 0:
        return f"week of {fmt.short_date(week_start)} ({fmt.iso_week_label(week_start)})"
    return f"week of {fmt.long_date(week_start)}"


def age(then: date, now: date) -> str:
    """``3 days ago``, ``5 weeks ago``, ``7 months ago``, ``2 years ago``."""
    days = max(0, (now - then).days)

    def n(k: int, unit: str) -> str:
        return f"{k} {unit}{'s' if k != 1 else ''} ago"

    if days < 14:
        return "today" if days == 0 else n(days, "day")
    if days < 61:
        return n(days // 7, "week")
    if days < 730:
        return n(days // 30, "month")
    return n(days // 365, "year")


def last_run_text(a: AthleteReport) -> str | None:
    """``last run 29 Nov 2024 (2 years ago)`` when the latest run is old."""
    if a.last_run is None or a.as_of is None or not a.run_is_old:
        return None
    return f"last run {fmt.short_date(a.last_run)} ({age(a.last_run, a.as_of)})"


def this_week(a: AthleteReport) -> ThisWeek:
    """The first section of ``a``'s report."""
    titles = {rf.rule: rf.title for g in a.groups for rf in g.rules}
    current = sorted(
        a.current_flags,
        key=lambda f: (
            -SEVERITY_RANK.get(f.severity, 0),
            prominence(f.rule),
            f.rule,
            f.day or f.week_start or date.min,
            f.activity or "",
        ),
    )
    causes = tuple(_cause(f, titles) for f in current if not is_advisory(f))
    advisories = tuple(f.evidence for f in current if is_advisory(f))
    stale = a.stale
    status = "no data" if not a.has_data else a.status
    since = None
    if stale:
        since = (
            f"no activity since {fmt.short_date(a.last_activity)}"
            if a.last_activity
            else "no activity up to this week"
        )
    return ThisWeek(
        week_name=week_name(a.window.last_week),
        status=status,
        causes=causes,
        numbers=_numbers(a) if a.has_data and not stale else (),
        last_run=last_run_text(a),
        stale_since=since,
        advisories=advisories if not stale else (),
    )


def _cause(f: Flag, titles: dict[str, str]) -> Cause:
    return Cause(
        severity=f.severity,
        rule=f.rule,
        title=titles.get(f.rule) or rule_title(f.rule, {}),
        conditions=tuple(f.conditions),
        evidence=f.evidence,
    )


def _numbers(a: AthleteReport) -> tuple[tuple[str, str], ...]:
    w = next((w for w in a.weeks if w.week_start == a.window.last_week), None)
    if w is None:
        return ()
    runs = fmt.plural(w.runs, "run")
    out = [
        ("Running", f"{fmt.km(w.run_km)} km in {runs}"),
        ("Change on the previous week", fmt.pct(w.change_pct, signed=True)),
        ("Longest run", f"{fmt.km(w.longest_run_km)} km"),
        ("Downhill share", fmt.share(w.downhill_share)),
        ("Median cadence", f"{fmt.spm(w.cadence_spm_median)} spm"),
        ("Strength sessions", fmt.count(w.strength_sessions)),
    ]
    return tuple(out)


def status_reason(a: AthleteReport) -> str:
    """Why an athlete has its batch status: the flags and conditions, or since when the
    data is stale (``""`` for ok)."""
    if not a.has_data:
        return "no file could be read"
    return this_week(a).cause_line()


NO_DATA_WEEK = "no data"
"""The weekly tables' flag cell for a week after the data stopped (``--until`` past the
last activity): its zeros are unknown, and the row says so in every renderer (a dimmed
row is lost in a plain-text cron mail)."""


def week_flag_cell(w: WeekRow) -> str:
    """A weekly row's flag cell: its severity, and ``no data`` for a week after the data."""
    parts = [w.flag_severity] if w.flag_severity else []
    if not w.has_data:
        parts.append(NO_DATA_WEEK)
    return ", ".join(parts)


def week_km_cell(a: AthleteReport) -> str:
    """The batch's "week km" column: a dash when the reported week lies after the data
    stopped (the summary's km is ``None`` then, a stale athlete's included): unknown,
    never a calm ``0.0``."""
    return fmt.km(a.summary.run_km)


def last_run_cell(a: AthleteReport) -> str:
    """The batch's "last run" column: ``22 Nov`` in the reported week's year, ``29 Nov 2024``
    in an earlier one (an old date must look old), ``–`` without any run."""
    if not a.last_run:
        return fmt.DASH
    if a.last_run.year == a.window.end.year:
        return fmt.day_month(a.last_run)
    return fmt.short_date(a.last_run)
