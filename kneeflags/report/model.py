"""The one report model every renderer reads (terminal, Markdown, HTML, JSON, CSV).

An :class:`~kneeflags.findings.Analysis` covers all of an athlete's data, because
earlier weeks are the baseline of later ones. A *report* shows a window of it:
the last ``weeks`` weeks ending with the week of the latest activity, or with the
week holding ``until``. :func:`build_athlete_report` cuts the analysis down to
that window once, so no renderer ever decides what is "in the report" on its own
and all formats agree to the digit.

Nothing here formats text; :mod:`kneeflags.report.fmt` does that for the human
formats and :mod:`kneeflags.report.jsonout` serialises the model as it is.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import polars as pl

from kneeflags import __version__
from kneeflags.findings import (
    CLINICIAN_REMINDER,
    SEVERITY_RANK,
    Analysis,
    Flag,
    is_advisory,
    prominence,
)
from kneeflags.model import Problem
from kneeflags.plan.model import Plan
from kneeflags.records import record

SCHEMA_VERSION = "1.6"
"""Version of the JSON document (``schema.json``): bump the major on breaking changes."""

GENERATOR = "kneeflags"

CONDITION_LABELS: dict[str, str] = {
    "ITBS": "outer knee: iliotibial band syndrome",
    "PFPS": "front of the knee: patellofemoral pain, runner's knee",
}

STALE_WEEKS = 3
"""The reported week and the two before it without any activity: the data is stale."""

OLD_RUN_DAYS = 14
"""A latest run older than this (before the report's day) is said with its age."""

VOLUME_RULES = frozenset({"volume-jump"})
SPIKE_RULES = frozenset({"session-spike"})


@record(frozen=True)
class Thresholds:
    """The thresholds the charts draw (from the same config the rules used)."""

    volume_watch_pct: float = 10.0
    downhill_watch_share: float = 0.15
    downhill_high_share: float = 0.25
    cadence_band_low: float = 170.0
    cadence_band_high: float = 180.0
    spike_watch_pct: float = 10.0
    spike_window_days: int = 30
    week_start_index: int = 0

    @classmethod
    def from_config(cls, config: Any | None) -> Thresholds:
        """Read what the charts need; ``None`` (or an unknown object) gives rules.md v1."""
        if config is None:
            return cls()
        try:
            rules = config.rules
            return cls(
                volume_watch_pct=float(rules.volume_jump.watch_pct),
                downhill_watch_share=float(rules.downhill_share.watch_pct) / 100.0,
                downhill_high_share=float(rules.downhill_share.high_pct) / 100.0,
                cadence_band_low=float(rules.low_cadence.band_low_spm),
                cadence_band_high=float(rules.low_cadence.band_high_spm),
                spike_watch_pct=float(rules.session_spike.watch_pct),
                spike_window_days=int(rules.session_spike.window_days),
                week_start_index=int(config.week_start_index),
            )
        except AttributeError:
            return cls()


@record(frozen=True)
class Window:
    """The weeks a report shows: ``first_week`` .. ``last_week`` (week starts, inclusive)."""

    first_week: date
    last_week: date
    weeks: int

    @property
    def start(self) -> date:
        return self.first_week

    @property
    def end(self) -> date:
        """Last day of the window (inclusive)."""
        return self.last_week + timedelta(days=6)

    @property
    def week_label(self) -> str:
        """Label of the last week (file names of cron reports): ISO ``2026-W05`` for Monday
        weeks, else the date of the week's first day (see :func:`fmt.week_label`)."""
        from kneeflags.report.fmt import week_label

        return week_label(self.last_week)

    def contains(self, week_start: date | None) -> bool:
        return week_start is not None and self.first_week <= week_start <= self.last_week


@record(frozen=True)
class WeekRow:
    """One week of the weekly table (units as in :mod:`kneeflags.metrics.weekly`)."""

    week_start: date
    run_km: float
    runs: int
    run_minutes: float | None
    longest_run_km: float | None
    change_pct: float | None
    baseline_km: float | None
    downhill_km: float | None
    steep_km: float | None
    downhill_share: float | None
    elevation_loss_m: float | None
    cadence_spm_median: float | None
    cadence_below_share: float | None
    cadence_in_share: float | None
    cadence_above_share: float | None
    strength_sessions: int
    cross_training_minutes: float
    cross_training_by_sport: tuple[tuple[str, float], ...]
    acwr: float | None
    flag_severity: str | None
    """Highest severity of any flag of this week (``None``: no flag)."""
    flag_rules: tuple[str, ...]
    volume_severity: str | None
    """Highest severity of the week's volume flags (marks the bar in the km chart)."""
    has_data: bool = True
    """False for a week after the athlete's last activity, zero-filled by the report."""
    walk_minutes: float = 0.0
    hike_minutes: float = 0.0
    descent_on_foot_m: float | None = None
    """Walks and hikes load the knee too (descent especially): shown, never flagged."""


@record(frozen=True)
class ActivityRow:
    """One activity of the window, as the reports list it."""

    activity_id: str
    local_start: datetime | None
    week_start: date | None
    sport: str
    name: str | None
    source: str
    format: str
    distance_km: float | None
    duration_s: float | None
    is_running: bool
    cadence_spm_median: float | None
    downhill_km: float | None
    downhill_share: float | None
    elevation_loss_m: float | None
    prior_longest_km: float | None
    """Longest run of the previous 30 days (``session-spike`` baseline); None if none."""
    partial: bool
    flag_severity: str | None
    """Highest severity of the flags about this run (session spikes)."""


@record(frozen=True)
class RuleFlags:
    """One rule's card: all its flags in the window, in date order, at its highest severity."""

    rule: str
    title: str
    severity: str
    conditions: tuple[str, ...]
    flags: tuple[Flag, ...]
    advice: tuple[str, ...]
    references: tuple[str, ...]

    @property
    def mixed(self) -> bool:
        """True when the occurrences differ in severity (each bullet then names its own)."""
        return len({f.severity for f in self.flags}) > 1


@record(frozen=True)
class ConditionGroup:
    """Flags whose primary condition is ``condition`` (the first one the rule names)."""

    condition: str
    label: str
    rules: tuple[RuleFlags, ...]

    @property
    def count(self) -> int:
        return sum(len(r.flags) for r in self.rules)


@record(frozen=True)
class Summary:
    """The athlete's line in a coach's ranked batch summary (and the report header)."""

    week_start: date
    severity: str | None
    """Highest severity this week (plus athlete-level flags)."""
    flags_this_week: int
    flags_in_window: int
    window_severity: str | None
    run_km: float | None
    """Running km of the reported week; ``None`` when that week lies after the athlete's
    last activity (``--until`` past the data) or nothing could be read: unknown, never a
    calm 0 km."""
    change_pct: float | None
    cadence_spm_median: float | None
    downhill_share: float | None
    runs_in_window: int
    km_in_window: float


@record(frozen=True)
class AthleteReport:
    """One athlete's report: the window of the analysis plus its file problems."""

    athlete: str
    timezone: str
    window: Window
    weeks: tuple[WeekRow, ...]
    flags: tuple[Flag, ...]
    groups: tuple[ConditionGroup, ...]
    activities: tuple[ActivityRow, ...]
    cadence_seconds: tuple[tuple[int, float], ...]
    """Running time (s) per whole spm over the window's runs, sorted by spm."""
    notes: tuple[str, ...]
    summary: Summary
    thresholds: Thresholds
    errors: tuple[Problem, ...] = ()
    warnings: tuple[Problem, ...] = ()
    skipped: int = 0
    has_data: bool = True
    """False when no activity at all could be read for this athlete."""
    plan: Plan | None = None
    """Next week's plan (prevention, or return to running during a knee episode)."""
    journal: tuple[Any, ...] = ()
    """Knee-journal entries dated in the window
    (:class:`~kneeflags.journal.symptoms.SymptomEntry`)."""
    returns: tuple[Any, ...] = ()
    """Open knee episodes on the window's last day
    (:class:`~kneeflags.plan.return_to_run.ReturnStatus`); empty when none is open."""
    activity_list: tuple[Any, ...] | None = None
    """Every activity read, kept or not (:class:`~kneeflags.listing.ListedActivity`);
    only ``kneeflags activities`` fills it (``None`` elsewhere, and absent from JSON)."""
    last_run: date | None = None
    """Local date of the latest run up to the window's end (``None``: no run)."""
    last_activity: date | None = None
    """Local date of the latest activity of any sport up to the window's end."""
    as_of: date | None = None
    """The day the report speaks from (today for ``analyze``, the day after the week for
    ``report``/``batch``): what "2 years ago" counts from."""

    @property
    def stale(self) -> bool:
        """True when the reported week and the :data:`STALE_WEEKS` - 1 before it hold no
        activity: the data stopped (a watch that stopped syncing), not a 0 km week."""
        if not self.has_data:
            return False
        if self.last_activity is None:
            return True
        first_quiet = self.window.last_week - timedelta(weeks=STALE_WEEKS - 1)
        return self.last_activity < first_quiet

    @property
    def status(self) -> str:
        """``high`` | ``watch`` | ``stale`` | ``unreadable`` | ``ok``: the athlete's line.

        From this week's flags, except the opt-in advisory rules (strength-gap is one
        athlete-level line, not a weekly alarm); a ``rtr-*`` breach (a runner already in
        pain and off protocol) counts as high. Stale data is ``stale``, never ``ok``.
        """
        if not self.has_data:
            return "unreadable"
        if self.stale:
            return "stale"
        current = [f for f in self.current_flags if not is_advisory(f)]
        if any(f.rule.startswith("rtr-") for f in current):
            return "high"
        return highest(f.severity for f in current) or "ok"

    @property
    def run_is_old(self) -> bool:
        """True when the latest run is more than :data:`OLD_RUN_DAYS` before ``as_of``."""
        if self.last_run is None or self.as_of is None:
            return False
        return (self.as_of - self.last_run).days > OLD_RUN_DAYS

    @property
    def in_return(self) -> bool:
        """True while a knee episode is open: the plan is the return-to-running plan."""
        return bool(self.returns)

    @property
    def current_flags(self) -> tuple[Flag, ...]:
        """Flags of the window's last week plus athlete-level ones (``--fail-on``)."""
        last = self.window.last_week
        return tuple(f for f in self.flags if f.week_start is None or f.week_start == last)


@record(frozen=True)
class Report:
    """What a command prints or writes: one or more athletes and all file problems."""

    athletes: tuple[AthleteReport, ...]
    generated_at: datetime
    errors: tuple[Problem, ...] = ()
    warnings: tuple[Problem, ...] = ()
    skipped: int = 0
    generated_by: str = f"{GENERATOR} {__version__}"
    reminder: str = CLINICIAN_REMINDER
    version: str = __version__

    def for_athlete(self, index: int) -> Report:
        """A one-athlete report carrying only that athlete's file problems."""
        a = self.athletes[index]
        return Report(
            athletes=(a,),
            generated_at=self.generated_at,
            errors=a.errors,
            warnings=a.warnings,
            skipped=a.skipped,
        )

    def reached(self, fail_on: str | None, rules: Iterable[str] = ()) -> bool:
        """True when a current flag triggers ``--fail-on`` (see :func:`fail_on_hits`)."""
        return any(fail_on_hits(a, fail_on, rules) for a in self.athletes)


def fail_on_hits(
    athlete: AthleteReport, fail_on: str | None, rules: Iterable[str] = ()
) -> list[Flag]:
    """Current flags that trigger ``--fail-on``.

    A flag counts when its severity is at or above ``fail_on`` (``watch`` | ``high``) and
    its rule is not one of :data:`~kneeflags.findings.FAIL_ON_OPT_IN_RULES`; any current
    flag of a rule named in ``rules`` (``--fail-on-rule``) counts whatever its severity.
    """
    asked = set(rules)
    floor = SEVERITY_RANK[fail_on] if fail_on else None
    hits = []
    for f in athlete.current_flags:
        by_rule = f.rule in asked
        by_severity = (
            floor is not None and not is_advisory(f) and SEVERITY_RANK.get(f.severity, 0) >= floor
        )
        if by_rule or by_severity:
            hits.append(f)
    return hits


# ---------------------------------------------------------------------------------------
# building


def generated_at_now(*, pinned: datetime | None = None) -> datetime:
    """The report's time stamp: ``SOURCE_DATE_EPOCH`` if set, else ``pinned``, else now.

    ``pinned`` lets the cron journey stamp a report with the end of the week it
    covers, so that a rerun writes identical bytes without any environment setup.
    """
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch:
        try:
            return datetime.fromtimestamp(int(epoch), tz=UTC)
        except (ValueError, OverflowError, OSError):
            pass
    if pinned is not None:
        return pinned.astimezone(UTC)
    return datetime.now(UTC).replace(microsecond=0)


def week_of(day: date, week_start_index: int = 0) -> date:
    """First day of the local week containing ``day``."""
    return day - timedelta(days=(day.weekday() - week_start_index) % 7)


def latest_activity_date(analysis: Analysis) -> date | None:
    """Local date of the athlete's latest activity (``None`` without activities)."""
    acts = analysis.activities
    if acts.height == 0 or "local_date" not in acts.columns:
        return None
    value = acts.get_column("local_date").max()
    return value if isinstance(value, date) else None


def latest_run_date(analysis: Analysis, *, up_to: date | None = None) -> date | None:
    """Local date of the athlete's latest run (on or before ``up_to``); ``None`` if none."""
    acts = analysis.activities
    if acts.height == 0 or not {"local_date", "is_running"} <= set(acts.columns):
        return None
    runs = acts.filter(pl.col("is_running").fill_null(False))
    if up_to is not None:
        runs = runs.filter(pl.col("local_date") <= up_to)
    value = runs.get_column("local_date").max() if runs.height else None
    return value if isinstance(value, date) else None


def make_window(
    analysis: Analysis,
    *,
    weeks: int = 12,
    until: date | None = None,
    thresholds: Thresholds | None = None,
    today: date | None = None,
) -> Window:
    """The report window: ``weeks`` weeks ending with the week of ``until``.

    Without ``until`` the window ends with the week of the latest **run** (a 4-minute
    ride years later must not push a runner's last run out of the report), else of the
    latest activity, else today's week.
    """
    if weeks < 1:
        raise ValueError("--weeks must be at least 1")
    wsi = _week_start_index(analysis, thresholds)
    end_day = (
        until
        or latest_run_date(analysis)
        or latest_activity_date(analysis)
        or today
        or datetime.now(UTC).date()
    )
    last = week_of(end_day, wsi)
    return Window(first_week=last - timedelta(weeks=weeks - 1), last_week=last, weeks=weeks)


def build_athlete_report(
    analysis: Analysis,
    *,
    errors: Sequence[Problem] = (),
    warnings: Sequence[Problem] = (),
    skipped: int = 0,
    weeks: int = 12,
    until: date | None = None,
    window: Window | None = None,
    config: Any | None = None,
    rule_titles: dict[str, str] | None = None,
    plan: Plan | None = None,
    journal: Sequence[Any] | None = None,
    as_of: date | None = None,
) -> AthleteReport:
    """Cut ``analysis`` down to the report window and group its flags for reading.

    ``plan``: next week's plan when a producer other than prevention made it (the
    return-to-running protocol for an open knee episode); by default the prevention
    plan is computed from the data up to the end of the window's last week.

    ``journal``: the athlete's knee-journal entries (any dates). While an episode is open
    on the window's last day the plan becomes its return plan, the ``rtr-*`` breaches join
    the flags, and ``returns``/``journal`` carry what the report shows of it. Nothing dated
    after the window is read.
    """
    thresholds = Thresholds.from_config(config)
    win = window or make_window(analysis, weeks=weeks, until=until, thresholds=thresholds)
    analysis = _up_to_window(analysis, win, config)
    all_flags = list(analysis.flags)
    returns: tuple[Any, ...] = ()
    entries: tuple[Any, ...] = ()
    if journal:
        review = _journal_review(analysis, journal, win, config)
        all_flags.extend(review.flags)
        returns, entries = review.returns, review.entries
        if plan is None and review.plan is not None:
            plan = review.plan
    flags = tuple(
        sorted(
            (f for f in all_flags if f.week_start is None or win.contains(f.week_start)),
            key=_flag_order,
        )
    )
    week_rows = _week_rows(analysis.weekly, win, flags)
    activities = _activity_rows(analysis.activities, win, flags, thresholds)
    in_window_ids = {a.activity_id for a in activities if a.is_running}
    cadence = _cadence_seconds(analysis.cadence_hist, in_window_ids)
    titles = rule_titles if rule_titles is not None else load_rule_titles()
    if plan is None and analysis.activities.height > 0:
        plan = _prevention_plan(analysis, win, config)
    return AthleteReport(
        athlete=analysis.athlete,
        timezone=analysis.timezone,
        window=win,
        weeks=week_rows,
        flags=flags,
        groups=group_flags(flags, titles),
        activities=activities,
        cadence_seconds=cadence,
        notes=tuple(_window_notes(analysis, win)),
        summary=_summary(win, week_rows, flags, activities),
        thresholds=thresholds,
        errors=_sorted_problems(errors),
        warnings=_sorted_problems(warnings),
        skipped=int(skipped),
        has_data=analysis.activities.height > 0,
        plan=plan,
        journal=entries,
        returns=returns,
        last_run=latest_run_date(analysis, up_to=win.end),
        last_activity=_latest_up_to(analysis, win.end),
        as_of=as_of or datetime.now(UTC).date(),
    )


def _latest_up_to(analysis: Analysis, last_day: date) -> date | None:
    acts = analysis.activities
    if acts.height == 0 or "local_date" not in acts.columns:
        return None
    value = acts.filter(pl.col("local_date") <= last_day).get_column("local_date").max()
    return value if isinstance(value, date) else None


def _up_to_window(analysis: Analysis, win: Window, config: Any | None) -> Analysis:
    """No look-ahead: the report about the window's last week sees nothing after it."""
    from kneeflags.analysis import analysis_up_to
    from kneeflags.config import Config

    return analysis_up_to(analysis, win.end, config if isinstance(config, Config) else None)


def _window_notes(analysis: Analysis, win: Window) -> list[str]:
    """The caveats about the activities of the window (not the whole history)."""
    from kneeflags.analysis import athlete_notes
    from kneeflags.metrics.summary import ACTIVITY_SUMMARY_SCHEMA

    acts = analysis.activities
    if acts.height == 0 or not set(ACTIVITY_SUMMARY_SCHEMA) <= set(acts.columns):
        return list(analysis.notes)  # nothing read, or a hand-made analysis
    inside = acts.filter(
        (pl.col("local_date") >= win.first_week) & (pl.col("local_date") <= win.end)
    )
    if inside.height == 0:
        return ["No activity was recorded in the weeks of this report.", *analysis.run_notes]
    return [*athlete_notes(inside), *analysis.run_notes]


def _journal_review(analysis: Analysis, journal: Sequence[Any], win: Window, config: Any) -> Any:
    from kneeflags.config import Config
    from kneeflags.plan.return_to_run import review_journal

    return review_journal(
        analysis.activities,
        journal,
        first_day=win.start,
        last_day=win.end,
        config=config if isinstance(config, Config) else None,
    )


def _prevention_plan(analysis: Analysis, win: Window, config: Any | None) -> Plan:
    from kneeflags.config import Config
    from kneeflags.plan.prevention import prevention_plan

    return prevention_plan(
        analysis.weekly,
        analysis.activities,
        analysis.cadence_hist,
        win.last_week,
        config if isinstance(config, Config) else None,
    )


def build_report(
    athletes: Iterable[AthleteReport],
    *,
    generated_at: datetime | None = None,
    extra_errors: Sequence[Problem] = (),
    extra_warnings: Sequence[Problem] = (),
) -> Report:
    """Combine athlete reports; top-level problems are all athletes' plus ``extra_*``."""
    athletes = tuple(athletes)
    return Report(
        athletes=athletes,
        generated_at=generated_at or generated_at_now(),
        errors=tuple(p for a in athletes for p in a.errors) + _sorted_problems(extra_errors),
        warnings=tuple(p for a in athletes for p in a.warnings) + _sorted_problems(extra_warnings),
        skipped=sum(a.skipped for a in athletes),
    )


def load_rule_titles() -> dict[str, str]:
    """Rule id -> human title from the rule catalogue (empty if it is unavailable)."""
    try:
        from kneeflags.rules.catalogue import (  # type: ignore[import-not-found]
            ALL_RULES as RULES,
        )
    except ImportError:
        return {}
    items = RULES.values() if isinstance(RULES, dict) else RULES
    titles: dict[str, str] = {}
    for rule in items:
        rid = getattr(rule, "id", None) or getattr(rule, "rule", None)
        title = getattr(rule, "name", None) or getattr(rule, "title", None)
        if isinstance(rid, str) and isinstance(title, str):
            titles[rid] = title
    return titles


def rule_title(rule: str, titles: dict[str, str]) -> str:
    return titles.get(rule) or rule.replace("-", " ").capitalize()


def group_flags(flags: Iterable[Flag], titles: dict[str, str]) -> tuple[ConditionGroup, ...]:
    """Flags grouped by primary condition, then one card per rule.

    A rule's conditions are listed most-relevant first (rules.md: cadence is
    "PFPS, ITBS"), so grouping on the first one puts every flag under exactly one
    heading while the flag itself still names all conditions it concerns. A rule's card
    carries its highest severity and every occurrence in date order (athlete-level
    first), so its advice is said once; cards are ordered high first, then by the most
    recent occurrence, then by count.
    """
    by_key: dict[tuple[str, str], list[Flag]] = {}
    for f in flags:
        primary = f.conditions[0] if f.conditions else "other"
        by_key.setdefault((primary, f.rule), []).append(f)
    order = [c for c in CONDITION_LABELS if any(k[0] == c for k in by_key)]
    order += sorted({k[0] for k in by_key} - set(order))
    groups = []
    for cond in order:
        cards = []
        for k in (k for k in by_key if k[0] == cond):
            items = tuple(sorted(by_key[k], key=_occurrence_order))
            cards.append(
                RuleFlags(
                    rule=k[1],
                    title=rule_title(k[1], titles),
                    severity=highest(f.severity for f in items) or items[0].severity,
                    conditions=items[0].conditions,
                    flags=items,
                    advice=_unique(a for f in items for a in f.advice),
                    references=_unique(f.reference for f in items if f.reference),
                )
            )
        cards.sort(
            key=lambda r: (
                -SEVERITY_RANK.get(r.severity, 0),
                prominence(r.rule),
                -max((f.week_start or date.max).toordinal() for f in r.flags),
                -len(r.flags),
                r.rule,
            )
        )
        groups.append(
            ConditionGroup(condition=cond, label=CONDITION_LABELS.get(cond, ""), rules=tuple(cards))
        )
    return tuple(groups)


def highest(severities: Iterable[str | None]) -> str | None:
    best: str | None = None
    for s in severities:
        if s is not None and SEVERITY_RANK.get(s, 0) > SEVERITY_RANK.get(best or "", 0):
            best = s
    return best


# ---------------------------------------------------------------------------------------
# internals


def _week_start_index(analysis: Analysis, thresholds: Thresholds | None) -> int:
    """Week start from the data when there is any (it is what the analysis used)."""
    weekly = analysis.weekly
    if weekly.height and "week_start" in weekly.columns:
        first = weekly.get_column("week_start").drop_nulls()
        if first.len():
            return first[0].weekday()
    return thresholds.week_start_index if thresholds else 0


def _flag_order(f: Flag) -> tuple[int, int, str, str, str]:
    """High first, then the most recent week (athlete-level first); total, so stable."""
    week = f.week_start.toordinal() if f.week_start else 10**7
    return (-SEVERITY_RANK.get(f.severity, 0), -week, f.rule, f.activity or "", f.evidence)


def _occurrence_order(f: Flag) -> tuple[int, int, str, str]:
    """Within one rule: athlete-level first, then chronological (by run day within a week)."""
    return (
        f.week_start.toordinal() if f.week_start else 0,
        f.day.toordinal() if f.day else 0,
        f.activity or "",
        f.evidence,
    )


def _sorted_problems(problems: Iterable[Problem]) -> tuple[Problem, ...]:
    """Problems in path order, so parallel reading never reorders a report."""
    return tuple(sorted(problems, key=lambda p: (p.path, p.message)))


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def _num(value: Any) -> float | None:
    if value is None:
        return None
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def _int(value: Any) -> int:
    x = _num(value)
    return round(x) if x is not None else 0


def _week_rows(weekly: pl.DataFrame, win: Window, flags: Sequence[Flag]) -> tuple[WeekRow, ...]:
    by_week: dict[date, dict[str, Any]] = {}
    if weekly.height and "week_start" in weekly.columns:
        part = weekly.filter(
            (pl.col("week_start") >= win.first_week) & (pl.col("week_start") <= win.last_week)
        )
        by_week = {row["week_start"]: row for row in part.iter_rows(named=True)}
        data_weeks = weekly.get_column("week_start").drop_nulls()
        first_data = data_weeks.min() if data_weeks.len() else None
    else:
        first_data = None
    week_flags: dict[date, list[Flag]] = {}
    for f in flags:
        if f.week_start is not None:
            week_flags.setdefault(f.week_start, []).append(f)
    rows: list[WeekRow] = []
    if not isinstance(first_data, date):
        return ()  # nothing could be read: no week is "zero km", they are unknown
    # Weeks before the first activity are not data either, so they are not shown.
    start = max(win.first_week, first_data)
    day = start
    while day <= win.last_week:
        row = by_week.get(day)
        wf = week_flags.get(day, [])
        flag_sev = highest(f.severity for f in wf)
        vol_sev = highest(f.severity for f in wf if f.rule in VOLUME_RULES)
        rules = _unique(f.rule for f in sorted(wf, key=_flag_order))
        if row is None:
            rows.append(_empty_week(day, flag_sev, rules, vol_sev))
        else:
            xt = tuple(
                (col[3 : -len("_minutes")], round(float(row[col]), 6))
                for col in sorted(row)
                if col.startswith("xt_") and col.endswith("_minutes") and _num(row[col])
            )
            rows.append(
                WeekRow(
                    week_start=day,
                    run_km=_num(row.get("run_km")) or 0.0,
                    runs=_int(row.get("runs")),
                    run_minutes=_num(row.get("run_minutes")),
                    longest_run_km=_num(row.get("longest_run_km")),
                    change_pct=_num(row.get("change_pct")),
                    baseline_km=_num(row.get("baseline_km")),
                    downhill_km=_num(row.get("downhill_km")),
                    steep_km=_num(row.get("steep_km")),
                    downhill_share=_num(row.get("downhill_share")),
                    elevation_loss_m=_num(row.get("elevation_loss_m")),
                    cadence_spm_median=_num(row.get("cadence_spm_median")),
                    cadence_below_share=_num(row.get("cadence_below_share")),
                    cadence_in_share=_num(row.get("cadence_in_share")),
                    cadence_above_share=_num(row.get("cadence_above_share")),
                    strength_sessions=_int(row.get("strength_sessions")),
                    cross_training_minutes=_num(row.get("cross_training_minutes")) or 0.0,
                    cross_training_by_sport=xt,
                    acwr=_num(row.get("acwr")),
                    flag_severity=flag_sev,
                    flag_rules=rules,
                    volume_severity=vol_sev,
                    walk_minutes=_num(row.get("walk_minutes")) or 0.0,
                    hike_minutes=_num(row.get("hike_minutes")) or 0.0,
                    descent_on_foot_m=_num(row.get("descent_on_foot_m")),
                )
            )
        day += timedelta(weeks=1)
    return tuple(rows)


def _empty_week(
    day: date, flag_sev: str | None, rules: tuple[str, ...], vol_sev: str | None
) -> WeekRow:
    """A week with no activity after the last one (``--until`` past the data)."""
    return WeekRow(
        week_start=day,
        run_km=0.0,
        runs=0,
        run_minutes=0.0,
        longest_run_km=0.0,
        change_pct=None,
        baseline_km=None,
        downhill_km=None,
        steep_km=None,
        downhill_share=None,
        elevation_loss_m=None,
        cadence_spm_median=None,
        cadence_below_share=None,
        cadence_in_share=None,
        cadence_above_share=None,
        strength_sessions=0,
        cross_training_minutes=0.0,
        cross_training_by_sport=(),
        acwr=None,
        flag_severity=flag_sev,
        flag_rules=rules,
        volume_severity=vol_sev,
        has_data=False,
    )


def _col(df: pl.DataFrame, name: str, dtype: pl.DataType) -> pl.Expr:
    return pl.col(name) if name in df.columns else pl.lit(None, dtype=dtype).alias(name)


def _activity_rows(
    acts: pl.DataFrame, win: Window, flags: Sequence[Flag], th: Thresholds
) -> tuple[ActivityRow, ...]:
    if acts.height == 0 or "local_start" not in acts.columns:
        return ()
    frame = acts.select(
        _col(acts, "activity_id", pl.String()),
        _col(acts, "local_start", pl.Datetime("us")),
        _col(acts, "local_date", pl.Date()),
        _col(acts, "sport", pl.String()),
        _col(acts, "name", pl.String()),
        _col(acts, "source", pl.String()),
        _col(acts, "format", pl.String()),
        _col(acts, "distance_km", pl.Float64()),
        _col(acts, "duration_s", pl.Float64()),
        _col(acts, "is_running", pl.Boolean()),
        _col(acts, "cadence_spm_median", pl.Float64()),
        _col(acts, "graded_km", pl.Float64()),
        _col(acts, "downhill_km", pl.Float64()),
        _col(acts, "elevation_loss_m", pl.Float64()),
        _col(acts, "partial", pl.Boolean()),
    ).with_columns(pl.col("local_date").fill_null(pl.col("local_start").dt.date()))
    frame = frame.sort(["local_start", "activity_id"], nulls_last=True)
    frame = frame.with_columns(_prior_longest(frame, th.spike_window_days))
    last_day = win.end
    frame = frame.filter(
        (pl.col("local_date") >= win.first_week) & (pl.col("local_date") <= last_day)
    )
    run_flags: dict[str, list[str]] = {}
    for f in flags:
        if f.activity:
            run_flags.setdefault(f.activity, []).append(f.severity)
    rows = []
    for r in frame.iter_rows(named=True):
        graded = _num(r["graded_km"])
        down = _num(r["downhill_km"])
        d = r["local_date"]
        rows.append(
            ActivityRow(
                activity_id=r["activity_id"] or "",
                local_start=r["local_start"],
                week_start=week_of(d, th.week_start_index) if isinstance(d, date) else None,
                sport=r["sport"] or "other",
                name=r["name"],
                source=r["source"] or "",
                format=r["format"] or "",
                distance_km=_num(r["distance_km"]),
                duration_s=_num(r["duration_s"]),
                is_running=bool(r["is_running"]),
                cadence_spm_median=_num(r["cadence_spm_median"]),
                downhill_km=down,
                downhill_share=(down / graded) if down is not None and graded else None,
                elevation_loss_m=_num(r["elevation_loss_m"]),
                prior_longest_km=_num(r["prior_longest_km"]),
                partial=bool(r["partial"]),
                flag_severity=highest(run_flags.get(r["activity_id"] or "", [])),
            )
        )
    return tuple(rows)


def _prior_longest(frame: pl.DataFrame, days: int) -> pl.Expr:
    """Longest run in the ``days`` days before each run (``session-spike`` baseline).

    Computed over all runs, not only the window, so the first runs of the window
    still have their baseline. Non-runs get null.
    """
    runs = frame.filter(pl.col("is_running").fill_null(False) & pl.col("local_start").is_not_null())
    if runs.height == 0:
        return pl.lit(None, dtype=pl.Float64()).alias("prior_longest_km")
    rolled = (
        runs.select("activity_id", "local_start", "distance_km")
        .rolling(index_column="local_start", period=f"{days}d", closed="left")
        .agg(pl.col("distance_km").max().alias("prior_longest_km"))
    )
    lookup = dict(
        zip(
            runs.get_column("activity_id").to_list(),
            rolled.get_column("prior_longest_km").to_list(),
            strict=True,
        )
    )
    return (
        pl.col("activity_id")
        .replace_strict(lookup, default=None, return_dtype=pl.Float64())
        .alias("prior_longest_km")
    )


def _cadence_seconds(hist: pl.DataFrame, ids: set[str]) -> tuple[tuple[int, float], ...]:
    if hist.height == 0 or not {"activity_id", "spm", "seconds"} <= set(hist.columns):
        return ()
    agg = (
        hist.filter(pl.col("activity_id").is_in(sorted(ids)))
        .group_by("spm")
        .agg(pl.col("seconds").sum())
        .filter(pl.col("seconds") > 0)
        .sort("spm")
    )
    return tuple((int(s), float(t)) for s, t in agg.iter_rows())


def _summary(
    win: Window, weeks: Sequence[WeekRow], flags: Sequence[Flag], acts: Sequence[ActivityRow]
) -> Summary:
    current = [f for f in flags if f.week_start is None or f.week_start == win.last_week]
    last = next((w for w in weeks if w.week_start == win.last_week), None)
    runs = [a for a in acts if a.is_running]
    return Summary(
        week_start=win.last_week,
        severity=highest(f.severity for f in current),
        flags_this_week=len(current),
        flags_in_window=len(flags),
        window_severity=highest(f.severity for f in flags),
        run_km=last.run_km if last is not None and last.has_data else None,
        change_pct=last.change_pct if last else None,
        cadence_spm_median=last.cadence_spm_median if last else None,
        downhill_share=last.downhill_share if last else None,
        runs_in_window=len(runs),
        km_in_window=sum(w.run_km for w in weeks),
    )
