"""The knee-journal block as plain lines, the one wording every human renderer uses.

While a knee episode is open the report shows, per episode: condition and side, day N and
the phase by name, the pain-free streak, the next run's and next week's caps, whether hills
and speed work are allowed yet, the onset pattern and the runs that went past it, then the
clinician reminders (always the guide's, plus one for pain above 5/10 or an episode that has
outlasted the guide's range). Then the journal entries of the window, newest first, a few of
them, so the runner sees what the plan is built on. Renderers only lay these lines out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kneeflags.records import record
from kneeflags.report import fmt

RECENT_ENTRIES = 8
"""How many journal entries the block lists (newest first); the rest are counted."""

SITE_WORDS = {
    "outer": "outer knee",
    "front": "front of the knee",
    "other": "knee (site unclear)",
}


@record(frozen=True)
class EpisodeBlock:
    """One open episode as labelled lines plus its reminders."""

    title: str
    lines: tuple[tuple[str, str], ...]
    reminders: tuple[str, ...]


@record(frozen=True)
class JournalBlock:
    """What the renderers show of the journal: open episodes and recent entries."""

    episodes: tuple[EpisodeBlock, ...]
    entries: tuple[str, ...]
    more_entries: int

    @property
    def empty(self) -> bool:
        return not self.episodes and not self.entries


def _cap(x: float | None) -> str:
    return f"at most {fmt.km(x)} km" if x is not None else "no cap yet (see the plan)"


def _days(n: int) -> str:
    return f"{n} day{'s' if n != 1 else ''}"


def episode_block(status: Any) -> EpisodeBlock:
    """An open episode (:class:`~kneeflags.plan.return_to_run.ReturnStatus`) as lines."""
    side = f", {status.side}" if status.side else ""
    title = f"{status.condition_label}{side}: since {fmt.long_date(status.episode_start)}"
    rows: list[tuple[str, str]] = [
        ("Episode", f"day {status.day} of the episode"),
        ("Phase", f"{status.phase_name}: {status.phase_summary}"),
        ("Pain-free streak", _days(status.pain_free_streak)),
        ("Next run", _cap(status.next_session_km_max)),
        ("Next week", _cap(status.next_week_km_max)),
        ("Hills and downhill", "allowed" if status.downhill_allowed else "not yet: flat only"),
        ("Speed work", "allowed" if status.speed_work_allowed else "not yet"),
    ]
    if status.onset_km is not None:
        onset = f"pain typically came on at about {fmt.km(status.onset_km)} km (median of logs)"
        if status.runs_past_onset:
            shown = "; ".join(fmt.clean(r) for r in status.runs_past_onset[:3])
            more = len(status.runs_past_onset) - 3
            onset += f"; runs that went past it: {shown}"
            if more > 0:
                onset += f" and {more} more"
        rows.append(("Onset", onset))
    return EpisodeBlock(title, tuple(rows), tuple(status.reminders))


def entry_line(entry: Any) -> str:
    """One journal entry in words: ``Tue 3 Mar 2026: pain, outer knee (left), during 4/10…``."""
    head = f"{fmt.long_date(entry.date)}: "
    if entry.kind == "pain":
        parts = [f"pain, {SITE_WORDS.get(entry.site or 'other', entry.site)}"]
        if entry.side:
            parts[0] += f" ({entry.side})"
        for label, score in (
            ("during", entry.during),
            ("after", entry.after),
            ("next morning", entry.next_morning),
        ):
            if score is not None:
                parts.append(f"{label} {score}/10")
        if entry.onset_km is not None:
            parts.append(f"came on at {fmt.km(entry.onset_km)} km")
        elif entry.onset_min is not None:
            parts.append(f"came on after {entry.onset_min:.0f} min")
        if entry.stopped:
            parts.append("run stopped")
        text = ", ".join(parts) + _runs_of(entry)
    elif entry.kind == "ok":
        text = "pain-free" + _runs_of(entry)
    else:
        cond = f" ({entry.condition})" if entry.condition else ""
        failed = ", ".join(entry.failed)
        text = f"criteria check{cond}: " + (f"not passed ({failed})" if failed else "passed")
    if entry.note:
        text += f' - "{fmt.clean(entry.note)}"'
    return head + text


def _runs_of(entry: Any) -> str:
    """`` (run: 8.0 km at 07:00)``: the runs of the entry's date, linked by the report."""
    labels = getattr(entry, "run_labels", ())
    if not labels:
        return ""
    return f" ({'run' if len(labels) == 1 else 'runs'}: {'; '.join(labels)})"


def journal_block(returns: Sequence[Any], entries: Sequence[Any]) -> JournalBlock:
    """The block for an athlete report's ``returns`` and ``journal`` (the window's entries)."""
    newest = sorted(entries, key=lambda e: (e.date, e.entered_utc, e.id or 0), reverse=True)
    shown = tuple(entry_line(e) for e in newest[:RECENT_ENTRIES])
    return JournalBlock(
        tuple(episode_block(s) for s in returns), shown, max(0, len(newest) - RECENT_ENTRIES)
    )


def return_marker(a: Any) -> str:
    """The coach summary's mark for an athlete in a return phase: ``ITBS return, day 13``
    (empty when no knee episode is open), so the coach sees who is coming back from pain."""
    if not a.returns:
        return ""
    first = a.returns[0]
    more = f" +{len(a.returns) - 1}" if len(a.returns) > 1 else ""
    return f"{first.condition}{more} return, day {first.day}"


def athlete_label(a: Any) -> str:
    """The athlete's name in a summary, with the return mark when one applies."""
    mark = return_marker(a)
    return f"{a.athlete} ({mark})" if mark else a.athlete
